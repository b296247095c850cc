import type { ForecastCase, ForecastModel } from "./forecast-model.js";

/**
 * predict_linear(v[range], t) exactly as Prometheus computes it: ordinary least squares over the raw
 * (timestamp, value) points of the range, with x measured in seconds from the evaluation time, so
 * the intercept is the fitted value at evaluation time. Undefined for fewer than two points.
 */
export function promPredictLinear(
  timestampsMs: ArrayLike<number>,
  values: ArrayLike<number>,
  evalTimeMs: number,
  durationSeconds: number,
): number | undefined {
  const n = values.length;
  if (n < 2) return undefined;
  let constant = true;
  for (let i = 1; i < n; i++) if (values[i] !== values[0]) constant = false;
  if (constant) return Number.isFinite(values[0]!) ? values[0]! : Number.NaN;
  const sumX = kahan();
  const sumY = kahan();
  const sumXY = kahan();
  const sumX2 = kahan();
  for (let i = 0; i < n; i++) {
    const x = (timestampsMs[i]! - evalTimeMs) / 1000;
    const y = values[i]!;
    sumX.add(x);
    sumY.add(y);
    sumXY.add(x * y);
    sumX2.add(x * x);
  }
  const sx = sumX.value();
  const sy = sumY.value();
  const covXY = sumXY.value() - (sx * sy) / n;
  const varX = sumX2.value() - (sx * sx) / n;
  const slope = covXY / varX;
  const intercept = sy / n - (slope * sx) / n;
  return slope * durationSeconds + intercept;
}

/** Compensated summation, as newer Prometheus versions use for the regression sums. */
function kahan() {
  let sum = 0;
  let c = 0;
  return {
    add(x: number) {
      const t = sum + x;
      if (Math.abs(sum) >= Math.abs(x)) c += sum - t + x;
      else c += x - t + sum;
      sum = t;
    },
    value: () => sum + c,
  };
}

/**
 * holt_winters(v[range], sf, tf) exactly as Prometheus computes it (double exponential smoothing):
 * level seeded with the first value, trend with the first difference, the trend first updated from
 * the second smoothing step on; the result is the last smoothed level, not an extrapolation.
 */
export function promHoltWinters(values: ArrayLike<number>, sf: number, tf: number): number | undefined {
  if (!(sf > 0 && sf < 1 && tf > 0 && tf < 1)) {
    throw new Error(`holt_winters factors must be in (0, 1), got sf=${sf} tf=${tf}`);
  }
  const n = values.length;
  if (n < 2) return undefined;
  let previousLevel = 0;
  let level = values[0]!;
  let trend = values[1]! - values[0]!;
  for (let i = 1; i < n; i++) {
    if (i > 1) trend = tf * (level - previousLevel) + (1 - tf) * trend;
    const next = sf * values[i]! + (1 - sf) * (level + trend);
    previousLevel = level;
    level = next;
  }
  return level;
}

/** The present points of values[from..to]: what a Prometheus range selector would see. */
function rangePoints(c: ForecastCase, rangeSteps: number): { t: number[]; v: number[] } {
  const t: number[] = [];
  const v: number[] = [];
  const { values, startMs, stepMs } = c.series;
  for (let i = Math.max(0, c.origin - rangeSteps); i <= c.origin; i++) {
    if (Number.isNaN(values[i]!)) continue;
    t.push(startMs + i * stepMs);
    v.push(values[i]!);
  }
  return { t, v };
}

function perCase(name: string, forecast: (c: ForecastCase, horizon: number) => number): ForecastModel {
  return {
    name,
    async predict(cases, horizonSteps) {
      return cases.map((c) => Float64Array.from(horizonSteps, (h) => forecast(c, h)));
    },
  };
}

/** The last value, for every horizon. */
export function naiveModel(): ForecastModel {
  return perCase("naive", (c) => c.series.values[c.origin] ?? Number.NaN);
}

/** The value one season before the forecast time (the latest such value the origin can see). */
export function seasonalNaiveModel(name: string, seasonSteps: number): ForecastModel {
  return perCase(name, (c, h) => {
    const back = seasonSteps * Math.ceil(h / seasonSteps);
    return c.series.values[c.origin + h - back] ?? Number.NaN;
  });
}

/** predict_linear(expr[range], horizon) evaluated at the origin. */
export function predictLinearModel(rangeSteps: number): ForecastModel {
  return perCase("predict_linear", (c, h) => {
    const { t, v } = rangePoints(c, rangeSteps);
    const originMs = c.series.startMs + c.origin * c.series.stepMs;
    return promPredictLinear(t, v, originMs, (h * c.series.stepMs) / 1000) ?? Number.NaN;
  });
}

/** holt_winters(expr[range], sf, tf) at the origin, held flat over the horizons as a dashboard would. */
export function holtWintersModel(rangeSteps: number, sf: number, tf: number): ForecastModel {
  const cache = new WeakMap<ForecastCase, number>();
  return perCase("holt_winters", (c) => {
    let value = cache.get(c);
    if (value === undefined) {
      value = promHoltWinters(rangePoints(c, rangeSteps).v, sf, tf) ?? Number.NaN;
      cache.set(c, value);
    }
    return value;
  });
}

export interface BaselineSettings {
  seasonSteps: number[];
  seasonLabels: string[];
  rangeSteps: number;
  holtWinters: { sf: number; tf: number };
}

/** Every baseline the LSTM has to beat. */
export function baselineModels(settings: BaselineSettings): ForecastModel[] {
  return [
    naiveModel(),
    ...settings.seasonSteps.map((steps, i) =>
      seasonalNaiveModel(`seasonal_naive_${settings.seasonLabels[i]}`, steps),
    ),
    predictLinearModel(settings.rangeSteps),
    holtWintersModel(settings.rangeSteps, settings.holtWinters.sf, settings.holtWinters.tf),
  ];
}

export const BASELINE_NAMES = ["naive", "seasonal_naive", "predict_linear", "holt_winters"];

/** Everything but the LSTM and what is built on it ("lstm", "lstm_blend"). */
export function isBaseline(name: string): boolean {
  return !name.startsWith("lstm");
}
