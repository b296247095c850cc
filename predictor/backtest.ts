import type { SeriesStats } from "./features.js";
import type { ForecastCase, ForecastModel } from "./forecast-model.js";
import type { GridSeries } from "./series-preparation.js";

/** Index boundaries on the grid: train [0, trainEnd), validation [trainEnd, validationEnd), test [validationEnd, end). */
export interface Split {
  trainEnd: number;
  validationEnd: number;
  end: number;
}

/** Newest `testFraction` for the backtest, the `validationFraction` before it for early stopping and interval calibration. */
export function splitByFraction(length: number, validationFraction = 0.15, testFraction = 0.15): Split {
  const test = Math.floor(length * testFraction);
  const validation = Math.floor(length * validationFraction);
  return { trainEnd: length - test - validation, validationEnd: length - test, end: length };
}

/**
 * Forecast origins whose every target lies in [from, to): the first target is at origin+1, the last at
 * origin+maxHorizon. Taking every `stride`-th origin keeps big backtests affordable.
 */
export function originsBetween(
  from: number,
  to: number,
  maxHorizon: number,
  minOrigin: number,
  stride: number,
): number[] {
  const origins: number[] = [];
  for (let o = Math.max(from - 1, minOrigin); o + maxHorizon < to; o += stride) origins.push(o);
  return origins;
}

export function casesFor(series: GridSeries[], origins: (s: GridSeries) => number[]): ForecastCase[] {
  return series.flatMap((s) => origins(s).map((origin) => ({ series: s, origin })));
}

export interface ForecastMetrics {
  mae: number;
  rmse: number;
  /** Symmetric MAPE in percent (0–200). */
  smape: number;
  /** MAE divided by the in-sample seasonal-naive MAE of the same series; < 1 beats it. */
  mase: number;
  /** Share of actual values inside the prediction interval. */
  coverage: number;
  count: number;
}

export interface ModelReport {
  model: string;
  overall: ForecastMetrics;
  perHorizon: ForecastMetrics[];
  /** Interval half-width per horizon, in units of the series' scale (std), from every series' errors. */
  intervalWidths: number[];
  /**
   * The same from each series' own validation errors, by series key, for series with at least
   * MIN_SERIES_RESIDUALS of them per horizon: what is served for those series (a smooth series
   * needs a narrower band, in its own std, than a noisy one). Absent: the pooled widths apply.
   */
  seriesIntervalWidths?: Record<string, number[]>;
}

/** Fewest validation errors per horizon for a series' own interval widths; fewer: the pooled ones. */
export const MIN_SERIES_RESIDUALS = 100;

/** Mean absolute seasonal difference over the training part: the MASE denominator. */
export function maseScale(values: ArrayLike<number>, end: number, season: number): number {
  for (const lag of [season, 1]) {
    let sum = 0;
    let n = 0;
    for (let i = lag; i < end; i++) {
      const a = values[i]!;
      const b = values[i - lag]!;
      if (Number.isNaN(a) || Number.isNaN(b)) continue;
      sum += Math.abs(a - b);
      n++;
    }
    if (n > 0 && sum > 0) return sum / n;
  }
  return 1;
}

/** The conformal quantile: with n residuals, the ⌈(n+1)·level⌉-th smallest, so coverage holds in finite samples. */
export function conformalQuantile(residuals: number[], level: number): number {
  if (residuals.length === 0) return Number.NaN;
  const sorted = [...residuals].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.ceil((sorted.length + 1) * level));
  return sorted[rank - 1]!;
}

class Accumulator {
  private absSum = 0;
  private sqSum = 0;
  private smapeSum = 0;
  private scaledSum = 0;
  private inside = 0;
  private withInterval = 0;
  count = 0;

  add(actual: number, forecast: number, scale: number, lower: number, upper: number): void {
    const error = forecast - actual;
    this.absSum += Math.abs(error);
    this.sqSum += error * error;
    const denominator = Math.abs(actual) + Math.abs(forecast);
    this.smapeSum += denominator === 0 ? 0 : (200 * Math.abs(error)) / denominator;
    this.scaledSum += Math.abs(error) / scale;
    if (!Number.isNaN(lower)) {
      this.withInterval++;
      if (actual >= lower && actual <= upper) this.inside++;
    }
    this.count++;
  }

  result(): ForecastMetrics {
    const n = this.count || Number.NaN;
    return {
      mae: this.absSum / n,
      rmse: Math.sqrt(this.sqSum / n),
      smape: this.smapeSum / n,
      mase: this.scaledSum / n,
      coverage: this.withInterval ? this.inside / this.withInterval : Number.NaN,
      count: this.count,
    };
  }
}

export interface BacktestInput {
  models: ForecastModel[];
  series: GridSeries[];
  horizonSteps: number[];
  split: Split;
  /** Season of the MASE denominator (steps); 1 means the naive forecast. */
  maseSeason: number;
  /** Nominal interval coverage, e.g. 0.9. */
  level: number;
  statsOf: (s: GridSeries) => SeriesStats;
  /** The earliest origin any model can use (the LSTM needs a full window). */
  minOrigin: number;
  stride?: number;
  /** Called with each model's test forecasts, e.g. to plot them. */
  onTestForecasts?: (
    model: string,
    cases: ForecastCase[],
    forecasts: Float64Array[],
    widths: number[],
  ) => void;
}

/**
 * Rolling-origin backtest: intervals are calibrated on the validation part, metrics computed on the
 * test part only. No model ever sees a test target during training or calibration.
 */
export async function runBacktest(input: BacktestInput): Promise<ModelReport[]> {
  const maxH = Math.max(...input.horizonSteps);
  const stride = input.stride ?? 1;
  const { split } = input;
  const validationCases = casesFor(input.series, () =>
    originsBetween(split.trainEnd, split.validationEnd, maxH, input.minOrigin, stride),
  );
  const testCases = casesFor(input.series, () =>
    originsBetween(split.validationEnd, split.end, maxH, input.minOrigin, stride),
  );
  const scales = new Map(input.series.map((s) => [s, maseScale(s.values, split.trainEnd, input.maseSeason)]));
  const stats = new Map(input.series.map((s) => [s, input.statsOf(s)]));
  const reports: ModelReport[] = [];
  for (const model of input.models) {
    const validationForecasts = await model.predict(validationCases, input.horizonSteps);
    const widths = calibrateIntervals(
      validationCases,
      validationForecasts,
      input.horizonSteps,
      input.level,
      (s) => stats.get(s)!,
    );
    const seriesWidths = calibrateSeriesIntervals(
      validationCases,
      validationForecasts,
      input.horizonSteps,
      input.level,
      (s) => stats.get(s)!,
    );
    const forecasts = await model.predict(testCases, input.horizonSteps);
    input.onTestForecasts?.(model.name, testCases, forecasts, widths);
    const overall = new Accumulator();
    const perHorizon = input.horizonSteps.map(() => new Accumulator());
    testCases.forEach((c, i) => {
      const std = stats.get(c.series)!.std;
      const own = seriesWidths.get(c.series) ?? widths;
      input.horizonSteps.forEach((h, k) => {
        const actual = c.series.values[c.origin + h]!;
        const forecast = forecasts[i]![k]!;
        if (Number.isNaN(actual) || Number.isNaN(forecast)) return;
        const half = own[k]! * std;
        const scale = scales.get(c.series)!;
        overall.add(actual, forecast, scale, forecast - half, forecast + half);
        perHorizon[k]!.add(actual, forecast, scale, forecast - half, forecast + half);
      });
    });
    reports.push({
      model: model.name,
      overall: overall.result(),
      perHorizon: perHorizon.map((a) => a.result()),
      intervalWidths: widths,
      seriesIntervalWidths: Object.fromEntries([...seriesWidths].map(([s, w]) => [s.key, w])),
    });
  }
  return reports;
}

/** Per series with enough validation errors: its own per-horizon half-widths (in its std). */
export function calibrateSeriesIntervals(
  cases: ForecastCase[],
  forecasts: Float64Array[],
  horizonSteps: number[],
  level: number,
  statsOf: (s: GridSeries) => SeriesStats,
  minResiduals = MIN_SERIES_RESIDUALS,
): Map<GridSeries, number[]> {
  const bySeries = new Map<GridSeries, { cases: ForecastCase[]; forecasts: Float64Array[] }>();
  cases.forEach((c, i) => {
    let own = bySeries.get(c.series);
    if (!own) bySeries.set(c.series, (own = { cases: [], forecasts: [] }));
    own.cases.push(c);
    own.forecasts.push(forecasts[i]!);
  });
  const result = new Map<GridSeries, number[]>();
  for (const [series, own] of bySeries) {
    const counts = horizonSteps.map((h, k) =>
      own.cases.reduce(
        (n, c, i) =>
          n + (Number.isNaN(c.series.values[c.origin + h]!) || Number.isNaN(own.forecasts[i]![k]!) ? 0 : 1),
        0,
      ),
    );
    if (counts.every((n) => n >= minResiduals)) {
      result.set(series, calibrateIntervals(own.cases, own.forecasts, horizonSteps, level, statsOf));
    }
  }
  return result;
}

/** Per-horizon interval half-width (in series std) from absolute validation residuals. */
export function calibrateIntervals(
  cases: ForecastCase[],
  forecasts: Float64Array[],
  horizonSteps: number[],
  level: number,
  statsOf: (s: GridSeries) => SeriesStats,
): number[] {
  return horizonSteps.map((h, k) => {
    const residuals: number[] = [];
    cases.forEach((c, i) => {
      const actual = c.series.values[c.origin + h]!;
      const forecast = forecasts[i]![k]!;
      if (!Number.isNaN(actual) && !Number.isNaN(forecast)) {
        residuals.push(Math.abs(actual - forecast) / statsOf(c.series).std);
      }
    });
    return conformalQuantile(residuals, level);
  });
}
