import { writeFileSync } from "node:fs";
import { parseDuration } from "../lib/duration.js";
import type { Logger } from "../lib/logger.js";
import { anomalyScore, SeriesAnomalyDetector } from "./anomaly-detector.js";
import { type BackendChoice, loadBackend } from "./backend.js";
import { type ModelReport, splitByFraction } from "./backtest.js";
import type { ModelSettings } from "./config.js";
import { csvToSeries, readCsv } from "./csv-series.js";
import { servedModel } from "./forecaster.js";
import type { ModelMetadata } from "./model-store.js";
import { ProgressBar } from "./progress.js";
import { renderPlot } from "./svg-plot.js";
import { trainTarget } from "./training.js";

export interface OfflineOptions {
  csv: string;
  timeColumn: string;
  valueColumn: string;
  horizon: string;
  step?: string;
  seasonality: string[];
  interval: number;
  model: ModelSettings;
  validationFraction: number;
  testFraction: number;
  maxGapSteps: number;
  backend: BackendChoice;
  baselinesOnly: boolean;
  logger?: Logger;
}

/** Horizons for an offline run: every step up to H, thinned evenly to at most 48 outputs (H always kept). */
export function offlineHorizons(horizonMs: number, stepMs: number): number[] {
  const max = Math.round(horizonMs / stepMs);
  if (max < 1) throw new Error(`horizon ${horizonMs} ms is shorter than the step ${stepMs} ms`);
  if (max <= 48) return Array.from({ length: max }, (_, i) => i + 1);
  return Array.from({ length: 48 }, (_, i) => Math.round(((i + 1) * max) / 48));
}

function prepare(options: OfflineOptions) {
  const table = readCsv(options.csv);
  const { series, rowIndex, times } = csvToSeries(
    table,
    options.csv,
    options.timeColumn,
    options.valueColumn,
    {
      stepMs: options.step ? parseDuration(options.step) : undefined,
      maxGapSteps: options.maxGapSteps,
    },
  );
  const stepMs = series.stepMs;
  const horizonSteps =
    options.horizon === "step" ? [1] : offlineHorizons(parseDuration(options.horizon), stepMs);
  const seasonSteps = options.seasonality.map((s) => Math.max(1, Math.round(parseDuration(s) / stepMs)));
  const split = splitByFraction(series.values.length, options.validationFraction, options.testFraction);
  return { series, rowIndex, times, stepMs, horizonSteps, seasonSteps, split };
}

export function formatReport(reports: ModelReport[], served: string, level: number): string {
  const header = ["model", "MAE", "RMSE", "sMAPE%", "MASE", `coverage(${Math.round(level * 100)}%)`, "n"];
  const rows = [...reports]
    .sort((a, b) => a.overall.mase - b.overall.mase)
    .map((r) => [
      `${r.model}${r.model === served ? " *" : ""}`,
      r.overall.mae.toPrecision(5),
      r.overall.rmse.toPrecision(5),
      r.overall.smape.toFixed(2),
      r.overall.mase.toFixed(4),
      r.overall.coverage.toFixed(3),
      String(r.overall.count),
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

/** `floorsense predictor backtest`: the same training and backtest the service runs, on a CSV column. */
export async function backtestCsv(options: OfflineOptions, plotFile?: string): Promise<string> {
  const { series, stepMs, horizonSteps, seasonSteps, split } = prepare(options);
  const { tf, backend } = await loadBackend(options.backend, options.logger);
  const progress = new ProgressBar();
  const lastH = horizonSteps.length - 1;
  const plotData = new Map<string, { origins: number[]; forecast: number[]; half: number[] }>();
  const outcome = await trainTarget({
    tf,
    series: [series],
    horizonSteps,
    seasonSteps,
    seasonLabels: options.seasonality,
    baselineRangeSteps: options.model.window - 1,
    level: options.interval,
    model: options.model,
    split,
    stride: 1,
    skipLstm: options.baselinesOnly,
    onEpoch: (...args) => progress.onEpoch(...args),
    onBatch: (...args) => progress.onBatch(...args),
    onTestForecasts: (model, cases, forecasts, widths) =>
      plotData.set(model, {
        origins: cases.map((c) => c.origin),
        forecast: forecasts.map((f) => f[lastH]!),
        half: cases.map(() => widths[lastH]!),
      }),
  });
  progress.done();
  const served = outcome.decision.served;
  const std = outcome.seriesStats.get(series.key)!.std;
  const horizonText = `${options.horizon} (${horizonSteps.length} horizons of ${horizonSteps[0]}..${horizonSteps.at(-1)} steps of ${stepMs / 1000}s)`;
  const lines = [
    `backtest of ${options.csv} column ${options.valueColumn}: ${series.values.length} points, step ${stepMs / 1000}s, horizon ${horizonText}`,
    ...(outcome.history
      ? [
          `short history: ${outcome.history.steps} steps, the LSTM needs ${outcome.history.needed}; no held-out split; backend ${backend}`,
          "baselines only, metrics over every origin where every baseline forecasts; coverage not measurable (intervals estimated from the same errors)",
        ]
      : [
          `split: train [0, ${split.trainEnd}), validation [${split.trainEnd}, ${split.validationEnd}), test [${split.validationEnd}, ${split.end}); backend ${backend}`,
          `metrics over every test origin and horizon; MASE scaled by the in-sample ${seasonSteps[0] ? `seasonal naive (${options.seasonality[0]})` : "naive"} error; intervals calibrated on the validation part`,
        ]),
    "",
    formatReport(outcome.reports, served, options.interval),
    "",
    `served: ${served} (${outcome.decision.reason})`,
  ];
  if (plotFile) {
    const data = plotData.get(served);
    if (data) {
      const times: number[] = [];
      const actual: number[] = [];
      const forecast: number[] = [];
      const lower: number[] = [];
      const upper: number[] = [];
      data.origins.forEach((o, i) => {
        const at = o + horizonSteps[lastH]!;
        times.push(series.startMs + at * stepMs);
        actual.push(series.values[at]!);
        forecast.push(data.forecast[i]!);
        lower.push(data.forecast[i]! - data.half[i]! * std);
        upper.push(data.forecast[i]! + data.half[i]! * std);
      });
      writeFileSync(
        plotFile,
        renderPlot({
          title: `${options.valueColumn}: ${served} forecast ${options.horizon} ahead (test part), ${Math.round(options.interval * 100)}% interval`,
          times,
          actual,
          forecast,
          lower,
          upper,
        }),
      );
      lines.push(`plot: ${plotFile}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * `floorsense predictor detect`: trains on the older part (as backtest does), then scores every row
 * against the one-step-ahead interval forecast for it. Rows are marked with the part they belong to,
 * so scores on training rows are not mistaken for honest ones.
 */
export async function detectCsv(options: OfflineOptions): Promise<string> {
  const { series, rowIndex, times, stepMs, seasonSteps, split } = prepare({ ...options, horizon: "step" });
  const horizonSteps = [1];
  const { tf, backend } = await loadBackend(options.backend, options.logger);
  const progress = new ProgressBar();
  const outcome = await trainTarget({
    tf,
    series: [series],
    horizonSteps,
    seasonSteps,
    seasonLabels: options.seasonality,
    baselineRangeSteps: options.model.window - 1,
    level: options.interval,
    model: options.model,
    split,
    skipLstm: options.baselinesOnly,
    onEpoch: (...args) => progress.onEpoch(...args),
    onBatch: (...args) => progress.onBatch(...args),
  });
  progress.done();
  const metadata: ModelMetadata = {
    format: 1,
    target: "csv",
    version: 0,
    createdAt: new Date().toISOString(),
    served: outcome.decision.served,
    ...(outcome.decision.blend ? { blend: outcome.decision.blend } : {}),
    reason: outcome.decision.reason,
    stepMs,
    horizonLabels: ["1"],
    horizonSteps,
    lstm: outcome.shape ?? null,
    backend,
    level: options.interval,
    seriesStats: Object.fromEntries(outcome.seriesStats),
    intervalWidths: outcome.intervalWidths,
    baselines: outcome.baselines,
    backtest: outcome.reports,
    trainingSeconds: 0,
    trainingWindows: outcome.windows,
    epochs: outcome.epochs,
  };
  const served = servedModel(metadata, outcome.lstm?.model, tf);
  const cases = rowIndex.map((index) => ({ series, origin: index - 1 }));
  const forecasts = await served.model.predict(cases, horizonSteps);
  const half = outcome.intervalWidths[served.metadata.served]![0]! * served.statsOf(series).std;
  const detector = new SeriesAnomalyDetector();
  const out = [
    `${options.timeColumn},${options.valueColumn},forecast,lower,upper,anomaly_score,anomaly_alarm,part`,
  ];
  rowIndex.forEach((index, row) => {
    const actual = series.values[index]!;
    const forecast = forecasts[row]![0]!;
    const score = anomalyScore(actual, forecast, half);
    const part = index < split.trainEnd ? "train" : index < split.validationEnd ? "validation" : "test";
    const cell = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(6))) : "");
    out.push(
      [
        new Date(times[row]!).toISOString(),
        cell(actual),
        cell(forecast),
        cell(forecast - half),
        cell(forecast + half),
        cell(score),
        cell(detector.update(actual)),
        part,
      ].join(","),
    );
  });
  options.logger?.info(
    { served: served.metadata.served, reason: outcome.decision.reason },
    "detector trained",
  );
  return `${out.join("\n")}\n`;
}
