import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBackend } from "../../predictor/backend.js";
import { ModelStore } from "../../predictor/model-store.js";
import { needs } from "../support/binaries.js";
import { CLI_ENTRY, runCli } from "../support/cli.js";
import { freePort } from "../support/ports.js";
import { eventually, type RunningProcess, startProcess, stopAll } from "../support/processes.js";
import { type Prometheus, startPrometheus } from "../support/prometheus.js";
import { gaussian } from "./synthetic.js";

// History up to two minutes ago, so the forecast loop sees current data as it would in a plant.
const END = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
const START = END - 3 * 86_400_000;

const MODEL = "{ window: 12, units: 4, epochs: 2, max_training_windows: 400 }";

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
  /** The service of the CronJob setup: started without a model, kept running across the first tests. */
  let cronService: RunningProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "floorsense-predictor-"));
    prometheus = await startPrometheus({
      config: "global:\n  scrape_interval: 15s\n",
      history: history(),
    });
    port = await freePort();
    config = join(dir, "predictor.yaml");
    writeFileSync(config, serviceConfig(join(dir, "models"), port, MODEL));
  });

  // Leap days only by default: a scheduled retraining mid-test would save a version.
  function serviceConfig(
    modelDir: string,
    listenPort: number,
    model: string,
    schedule = "0 3 29 2 *",
  ): string {
    // The CronJob setup of docs/predictor.md: the service never trains by itself and picks up
    // what `train --once` saves. Short intervals keep the test fast.
    return `prometheus:
  url: ${prometheus.url}
targets:
  - name: power
    expr: fs_power_watts
    step: 5m
    lookback: 4d
    horizons: [15m, 1h]
    seasonality: [1d]
    schedule: "${schedule}"
    model: ${model}
model_dir: ${modelDir}
train_on_start: false
retry_untrained_every: 1s
model_reload_interval: 1s
backend: cpu
web:
  listen_address: 127.0.0.1:${listenPort}
`;
  }

  afterAll(async () => {
    await stopAll();
    await prometheus?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("with train_on_start false and no stored model, the service does not train", async () => {
    cronService = startProcess(process.execPath, [CLI_ENTRY, "predictor", "--config", config]);
    await eventually(
      () => cronService.output().includes('"msg":"predictor running"'),
      30_000,
      `predictor running\n${cronService.output()}`,
    );
    // retry_untrained_every is 1s: three chances to train that must not be taken.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect(cronService.output()).not.toContain("training");
    expect(existsSync(join(dir, "models"))).toBe(false);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain("no model yet for power");
  }, 60_000);

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

  it("the running service serves what train --once saved, and a newer version, without a restart", async () => {
    const url = `http://127.0.0.1:${port}`;
    // The blend or a baseline, whichever the training chose.
    const served = JSON.parse(
      readFileSync(join(dir, "models", "power", "v000001", "metadata.json"), "utf8"),
    ).served;
    const modelInfo = (version: number) =>
      `floorsense_predictor_model_info{target="power",model="${served}",version="${version}"} 1`;
    await eventually(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return text.includes(modelInfo(1)) && text.includes('floorsense_forecast{machine="b"');
      },
      30_000,
      `version 1 and its forecasts on /metrics\n${cronService.output()}`,
    );
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // A second version, saved the way every training saves one (temporary folder, then rename).
    const { tf } = await loadBackend("cpu");
    const store = new ModelStore(join(dir, "models"), 3);
    const stored = (await store.loadLatest("power", tf))!;
    const { version: _, ...metadata } = stored.metadata;
    expect((await store.save({ ...metadata, reason: "saved by the test" }, stored.model)).version).toBe(2);
    await eventually(
      async () => (await (await fetch(`${url}/metrics`)).text()).includes(modelInfo(2)),
      15_000,
      `version 2 on /metrics\n${cronService.output()}`,
    );
    const loaded = cronService
      .output()
      .split("\n")
      .filter((line) => line.includes('"msg":"loaded newer stored model"'))
      .map((line) => JSON.parse(line).version);
    expect(loaded).toEqual([1, 2]);
    expect(cronService.output()).not.toContain("training data fetched");
    expect(await cronService.stop(10_000)).toBe(0);
  }, 60_000);

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
      /^floorsense_predictor_model_info\{target="power",model="[a-z_0-9]+",version="2"\} 1$/m,
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

  it("ends a training in progress at once on SIGTERM, exits 0 and leaves the stored model untouched", async () => {
    const models = join(dir, "sigterm-models");
    cpSync(join(dir, "models"), models, { recursive: true });
    const before = readdirSync(join(models, "power"));
    const heavyPort = await freePort();
    const heavyConfig = join(dir, "heavy.yaml");
    // A training of minutes (one batch alone takes seconds), started every second by the schedule.
    writeFileSync(
      heavyConfig,
      serviceConfig(
        models,
        heavyPort,
        "{ window: 200, units: 256, epochs: 50, patience: 50, ensemble: 8, max_training_windows: 400 }",
        "* * * * * *",
      ),
    );
    const service = startProcess(process.execPath, [CLI_ENTRY, "predictor", "--config", heavyConfig]);
    await eventually(
      () => service.output().includes('"msg":"training data fetched"'),
      30_000,
      `a training under way\n${service.output()}`,
    );
    // Let the worker start on its first batches.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const signalled = Date.now();
    const code = await service.stop(10_000);
    const took = Date.now() - signalled;
    expect(code, service.output()).toBe(0);
    expect(took).toBeLessThan(5_000);
    expect(service.output()).toContain('"msg":"shutdown complete"');
    expect(service.output()).not.toContain('"msg":"training done"');
    expect(readdirSync(join(models, "power"))).toEqual(before);
  }, 60_000);
});

function escapeRegExp(text: string): string {
  return text.replace(/[{}.*+?^$()|[\]\\]/g, "\\$&");
}
