import { type Labels, type RangeSeries, seriesKey } from "./prometheus-client.js";

/**
 * One series on a regular grid: values[i] belongs to startMs + i·stepMs. NaN marks a point that is
 * missing (gap, stale marker, NaN sample) and was not filled; models never see it as data.
 */
export interface GridSeries {
  key: string;
  labels: Labels;
  startMs: number;
  stepMs: number;
  values: Float64Array;
  /** Points filled by linear interpolation across a short gap. */
  interpolated: number;
  /** Points left missing (long gaps). */
  missing: number;
}

/** Places points on the grid; anything not on it (or absent) is NaN. */
export function alignToGrid(
  series: RangeSeries,
  startMs: number,
  length: number,
  stepMs: number,
): Float64Array {
  const values = new Float64Array(length).fill(Number.NaN);
  for (let i = 0; i < series.timestamps.length; i++) {
    const offset = (series.timestamps[i]! - startMs) / stepMs;
    const index = Math.round(offset);
    // Off-grid points would mean another step was used; keep only the ones that fit within 1 ms.
    if (index < 0 || index >= length || Math.abs(offset - index) * stepMs > 1) continue;
    const value = series.values[i]!;
    values[index] = Number.isFinite(value) ? value : Number.NaN;
  }
  return values;
}

/**
 * Turns a raw counter into a per-second rate between consecutive grid points. A drop is a reset:
 * the increase is then the new value (the counter restarted from zero), as rate() does it.
 * A point after a missing one has no rate: the increase across a gap is unknown.
 */
export function counterToRate(values: Float64Array, stepSeconds: number): Float64Array {
  const out = new Float64Array(values.length).fill(Number.NaN);
  for (let i = 1; i < values.length; i++) {
    const previous = values[i - 1]!;
    const current = values[i]!;
    if (Number.isNaN(previous) || Number.isNaN(current)) continue;
    const increase = current >= previous ? current - previous : current;
    out[i] = increase / stepSeconds;
  }
  return out;
}

/**
 * Fills runs of at most `maxGapSteps` missing points that have data on both sides, linearly.
 * Longer runs stay NaN so they break windows instead of becoming invented data.
 */
export function fillShortGaps(
  values: Float64Array,
  maxGapSteps: number,
): { values: Float64Array; interpolated: number } {
  const out = Float64Array.from(values);
  let interpolated = 0;
  let i = 0;
  while (i < out.length) {
    if (!Number.isNaN(out[i]!)) {
      i++;
      continue;
    }
    let end = i;
    while (end < out.length && Number.isNaN(out[end]!)) end++;
    const length = end - i;
    if (i > 0 && end < out.length && length <= maxGapSteps) {
      const before = out[i - 1]!;
      const after = out[end]!;
      for (let k = 0; k < length; k++) out[i + k] = before + ((after - before) * (k + 1)) / (length + 1);
      interpolated += length;
    }
    i = end;
  }
  return { values: out, interpolated };
}

export interface PrepareOptions {
  startMs: number;
  endMs: number;
  stepMs: number;
  maxGapSteps: number;
  counter: boolean;
}

/** Range-query result → grid series ready for the models, gaps explicit. */
export function prepareSeries(raw: RangeSeries[], options: PrepareOptions): GridSeries[] {
  const gridStart = Math.ceil(options.startMs / options.stepMs) * options.stepMs;
  const length = Math.max(0, Math.floor((options.endMs - gridStart) / options.stepMs) + 1);
  return raw.map((series) => {
    let values = alignToGrid(series, gridStart, length, options.stepMs);
    if (options.counter) values = counterToRate(values, options.stepMs / 1000);
    const filled = fillShortGaps(values, options.maxGapSteps);
    let missing = 0;
    for (const value of filled.values) if (Number.isNaN(value)) missing++;
    return {
      key: seriesKey(series.labels),
      labels: series.labels,
      startMs: gridStart,
      stepMs: options.stepMs,
      values: filled.values,
      interpolated: filled.interpolated,
      missing,
    };
  });
}

/** True when values[from..to] (inclusive) are all present. */
export function isComplete(values: ArrayLike<number>, from: number, to: number): boolean {
  if (from < 0 || to >= values.length) return false;
  for (let i = from; i <= to; i++) if (Number.isNaN(values[i]!)) return false;
  return true;
}
