import { describe, expect, it } from "vitest";
import { loadBackend } from "../../predictor/backend.js";
import { modelSettingsSchema } from "../../predictor/config.js";
import { trainTarget } from "../../predictor/training.js";
import { dailySine } from "./synthetic.js";

describe("prediction intervals on synthetic data with known noise", () => {
  it("hold their nominal 90% coverage on the test part for every model", async () => {
    const { tf } = await loadBackend("auto");
    // Same signal-to-noise in every series (amplitude 5σ), at very different levels and scales.
    const series = [1, 2, 5].map((sigma, i) =>
      dailySine({
        key: `m${i}`,
        hours: 60 * 24,
        level: [50, 300, 2_000][i]!,
        amplitude: 5 * sigma,
        sigma,
        seed: 11 + i,
      }),
    );
    const outcome = await trainTarget({
      tf,
      series,
      horizonSteps: [1, 6],
      seasonSteps: [24],
      seasonLabels: ["1d"],
      baselineRangeSteps: 23,
      level: 0.9,
      model: modelSettingsSchema.parse({ window: 24, units: 8, epochs: 3, max_training_windows: 1_500 }),
    });
    expect(outcome.reports.map((r) => r.model)).toEqual([
      "naive",
      "seasonal_naive_1d",
      "predict_linear",
      "holt_winters",
      "lstm",
      "lstm_blend",
    ]);
    for (const report of outcome.reports) {
      expect(report.overall.count, report.model).toBeGreaterThan(1_000);
      expect(report.overall.coverage, report.model).toBeGreaterThan(0.86);
      expect(report.overall.coverage, report.model).toBeLessThan(0.94);
    }
    // Seasonal naive errs by ε(t) − ε(t−24) ~ N(0, 2σ²): the 90% half-width is 1.645·√2·σ, and in units of
    // the series' spread √(12.5σ² + σ²) that is 0.633 whatever σ is.
    const seasonal = outcome.reports.find((r) => r.model === "seasonal_naive_1d")!;
    for (const width of seasonal.intervalWidths) expect(width).toBeCloseTo(0.633, 1);
    // The noise is white, so nothing can beat an MAE of σ·√(2/π) ≈ 0.8σ; seasonal naive sits at √2 of that.
    expect(seasonal.overall.mase).toBeCloseTo(1, 1);
  }, 120_000);
});
