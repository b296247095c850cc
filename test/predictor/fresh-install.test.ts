import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { needs } from "../support/binaries.js";
import { CLI_ENTRY } from "../support/cli.js";
import { freePort } from "../support/ports.js";
import { eventually, startProcess, stopAll } from "../support/processes.js";
import { type Prometheus, startPrometheus } from "../support/prometheus.js";

// Three minutes of 5-second samples, ending shortly before now: a stack that just started.
const END = Math.floor(Date.now() / 5_000) * 5_000 - 10_000;
const START = END - 175_000;

function history(): string {
  const lines = ["# TYPE fs_fresh_power_watts gauge"];
  for (const [machine, level] of [
    ["a", 1_000],
    ["b", 5_000],
  ] as const) {
    for (let t = START; t <= END; t += 5_000) {
      const i = (t - START) / 5_000;
      lines.push(
        `fs_fresh_power_watts{machine="${machine}"} ${level + 20 * Math.sin(i / 4) + i} ${t / 1000}`,
      );
    }
  }
  lines.push("# EOF", "");
  return lines.join("\n");
}

describe.skipIf(!needs("prometheus", "promtool"))("predictor on a fresh installation", () => {
  let prometheus: Prometheus;
  let dir: string;
  let config: string;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "floorsense-predictor-fresh-"));
    prometheus = await startPrometheus({
      config: "global:\n  scrape_interval: 15s\n",
      history: history(),
    });
    port = await freePort();
    config = join(dir, "predictor.yaml");
    // The demo stack's settings: far less history than the LSTM needs.
    writeFileSync(
      config,
      `prometheus:
  url: ${prometheus.url}
targets:
  - name: power
    expr: fs_fresh_power_watts
    step: 5s
    lookback: 6h
    horizons: [15m, 1h]
    seasonality: [1h]
    schedule: "0 3 29 2 *" # leap days only: a scheduled retraining mid-test would save version 2
model_dir: ${join(dir, "models")}
backend: cpu
web:
  listen_address: 127.0.0.1:${port}
`,
    );
  });

  afterAll(async () => {
    await stopAll();
    await prometheus?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the naive baseline at once, with forecasts, bounds and anomaly scores for every series and horizon", async () => {
    const service = startProcess(process.execPath, [CLI_ENTRY, "predictor", "--config", config]);
    const url = `http://127.0.0.1:${port}`;
    const body = await eventually(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        // Forecasts are published before the round feeds the anomaly detector: wait for both.
        return /^floorsense_anomaly_score\{machine="b",target="power",horizon="1h"\}/m.test(text) &&
          /^floorsense_anomaly_alarm\{machine="b",target="power"\}/m.test(text)
          ? text
          : undefined;
      },
      60_000,
      `forecasts on /metrics\n${service.output()}`,
    );
    for (const horizon of ["15m", "1h"]) {
      for (const machine of ["a", "b"]) {
        const value = (name: string) => {
          const match = new RegExp(
            `^${name}\\{machine="${machine}",target="power",horizon="${horizon}"\\} ([0-9.e+-]+)$`,
            "m",
          ).exec(body);
          expect(match, `${name} ${machine} ${horizon}`).not.toBeNull();
          return Number(match![1]);
        };
        const forecast = value("floorsense_forecast");
        expect(value("floorsense_forecast_lower")).toBeLessThanOrEqual(forecast);
        expect(value("floorsense_forecast_upper")).toBeGreaterThanOrEqual(forecast);
        expect(value("floorsense_anomaly_score")).toBeGreaterThanOrEqual(0);
      }
    }
    // Three minutes of history: the streaming detector is still learning.
    for (const machine of ["a", "b"])
      expect(body).toMatch(
        new RegExp(`^floorsense_anomaly_alarm\\{machine="${machine}",target="power"\\} 0$`, "m"),
      );
    expect(body).toMatch(/^floorsense_predictor_model_info\{target="power",model="naive",version="1"\} 1$/m);
    expect(body).not.toMatch(/^floorsense_predictor_backtest_mase\{/m);
    expect(body).toMatch(/^floorsense_predictor_training_failures_total\{target="power"\} 0$/m);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const metadata = JSON.parse(
      readFileSync(join(dir, "models", "power", "v000001", "metadata.json"), "utf8"),
    );
    // 15 % test part ≥ 720 steps (1h at 5s) → 4 800 steps.
    expect(metadata.reason).toMatch(/^insufficient history for the LSTM: \d{2} steps, needs 4800$/);
    expect(metadata.history.needed).toBe(4_800);
    expect(await service.stop(10_000)).toBe(0);
  }, 90_000);
});
