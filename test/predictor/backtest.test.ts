import { describe, expect, it } from "vitest";
import { calibrateIntervals, calibrateSeriesIntervals } from "../../predictor/backtest.js";
import type { ForecastCase } from "../../predictor/forecast-model.js";
import type { GridSeries } from "../../predictor/series-preparation.js";

const flat = (key: string, length: number): GridSeries => ({
  key,
  labels: { machine: key },
  startMs: 0,
  stepMs: 60_000,
  values: new Float64Array(length),
  interpolated: 0,
  missing: 0,
});

describe("interval calibration per series", () => {
  it("gives each series with enough validation errors its own widths, in its own std", () => {
    // Errors 0.01, 0.02, …, 1.00 (× 3 for b): the conformal 90% quantile of 100 is the 91st smallest.
    const a = flat("a", 200);
    const b = flat("b", 200);
    const c = flat("c", 200);
    const cases: ForecastCase[] = [];
    const forecasts: Float64Array[] = [];
    for (let i = 0; i < 100; i++) {
      for (const [s, scale] of [
        [a, 1],
        [b, 3],
      ] as const) {
        cases.push({ series: s, origin: i });
        forecasts.push(Float64Array.of(((i + 1) / 100) * scale));
      }
      if (i < 99) {
        cases.push({ series: c, origin: i });
        forecasts.push(Float64Array.of(50));
      }
    }
    const std = () => ({ mean: 0, std: 1 });
    const own = calibrateSeriesIntervals(cases, forecasts, [1], 0.9, std);
    expect([...own.keys()].map((s) => s.key)).toEqual(["a", "b"]);
    expect(own.get(a)![0]).toBeCloseTo(0.91, 12);
    expect(own.get(b)![0]).toBeCloseTo(2.73, 12);
    // c has 99 errors, one short of its own widths: the pooled ones apply, which c's errors inflate.
    expect(calibrateIntervals(cases, forecasts, [1], 0.9, std)).toEqual([50]);
    // In units of each series' std.
    const halfStd = calibrateSeriesIntervals(cases, forecasts, [1], 0.9, () => ({ mean: 0, std: 0.5 }));
    expect(halfStd.get(a)![0]).toBeCloseTo(1.82, 12);
  });
});
