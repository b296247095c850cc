import { describe, expect, it } from "vitest";
import {
  holtWintersModel,
  naiveModel,
  predictLinearModel,
  promHoltWinters,
  promPredictLinear,
  seasonalNaiveModel,
} from "../../predictor/baselines.js";
import type { GridSeries } from "../../predictor/series-preparation.js";

function grid(values: number[], stepMs = 60_000): GridSeries {
  return {
    key: "s",
    labels: {},
    startMs: 600_000,
    stepMs,
    values: Float64Array.from(values),
    interpolated: 0,
    missing: 0,
  };
}

describe("promPredictLinear", () => {
  it("extrapolates an exact line from the evaluation time", () => {
    // y = 2 + 0.5·(t in s); evaluated at t=30 s, 60 s ahead: 2 + 0.5·90 = 47.
    expect(promPredictLinear([0, 10_000, 20_000, 30_000], [2, 7, 12, 17], 30_000, 60)).toBe(47);
  });

  it("fits least squares through noisy points", () => {
    // x = -2,-1,0 (s), y = 1,3,2: slope 0.5, intercept at x=0 is 2 + 0.5 = 2.5... mean y 2, mean x -1.
    expect(promPredictLinear([0, 1_000, 2_000], [1, 3, 2], 2_000, 0)).toBeCloseTo(2.5, 12);
  });

  it("returns the value of a constant series and nothing for one point", () => {
    expect(promPredictLinear([0, 1_000], [4, 4], 1_000, 1e6)).toBe(4);
    expect(promPredictLinear([0], [4], 0, 10)).toBeUndefined();
  });
});

describe("promHoltWinters", () => {
  it("seeds level with the first value and trend with the first difference", () => {
    // s=1, b=3-1=2; i=1: s=0.5·3+0.5·(1+2)=3; i=2: b=0.5·(3-1)+0.5·2=2, s=0.5·4+0.5·(3+2)=4.5
    expect(promHoltWinters([1, 3, 4], 0.5, 0.5)).toBeCloseTo(4.5, 12);
  });

  it("rejects factors outside (0, 1) like Prometheus", () => {
    expect(() => promHoltWinters([1, 2], 1, 0.5)).toThrow(
      "holt_winters factors must be in (0, 1), got sf=1 tf=0.5",
    );
    expect(promHoltWinters([1], 0.5, 0.5)).toBeUndefined();
  });
});

describe("baseline models on a grid", () => {
  const series = grid([10, 11, 12, 13, 14, 15, 16, 17]);

  it("naive repeats the last value", async () => {
    expect(Array.from((await naiveModel().predict([{ series, origin: 5 }], [1, 2]))[0]!)).toEqual([15, 15]);
  });

  it("seasonal naive takes the latest value of the same phase", async () => {
    const model = seasonalNaiveModel("seasonal_naive_3", 3);
    // origin 5: h=1 → index 3, h=3 → index 5, h=4 → index 3+... 5+4-6=3
    expect(Array.from((await model.predict([{ series, origin: 5 }], [1, 3, 4]))[0]!)).toEqual([13, 15, 13]);
  });

  it("predict_linear uses the range ending at the origin and the horizon in seconds", async () => {
    // 1 per minute: 2 minutes ahead of 15 is 17.
    expect(Array.from((await predictLinearModel(3).predict([{ series, origin: 5 }], [2]))[0]!)).toEqual([17]);
  });

  it("skips missing points like a range selector and is NaN without two points", async () => {
    const gappy = grid([1, Number.NaN, 3, Number.NaN]);
    expect((await predictLinearModel(2).predict([{ series: gappy, origin: 2 }], [1]))[0]![0]).toBeCloseTo(
      4,
      12,
    );
    expect(
      (await holtWintersModel(1, 0.5, 0.5).predict([{ series: gappy, origin: 3 }], [1]))[0]![0],
    ).toBeNaN();
  });
});
