import type { ConfigOverride } from "../lib/config-loader.js";
import { parseDuration } from "../lib/duration.js";
import { startServiceHttp } from "../lib/http-server.js";
import { exitOnSignals, once } from "../lib/lifecycle.js";
import { createLogger, type Logger } from "../lib/logger.js";
import { loadBackend } from "./backend.js";
import { loadPredictorConfig, type PredictorConfig, resolveTarget } from "./config.js";
import { PredictorMetrics } from "./metrics.js";
import { ModelStore } from "./model-store.js";
import { PrometheusClient } from "./prometheus-client.js";
import { IntervalLoop, ScheduledJob } from "./scheduler.js";
import { TargetRunner } from "./target-runner.js";

function buildRunners(config: PredictorConfig, logger: Logger, metrics: PredictorMetrics): TargetRunner[] {
  const client = new PrometheusClient({
    url: config.prometheus.url,
    auth: config.prometheus.auth,
    tenant: config.prometheus.tenant,
    timeoutMs: parseDuration(config.prometheus.timeout),
    maxPointsPerQuery: config.prometheus.max_points_per_query,
  });
  const store = new ModelStore(config.model_dir, config.keep_versions);
  const loadTf = () => loadBackend(config.backend, logger);
  return config.targets.map(
    (target) =>
      new TargetRunner(resolveTarget(target), {
        client,
        store,
        metrics,
        logger,
        loadTf,
        backendChoice: config.backend,
      }),
  );
}

/** `floorsense predictor train --once`: one training per target, for a Kubernetes CronJob. Exit 1 if any failed. */
export async function trainOnce(configFile: string, overrides: ConfigOverride[] = []): Promise<number> {
  const config = loadPredictorConfig(configFile, overrides);
  const logger = createLogger("predictor", config.log_level);
  const metrics = new PredictorMetrics();
  let failed = 0;
  for (const runner of buildRunners(config, logger, metrics)) {
    try {
      await runner.train();
    } catch (error) {
      failed++;
      logger.error({ target: runner.target.name, err: error }, "training failed");
    }
  }
  return failed === 0 ? 0 : 1;
}

/** The long-running service: /metrics, a forecast loop and a training schedule per target. */
export async function runPredictor(configFile: string, overrides: ConfigOverride[] = []): Promise<void> {
  const config = loadPredictorConfig(configFile, overrides);
  const logger = createLogger("predictor", config.log_level);
  const metrics = new PredictorMetrics();
  const runners = buildRunners(config, logger, metrics);
  const loops: IntervalLoop[] = [];
  const jobs: ScheduledJob[] = [];

  const http = await startServiceHttp({
    listenAddress: config.web.listen_address,
    registry: metrics.registry,
    logger,
    isReady: () => {
      const waiting = runners.filter((r) => !r.served).map((r) => r.target.name);
      return waiting.length === 0 ? true : { ready: false, reason: `no model yet for ${waiting.join(", ")}` };
    },
  });

  const shutdown = once(async () => {
    for (const runner of runners) runner.requestStop();
    await Promise.all([...loops.map((l) => l.stop()), ...jobs.map((j) => j.stop())]);
    await http.close();
  });
  exitOnSignals(logger, shutdown);

  for (const runner of runners) {
    const name = runner.target.name;
    try {
      await runner.loadStored();
    } catch (error) {
      logger.error({ target: name, err: error }, "loading the stored model failed; will train");
    }
    const loop = new IntervalLoop(
      runner.target.forecastIntervalMs,
      async () => {
        await runner.forecastOnce();
      },
      (error) => logger.warn({ target: name, err: error }, "forecast round failed"),
    );
    const job = new ScheduledJob({
      schedule: runner.target.config.schedule,
      run: async () => {
        await runner.train();
        // Fresh model: refresh the forecasts now rather than at the next tick.
        await runner.forecastOnce().catch(() => {});
      },
      onError: (error) => logger.error({ target: name, err: error }, "training failed; previous model kept"),
      onSkipped: () =>
        logger.warn({ target: name }, "training still running at its next scheduled time; skipped"),
    });
    // A version saved by another process (`train --once` from a CronJob) is served without a restart.
    const reload = new IntervalLoop(
      parseDuration(config.model_reload_interval),
      async () => {
        // Forecast at once with the new model rather than at the next tick.
        if ((await runner.reloadNewer()) !== undefined) await runner.forecastOnce().catch(() => {});
      },
      (error) => logger.warn({ target: name, err: error }, "loading a newer stored model failed"),
    );
    loops.push(loop, reload);
    jobs.push(job);
    loop.start();
    job.start();
    reload.start(false);
    // With train_on_start false, training is left to the schedule (or a CronJob): nothing here.
    if (config.train_on_start) {
      // Without a model there is nothing to forecast with until the next cron time, which may be a
      // day away; retry sooner until the first training succeeds, and while a baseline stands in for
      // an LSTM that only lacked history, so the LSTM takes over as soon as the history suffices.
      const retryUntrained = new IntervalLoop(
        parseDuration(config.retry_untrained_every),
        async () => {
          // A training under way is not "skipped" noise in the log; the next tick looks again.
          if (runner.wantsEarlyTraining && !job.running) await job.runNow();
        },
        (error) => logger.warn({ target: name, err: error }, "retrying the first training failed"),
      );
      loops.push(retryUntrained);
      if (!runner.served) void job.runNow();
      retryUntrained.start(false);
    }
  }
  logger.info({ targets: runners.map((r) => r.target.name) }, "predictor running");
}
