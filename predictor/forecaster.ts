import type { LayersModel } from "@tensorflow/tfjs";
import { anomalyScore } from "./anomaly-detector.js";
import type { Tf } from "./backend.js";
import { baselineModels } from "./baselines.js";
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
  statsOf: (series: GridSeries) => SeriesStats;
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
  let model: ForecastModel | undefined;
  if (metadata.served === "lstm") {
    if (!network || !tf || !metadata.lstm)
      throw new Error(`model ${metadata.target} v${metadata.version} serves lstm but has no network`);
    model = new LstmForecaster(tf, network, metadata.lstm, (c: ForecastCase) => statsOf(c.series));
  } else {
    model = baselineModels(metadata.baselines).find((m) => m.name === metadata.served);
    if (!model)
      throw new Error(
        `model ${metadata.target} v${metadata.version} serves unknown baseline ${metadata.served}`,
      );
  }
  return { metadata, model, statsOf };
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
  const cases: ForecastCase[] = [];
  const owners: Array<{ series: GridSeries; last: number }> = [];
  for (const s of series) {
    const last = lastPresent(s.values);
    if (last < 0) continue;
    owners.push({ series: s, last });
    cases.push({ series: s, origin: last });
    for (const h of horizonSteps) cases.push({ series: s, origin: last - h });
  }
  const predictions = await served.model.predict(cases, horizonSteps);
  const perSeries = horizonSteps.length + 1;
  return owners.map(({ series: s, last }, i) => {
    const std = served.statsOf(s).std;
    const now = predictions[i * perSeries]!;
    return {
      key: s.key,
      labels: s.labels,
      originMs: s.startMs + last * s.stepMs,
      horizons: horizonSteps.map((_, k) => {
        const half = widths[k]! * std;
        const earlier = predictions[i * perSeries + 1 + k]![k]!;
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
