import type { SeriesStats } from "./features.js";
import type { ForecastCase, ForecastModel } from "./forecast-model.js";
import type { GridSeries } from "./series-preparation.js";

/** The name the blend is served and reported under (`floorsense_predictor_model_info{model="lstm_blend"}`). */
export const LSTM_BLEND = "lstm_blend";

/** One series' forecast: weight · LSTM + (1 − weight) · baseline. */
export interface BlendChoice {
  baseline: string;
  /** Share of the LSTM, 0 … 1; 0 serves the baseline alone, 1 the LSTM alone. */
  weight: number;
}

export interface BlendSettings {
  /** Chosen per series (by series key) on the validation part. */
  perSeries: Record<string, BlendChoice>;
  /** For series without enough validation errors of their own (new series, gappy ones): chosen on all series pooled. */
  pooled: BlendChoice;
}

/** Whether any series (or the pooled choice, which new series get) gives the LSTM a share at all. */
export function blendUsesLstm(settings: BlendSettings): boolean {
  return settings.pooled.weight > 0 || Object.values(settings.perSeries).some((c) => c.weight > 0);
}

/** LSTM shares tried: steps of 0.1 are as fine as a few months of validation errors can tell apart. */
export const BLEND_WEIGHTS = Array.from({ length: 11 }, (_, i) => (10 - i) / 10);

/** Fewest (origin, horizon) errors a series needs on validation for a choice of its own. */
export const MIN_BLEND_ERRORS = 200;

export interface BlendInput {
  /** Validation cases: every target they forecast lies in the validation part. */
  cases: ForecastCase[];
  horizonSteps: number[];
  lstm: Float64Array[];
  /** Each baseline's forecasts for the same cases. */
  baselines: Map<string, Float64Array[]>;
  statsOf: (s: GridSeries) => SeriesStats;
  weights?: number[];
  minErrors?: number;
}

interface ErrorSums {
  sum: Float64Array;
  count: Float64Array;
}

/**
 * Picks, per series, the baseline and LSTM share with the lowest mean absolute error on the
 * validation cases given; nothing else is looked at. Ties keep the larger LSTM share, then the
 * baseline listed first. Errors are also pooled over all series (in units of each series' spread,
 * so big series do not drown small ones) for the pooled choice.
 */
export function chooseBlend(input: BlendInput): BlendSettings {
  const weights = input.weights ?? BLEND_WEIGHTS;
  const names = [...input.baselines.keys()];
  const grid = names.length * weights.length;
  const bySeries = new Map<GridSeries, ErrorSums>();
  const pooled: ErrorSums = { sum: new Float64Array(grid), count: new Float64Array(grid) };
  input.cases.forEach((c, i) => {
    let sums = bySeries.get(c.series);
    if (!sums)
      bySeries.set(c.series, (sums = { sum: new Float64Array(grid), count: new Float64Array(grid) }));
    const std = input.statsOf(c.series).std;
    input.horizonSteps.forEach((h, k) => {
      const actual = c.series.values[c.origin + h]!;
      const lstm = input.lstm[i]![k]!;
      if (Number.isNaN(actual) || Number.isNaN(lstm)) return;
      names.forEach((name, b) => {
        const base = input.baselines.get(name)![i]![k]!;
        if (Number.isNaN(base)) return;
        weights.forEach((w, j) => {
          const error = Math.abs(w * lstm + (1 - w) * base - actual);
          const at = b * weights.length + j;
          sums.sum[at]! += error;
          sums.count[at]!++;
          pooled.sum[at]! += error / std;
          pooled.count[at]!++;
        });
      });
    });
  });
  const minErrors = input.minErrors ?? MIN_BLEND_ERRORS;
  const best = (sums: ErrorSums): BlendChoice | undefined => {
    let choice: BlendChoice | undefined;
    let lowest = Number.POSITIVE_INFINITY;
    names.forEach((name, b) => {
      weights.forEach((weight, j) => {
        const at = b * weights.length + j;
        if (sums.count[at]! < minErrors) return;
        const mean = sums.sum[at]! / sums.count[at]!;
        if (mean < lowest) {
          lowest = mean;
          choice = { baseline: name, weight };
        }
      });
    });
    return choice;
  };
  // With nothing to go on, the LSTM alone: what the promotion then compares with the baselines.
  const pooledChoice = best(pooled) ?? { baseline: names[0] ?? "naive", weight: 1 };
  const perSeries: Record<string, BlendChoice> = {};
  for (const [series, sums] of bySeries) {
    const choice = best(sums);
    if (choice) perSeries[series.key] = choice;
  }
  return { perSeries, pooled: pooledChoice };
}

/**
 * The LSTM combined per series with one baseline, as chosen on validation. A component with
 * weight 0 is not even computed, and a forecast the weighted part cannot make stays NaN.
 */
export class BlendForecaster implements ForecastModel {
  readonly name = LSTM_BLEND;
  private readonly baselines: Map<string, ForecastModel>;

  constructor(
    readonly lstm: ForecastModel,
    baselines: ForecastModel[],
    readonly settings: BlendSettings,
  ) {
    this.baselines = new Map(baselines.map((m) => [m.name, m]));
    for (const choice of [settings.pooled, ...Object.values(settings.perSeries)]) {
      if (choice.weight < 1 && !this.baselines.has(choice.baseline)) {
        throw new Error(`blend uses baseline ${choice.baseline}, which is not available`);
      }
    }
  }

  choiceFor(series: GridSeries): BlendChoice {
    return this.settings.perSeries[series.key] ?? this.settings.pooled;
  }

  async predict(cases: ForecastCase[], horizonSteps: number[]): Promise<Float64Array[]> {
    const choices = cases.map((c) => this.choiceFor(c.series));
    const needsLstm = choices.map((c) => c.weight > 0);
    const lstmCases = cases.filter((_, i) => needsLstm[i]);
    const lstm = lstmCases.length > 0 ? await this.lstm.predict(lstmCases, horizonSteps) : [];
    const results: Float64Array[] = [];
    let nextLstm = 0;
    const baseRows = new Map<string, { rows: Float64Array[]; next: number }>();
    for (const [name, model] of this.baselines) {
      const wanted = cases.filter((_, i) => choices[i]!.weight < 1 && choices[i]!.baseline === name);
      if (wanted.length > 0) baseRows.set(name, { rows: await model.predict(wanted, horizonSteps), next: 0 });
    }
    choices.forEach((choice) => {
      const l = choice.weight > 0 ? lstm[nextLstm++]! : undefined;
      let b: Float64Array | undefined;
      if (choice.weight < 1) {
        const rows = baseRows.get(choice.baseline)!;
        b = rows.rows[rows.next++]!;
      }
      results.push(
        Float64Array.from(horizonSteps, (_, k) => {
          if (!l) return b![k]!;
          if (!b) return l[k]!;
          return choice.weight * l[k]! + (1 - choice.weight) * b[k]!;
        }),
      );
    });
    return results;
  }
}

/**
 * Remembers a model's forecasts per series and origin for one training, where the blend and the
 * backtest ask for the same LSTM forecasts several times (validation for the choice, then again
 * for the intervals, test for both the LSTM and the blend).
 */
export function memoized(model: ForecastModel): ForecastModel {
  const known = new Map<GridSeries, Map<number, Float64Array>>();
  let horizonsKey: string | undefined;
  return {
    name: model.name,
    async predict(cases, horizonSteps) {
      const key = horizonSteps.join(",");
      if (key !== horizonsKey) {
        known.clear();
        horizonsKey = key;
      }
      const missing = cases.filter((c) => !known.get(c.series)?.has(c.origin));
      const fresh = missing.length > 0 ? await model.predict(missing, horizonSteps) : [];
      missing.forEach((c, i) => {
        let bySeries = known.get(c.series);
        if (!bySeries) known.set(c.series, (bySeries = new Map()));
        bySeries.set(c.origin, fresh[i]!);
      });
      return cases.map((c) => known.get(c.series)!.get(c.origin)!);
    },
  };
}
