import type { ForecastCase } from "./forecast-model.js";
import type { GridSeries } from "./series-preparation.js";

/** Per-series scale: forecasts and intervals are learnt in units of this, so one model fits all series. */
export interface SeriesStats {
  mean: number;
  std: number;
}

export const FEATURES_PER_STEP = 6;

/** The lag of the difference feature: one season when there is one, else one step. */
export function differenceLag(season: number): number {
  return season > 0 ? season : 1;
}

/** Mean and spread of the present values of values[from, to); the spread never reaches zero. */
export function seriesStats(values: ArrayLike<number>, from = 0, to = values.length): SeriesStats {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let i = Math.max(0, from); i < Math.min(to, values.length); i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    n++;
    sum += v;
    sumSq += v * v;
  }
  if (n === 0) return { mean: 0, std: 1 };
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
  // A flat series still needs a scale: a percent of its level, or 1 for a flat zero.
  return { mean, std: std > 1e-9 ? std : Math.max(Math.abs(mean) * 0.01, 1e-6) };
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Hour of day and day of week (UTC) on the unit circle, so 23:00 sits next to 00:00. */
export function calendarFeatures(timeMs: number, out: Float32Array, offset: number): void {
  const hour = (((timeMs % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
  // 1970-01-01 was a Thursday: shift so 0 means Monday.
  const day = (((Math.floor(timeMs / DAY_MS) + 3) % 7) + 7) % 7;
  const week = (day + hour / 24) / 7;
  out[offset] = Math.sin((2 * Math.PI * hour) / 24);
  out[offset + 1] = Math.cos((2 * Math.PI * hour) / 24);
  out[offset + 2] = Math.sin(2 * Math.PI * week);
  out[offset + 3] = Math.cos(2 * Math.PI * week);
}

/**
 * Writes the model input for one case: `window` steps ending at the origin, each step being the
 * normalised value, its change over one season (or one step without a season), then the four
 * calendar features. Returns false when a value it needs is missing.
 */
export function writeWindow(
  c: ForecastCase,
  window: number,
  season: number,
  stats: SeriesStats,
  out: Float32Array,
  offset: number,
): boolean {
  const { values, startMs, stepMs } = c.series;
  const lag = differenceLag(season);
  const first = c.origin - window + 1;
  if (first - lag < 0 || c.origin >= values.length) return false;
  for (let k = 0; k < window; k++) {
    const value = values[first + k]!;
    const before = values[first + k - lag]!;
    if (Number.isNaN(value) || Number.isNaN(before)) return false;
    const at = offset + k * FEATURES_PER_STEP;
    out[at] = (value - stats.mean) / stats.std;
    out[at + 1] = (value - before) / stats.std;
    calendarFeatures(startMs + (first + k) * stepMs, out, at + 2);
  }
  return true;
}

/**
 * What the network's outputs are relative to: the value one season before the forecast time
 * (the seasonal-naive forecast), or the last value without a season. The network learns the
 * correction, so an untrained network already forecasts like the baseline.
 */
export function referenceValue(series: GridSeries, origin: number, horizon: number, season: number): number {
  if (season <= 0) return series.values[origin] ?? Number.NaN;
  return series.values[origin + horizon - season * Math.ceil(horizon / season)] ?? Number.NaN;
}

/** Target for one case: each horizon's value minus its reference, in series units. */
export function writeTargets(
  series: GridSeries,
  origin: number,
  horizonSteps: number[],
  season: number,
  stats: SeriesStats,
  out: Float32Array,
  offset: number,
): boolean {
  for (let h = 0; h < horizonSteps.length; h++) {
    const value = series.values[origin + horizonSteps[h]!];
    const reference = referenceValue(series, origin, horizonSteps[h]!, season);
    if (value === undefined || Number.isNaN(value) || Number.isNaN(reference)) return false;
    out[offset + h] = (value - reference) / stats.std;
  }
  return true;
}

/**
 * The head's side input for one case: per horizon, how far the last value is from that horizon's
 * reference, in series units. With it the network can lean towards "last value" or "one season
 * ago" per series and situation instead of being stuck with the reference.
 */
export function writeReferenceGaps(
  series: GridSeries,
  origin: number,
  horizonSteps: number[],
  season: number,
  stats: SeriesStats,
  out: Float32Array,
  offset: number,
): boolean {
  const last = series.values[origin]!;
  for (let h = 0; h < horizonSteps.length; h++) {
    const reference = referenceValue(series, origin, horizonSteps[h]!, season);
    if (Number.isNaN(reference) || Number.isNaN(last)) return false;
    out[offset + h] = (last - reference) / stats.std;
  }
  return true;
}
