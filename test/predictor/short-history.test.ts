import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../../lib/logger.js";
import { loadBackend } from "../../predictor/backend.js";
import { modelSettingsSchema, predictorConfigSchema, resolveTarget } from "../../predictor/config.js";
import { PredictorMetrics } from "../../predictor/metrics.js";
import { ModelStore } from "../../predictor/model-store.js";
import { PrometheusClient } from "../../predictor/prometheus-client.js";
import type { GridSeries } from "../../predictor/series-preparation.js";
import { TargetRunner } from "../../predictor/target-runner.js";
import { trainTarget } from "../../predictor/training.js";

const START = Date.UTC(2026, 10, 23, 12);

function grid(key: string, values: number[], stepMs: number): GridSeries {
  return {
    key,
    labels: { machine: key },
    startMs: START,
    stepMs,
    values: Float64Array.from(values),
    interpolated: 0,
    missing: 0,
  };
}

/** A wandering signal: no two points equal, so every width is above zero. */
const signal = (i: number, offset = 0) => 1_000 + offset + 10 * Math.sin(i / 5) + 0.5 * i;

describe("training on a history too short for the LSTM", () => {
  it("serves naive with the reason, and intervals from the naive differences the history has", async () => {
    const { tf } = await loadBackend("cpu");
    // The demo stack's first minute: step 1s, horizons 15m and 1h, a 1h season. The lookback
    // reaches 540 steps before the first sample; those do not count as history.
    const values = [
      ...Array.from({ length: 540 }, () => Number.NaN),
      ...Array.from({ length: 60 }, (_, i) => signal(i)),
    ];
    const outcome = await trainTarget({
      tf,
      series: [grid("m1", values, 1_000)],
      horizonSteps: [900, 3_600],
      seasonSteps: [3_600],
      seasonLabels: ["1h"],
      baselineRangeSteps: 47,
      level: 0.9,
      model: modelSettingsSchema.parse({ window: 48 }),
    });
    // 15 % test part ≥ 3 600 steps → 24 000 steps (then the 1h season fits twice into the training part).
    expect(outcome.decision).toEqual({
      served: "naive",
      bestBaseline: "naive",
      reason: "insufficient history for the LSTM: 60 steps, needs 24000",
    });
    expect(outcome.history).toEqual({ steps: 60, needed: 24_000 });
    expect(outcome.lstm).toBeUndefined();
    // No seasonal naive without a full season plus horizon; predict_linear/holt_winters have their 47 steps.
    expect(outcome.reports.map((r) => r.model)).toEqual(["naive", "predict_linear", "holt_winters"]);
    // No horizon fits into 60 steps: nothing to score, and it says so.
    for (const report of outcome.reports) {
      expect(report.overall.count).toBe(0);
      expect(report.overall.mase).toBeNaN();
    }
    // Widths: the 52-step differences (the longest lag with 8 pairs), conformal rank ⌈9·0.9⌉ → the
    // largest of 8, widened by √(h/52).
    const present = values.slice(540);
    const mean = present.reduce((a, b) => a + b, 0) / 60;
    const std = Math.sqrt(present.reduce((a, b) => a + (b - mean) ** 2, 0) / 60);
    const largest =
      Math.max(...Array.from({ length: 8 }, (_, t) => Math.abs(present[t + 52]! - present[t]!))) / std;
    const widths = outcome.intervalWidths.naive!;
    expect(widths[0]).toBeCloseTo(largest * Math.sqrt(900 / 52), 9);
    expect(widths[1]).toBeCloseTo(largest * Math.sqrt(3_600 / 52), 9);
  });

  it("compares the baselines where the horizon fits, and uses seasonal naive once a season plus horizon exists", async () => {
    const { tf } = await loadBackend("cpu");
    // Hourly, horizon 2, a 6-step season: 40 steps hold a season plus horizon, but not a window of 24
    // plus a season before the first training target.
    const season = (i: number) => 100 + 20 * Math.sin((2 * Math.PI * i) / 6) + 0.01 * i;
    const outcome = await trainTarget({
      tf,
      series: [
        grid(
          "m1",
          Array.from({ length: 40 }, (_, i) => season(i)),
          3_600_000,
        ),
      ],
      horizonSteps: [1, 2],
      seasonSteps: [6, 1_000],
      seasonLabels: ["6h", "long"],
      baselineRangeSteps: 3,
      level: 0.9,
      model: modelSettingsSchema.parse({ window: 24 }),
    });
    expect(outcome.decision.served).toBe("seasonal_naive_6h");
    expect(outcome.decision.reason).toMatch(/^insufficient history for the LSTM: 40 steps, needs \d+$/);
    expect(outcome.reports.map((r) => r.model)).toEqual([
      "naive",
      "seasonal_naive_6h",
      "predict_linear",
      "holt_winters",
    ]);
    const seasonal = outcome.reports.find((r) => r.model === "seasonal_naive_6h")!;
    // Every seasonal-naive error is the trend over one season (0.06), which is also the MASE scale.
    expect(seasonal.overall.mase).toBeCloseTo(1, 6);
    expect(seasonal.overall.count).toBeGreaterThan(0);
    const naive = outcome.reports.find((r) => r.model === "naive")!;
    expect(naive.overall.mase).toBeGreaterThan(100);
  });

  it("fails with a clear message below a handful of points", async () => {
    const { tf } = await loadBackend("cpu");
    await expect(
      trainTarget({
        tf,
        series: [grid("m1", [1, 2, 3, 4, 5], 1_000)],
        horizonSteps: [900],
        seasonSteps: [],
        seasonLabels: [],
        baselineRangeSteps: 47,
        level: 0.9,
        model: modelSettingsSchema.parse({}),
      }),
    ).rejects.toThrow("too little history for any forecast: 5 steps, needs at least 10");
  });

  it("takes the LSTM path as before from exactly the history it needs", async () => {
    const { tf } = await loadBackend("cpu");
    // Window 4, horizon 2, no season: origins need index 4; test and validation parts of 2 steps
    // need floor(0.15 · L) ≥ 2 → L = 14.
    const settings = modelSettingsSchema.parse({ window: 4, units: 2, epochs: 1, batch_size: 8 });
    const train = (length: number) =>
      trainTarget({
        tf,
        series: [0, 1].map((s) =>
          grid(
            `m${s}`,
            Array.from({ length }, (_, i) => signal(i, s * 50)),
            3_600_000,
          ),
        ),
        horizonSteps: [1, 2],
        seasonSteps: [],
        seasonLabels: [],
        baselineRangeSteps: 3,
        level: 0.9,
        model: settings,
      });
    const short = await train(13);
    expect(short.decision.reason).toBe("insufficient history for the LSTM: 13 steps, needs 14");
    expect(short.lstm).toBeUndefined();

    const enough = await train(14);
    expect(enough.history).toBeUndefined();
    expect(enough.lstm).toBeDefined();
    expect(enough.windows).toBe(8);
    // The LSTM is the candidate through its blend (pure LSTM here: too few validation errors to choose on).
    expect(enough.decision.reason).toMatch(/^lstm_blend MASE \d+\.\d{4} (<|does not beat) /);
    // One test origin (11) per series, two horizons, two series.
    expect(enough.reports.find((r) => r.model === "lstm")!.overall.count).toBe(4);
    enough.lstm!.model.dispose();
  }, 60_000);

  it("backtests the baselines when the history is long enough but too gappy for one LSTM window", async () => {
    const { tf } = await loadBackend("cpu");
    // Every third point missing: no 4-step window is ever complete, yet naive has pairs to score.
    const values = Array.from({ length: 60 }, (_, i) => (i % 3 === 2 ? Number.NaN : signal(i)));
    const outcome = await trainTarget({
      tf,
      series: [grid("m1", values, 3_600_000)],
      horizonSteps: [1, 2],
      seasonSteps: [],
      seasonLabels: [],
      baselineRangeSteps: 3,
      level: 0.9,
      model: modelSettingsSchema.parse({ window: 4, units: 2, epochs: 1 }),
    });
    expect(outcome.lstm).toBeUndefined();
    expect(outcome.history).toBeUndefined();
    expect(outcome.reports.map((r) => r.model)).toEqual(["naive", "predict_linear", "holt_winters"]);
    expect(outcome.decision.reason).toBe("lstm could not be evaluated");
  });
});

describe("a fresh installation served by a baseline", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("publishes forecast, bounds and anomaly score for every series and horizon", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fs-short-history-"));
    dirs.push(dir);
    const now = START + 3 * 3_600_000;
    // Prometheus has the last 60 seconds of two machines (1s step); everything before is empty.
    const valueAt = (machine: number, ms: number) => signal((ms - (now - 59_000)) / 1_000, machine * 100);
    const fakePrometheus = async (_url: string | URL | Request, init?: RequestInit) => {
      const params = new URLSearchParams(String(init?.body));
      const from = Math.max(Number(params.get("start")) * 1_000, now - 59_000);
      const to = Number(params.get("end")) * 1_000;
      const result = [0, 1].map((machine) => {
        const points: Array<[number, string]> = [];
        for (let t = from; t <= to; t += 1_000) points.push([t / 1_000, String(valueAt(machine, t))]);
        return { metric: { machine: `m${machine}` }, values: points };
      });
      return new Response(JSON.stringify({ status: "success", data: { resultType: "matrix", result } }), {
        headers: { "content-type": "application/json" },
      });
    };
    const config = predictorConfigSchema.parse({
      prometheus: { url: "http://127.0.0.1:9" },
      targets: [
        {
          name: "power",
          expr: "power",
          step: "1s",
          lookback: "7h",
          horizons: ["15m", "1h"],
          seasonality: ["1h"],
        },
      ],
    });
    const metrics = new PredictorMetrics();
    const runner = new TargetRunner(resolveTarget(config.targets[0]!), {
      client: new PrometheusClient({
        url: "http://prometheus.invalid",
        fetch: fakePrometheus as typeof fetch,
      }),
      store: new ModelStore(dir, 2),
      metrics,
      logger: createLogger("predictor", "silent"),
      loadTf: () => loadBackend("cpu"),
      backendChoice: "cpu",
      now: () => now,
    });
    await runner.train();
    expect(runner.served!.metadata.served).toBe("naive");
    expect(runner.served!.metadata.reason).toBe("insufficient history for the LSTM: 60 steps, needs 24000");
    // 7h at 1s = 25 200 steps ≥ 24 000: retrain early so the LSTM takes over once the history is there.
    expect(runner.wantsEarlyTraining).toBe(true);
    expect(await runner.forecastOnce()).toBe(2);

    const text = await metrics.registry.metrics();
    const sample = (name: string, machine: string, horizon: string) => {
      const line = text
        .split("\n")
        .find((l) => l.startsWith(`${name}{machine="${machine}",target="power",horizon="${horizon}"} `));
      expect(line, `${name} ${machine} ${horizon}`).toBeDefined();
      return Number(line!.split(" ").at(-1));
    };
    for (const machine of [0, 1]) {
      const last = valueAt(machine, now);
      const first = valueAt(machine, now - 59_000);
      for (const horizon of ["15m", "1h"]) {
        const forecast = sample("floorsense_forecast", `m${machine}`, horizon);
        const lower = sample("floorsense_forecast_lower", `m${machine}`, horizon);
        const upper = sample("floorsense_forecast_upper", `m${machine}`, horizon);
        const score = sample("floorsense_anomaly_score", `m${machine}`, horizon);
        // naive: the latest value.
        expect(forecast).toBe(last);
        expect(lower).toBeLessThan(forecast);
        expect(upper).toBeGreaterThan(forecast);
        expect(forecast - lower).toBeCloseTo(upper - forecast, 6);
        // No forecast was made an hour ago; the one from the first point (naive: its value) stands in.
        expect(score).toBeCloseTo(Math.abs(last - first) / (upper - forecast), 6);
      }
    }
    expect(text).toContain('floorsense_predictor_model_info{target="power",model="naive",version="1"} 1');
    // Nothing could be scored: no MASE figure rather than a made-up one.
    expect(text).not.toContain("floorsense_predictor_backtest_mase{");
  }, 60_000);
});
