import { Cron } from "croner";
import { z } from "zod";
import { type ConfigOverride, envOverrides, loadYamlConfig } from "../lib/config-loader.js";
import { parseDuration } from "../lib/duration.js";
import { parseListenAddress } from "../lib/http-server.js";
import { LOG_LEVELS, type LogLevel } from "../lib/logger.js";

const duration = (what: string) =>
  z.string().refine(
    (text) => {
      try {
        return parseDuration(text) > 0;
      } catch {
        return false;
      }
    },
    { message: `expected a positive Prometheus duration for ${what}, e.g. 1m, 1h, 14d` },
  );

const cron = z.string().refine(
  (text) => {
    try {
      new Cron(text, { paused: true }).stop();
      return true;
    } catch {
      return false;
    }
  },
  { message: "expected a cron expression, e.g. '0 3 * * *' (minute hour day month weekday)" },
);

/** Model settings; small defaults so a first run on a laptop finishes in minutes, not hours. */
export const modelSettingsSchema = z.strictObject({
  /** Input window length in steps. */
  window: z.number().int().min(2).max(2_000).default(48),
  units: z.number().int().min(1).max(1_024).default(32),
  epochs: z.number().int().min(1).max(1_000).default(12),
  batch_size: z.number().int().min(1).max(8_192).default(256),
  learning_rate: z.number().positive().max(1).default(0.003),
  /** Epochs without improvement on the validation part before training stops. */
  patience: z.number().int().min(1).default(3),
  /** Training windows are subsampled above this, so a thousand series do not mean a thousand-fold epoch. */
  max_training_windows: z.number().int().min(16).default(16_000),
  /**
   * Networks trained per training (different initialisation and shuffling) whose forecasts are
   * averaged: each costs its training time again and its share of every forecast round.
   */
  ensemble: z.number().int().min(1).max(8).default(3),
});

export type ModelSettings = z.output<typeof modelSettingsSchema>;

const targetSchema = z.strictObject({
  /** Becomes the `target` label and the folder name in model_dir. */
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, "expected [a-z0-9][a-z0-9_-]* (used in file names and labels)")
    .max(63),
  expr: z.string().min(1),
  step: duration("step").default("1m"),
  lookback: duration("lookback").default("14d"),
  horizons: z.array(duration("horizon")).min(1).default(["15m", "1h"]),
  /** Season lengths for the seasonal-naive baselines and the MASE scale (first one). */
  seasonality: z.array(duration("seasonality")).default(["1d", "1w"]),
  schedule: cron.default("0 3 * * *"),
  /** The expression returns a raw counter: forecast its per-second rate, reset-safe. */
  counter: z.boolean().default(false),
  /** Gaps up to this long are interpolated (and counted); longer ones break the training windows. */
  max_interpolated_gap: duration("max_interpolated_gap").default("5m"),
  /** How often forecasts are refreshed; defaults to the step. */
  forecast_interval: duration("forecast_interval").optional(),
  /** Nominal coverage of the prediction interval. */
  interval: z.number().gt(0).lt(1).default(0.9),
  /** Range of the predict_linear / holt_winters baselines; defaults to the model window. */
  baseline_range: duration("baseline_range").optional(),
  model: modelSettingsSchema.default(modelSettingsSchema.parse({})),
});

export type TargetConfig = z.output<typeof targetSchema>;

const authSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("bearer"), token: z.string().min(1) }),
  z.strictObject({ type: z.literal("basic"), username: z.string().min(1), password: z.string() }),
]);

export const predictorConfigSchema = z
  .strictObject({
    log_level: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default("info"),
    prometheus: z.strictObject({
      url: z.url(),
      auth: authSchema.optional(),
      /** Sent as X-Scope-OrgID (Mimir, Cortex, Loki-style multi-tenancy). */
      tenant: z.string().min(1).optional(),
      timeout: duration("timeout").default("30s"),
      /** Prometheus refuses more than 11 000 points per series in one query_range. */
      max_points_per_query: z.number().int().min(2).max(11_000).default(10_000),
    }),
    targets: z.array(targetSchema).min(1),
    model_dir: z.string().min(1).default("./predictor-models"),
    keep_versions: z.number().int().min(1).default(3),
    /**
     * Train at start when no stored model exists for a target, and retry every
     * retry_untrained_every; false: the service trains only on the targets' schedules (leave
     * training to `predictor train --once`).
     */
    train_on_start: z.boolean().default(true),
    /** While a target has no model to serve (a fresh install, too little history), retry this often. */
    retry_untrained_every: duration("retry_untrained_every").default("5m"),
    /** How often the model store is checked for a version saved by another process (train --once). */
    model_reload_interval: duration("model_reload_interval").default("1m"),
    backend: z.enum(["auto", "node", "wasm", "cpu"]).default("auto"),
    web: z
      .strictObject({
        listen_address: z
          .string()
          .refine(
            (text) => {
              try {
                parseListenAddress(text);
                return true;
              } catch {
                return false;
              }
            },
            { message: "expected host:port" },
          )
          .default("0.0.0.0:9467"),
      })
      .default({ listen_address: "0.0.0.0:9467" }),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.targets.forEach((target, index) => {
      if (seen.has(target.name)) {
        ctx.addIssue({ code: "custom", path: ["targets", index, "name"], message: "duplicate target name" });
      }
      seen.add(target.name);
      const step = parseDuration(target.step);
      target.horizons.forEach((horizon, h) => {
        if (parseDuration(horizon) % step !== 0) {
          ctx.addIssue({
            code: "custom",
            path: ["targets", index, "horizons", h],
            message: `horizon must be a multiple of the step ${target.step}`,
          });
        }
      });
    });
  });

export type PredictorConfig = z.output<typeof predictorConfigSchema>;

export const PREDICTOR_ENV = {
  "prometheus.url": "FLOORSENSE_PROMETHEUS_URL",
  "prometheus.tenant": "FLOORSENSE_PROMETHEUS_TENANT",
  model_dir: "FLOORSENSE_PREDICTOR_MODEL_DIR",
  "web.listen_address": "FLOORSENSE_PREDICTOR_LISTEN_ADDRESS",
  log_level: "FLOORSENSE_LOG_LEVEL",
};

export function loadPredictorConfig(
  file: string,
  flags: ConfigOverride[] = [],
  env: NodeJS.ProcessEnv = process.env,
): PredictorConfig {
  return loadYamlConfig(file, predictorConfigSchema, [...envOverrides(PREDICTOR_ENV, env), ...flags]);
}

/** A target with its durations resolved to milliseconds and step counts. */
export interface ResolvedTarget {
  config: TargetConfig;
  name: string;
  stepMs: number;
  lookbackMs: number;
  horizonLabels: string[];
  horizonSteps: number[];
  seasonSteps: number[];
  maxGapSteps: number;
  forecastIntervalMs: number;
  baselineRangeSteps: number;
}

export function resolveTarget(config: TargetConfig): ResolvedTarget {
  const stepMs = parseDuration(config.step);
  return {
    config,
    name: config.name,
    stepMs,
    lookbackMs: parseDuration(config.lookback),
    horizonLabels: config.horizons,
    horizonSteps: config.horizons.map((h) => Math.round(parseDuration(h) / stepMs)),
    seasonSteps: config.seasonality.map((s) => Math.max(1, Math.round(parseDuration(s) / stepMs))),
    maxGapSteps: Math.floor(parseDuration(config.max_interpolated_gap) / stepMs),
    forecastIntervalMs: config.forecast_interval ? parseDuration(config.forecast_interval) : stepMs,
    baselineRangeSteps: config.baseline_range
      ? Math.max(1, Math.round(parseDuration(config.baseline_range) / stepMs))
      : config.model.window - 1,
  };
}
