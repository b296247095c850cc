import {
  Counter,
  Gauge,
  type MetricObjectWithValues,
  type MetricType,
  type MetricValue,
  Registry,
} from "prom-client";
import { registerBuildInfo } from "../lib/build-info.js";
import { defaultDetectorSettings } from "./anomaly-detector.js";
import type { SeriesAlarm } from "./anomaly-tracker.js";
import type { SeriesForecast } from "./forecaster.js";
import type { ModelMetadata } from "./model-store.js";

type Row = { labels: Record<string, string>; value: number };

/**
 * A gauge whose label names differ per target (each target's series bring their own labels), which
 * prom-client's fixed labelNames cannot express: the rows are replaced per target and rendered as is.
 */
class SeriesGauge {
  private readonly rows = new Map<string, Row[]>();

  constructor(registry: Registry, name: string, help: string) {
    const gauge = new Gauge({ name, help, registers: [registry] });
    gauge.get = async () =>
      ({
        name,
        help,
        type: "gauge" as unknown as MetricType,
        aggregator: "sum",
        values: [...this.rows.values()].flat(),
      }) as MetricObjectWithValues<MetricValue<string>>;
  }

  replace(target: string, rows: Row[]): void {
    this.rows.set(target, rows);
  }

  rowsFor(target: string): Row[] {
    return this.rows.get(target) ?? [];
  }
}

const RESERVED = new Set(["target", "horizon", "__name__"]);

/**
 * The target series' labels, plus target and horizon (none for series about the measured values
 * themselves); clashing names keep their value as exported_<name>, the same with or without horizon.
 */
export function outputLabels(
  series: Record<string, string>,
  target: string,
  horizon?: string,
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [name, value] of Object.entries(series)) {
    if (name === "__name__") continue;
    labels[RESERVED.has(name) ? `exported_${name}` : name] = value;
  }
  labels.target = target;
  if (horizon !== undefined) labels.horizon = horizon;
  return labels;
}

export class PredictorMetrics {
  readonly registry = new Registry();
  readonly forecast = new SeriesGauge(
    this.registry,
    "floorsense_forecast",
    "Point forecast of the target series at now + horizon.",
  );
  readonly lower = new SeriesGauge(
    this.registry,
    "floorsense_forecast_lower",
    "Lower bound of the prediction interval at now + horizon.",
  );
  readonly upper = new SeriesGauge(
    this.registry,
    "floorsense_forecast_upper",
    "Upper bound of the prediction interval at now + horizon.",
  );
  readonly anomaly = new SeriesGauge(
    this.registry,
    "floorsense_anomaly_score",
    "Distance of the latest actual value from the forecast made horizon ago, in interval half-widths (>1 = outside).",
  );
  readonly alarm = new SeriesGauge(
    this.registry,
    "floorsense_anomaly_alarm",
    `Streaming anomaly detector on the measured values of a target series, highest score since the previous forecast round: 1 = alarm (value out of the learned range or a shape the series has not made lately), below 1 how close, 0 while it learns (first ${defaultDetectorSettings.learningRows} steps) and after an alarm.`,
  );
  private readonly modelInfo = new Gauge({
    name: "floorsense_predictor_model_info",
    help: "The model served for a target (lstm or a baseline) and its version; value 1.",
    labelNames: ["target", "model", "version"],
    registers: [this.registry],
  });
  private readonly mase = new Gauge({
    name: "floorsense_predictor_backtest_mase",
    help: "Backtest MASE on held-out data of every model evaluated in the last training (below 1 beats seasonal naive).",
    labelNames: ["target", "model"],
    registers: [this.registry],
  });
  private readonly lastSuccess = new Gauge({
    name: "floorsense_predictor_last_training_success_timestamp_seconds",
    help: "Unix time of the last successful training of a target.",
    labelNames: ["target"],
    registers: [this.registry],
  });
  private readonly lastFailure = new Gauge({
    name: "floorsense_predictor_last_training_failure_timestamp_seconds",
    help: "Unix time of the last failed training of a target; later than the last success means the latest training failed.",
    labelNames: ["target"],
    registers: [this.registry],
  });
  private readonly duration = new Gauge({
    name: "floorsense_predictor_training_duration_seconds",
    help: "Duration of the last training of a target.",
    labelNames: ["target"],
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: "floorsense_predictor_training_failures_total",
    help: "Trainings that failed; the previous model stays served.",
    labelNames: ["target"],
    registers: [this.registry],
  });
  readonly forecastErrors = new Counter({
    name: "floorsense_predictor_forecast_errors_total",
    help: "Forecast rounds that failed (query or model error).",
    labelNames: ["target"],
    registers: [this.registry],
  });
  readonly modelLoadFailures = new Counter({
    name: "floorsense_predictor_model_load_failures_total",
    help: "Stored model versions not loaded: unreadable, or trained for another configuration of the target.",
    labelNames: ["target"],
    registers: [this.registry],
  });

  private readonly servedInfo = new Map<string, Record<string, string>>();
  private readonly maseModels = new Map<string, string[]>();

  constructor() {
    registerBuildInfo(this.registry, "predictor");
  }

  initTarget(target: string): void {
    this.failures.inc({ target }, 0);
    this.forecastErrors.inc({ target }, 0);
    this.modelLoadFailures.inc({ target }, 0);
  }

  setForecasts(target: string, forecasts: SeriesForecast[]): void {
    const rows = (pick: (h: SeriesForecast["horizons"][number]) => number) =>
      forecasts.flatMap((f) =>
        f.horizons
          .map((h) => ({ labels: outputLabels(f.labels, target, h.horizon), value: pick(h) }))
          .filter((row) => !Number.isNaN(row.value)),
      );
    this.forecast.replace(
      target,
      rows((h) => h.forecast),
    );
    this.lower.replace(
      target,
      rows((h) => h.lower),
    );
    this.upper.replace(
      target,
      rows((h) => h.upper),
    );
    this.anomaly.replace(
      target,
      rows((h) => h.anomalyScore),
    );
  }

  /** Series the round did not bring are dropped, like the forecasts' rows. */
  setAlarms(target: string, alarms: SeriesAlarm[]): void {
    this.alarm.replace(
      target,
      alarms.map((a) => ({ labels: outputLabels(a.labels, target), value: a.peak })),
    );
  }

  setModel(metadata: ModelMetadata): void {
    const target = metadata.target;
    const previous = this.servedInfo.get(target);
    if (previous) this.modelInfo.remove(previous);
    const info = { target, model: metadata.served, version: String(metadata.version) };
    this.servedInfo.set(target, info);
    this.modelInfo.set(info, 1);
    // Models the new training did not evaluate (or could not score) must not keep an old figure.
    for (const model of this.maseModels.get(target) ?? []) this.mase.remove({ target, model });
    const scored = metadata.backtest.filter((r) => Number.isFinite(r.overall.mase));
    for (const report of scored) this.mase.set({ target, model: report.model }, report.overall.mase);
    this.maseModels.set(
      target,
      scored.map((r) => r.model),
    );
  }

  recordTraining(target: string, seconds: number, success: boolean, now = Date.now()): void {
    this.duration.set({ target }, seconds);
    if (success) this.lastSuccess.set({ target }, now / 1000);
    else {
      this.failures.inc({ target });
      this.lastFailure.set({ target }, now / 1000);
    }
  }
}
