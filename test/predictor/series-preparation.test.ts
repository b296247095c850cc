import { describe, expect, it } from "vitest";
import { planChunks, seriesKey } from "../../predictor/prometheus-client.js";
import { counterToRate, fillShortGaps, prepareSeries } from "../../predictor/series-preparation.js";

describe("planChunks", () => {
  it("covers the grid without overlap and never exceeds the point limit", () => {
    expect(planChunks(1_000, 10_000, 1_000, 4)).toEqual([
      { startMs: 1_000, endMs: 4_000 },
      { startMs: 5_000, endMs: 8_000 },
      { startMs: 9_000, endMs: 10_000 },
    ]);
    expect(planChunks(1_500, 3_000, 1_000, 10)).toEqual([{ startMs: 2_000, endMs: 3_000 }]);
  });
});

describe("series preparation", () => {
  it("interpolates runs up to the limit and leaves longer ones missing", () => {
    const { values, interpolated } = fillShortGaps(
      Float64Array.from([0, NaN, NaN, 3, NaN, NaN, NaN, 7, NaN]),
      2,
    );
    expect(Array.from(values)).toEqual([0, 1, 2, 3, NaN, NaN, NaN, 7, NaN]);
    expect(interpolated).toBe(2);
  });

  it("turns a counter into a reset-safe per-second rate, unknown across gaps", () => {
    const rate = counterToRate(Float64Array.from([100, 160, 220, 30, 90, NaN, 200, 260]), 60);
    expect(Array.from(rate)).toEqual([NaN, 1, 1, 0.5, 1, NaN, NaN, 1]);
  });

  it("aligns points to the grid and counts what it filled", () => {
    const [series] = prepareSeries(
      [{ labels: { machine: "m1", __name__: "x" }, timestamps: [0, 60_000, 240_000], values: [1, 2, 5] }],
      { startMs: 0, endMs: 300_000, stepMs: 60_000, maxGapSteps: 2, counter: false },
    );
    expect(Array.from(series!.values)).toEqual([1, 2, 3, 4, 5, NaN]);
    expect(series!.interpolated).toBe(2);
    expect(series!.missing).toBe(1);
    expect(series!.key).toBe(seriesKey({ __name__: "x", machine: "m1" }));
    expect(series!.key).toBe('{__name__="x",machine="m1"}');
  });
});
