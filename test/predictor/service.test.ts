import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { needs } from "../support/binaries.js";
import { CLI_ENTRY, runCli } from "../support/cli.js";
import { freePort } from "../support/ports.js";
import { eventually, startProcess, stopAll } from "../support/processes.js";
import { type Prometheus, startPrometheus } from "../support/prometheus.js";
import { gaussian } from "./synthetic.js";

// History up to two minutes ago, so the forecast loop sees current data as it would in a plant.
const END = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
const START = END - 3 * 86_400_000;

function history(): string {
  const lines = ["# TYPE fs_power_watts gauge"];
  for (const [machine, level] of [
    ["a", 1_000],
    ["b", 5_000],
  ] as const) {
    const normal = gaussian(machine === "a" ? 1 : 2);
    for (let t = START; t <= END; t += 60_000) {
      const hour = (t % 86_400_000) / 3_600_000;
      const value = level * (1 + 0.3 * Math.sin((2 * Math.PI * hour) / 24)) + 0.02 * level * normal();
      lines.push(`fs_power_watts{machine="${machine}"} ${value} ${t / 1000}`);
    }
  }
  lines.push("# EOF", "");
  return lines.join("\n");
}

describe.skipIf(!needs("prometheus", "promtool"))("floorsense predictor service", () => {
  let prometheus: Prometheus;
  let dir: string;
  let config: string;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "floorsense-predictor-"));
    prometheus = await startPrometheus({
      config: "global:\n  scrape_interval: 15s\n",
      history: history(),
    });
    port = await freePort();
    config = join(dir, "predictor.yaml");
    writeFileSync(
      config,
      `prometheus:
  url: ${prometheus.url}
targets:
  - name: power
    expr: fs_power_watts
    step: 5m
    lookback: 4d
    horizons: [15m, 1h]
    seasonality: [1d]
    schedule: "0 3 29 2 *" # leap days only: a scheduled retraining mid-test would save version 2
    model: { window: 12, units: 4, epochs: 2, max_training_windows: 400 }
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

  it("train --once trains every target, saves a version and exits 0", async () => {
    const result = await runCli(["predictor", "train", "--once", "--config", config], { timeoutMs: 120_000 });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(readdirSync(join(dir, "models", "power"))).toEqual(["v000001"]);
    const metadata = JSON.parse(
      readFileSync(join(dir, "models", "power", "v000001", "metadata.json"), "utf8"),
    );
    expect(metadata.horizonSteps).toEqual([3, 12]);
    expect(Object.keys(metadata.seriesStats).sort()).toEqual([
      '{__name__="fs_power_watts",machine="a"}',
      '{__name__="fs_power_watts",machine="b"}',
    ]);
    expect(metadata.backtest.map((r: { model: string }) => r.model)).toEqual([
      "naive",
      "seasonal_naive_1d",
      "predict_linear",
      "holt_winters",
      "lstm",
      "lstm_blend",
    ]);
  }, 150_000);

  it("serves forecasts from the stored model on /metrics and exits 0 on SIGTERM", async () => {
    const service = startProcess(process.execPath, [CLI_ENTRY, "predictor", "--config", config]);
    const url = `http://127.0.0.1:${port}`;
    const body = await eventually(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        // Forecasts are published before the round feeds the anomaly detector: wait for both.
        return text.includes('floorsense_forecast{machine="b"') &&
          text.includes('floorsense_anomaly_alarm{machine="b"')
          ? text
          : undefined;
      },
      60_000,
      `forecasts and alarms on /metrics\n${service.output()}`,
    );
    for (const horizon of ["15m", "1h"]) {
      for (const machine of ["a", "b"]) {
        const labels = `{machine="${machine}",target="power",horizon="${horizon}"}`;
        for (const name of [
          "floorsense_forecast",
          "floorsense_forecast_lower",
          "floorsense_forecast_upper",
        ]) {
          expect(body).toMatch(new RegExp(`^${name}${escapeRegExp(labels)} [0-9.e+-]+$`, "m"));
        }
        expect(body).toMatch(new RegExp(`^floorsense_anomaly_score${escapeRegExp(labels)} [0-9.e+-]+$`, "m"));
      }
    }
    for (const machine of ["a", "b"]) {
      const alarm = new RegExp(
        `^floorsense_anomaly_alarm\\{machine="${machine}",target="power"\\} ([0-9.e+-]+)$`,
        "m",
      ).exec(body);
      expect(alarm, `alarm of ${machine}`).not.toBeNull();
      expect(Number(alarm![1])).toBeGreaterThanOrEqual(0);
      expect(Number(alarm![1])).toBeLessThanOrEqual(1);
    }
    expect(body).toMatch(
      /^floorsense_predictor_model_info\{target="power",model="[a-z_0-9]+",version="1"\} 1$/m,
    );
    expect(body).toMatch(
      /^floorsense_predictor_backtest_mase\{target="power",model="seasonal_naive_1d"\} [0-9.e+-]+$/m,
    );
    expect(body).toMatch(
      /^floorsense_predictor_last_training_success_timestamp_seconds\{target="power"\} 1[0-9.e+]+$/m,
    );
    expect(body).toMatch(/^floorsense_predictor_training_failures_total\{target="power"\} 0$/m);
    expect(body).toMatch(/^floorsense_predictor_build_info\{/m);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(service.output()).toContain('"msg":"loaded stored model"');
    expect(service.output()).toContain('"msg":"tensorflow.js backend"');
    expect(await service.stop(10_000)).toBe(0);
    expect(service.output()).toContain('"msg":"shutdown complete"');
  }, 90_000);
});

function escapeRegExp(text: string): string {
  return text.replace(/[{}.*+?^$()|[\]\\]/g, "\\$&");
}
