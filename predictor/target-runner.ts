import type { Logger } from "../lib/logger.js";
import type { BackendChoice, LoadedBackend } from "./backend.js";
import type { ResolvedTarget } from "./config.js";
import { forecastAll, type ServedModel, servedModel } from "./forecaster.js";
import type { PredictorMetrics } from "./metrics.js";
import type { ModelStore } from "./model-store.js";
import type { PrometheusClient } from "./prometheus-client.js";
import { type GridSeries, prepareSeries } from "./series-preparation.js";
import { trainInThread } from "./training-thread.js";

export interface TargetRunnerDeps {
  client: PrometheusClient;
  store: ModelStore;
  metrics: PredictorMetrics;
  logger: Logger;
  loadTf: (choice?: BackendChoice) => Promise<LoadedBackend>;
  /** Backend the training thread loads (it has its own TensorFlow.js instance). */
  backendChoice?: BackendChoice;
  now?: () => number;
}

/** Training and forecasting of one target; the served model is swapped only after a training succeeds. */
export class TargetRunner {
  served: ServedModel | undefined;
  private stopping = false;
  private stopThread: (() => void) | undefined;
  private readonly now: () => number;
  private readonly logger: Logger;

  constructor(
    readonly target: ResolvedTarget,
    private readonly deps: TargetRunnerDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.logger = deps.logger.child({ target: target.name });
    deps.metrics.initTarget(target.name);
  }

  /**
   * Whether the next training should come sooner than the schedule: nothing is served yet, or a
   * baseline stands in because the history was short and the lookback can still supply enough.
   */
  get wantsEarlyTraining(): boolean {
    const history = this.served?.metadata.history;
    if (!this.served) return true;
    return history !== undefined && history.needed <= Math.floor(this.target.lookbackMs / this.target.stepMs);
  }

  /** Stops a training in progress at its next batch; nothing half-trained gets saved. */
  requestStop(): void {
    this.stopping = true;
    this.stopThread?.();
  }

  async loadStored(): Promise<boolean> {
    const { tf } = await this.deps.loadTf();
    const stored = await this.deps.store.loadLatest(this.target.name, tf, (dir, error) =>
      this.logger.warn({ dir, err: error }, "stored model unreadable, trying an older one"),
    );
    if (!stored) return false;
    this.swap(servedModel(stored.metadata, stored.model, tf));
    const finished = Date.parse(stored.metadata.createdAt) + stored.metadata.trainingSeconds * 1000;
    this.deps.metrics.recordTraining(this.target.name, stored.metadata.trainingSeconds, true, finished);
    this.logger.info(
      { version: stored.metadata.version, model: stored.metadata.served },
      "loaded stored model",
    );
    return true;
  }

  private swap(next: ServedModel): void {
    const previous = this.served;
    this.served = next;
    this.deps.metrics.setModel(next.metadata);
    // The old network's tensors are freed once nothing serves it any more.
    if (previous && previous.model !== next.model && "model" in previous.model) {
      (previous.model as { model?: { dispose(): void } }).model?.dispose();
    }
  }

  private async fetch(rangeMs: number): Promise<GridSeries[]> {
    const endMs = Math.floor(this.now() / this.target.stepMs) * this.target.stepMs;
    const startMs = endMs - rangeMs;
    const raw = await this.deps.client.queryRange(
      this.target.config.expr,
      startMs,
      endMs,
      this.target.stepMs,
    );
    return prepareSeries(raw, {
      startMs,
      endMs,
      stepMs: this.target.stepMs,
      maxGapSteps: this.target.maxGapSteps,
      counter: this.target.config.counter,
    });
  }

  /** One training: query the lookback, train, backtest, save; throws on failure (the caller counts it). */
  async train(): Promise<void> {
    const started = this.now();
    const startedHr = performance.now();
    try {
      const { tf } = await this.deps.loadTf();
      const series = await this.fetch(this.target.lookbackMs);
      const interpolated = series.reduce((n, s) => n + s.interpolated, 0);
      const missing = series.reduce((n, s) => n + s.missing, 0);
      this.logger.info({ series: series.length, interpolated, missing }, "training data fetched");
      const settings = this.target.config.model;
      const thread = trainInThread(
        {
          backend: this.deps.backendChoice ?? "auto",
          series,
          horizonSteps: this.target.horizonSteps,
          seasonSteps: this.target.seasonSteps,
          seasonLabels: this.target.config.seasonality,
          baselineRangeSteps: this.target.baselineRangeSteps,
          level: this.target.config.interval,
          model: settings,
        },
        (message) => {
          if (message.type === "epoch") this.logger.debug(message, "epoch");
        },
      );
      this.stopThread = thread.stop;
      const outcome = await thread.result.finally(() => {
        this.stopThread = undefined;
      });
      const network = outcome.artifacts
        ? await tf.loadLayersModel(tf.io.fromMemory(outcome.artifacts))
        : undefined;
      if (this.stopping) throw new Error("training interrupted by shutdown");
      const seconds = (performance.now() - startedHr) / 1000;
      const metadata = await this.deps.store.save(
        {
          format: 1,
          target: this.target.name,
          createdAt: new Date(started).toISOString(),
          served: outcome.decision.served,
          reason: outcome.decision.reason,
          stepMs: this.target.stepMs,
          horizonLabels: this.target.horizonLabels,
          horizonSteps: this.target.horizonSteps,
          lstm: outcome.shape ?? null,
          backend: outcome.backend,
          level: this.target.config.interval,
          seriesStats: Object.fromEntries(outcome.seriesStats),
          intervalWidths: outcome.intervalWidths,
          baselines: outcome.baselines,
          backtest: outcome.reports,
          trainingSeconds: seconds,
          trainingWindows: outcome.windows,
          epochs: outcome.epochs,
          ...(outcome.history ? { history: outcome.history } : {}),
        },
        network,
      );
      const served = outcome.decision.served === "lstm" ? network : undefined;
      if (!served) network?.dispose();
      this.swap(servedModel(metadata, served, tf));
      this.deps.metrics.recordTraining(this.target.name, seconds, true, this.now());
      this.logger.info(
        {
          version: metadata.version,
          served: metadata.served,
          reason: metadata.reason,
          seconds: Number(seconds.toFixed(2)),
          mase: Object.fromEntries(outcome.reports.map((r) => [r.model, Number(r.overall.mase.toFixed(4))])),
        },
        "training done",
      );
    } catch (error) {
      this.deps.metrics.recordTraining(
        this.target.name,
        (performance.now() - startedHr) / 1000,
        false,
        this.now(),
      );
      throw error;
    }
  }

  /** Latest data → forecasts, intervals and anomaly scores on /metrics. No model yet: nothing to do. */
  async forecastOnce(): Promise<number> {
    const served = this.served;
    if (!served) return 0;
    const t = this.target;
    const lstmWindow = served.metadata.lstm
      ? served.metadata.lstm.window + served.metadata.lstm.season + 1
      : 1;
    const longestSeason = Math.max(0, ...served.metadata.baselines.seasonSteps);
    const maxH = Math.max(...t.horizonSteps);
    const steps = Math.max(lstmWindow, served.metadata.baselines.rangeSteps + 1, longestSeason) + maxH + 2;
    try {
      const series = await this.fetch(steps * t.stepMs);
      const forecasts = await forecastAll(served, series);
      this.deps.metrics.setForecasts(t.name, forecasts);
      return forecasts.length;
    } catch (error) {
      this.deps.metrics.forecastErrors.inc({ target: t.name });
      throw error;
    }
  }
}
