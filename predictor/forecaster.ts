import type { LayersModel } from "@tensorflow/tfjs";
import { anomalyScore } from "./anomaly-detector.js";
import type { Tf } from "./backend.js";
import { baselineModels } from "./baselines.js";
import { BlendForecaster, LSTM_BLEND } from "./blend.js";
import { type SeriesStats, seriesStats } from "./features.js";
import type { ForecastCase, ForecastModel } from "./forecast-model.js";
import { LstmForecaster } from "./lstm-model.js";
import type { ModelMetadata } from "./model-store.js";
import type { Labels } from "./prometheus-client.js";
import type { GridSeries } from "./series-preparation.js";

/** What the forecast loop serves for one target: a model and the metadata it was chosen with. */
export interface ServedModel {
  metadata: ModelMetadata;
  model: ForecastModel;
  /** The network behind the served model, if any: freed when a newer model replaces it. */
  network?: LayersModel;
  statsOf: (series: GridSeries) => SeriesStats;
  /**
   * Forecasts already made, per series key and origin time: the anomaly score of the latest value
   * needs the forecast made `h` earlier, which the previous rounds usually computed already.
   */
  made: Map<string, Map<number, Float64Array>>;
}

/** Whether a served model's name needs the saved network. */
export function servesNetwork(served: string): boolean {
  return served === "lstm" || served === LSTM_BLEND;
}

/** Rebuilds the served model from stored metadata (and the network, when the LSTM is served). */
export function servedModel(
  metadata: ModelMetadata,
  network: LayersModel | undefined,
  tf: Tf | undefined,
): ServedModel {
  const known = new Map(Object.entries(metadata.seriesStats));
  // A series that appeared after training gets its scale from the data at hand.
  const statsOf = (series: GridSeries) => known.get(series.key) ?? seriesStats(series.values);
  if (servesNetwork(metadata.served)) {
    if (!network || !tf || !metadata.lstm)
      throw new Error(
        `model ${metadata.target} v${metadata.version} serves ${metadata.served} but has no network`,
      );
    const lstm = new LstmForecaster(tf, network, metadata.lstm, (c: ForecastCase) => statsOf(c.series));
    if (metadata.served === "lstm") return { metadata, model: lstm, network, statsOf, made: new Map() };
    if (!metadata.blend)
      throw new Error(`model ${metadata.target} v${metadata.version} serves ${LSTM_BLEND} but has no blend`);
    const model = new BlendForecaster(lstm, baselineModels(metadata.baselines), metadata.blend);
    return { metadata, model, network, statsOf, made: new Map() };
  }
  const model = baselineModels(metadata.baselines).find((m) => m.name === metadata.served);
  if (!model)
    throw new Error(
      `model ${metadata.target} v${metadata.version} serves unknown baseline ${metadata.served}`,
    );
  return { metadata, model, statsOf, made: new Map() };
}

export interface HorizonForecast {
  horizon: string;
  forecast: number;
  lower: number;
  upper: number;
  /** Latest actual value scored against the interval forecast for it `horizon` earlier; NaN when unknown. */
  anomalyScore: number;
}

export interface SeriesForecast {
  key: string;
  labels: Labels;
  /** Time of the latest actual value the forecasts start from. */
  originMs: number;
  horizons: HorizonForecast[];
}

function firstPresent(values: Float64Array): number {
  return values.findIndex((v) => !Number.isNaN(v));
}

/**
 * For horizons longer than a series' history (a fresh installation), no forecast was made `h`
 * before the latest value; the one from the series' first point, for the latest value, stands in
 * (scored with the horizon's interval, which is at least as wide as that shorter lead's), so the
 * anomaly score exists from the start. Undefined where the regular forecast applies.
 */
async function earliestForecasts(
  model: ForecastModel,
  owners: Array<{ series: GridSeries; last: number }>,
  horizonSteps: number[],
): Promise<Array<Array<number | undefined>>> {
  const result = owners.map(() => horizonSteps.map((): number | undefined => undefined));
  const byLead = new Map<number, number[]>();
  owners.forEach(({ series, last }, o) => {
    const first = firstPresent(series.values);
    if (first >= last || !horizonSteps.some((h) => last - h < first)) return;
    const lead = last - first;
    byLead.set(lead, [...(byLead.get(lead) ?? []), o]);
  });
  for (const [lead, indexes] of byLead) {
    const cases = indexes.map((o) => ({
      series: owners[o]!.series,
      origin: firstPresent(owners[o]!.series.values),
    }));
    const predictions = await model.predict(cases, [lead]);
    indexes.forEach((o, i) => {
      const { last } = owners[o]!;
      const first = cases[i]!.origin;
      horizonSteps.forEach((h, k) => {
        if (last - h < first) result[o]![k] = predictions[i]![0]!;
      });
    });
  }
  return result;
}

function lastPresent(values: Float64Array): number {
  for (let i = values.length - 1; i >= 0; i--) if (!Number.isNaN(values[i]!)) return i;
  return -1;
}

/**
 * Forecasts every series for every horizon from its latest value, and scores that latest value
 * against the forecast made `h` steps before it (recomputed: the models are deterministic, so
 * nothing needs remembering across restarts).
 */
export async function forecastAll(served: ServedModel, series: GridSeries[]): Promise<SeriesForecast[]> {
  const { horizonSteps, horizonLabels } = served.metadata;
  const widths = served.metadata.intervalWidths[served.metadata.served] ?? horizonSteps.map(() => Number.NaN);
  // Series calibrated on their own validation errors get their own widths (older versions have none).
  const ownWidths =
    served.metadata.backtest?.find((r) => r.model === served.metadata.served)?.seriesIntervalWidths ?? {};
  const maxH = Math.max(...horizonSteps);
  const owners: Array<{ series: GridSeries; last: number; made: Map<number, Float64Array> }> = [];
  const cases: ForecastCase[] = [];
  const caseTimes: Array<{ made: Map<number, Float64Array>; at: number }> = [];
  for (const s of series) {
    const last = lastPresent(s.values);
    if (last < 0) continue;
    let made = served.made.get(s.key);
    if (!made) served.made.set(s.key, (made = new Map()));
    owners.push({ series: s, last, made });
    const asked = new Set<number>();
    for (const origin of [last, ...horizonSteps.map((h) => last - h)]) {
      const at = s.startMs + origin * s.stepMs;
      if (origin < 0 || made.has(at) || asked.has(at)) continue;
      asked.add(at);
      cases.push({ series: s, origin });
      caseTimes.push({ made, at });
    }
  }
  const predictions = await served.model.predict(cases, horizonSteps);
  for (let i = 0; i < predictions.length; i++) caseTimes[i]!.made.set(caseTimes[i]!.at, predictions[i]!);
  const keep = new Set(owners.map((o) => o.series.key));
  for (const key of served.made.keys()) if (!keep.has(key)) served.made.delete(key);
  // The network forecasts only the horizons it was trained for (asking it for another lead throws
  // and would fail the round for every series of the target): no stand-in forecasts for it.
  const early = servesNetwork(served.metadata.served)
    ? owners.map(() => horizonSteps.map((): number | undefined => undefined))
    : await earliestForecasts(served.model, owners, horizonSteps);
  const missing = new Float64Array(horizonSteps.length).fill(Number.NaN);
  return owners.map(({ series: s, last, made }, o) => {
    const lastMs = s.startMs + last * s.stepMs;
    // Forecasts from origins older than the longest horizon are no longer needed.
    for (const at of made.keys()) if (at < lastMs - maxH * s.stepMs) made.delete(at);
    const std = served.statsOf(s).std;
    const seriesWidths = ownWidths[s.key] ?? widths;
    const now = made.get(lastMs) ?? missing;
    return {
      key: s.key,
      labels: s.labels,
      originMs: lastMs,
      horizons: horizonSteps.map((h, k) => {
        const half = seriesWidths[k]! * std;
        const earlier = early[o]![k] ?? (made.get(lastMs - h * s.stepMs) ?? missing)[k] ?? Number.NaN;
        return {
          horizon: horizonLabels[k]!,
          forecast: now[k]!,
          lower: now[k]! - half,
          upper: now[k]! + half,
          anomalyScore: anomalyScore(s.values[last]!, earlier, half),
        };
      }),
    };
  });
}
