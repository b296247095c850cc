import { describe, expect, it } from "vitest";
import type { ForecastCase, ForecastModel } from "../../predictor/forecast-model.js";
import { forecastAll, type ServedModel } from "../../predictor/forecaster.js";
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
