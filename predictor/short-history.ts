import {
  conformalQuantile,
  type ForecastMetrics,
  type ModelReport,
  maseScale,
  type Split,
} from "./backtest.js";
import { type BaselineSettings, baselineModels } from "./baselines.js";
import { differenceLag, type SeriesStats, seriesStats } from "./features.js";
import type { ForecastCase } from "./forecast-model.js";
import type { PromotionDecision } from "./promotion.js";
import type { GridSeries } from "./series-preparation.js";

/** Below this many steps not even a baseline's interval can be estimated. */
export const MIN_HISTORY_STEPS = 10;
/** Fewest residuals an interval is estimated from. */
const MIN_RESIDUALS = 8;
/** Holt-Winters factors when there is no validation part to tune them on. */
const DEFAULT_HOLT_WINTERS = { sf: 0.3, tf: 0.1 };

/** How much history a training had, and how much the LSTM (with its held-out parts) needs. */
export interface HistoryShortfall {
  steps: number;
  needed: number;
}

/**
 * Drops the leading steps where no series has a point yet. On a fresh installation the lookback
 * reaches back before the first sample; without this the 70/15/15 split would put the training
 * part into that void.
 */
export function trimLeadingGap(series: GridSeries[]): GridSeries[] {
  let first = Number.POSITIVE_INFINITY;
  for (const s of series) {
    const i = s.values.findIndex((v) => !Number.isNaN(v));
    if (i >= 0) first = Math.min(first, i);
  }
  if (!Number.isFinite(first) || first === 0) return series;
  return series.map((s) => ({
    ...s,
    startMs: s.startMs + first * s.stepMs,
    values: s.values.slice(first),
  }));
}

/** Whether a split leaves the LSTM a full input window before training targets, and a validation and test part to evaluate on. */
export function lstmFits(
  split: Split,
  window: number,
  maxHorizon: number,
  seasonFor: (split: Split) => number,
): boolean {
  const minOrigin = window - 1 + differenceLag(seasonFor(split));
  const fitsIn = (from: number, to: number) => Math.max(from - 1, minOrigin) + maxHorizon < to;
  return (
    fitsIn(0, split.trainEnd) &&
    fitsIn(split.trainEnd, split.validationEnd) &&
    fitsIn(split.validationEnd, split.end)
  );
}

/** The shortest history (steps) whose split fits the LSTM; the seasonal difference input may lengthen it. */
export function lstmStepsNeeded(
  window: number,
  maxHorizon: number,
  splitOf: (length: number) => Split,
  seasonFor: (split: Split) => number,
): number {
  let length = 1;
  while (!lstmFits(splitOf(length), window, maxHorizon, seasonFor)) length++;
  return length;
}

export interface ShortHistoryInput {
  series: GridSeries[];
  horizonSteps: number[];
  seasonSteps: number[];
  seasonLabels: string[];
  baselineRangeSteps: number;
  level: number;
  /** Why the normal training cannot run, e.g. "insufficient history for the LSTM: 60 steps, needs 24000". */
  reason: string;
}

export interface ShortHistoryModel {
  reports: ModelReport[];
  decision: PromotionDecision;
  seriesStats: Map<string, SeriesStats>;
  intervalWidths: Record<string, number[]>;
  baselines: BaselineSettings;
}

/** |x[t+lag] − x[t]| / std over every present pair (every `stride`-th t). */
function differences(
  series: GridSeries[],
  stats: Map<string, SeriesStats>,
  lag: number,
  stride: number,
): number[] {
  const out: number[] = [];
  for (const s of series) {
    const std = stats.get(s.key)!.std;
    for (let t = 0; t + lag < s.values.length; t += stride) {
      const d = s.values[t + lag]! - s.values[t]!;
      if (!Number.isNaN(d)) out.push(Math.abs(d) / std);
    }
  }
  return out;
}

/**
 * Interval half-width at `horizon` from the naive k-step differences with the largest k ≤ horizon
 * that still has enough pairs, widened by √(horizon/k) as for a random walk: conservative for a
 * series that reverts to its level, about right for one that wanders.
 */
function naiveWidth(
  series: GridSeries[],
  stats: Map<string, SeriesStats>,
  horizon: number,
  level: number,
  stride: number,
): number {
  const enough = (lag: number) => differences(series, stats, lag, stride).length >= MIN_RESIDUALS;
  if (!enough(1)) {
    throw new Error(
      `too little history for any forecast: fewer than ${MIN_RESIDUALS} pairs of points one step apart`,
    );
  }
  let lo = 1;
  let hi = horizon;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (enough(mid)) lo = mid;
    else hi = mid - 1;
  }
  return conformalQuantile(differences(series, stats, lo, stride), level) * Math.sqrt(horizon / lo);
}

class Sums {
  abs = 0;
  sq = 0;
  smape = 0;
  scaled = 0;
  count = 0;

  add(actual: number, forecast: number, scale: number): void {
    const error = forecast - actual;
    this.abs += Math.abs(error);
    this.sq += error * error;
    const denominator = Math.abs(actual) + Math.abs(forecast);
    this.smape += denominator === 0 ? 0 : (200 * Math.abs(error)) / denominator;
    this.scaled += Math.abs(error) / scale;
    this.count++;
  }

  result(): ForecastMetrics {
    const n = this.count || Number.NaN;
    // No held-out part: the interval was estimated from these very errors, so its coverage proves nothing.
    return {
      mae: this.abs / n,
      rmse: Math.sqrt(this.sq / n),
      smape: this.smape / n,
      mase: this.scaled / n,
      coverage: Number.NaN,
      count: this.count,
    };
  }
}

/**
 * What to serve while the history is too short for the LSTM or a rolling-origin backtest: the
 * baselines the history supports (seasonal naive only with a full season plus the longest
 * horizon, predict_linear / holt_winters only with their full range), compared on every origin of
 * the history where all of them forecast and the actual is known. Baselines fit nothing (Holt-Winters
 * keeps its default factors), so this evaluates no model on data it was fitted on. Horizons longer than the
 * history have no figures; their intervals come from the naive differences the history has.
 */
export async function shortHistoryModel(input: ShortHistoryInput): Promise<ShortHistoryModel> {
  const { series, horizonSteps, level } = input;
  const length = Math.max(...series.map((s) => s.values.length));
  const present = Math.max(...series.map((s) => s.values.filter((v) => !Number.isNaN(v)).length));
  if (present < MIN_HISTORY_STEPS) {
    throw new Error(
      `too little history for any forecast: ${present} steps, needs at least ${MIN_HISTORY_STEPS}`,
    );
  }
  const maxH = Math.max(...horizonSteps);
  const stats = new Map(series.map((s) => [s.key, seriesStats(s.values)]));
  const seasons = input.seasonSteps
    .map((steps, i) => ({ steps, label: input.seasonLabels[i]! }))
    .filter((season) => season.steps + maxH <= length);
  const baselines: BaselineSettings = {
    seasonSteps: seasons.map((s) => s.steps),
    seasonLabels: seasons.map((s) => s.label),
    rangeSteps: input.baselineRangeSteps,
    holtWinters: DEFAULT_HOLT_WINTERS,
  };
  const rangeFits = input.baselineRangeSteps + 1 <= length;
  const models = baselineModels(baselines).filter(
    (m) => rangeFits || (m.name !== "predict_linear" && m.name !== "holt_winters"),
  );

  const stride = Math.max(1, Math.floor((length * series.length) / 4_000));
  const cases: ForecastCase[] = series.flatMap((s) =>
    Array.from({ length: Math.ceil(length / stride) }, (_, i) => ({ series: s, origin: i * stride })).filter(
      (c) => c.origin + Math.min(...horizonSteps) < s.values.length,
    ),
  );
  const forecasts = await Promise.all(models.map((m) => m.predict(cases, horizonSteps)));
  const scales = new Map(
    series.map((s) => [s.key, maseScale(s.values, s.values.length, seasons[0]?.steps ?? 1)]),
  );

  const reports: ModelReport[] = models.map((m, j) => {
    const overall = new Sums();
    const perHorizon = horizonSteps.map(() => new Sums());
    const residuals: number[][] = horizonSteps.map(() => []);
    cases.forEach((c, i) => {
      horizonSteps.forEach((h, k) => {
        const actual = c.series.values[c.origin + h];
        if (actual === undefined || Number.isNaN(actual)) return;
        // Only where every model forecasts, so the comparison is like for like.
        if (forecasts.some((f) => Number.isNaN(f[i]![k]!))) return;
        const forecast = forecasts[j]![i]![k]!;
        const scale = scales.get(c.series.key)!;
        overall.add(actual, forecast, scale);
        perHorizon[k]!.add(actual, forecast, scale);
        residuals[k]!.push(Math.abs(actual - forecast) / stats.get(c.series.key)!.std);
      });
    });
    const intervalWidths = horizonSteps.map((h, k) =>
      residuals[k]!.length >= MIN_RESIDUALS
        ? conformalQuantile(residuals[k]!, level)
        : naiveWidth(series, stats, h, level, stride),
    );
    return {
      model: m.name,
      overall: overall.result(),
      perHorizon: perHorizon.map((a) => a.result()),
      intervalWidths,
    };
  });

  const best = reports
    .filter((r) => r.overall.count > 0 && Number.isFinite(r.overall.mase))
    .reduce<ModelReport | undefined>((w, r) => (!w || r.overall.mase < w.overall.mase ? r : w), undefined);
  // Without any comparable pair, "no change" is the forecast that assumes least.
  const served = best?.model ?? "naive";
  return {
    reports,
    decision: { served, bestBaseline: served, reason: input.reason },
    seriesStats: stats,
    intervalWidths: Object.fromEntries(reports.map((r) => [r.model, r.intervalWidths])),
    baselines,
  };
}
