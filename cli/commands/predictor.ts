import { writeFileSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { CliExit } from "../../lib/cli-exit.js";
import type { ConfigOverride } from "../../lib/config-loader.js";
import { createLogger } from "../../lib/logger.js";
import type { BackendChoice } from "../../predictor/backend.js";
import { modelSettingsSchema } from "../../predictor/config.js";
import { runPredictor, trainOnce } from "../../predictor/main.js";
import { backtestCsv, detectCsv, type OfflineOptions } from "../../predictor/offline.js";

function serviceOverrides(argv: Record<string, unknown>): ConfigOverride[] {
  const overrides: ConfigOverride[] = [];
  if (argv["web.listen-address"] !== undefined) {
    overrides.push({
      path: "web.listen_address",
      value: argv["web.listen-address"],
      source: "--web.listen-address",
    });
  }
  if (argv["model-dir"] !== undefined) {
    overrides.push({ path: "model_dir", value: argv["model-dir"], source: "--model-dir" });
  }
  return overrides;
}

function serviceOptions<T>(y: Argv<T>) {
  return y
    .option("config", { type: "string", default: "predictor.yaml", describe: "YAML config file" })
    .option("web.listen-address", {
      type: "string",
      describe: "Override web.listen_address (host:port)",
      defaultDescription: "from config",
    })
    .option("model-dir", {
      type: "string",
      describe: "Override model_dir",
      defaultDescription: "from config",
    });
}

function offlineOptions<T>(y: Argv<T>) {
  const d = modelSettingsSchema.parse({});
  return y
    .option("csv", { type: "string", demandOption: true, describe: "CSV file with a header line" })
    .option("time-column", {
      type: "string",
      default: "timestamp",
      describe: "Column with the time (ISO date or epoch seconds)",
    })
    .option("value-column", { type: "string", default: "value", describe: "Column to forecast" })
    .option("step", {
      type: "string",
      describe: "Grid step (Prometheus duration)",
      defaultDescription: "most common interval",
    })
    .option("seasonality", {
      type: "string",
      default: "1d,1w",
      describe: "Seasons for the seasonal-naive baselines; the first scales MASE",
    })
    .option("interval", {
      type: "number",
      default: 0.9,
      describe: "Nominal coverage of the prediction interval",
    })
    .option("window", { type: "number", default: d.window, describe: "LSTM input window (steps)" })
    .option("units", { type: "number", default: d.units, describe: "LSTM units" })
    .option("epochs", { type: "number", default: d.epochs, describe: "Maximum training epochs" })
    .option("batch-size", { type: "number", default: d.batch_size, describe: "Training batch size" })
    .option("ensemble", {
      type: "number",
      default: d.ensemble,
      describe: "LSTM networks trained and averaged (1 is fastest)",
    })
    .option("learning-rate", { type: "number", default: d.learning_rate, describe: "Adam learning rate" })
    .option("patience", { type: "number", default: d.patience, describe: "Early-stopping patience (epochs)" })
    .option("max-training-windows", {
      type: "number",
      default: d.max_training_windows,
      describe: "Cap on training windows",
    })
    .option("validation-fraction", {
      type: "number",
      default: 0.15,
      describe: "Share before the test part used for early stopping and interval calibration",
    })
    .option("test-fraction", {
      type: "number",
      default: 0.15,
      describe: "Newest share of the data used for the backtest",
    })
    .option("max-gap", {
      type: "number",
      default: 3,
      describe: "Longest run of missing points (steps) that is interpolated",
    })
    .option("backend", {
      choices: ["auto", "node", "wasm", "cpu"] as const,
      default: "auto" as const,
      describe: "TensorFlow.js backend",
    })
    .option("baselines-only", { type: "boolean", default: false, describe: "Skip the LSTM (fast)" });
}

function toOfflineOptions(argv: Record<string, unknown>, horizon: string): OfflineOptions {
  const settings = modelSettingsSchema.safeParse({
    window: argv.window,
    units: argv.units,
    epochs: argv.epochs,
    batch_size: argv["batch-size"],
    learning_rate: argv["learning-rate"],
    patience: argv.patience,
    max_training_windows: argv["max-training-windows"],
    ensemble: argv.ensemble,
  });
  if (!settings.success) {
    const issue = settings.error.issues[0]!;
    throw new CliExit(
      `floorsense predictor: --${String(issue.path[0]).replace(/_/g, "-")}: ${issue.message}`,
      2,
    );
  }
  return {
    csv: String(argv.csv),
    timeColumn: String(argv["time-column"]),
    valueColumn: String(argv["value-column"]),
    horizon,
    step: argv.step === undefined ? undefined : String(argv.step),
    seasonality: String(argv.seasonality)
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    interval: Number(argv.interval),
    model: settings.data,
    validationFraction: Number(argv["validation-fraction"]),
    testFraction: Number(argv["test-fraction"]),
    maxGapSteps: Number(argv["max-gap"]),
    backend: argv.backend as BackendChoice,
    baselinesOnly: Boolean(argv["baselines-only"]),
    logger: createLogger("predictor", "warn", process.stderr),
  };
}

async function offline<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CliExit) throw error;
    throw new CliExit(`floorsense predictor: ${(error as Error).message}`, 1);
  }
}

export const predictorCommand: CommandModule = {
  command: "predictor",
  describe:
    "Forecasts and anomaly scores from Prometheus range queries (LSTM vs baselines), and offline tools",
  builder: (y) =>
    y
      .command({
        command: "$0",
        describe: "Run the predictor service (/metrics, forecast loop, training schedule)",
        builder: (t) => serviceOptions(t),
        handler: async (argv) => {
          await runPredictor(String(argv.config), serviceOverrides(argv));
        },
      })
      .command({
        command: "train",
        describe: "Train every target once and exit (for a CronJob); exit 1 if any training failed",
        builder: (t) =>
          serviceOptions(t).option("once", {
            type: "boolean",
            default: true,
            describe: "Train once and exit (the only mode)",
          }),
        handler: async (argv) => {
          const code = await trainOnce(String(argv.config), serviceOverrides(argv));
          if (code !== 0) throw new CliExit("", code);
        },
      })
      .command({
        command: "backtest",
        describe:
          "Backtest the LSTM and the baselines on a CSV column; prints MAE, RMSE, sMAPE, MASE, coverage",
        builder: (t) =>
          offlineOptions(t)
            .option("horizon", {
              type: "string",
              default: "24h",
              describe: "Forecast horizon (Prometheus duration)",
            })
            .option("plot", {
              type: "string",
              describe: "Write an SVG of actual vs forecast with the interval",
              defaultDescription: "no plot",
            }),
        handler: async (argv) => {
          const text = await offline(() =>
            backtestCsv(
              toOfflineOptions(argv, String(argv.horizon)),
              argv.plot === undefined ? undefined : String(argv.plot),
            ),
          );
          process.stdout.write(text);
        },
      })
      .command({
        command: "detect",
        describe: "Write an anomaly score per CSV row (one-step-ahead interval forecast)",
        builder: (t) =>
          offlineOptions(t).option("output", {
            type: "string",
            default: "-",
            describe: "Output CSV file, - for stdout",
          }),
        handler: async (argv) => {
          const text = await offline(() => detectCsv(toOfflineOptions(argv, "step")));
          if (argv.output === "-") process.stdout.write(text);
          else writeFileSync(String(argv.output), text);
        },
      }),
  handler: () => {},
};
