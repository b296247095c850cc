import type { LayersModel } from "@tensorflow/tfjs";
import type { Tf } from "./backend.js";
import {
  calibrateIntervals,
  casesFor,
  type ModelReport,
  originsBetween,
  runBacktest,
  type Split,
  splitByFraction,
} from "./backtest.js";
import { type BaselineSettings, baselineModels, holtWintersModel } from "./baselines.js";
import { BlendForecaster, chooseBlend, LSTM_BLEND, memoized } from "./blend.js";
import type { ModelSettings } from "./config.js";
import { ensembleNetwork } from "./ensemble.js";
import { differenceLag, type SeriesStats, seriesStats } from "./features.js";
import type { ForecastCase, ForecastModel } from "./forecast-model.js";
import { buildTrainingArrays, createLstm, LstmForecaster, type LstmShape, trainLstm } from "./lstm-model.js";
import { choosePromotion, type PromotionDecision } from "./promotion.js";
import type { GridSeries } from "./series-preparation.js";
import {
  type HistoryShortfall,
  lstmFits,
  lstmStepsNeeded,
  shortHistoryModel,
  trimLeadingGap,
} from "./short-history.js";

export interface TrainingInput {
  tf: Tf;
  series: GridSeries[];
  horizonSteps: number[];
  seasonSteps: number[];
  seasonLabels: string[];
  baselineRangeSteps: number;
  level: number;
  model: ModelSettings;
  split?: Split;
  /** Backtest every n-th origin; default keeps the backtest to about 4 000 origins. */
  stride?: number;
  /** Skip the network (baselines only), e.g. for a quick first forecast. */
  skipLstm?: boolean;
  onEpoch?: (epoch: number, epochs: number, loss: number, valLoss: number | undefined) => void;
  onBatch?: (batch: number, batches: number) => void;
  shouldStop?: () => boolean;
  onTestForecasts?: (
    model: string,
    cases: ForecastCase[],
    forecasts: Float64Array[],
    widths: number[],
  ) => void;
}

export interface TrainingOutcome {
  reports: ModelReport[];
  decision: PromotionDecision;
  lstm?: LstmForecaster;
  shape?: LstmShape;
  seriesStats: Map<string, SeriesStats>;
  intervalWidths: Record<string, number[]>;
  baselines: BaselineSettings;
  windows: number;
  epochs: number;
  split: Split;
  /** Set when the history was too short for the normal training and a baseline is served meanwhile. */
  history?: HistoryShortfall;
}

/** Every k-th element so that at most `max` remain, spread evenly over the range. */
export function thin<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  const step = items.length / max;
  return Array.from({ length: max }, (_, i) => items[Math.floor(i * step)]!);
}

/** Validation cases the blend is chosen on; with fewer per series the pooled choice applies. */
const MAX_BLEND_CASES = 24_000;

const HW_GRID = [0.1, 0.3, 0.5, 0.7, 0.9].flatMap((sf) => [0.1, 0.3, 0.5].map((tf) => ({ sf, tf })));

/** Picks holt_winters' factors on the validation part, so the baseline is as good as a person would tune it. */
async function tuneHoltWinters(
  cases: ForecastCase[],
  horizonSteps: number[],
  rangeSteps: number,
): Promise<{ sf: number; tf: number }> {
  let best = { sf: 0.3, tf: 0.1 };
  let bestError = Number.POSITIVE_INFINITY;
  const sample = thin(cases, 1_000);
  for (const factors of HW_GRID) {
    const forecasts = await holtWintersModel(rangeSteps, factors.sf, factors.tf).predict(
      sample,
      horizonSteps,
    );
    let error = 0;
    let n = 0;
    sample.forEach((c, i) => {
      horizonSteps.forEach((h, k) => {
        const actual = c.series.values[c.origin + h]!;
        const f = forecasts[i]![k]!;
        if (Number.isNaN(actual) || Number.isNaN(f)) return;
        error += Math.abs(actual - f);
        n++;
      });
    });
    if (n > 0 && error / n < bestError) {
      bestError = error / n;
      best = factors;
    }
  }
  return best;
}

/**
 * One training of one target: fit the global LSTM on the oldest part of every series, stop early
 * on the validation part, calibrate intervals there, backtest everything on the newest part, and
 * decide what to serve.
 */
export async function trainTarget(input: TrainingInput): Promise<TrainingOutcome> {
  const { tf, horizonSteps, model: settings } = input;
  if (input.series.length === 0) throw new Error("the expression returned no series");
  // A given split indexes the caller's rows (offline tools); otherwise history starts at the first sample.
  const series = input.split ? input.series : trimLeadingGap(input.series);
  const length = Math.max(...series.map((s) => s.values.length));
  const split = input.split ?? splitByFraction(length);
  const maxH = Math.max(...horizonSteps);
  const window = settings.window;
  const seasonsFor = (parts: Split) =>
    input.seasonSteps
      .map((steps, i) => ({ steps, label: input.seasonLabels[i]! }))
      .filter((season) => season.steps * 2 <= parts.trainEnd);
  // Baselines alone need no input window and no seasonal difference, only the held-out parts.
  const fitWindow = input.skipLstm ? 1 : window;
  const fitSeason = (parts: Split) => (input.skipLstm ? 0 : (seasonsFor(parts)[0]?.steps ?? 0));
  if (!lstmFits(split, fitWindow, maxH, fitSeason)) {
    const needed = lstmStepsNeeded(fitWindow, maxH, splitByFraction, fitSeason);
    const what = input.skipLstm ? "a backtest" : "the LSTM";
    const fallback = await shortHistoryModel({
      series,
      horizonSteps,
      seasonSteps: input.seasonSteps,
      seasonLabels: input.seasonLabels,
      baselineRangeSteps: input.baselineRangeSteps,
      level: input.level,
      reason: `insufficient history for ${what}: ${length} steps, needs ${needed}`,
    });
    return {
      ...fallback,
      windows: 0,
      epochs: 0,
      split: { trainEnd: length, validationEnd: length, end: length },
      history: { steps: length, needed },
    };
  }
  const stats = new Map(series.map((s) => [s.key, seriesStats(s.values, 0, split.trainEnd)]));
  const statsOf = (c: ForecastCase) =>
    stats.get(c.series.key) ?? seriesStats(c.series.values, 0, c.origin + 1);

  const seasons = seasonsFor(split);
  const season = seasons[0]?.steps ?? 0;
  // Every model is judged on the same origins: those where the LSTM has its full input.
  const minOrigin = window - 1 + differenceLag(season);
  const validationCases = casesFor(series, () =>
    originsBetween(split.trainEnd, split.validationEnd, maxH, minOrigin, 1),
  );
  const baselines: BaselineSettings = {
    seasonSteps: seasons.map((s) => s.steps),
    seasonLabels: seasons.map((s) => s.label),
    rangeSteps: input.baselineRangeSteps,
    holtWinters: await tuneHoltWinters(validationCases, horizonSteps, input.baselineRangeSteps),
  };
  const models: ForecastModel[] = baselineModels(baselines);

  let lstm: LstmForecaster | undefined;
  let blend: BlendForecaster | undefined;
  let shape: LstmShape | undefined;
  let windows = 0;
  let epochs = 0;
  const lstmShape: LstmShape = { window, units: settings.units, outputs: horizonSteps.length, season };
  const trainArrays = input.skipLstm
    ? undefined
    : buildTrainingArrays(
        thin(
          casesFor(series, () => originsBetween(0, split.trainEnd, maxH, minOrigin, 1)),
          settings.max_training_windows,
        ),
        lstmShape,
        horizonSteps,
        statsOf,
      );
  // Long enough but too gappy for one complete window: the baselines are still backtested, and
  // the promotion serves the best of them ("lstm could not be evaluated").
  if (trainArrays && trainArrays.count > 0) {
    shape = lstmShape;
    const validationArrays = buildTrainingArrays(thin(validationCases, 1_024), shape, horizonSteps, statsOf);
    // Members differ by initialisation and shuffling only; their forecasts are averaged.
    const members: LayersModel[] = [];
    const planned = settings.ensemble * settings.epochs;
    for (let m = 0; m < settings.ensemble && !input.shouldStop?.(); m++) {
      const member = createLstm(tf, shape, settings.learning_rate);
      members.push(member);
      const result = await trainLstm(tf, member, trainArrays, validationArrays, shape, {
        epochs: settings.epochs,
        batchSize: settings.batch_size,
        patience: settings.patience,
        onEpoch: (epoch, loss, valLoss) => input.onEpoch?.(epochs + epoch, planned, loss, valLoss),
        onBatch: input.onBatch,
        shouldStop: input.shouldStop,
      });
      windows = result.windows;
      epochs += result.epochs;
    }
    const network = ensembleNetwork(tf, shape, members);
    if (network !== members[0]) for (const member of members) member.dispose();
    lstm = new LstmForecaster(tf, network, shape, statsOf);
    // The blend asks for the same LSTM forecasts as the backtest: computed once per origin.
    const remembered = memoized(lstm);
    const blendCases = thin(validationCases, MAX_BLEND_CASES);
    const baselineForecasts = new Map<string, Float64Array[]>();
    for (const baseline of baselineModels(baselines)) {
      baselineForecasts.set(baseline.name, await baseline.predict(blendCases, horizonSteps));
    }
    const choice = chooseBlend({
      cases: blendCases,
      horizonSteps,
      lstm: await remembered.predict(blendCases, horizonSteps),
      baselines: baselineForecasts,
      statsOf: (s) => stats.get(s.key)!,
    });
    blend = new BlendForecaster(remembered, baselineModels(baselines), choice);
    models.push(remembered, blend);
  }

  const testOrigins = Math.max(0, split.end - split.validationEnd - maxH) * series.length;
  const reports = await runBacktest({
    models,
    series,
    horizonSteps,
    split,
    maseSeason: seasons[0]?.steps ?? 1,
    level: input.level,
    statsOf: (s) => stats.get(s.key)!,
    minOrigin,
    stride: input.stride ?? Math.max(1, Math.floor(testOrigins / 4_000)),
    onTestForecasts: input.onTestForecasts,
  });
  const chosen = choosePromotion(reports, blend ? LSTM_BLEND : "lstm", blend?.settings);
  const decision: PromotionDecision =
    blend && chosen.served === LSTM_BLEND ? { ...chosen, blend: blend.settings } : chosen;
  return {
    reports,
    decision,
    lstm,
    shape,
    seriesStats: stats,
    intervalWidths: Object.fromEntries(reports.map((r) => [r.model, r.intervalWidths])),
    baselines,
    windows,
    epochs,
    split,
  };
}

export { calibrateIntervals };
