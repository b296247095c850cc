import { describe, expect, it } from "vitest";
import { loadBackend } from "../../predictor/backend.js";
import type { ForecastCase, ForecastModel } from "../../predictor/forecast-model.js";
import { forecastAll, type ServedModel, servedModel } from "../../predictor/forecaster.js";
import { createLstm } from "../../predictor/lstm-model.js";
import type { ModelMetadata } from "../../predictor/model-store.js";
import type { GridSeries } from "../../predictor/series-preparation.js";

/** Forecasts origin value + horizon, and records which origins it was asked for. */
class CountingModel implements ForecastModel {
  readonly name = "naive";
  asked: number[] = [];
  async predict(cases: ForecastCase[], horizonSteps: number[]) {
    this.asked.push(...cases.map((c) => c.origin));
    return cases.map((c) => Float64Array.from(horizonSteps, (h) => c.series.values[c.origin]! + h));
  }
}

function served(model: ForecastModel): ServedModel {
  return {
    metadata: {
      horizonSteps: [1, 3],
      horizonLabels: ["1m", "3m"],
      served: "naive",
      intervalWidths: { naive: [0.5, 1] },
    } as unknown as ModelMetadata,
    model,
    statsOf: () => ({ mean: 0, std: 2 }),
    made: new Map(),
  };
}

const series = (values: number[]): GridSeries => ({
  key: "s",
  labels: { machine: "m1" },
  startMs: 0,
  stepMs: 60_000,
  values: Float64Array.from(values),
  interpolated: 0,
  missing: 0,
});

describe("forecastAll", () => {
  it("forecasts from the latest value and scores it against the forecasts made for it", async () => {
    const model = new CountingModel();
    const [result] = await forecastAll(served(model), [series([10, 11, 12, 20, 13, Number.NaN])]);
    // Latest value 13 at index 4; made 1 step earlier from 20: 21 (width 0.5·2 = 1) → |13−21|/1 = 8;
    // made 3 steps earlier from 11: 14 (width 1·2 = 2) → |13−14|/2 = 0.5.
    expect(result).toEqual({
      key: "s",
      labels: { machine: "m1" },
      originMs: 240_000,
      horizons: [
        { horizon: "1m", forecast: 14, lower: 13, upper: 15, anomalyScore: 8 },
        { horizon: "3m", forecast: 16, lower: 14, upper: 18, anomalyScore: 0.5 },
      ],
    });
    expect(model.asked.sort()).toEqual([1, 3, 4]);
  });

  it("uses a series' own interval widths where the backtest calibrated them", async () => {
    const s = served(new CountingModel());
    s.metadata.backtest = [
      {
        model: "naive",
        overall: { mae: 1, rmse: 1, smape: 1, mase: 1, coverage: 0.9, count: 1 },
        perHorizon: [],
        intervalWidths: [0.5, 1],
        seriesIntervalWidths: { s: [0.25, 2] },
      },
    ];
    const [result] = await forecastAll(s, [series([10, 11, 12, 20, 13])]);
    // Half-widths 0.25·2 and 2·2 instead of the pooled 0.5·2 and 1·2.
    expect(result!.horizons.map((h) => [h.lower, h.forecast, h.upper])).toEqual([
      [13.5, 14, 14.5],
      [12, 16, 20],
    ]);
  });

  it("reuses the forecasts of earlier rounds", async () => {
    const model = new CountingModel();
    const s = served(model);
    await forecastAll(s, [series([10, 11, 12, 20, 13])]);
    model.asked = [];
    const [next] = await forecastAll(s, [series([10, 11, 12, 20, 13, 14])]);
    // Origin 4 comes from the first round; 2 was never needed before.
    expect(model.asked.sort()).toEqual([2, 5]);
    expect(next!.horizons.map((h) => h.anomalyScore)).toEqual([0, 0.5]);
    model.asked = [];
    await forecastAll(s, [series([10, 11, 12, 20, 13, 14, 15])]);
    // Steady state: one new window per series and round.
    expect(model.asked).toEqual([6]);
    expect([...s.made.get("s")!.keys()].sort((a, b) => a - b)).toEqual([3, 4, 5, 6].map((i) => i * 60_000));
  });
});

describe("servedModel", () => {
  const meta = (served: string, blend?: ModelMetadata["blend"]): ModelMetadata => ({
    format: 1,
    target: "power",
    version: 4,
    createdAt: "2026-01-01T00:00:00.000Z",
    served,
    ...(blend ? { blend } : {}),
    reason: "test",
    stepMs: 60_000,
    horizonLabels: ["1m", "2m"],
    horizonSteps: [1, 2],
    lstm: { window: 3, units: 2, outputs: 2, season: 0 },
    backend: "cpu",
    level: 0.9,
    seriesStats: { s: { mean: 10, std: 2 } },
    intervalWidths: {},
    baselines: { seasonSteps: [], seasonLabels: [], rangeSteps: 3, holtWinters: { sf: 0.3, tf: 0.1 } },
    backtest: [],
    trainingSeconds: 1,
    trainingWindows: 1,
    epochs: 1,
  });

  it("serves the blend the training chose: the LSTM's and the baseline's forecasts, weighted per series", async () => {
    const { tf } = await loadBackend("cpu");
    const network = createLstm(tf, { window: 3, units: 2, outputs: 2, season: 0 }, 0.01);
    const s = series([10, 12, 11, 13, 12, 14]);
    const cases = [{ series: s, origin: 5 }];
    const lstm = await servedModel(meta("lstm"), network, tf).model.predict(cases, [1, 2]);
    const blend = servedModel(
      meta("lstm_blend", {
        perSeries: { s: { baseline: "naive", weight: 0.3 } },
        pooled: { baseline: "naive", weight: 1 },
      }),
      network,
      tf,
    );
    expect(blend.model.name).toBe("lstm_blend");
    expect(blend.network).toBe(network);
    const [forecast] = await blend.model.predict(cases, [1, 2]);
    // naive forecasts the last value, 14, for both horizons.
    expect(forecast![0]).toBeCloseTo(0.3 * lstm[0]![0]! + 0.7 * 14, 10);
    expect(forecast![1]).toBeCloseTo(0.3 * lstm[0]![1]! + 0.7 * 14, 10);
    // A series that appeared after training, too short for the network: no forecast for it, and the
    // other series still get theirs.
    const fresh = { ...series([Number.NaN, Number.NaN, Number.NaN, Number.NaN, 12, 14]), key: "new" };
    const both = await forecastAll(blend, [s, fresh]);
    expect(both.map((f) => f.horizons.map((h) => Number.isNaN(h.forecast)))).toEqual([
      [false, false],
      [true, true],
    ]);
    expect(() => servedModel(meta("lstm_blend"), network, tf)).toThrow(
      "model power v4 serves lstm_blend but has no blend",
    );
    expect(() => servedModel(meta("lstm_blend"), undefined, tf)).toThrow(
      "model power v4 serves lstm_blend but has no network",
    );
    network.dispose();
  });
});
