import type { Logger } from "../lib/logger.js";
import type { DetectorSettings } from "./anomaly-detector.js";
import { AnomalyAlarmTracker, type SeriesAlarm } from "./anomaly-tracker.js";
import type { BackendChoice, LoadedBackend } from "./backend.js";
import type { ResolvedTarget } from "./config.js";
import type { SeriesStats } from "./features.js";
import { forecastAll, type ServedModel, servedModel, servesNetwork } from "./forecaster.js";
import type { PredictorMetrics } from "./metrics.js";
import { configMismatch } from "./model-compatibility.js";
import type { ModelMetadata, ModelStore } from "./model-store.js";
import type { PrometheusClient } from "./prometheus-client.js";
import { type GridSeries, prepareSeries } from "./series-preparation.js";
import { SeriesWindowCache } from "./series-window-cache.js";
import { trainInThread } from "./training-thread.js";
import type { WorkerTrainingResult } from "./training-worker.js";

export interface TargetRunnerDeps {
  client: PrometheusClient;
  store: ModelStore;
  metrics: PredictorMetrics;
  logger: Logger;
  loadTf: (choice?: BackendChoice) => Promise<LoadedBackend>;
  /** Backend the training thread loads (it has its own TensorFlow.js instance). */
  backendChoice?: BackendChoice;
  now?: () => number;
  /** Settings of the streaming anomaly detector (default: the benchmarked ones). */
  detector?: Partial<DetectorSettings>;
}

/** What a training produced, whether it ran in the worker thread or in-process (offline tools, benchmarks). */
export type TrainedParts = Pick<
  WorkerTrainingResult,
  "decision" | "shape" | "intervalWidths" | "baselines" | "reports" | "windows" | "epochs" | "history"
> & { seriesStats: Iterable<[string, SeriesStats]> };

/** The metadata saved with a training and read back by servedModel(). */
export function trainingMetadata(
  about: Pick<
    ModelMetadata,
    | "target"
    | "createdAt"
    | "expr"
    | "counter"
    | "stepMs"
    | "horizonLabels"
    | "horizonSteps"
    | "level"
    | "backend"
    | "trainingSeconds"
  >,
  outcome: TrainedParts,
): Omit<ModelMetadata, "version"> {
  return {
    format: 1,
    ...about,
    served: outcome.decision.served,
    ...(outcome.decision.blend ? { blend: outcome.decision.blend } : {}),
    reason: outcome.decision.reason,
    lstm: outcome.shape ?? null,
    seriesStats: Object.fromEntries(outcome.seriesStats),
    intervalWidths: outcome.intervalWidths,
    baselines: outcome.baselines,
    backtest: outcome.reports,
    trainingWindows: outcome.windows,
    epochs: outcome.epochs,
    ...(outcome.history ? { history: outcome.history } : {}),
  };
}

/** The last `points` points of a series (all of it when shorter): the values a shorter range query returns. */
function lastPoints(series: GridSeries, points: number): GridSeries {
  const drop = series.values.length - points;
  if (drop <= 0) return series;
  const values = series.values.subarray(drop);
  let missing = 0;
  for (const value of values) if (Number.isNaN(value)) missing++;
  return { ...series, startMs: series.startMs + drop * series.stepMs, values, missing };
}

// The detector's first round feeds thousands of values per series; the event loop (/metrics) gets
// a turn at least this often.
const DETECTOR_SLICE_MS = 50;

/** Training and forecasting of one target; the served model is swapped only after a training succeeds. */
export class TargetRunner {
  served: ServedModel | undefined;
  /** The streaming anomaly detector of every series, kept across forecast rounds. */
  private readonly alarms: AnomalyAlarmTracker;
  /** End of the grid of the last round that fed the detector; undefined before the first. */
  private alarmsFedUntilMs: number | undefined;
  private lastRound: Promise<unknown> = Promise.resolve();
  /**
   * The forecast rounds' window of every series: after the first round a round reads only the new
   * steps. Its content depends on the target alone (expression, step, gaps, counter), not on the
   * served model; a model needing a longer window makes the next read a full one.
   */
  private readonly window: SeriesWindowCache;
  private stopping = false;
  private stopThread: (() => void) | undefined;
  /** A training of this process is under way: it swaps in the version it saves itself. */
  private training = false;
  /** Newest stored version already looked at: each is judged, logged and counted once. */
  private examinedVersion = 0;
  private readonly now: () => number;
  private readonly logger: Logger;

  constructor(
    readonly target: ResolvedTarget,
    private readonly deps: TargetRunnerDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.alarms = new AnomalyAlarmTracker(deps.detector);
    this.window = new SeriesWindowCache(deps.client, {
      expr: target.config.expr,
      stepMs: target.stepMs,
      maxGapSteps: target.maxGapSteps,
      counter: target.config.counter,
    });
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

  /** Ends a training in progress at once (its worker is terminated); nothing half-trained gets saved. */
  requestStop(): void {
    this.stopping = true;
    this.stopThread?.();
  }

  /** Serves the newest stored version trained for the target as configured; false when there is none. */
  async loadStored(): Promise<boolean> {
    return (await this.loadNewest(0, "loaded stored model")) !== undefined;
  }

  /**
   * Serves a stored version newer than the served one, saved by another process (`predictor train
   * --once` from a CronJob). Costs one directory listing when there is none, so it can run often.
   * Returns the version now served, or undefined when nothing changed.
   */
  async reloadNewer(): Promise<number | undefined> {
    if (this.training) return undefined;
    const newest = await this.deps.store.newestVersion(this.target.name);
    const served = this.served?.metadata.version ?? 0;
    if (newest === undefined || newest <= Math.max(served, this.examinedVersion)) return undefined;
    return this.loadNewest(served, "loaded newer stored model");
  }

  private async loadNewest(newerThan: number, message: string): Promise<number | undefined> {
    const failed = () => this.deps.metrics.modelLoadFailures.inc({ target: this.target.name });
    try {
      const newest = (await this.deps.store.newestVersion(this.target.name)) ?? 0;
      const { tf } = await this.deps.loadTf();
      const stored = await this.deps.store.loadLatest(
        this.target.name,
        tf,
        (dir, error) => {
          failed();
          this.logger.warn({ dir, err: error }, "stored model unreadable, trying an older one");
        },
        {
          newerThan,
          reject: (metadata) => configMismatch(metadata, this.target),
          onReject: (dir, reason) => {
            failed();
            this.logger.warn({ dir, reason }, "stored model not served");
          },
        },
      );
      // Judged (and logged) now; a failure before this point, e.g. of the backend, is retried.
      this.examinedVersion = Math.max(this.examinedVersion, newest);
      if (!stored) return undefined;
      const next = servedModel(stored.metadata, stored.model, tf);
      // Built completely before the swap; a training of this process may have served a newer one meanwhile.
      if ((this.served?.metadata.version ?? 0) >= stored.metadata.version) {
        next.network?.dispose();
        return undefined;
      }
      this.swap(next);
      const finished = Date.parse(stored.metadata.createdAt) + stored.metadata.trainingSeconds * 1000;
      this.deps.metrics.recordTraining(this.target.name, stored.metadata.trainingSeconds, true, finished);
      this.logger.info({ version: stored.metadata.version, model: stored.metadata.served }, message);
      return stored.metadata.version;
    } catch (error) {
      failed();
      throw error;
    }
  }

  private swap(next: ServedModel): void {
    const previous = this.served;
    this.served = next;
    this.deps.metrics.setModel(next.metadata);
    // The old network's tensors are freed once nothing serves it any more.
    if (previous?.network && previous.network !== next.network) previous.network.dispose();
  }

  private gridEnd(): number {
    return Math.floor(this.now() / this.target.stepMs) * this.target.stepMs;
  }

  private async fetch(rangeMs: number, endMs = this.gridEnd()): Promise<GridSeries[]> {
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
    this.training = true;
    try {
      const { tf } = await this.deps.loadTf();
      const series = await this.fetch(this.target.lookbackMs);
      const interpolated = series.reduce((n, s) => n + s.interpolated, 0);
      const missing = series.reduce((n, s) => n + s.missing, 0);
      this.logger.info({ series: series.length, interpolated, missing }, "training data fetched");
      const settings = this.target.config.model;
      if (this.stopping) throw new Error("training interrupted by shutdown");
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
        trainingMetadata(
          {
            target: this.target.name,
            createdAt: new Date(started).toISOString(),
            expr: this.target.config.expr,
            counter: this.target.config.counter,
            stepMs: this.target.stepMs,
            horizonLabels: this.target.horizonLabels,
            horizonSteps: this.target.horizonSteps,
            level: this.target.config.interval,
            backend: outcome.backend,
            trainingSeconds: seconds,
          },
          outcome,
        ),
        network,
      );
      const served = servesNetwork(outcome.decision.served) ? network : undefined;
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
    } finally {
      this.training = false;
    }
  }

  /** Steps of history the served model needs to forecast every horizon and score the latest value. */
  private forecastSteps(served: ServedModel): number {
    const lstmWindow = served.metadata.lstm
      ? served.metadata.lstm.window + served.metadata.lstm.season + 1
      : 1;
    const longestSeason = Math.max(0, ...served.metadata.baselines.seasonSteps);
    const maxH = Math.max(...this.target.horizonSteps);
    return Math.max(lstmWindow, served.metadata.baselines.rangeSteps + 1, longestSeason) + maxH + 2;
  }

  /**
   * Latest data → streaming anomaly alarms, and with a served model forecasts, intervals and
   * anomaly scores, on /metrics. The first round brings the detector's warm-up history (as much as
   * Prometheus has), later ones what the forecasts need, or what failed rounds missed; the window
   * cache asks Prometheus only for the steps it lacks. A failure of either part leaves the other's
   * results published and fails the round (counted). Rounds never overlap: the forecast loop, a
   * finished training and a newly loaded version each ask for one, and they share the series
   * window and the detector, so a round asked for during another runs after it.
   */
  forecastOnce(): Promise<number> {
    const round = this.lastRound.then(() => this.forecastRound());
    this.lastRound = round.catch(() => undefined);
    return round;
  }

  private async forecastRound(): Promise<number> {
    const served = this.served;
    const t = this.target;
    const endMs = this.gridEnd();
    const forecastSteps = served ? this.forecastSteps(served) : 0;
    // Two steps more than the time since the last fed grid: late samples of those steps still count.
    const unfedSteps =
      this.alarmsFedUntilMs === undefined
        ? Number.POSITIVE_INFINITY
        : Math.ceil((endMs - this.alarmsFedUntilMs) / t.stepMs) + 2;
    const steps = Math.max(forecastSteps, Math.min(this.alarms.warmupSteps, unfedSteps));
    let failure: { error: unknown } | undefined;
    let forecastCount = 0;
    try {
      const series = await this.window.read(endMs - steps * t.stepMs, endMs);
      // /metrics gets a turn between preparing the window and forecasting: each holds the loop a while.
      await new Promise((resolve) => setImmediate(resolve));
      if (served) {
        try {
          // Exactly the range a forecast-only round fetches: the forecasts do not depend on the detector.
          const forecasts = await forecastAll(
            served,
            series.map((s) => lastPoints(s, forecastSteps + 1)),
          );
          this.deps.metrics.setForecasts(t.name, forecasts);
          forecastCount = forecasts.length;
        } catch (error) {
          failure = { error };
        }
      }
      // After the forecasts: a first round feeds the detector thousands of values per series.
      try {
        await this.feedAlarms(series);
        this.alarmsFedUntilMs = Math.max(this.alarmsFedUntilMs ?? endMs, endMs);
      } catch (error) {
        failure ??= { error };
      }
    } catch (error) {
      failure = { error };
    }
    if (failure) {
      this.deps.metrics.forecastErrors.inc({ target: t.name });
      throw failure.error;
    }
    return forecastCount;
  }

  /** Feeds the round's series to the detector, yielding now and then; a series that fails does not stop the others. */
  private async feedAlarms(series: GridSeries[]): Promise<void> {
    const alarms: SeriesAlarm[] = [];
    let failure: { error: unknown; key: string } | undefined;
    let failed = 0;
    let sliceStart = performance.now();
    for (const s of series) {
      try {
        const alarm = this.alarms.observeSeries(s);
        if (alarm) alarms.push(alarm);
      } catch (error) {
        failure ??= { error, key: s.key };
        failed++;
      }
      if (performance.now() - sliceStart > DETECTOR_SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    this.alarms.retain(series.map((s) => s.key));
    this.deps.metrics.setAlarms(this.target.name, alarms);
    if (failure) {
      const reason = failure.error instanceof Error ? failure.error.message : String(failure.error);
      throw new Error(
        `anomaly detector failed on ${failed} of ${series.length} series (first ${failure.key}: ${reason})`,
        { cause: failure.error },
      );
    }
  }
}
