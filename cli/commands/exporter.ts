import type { Argv, CommandModule } from "yargs";
import { loadExporterConfig } from "../../exporter/config.js";
import { runExporter } from "../../exporter/main.js";
import { formatPlan } from "../../exporter/plan-report.js";
import { listProfiles, loadProfile } from "../../exporter/profile.js";
import { startSimulator } from "../../exporter/simulator.js";
import { CliExit } from "../../lib/cli-exit.js";
import type { ConfigOverride } from "../../lib/config-loader.js";
import { parseDuration } from "../../lib/duration.js";
import { parseListenAddress } from "../../lib/http-server.js";
import { exitOnSignals } from "../../lib/lifecycle.js";
import { createLogger } from "../../lib/logger.js";

interface RunArgs {
  config: string;
  "web.listen-address"?: string;
  "mqtt.url"?: string;
  "queue.dir"?: string;
  "log.level"?: string;
}

/** Each flag overrides one config path, and errors name the flag. */
function overrides(args: RunArgs): ConfigOverride[] {
  return [
    { path: "web.listen_address", value: args["web.listen-address"], source: "--web.listen-address" },
    { path: "mqtt.url", value: args["mqtt.url"], source: "--mqtt.url" },
    { path: "queue.dir", value: args["queue.dir"], source: "--queue.dir" },
    { path: "log_level", value: args["log.level"], source: "--log.level" },
  ];
}

const profilesCommand: CommandModule<object, { "profile-dir": string[] }> = {
  command: "profiles",
  describe: "List the device profiles (shipped ones and those in --profile-dir)",
  builder: (y) =>
    y.option("profile-dir", {
      type: "string",
      array: true,
      default: [],
      describe: "Extra folders with profile YAML files, searched before the shipped ones",
    }),
  handler: (args) => {
    const rows = listProfiles(args["profile-dir"]);
    const width = Math.max(...rows.map((r) => r.name.length), 7);
    console.log(`${"profile".padEnd(width)}  values  device`);
    for (const row of rows) {
      console.log(
        `${row.name.padEnd(width)}  ${String(row.registers).padStart(6)}  ${row.manufacturer} ${row.model}`,
      );
    }
  },
};

const planCommand: CommandModule<object, { config: string; "response-latency": string }> = {
  command: "plan",
  describe: "Print the requests per device and the bytes and wire time per poll cycle",
  builder: (y) =>
    y
      .option("config", { type: "string", demandOption: true, describe: "Edge config file (edge.yaml)" })
      .option("response-latency", {
        type: "string",
        default: "20ms",
        describe: "Time a meter takes to start answering, counted once per request in the serial wire time",
      }),
  handler: (args) => {
    // The plan is read off the config, often on another computer than the edge box: its TLS files need not be here.
    const config = loadExporterConfig(args.config, [], process.env, { requireFiles: false });
    process.stdout.write(formatPlan(config, parseDuration(args["response-latency"])));
  },
};

interface SimulateArgs {
  profile: string;
  listen?: string;
  serial?: string;
  baud: number;
  "unit-id": number;
  seed: number;
  "strict-addresses": boolean;
  "fault-rate": number;
  "profile-dir": string[];
}

const simulateCommand: CommandModule<object, SimulateArgs> = {
  command: "simulate",
  describe:
    "Serve a simulated meter over Modbus TCP (--listen) or a serial device (--serial), for demos and tests",
  builder: (y) =>
    y
      .option("profile", { type: "string", default: "sdm630", describe: "Profile whose registers to serve" })
      .option("listen", {
        type: "string",
        describe: "Modbus TCP listen address host:port",
        defaultDescription: "127.0.0.1:5020",
      })
      .option("serial", {
        type: "string",
        describe: "Serve Modbus RTU on this serial device instead (e.g. a socat pty)",
      })
      .option("baud", { type: "number", default: 9600, describe: "Baud rate with --serial" })
      .option("unit-id", { type: "number", default: 1, describe: "Unit id that answers (255: every id)" })
      .option("seed", {
        type: "number",
        default: 1,
        describe: "Seed of the load model: same seed, same values",
      })
      .option("strict-addresses", {
        type: "boolean",
        default: false,
        describe: "Answer exception 02 to reads touching registers the profile does not map",
      })
      .option("fault-rate", {
        type: "number",
        default: 0.002,
        describe: "Share of requests answered with exception 06 (slave busy)",
      })
      .option("profile-dir", { type: "string", array: true, default: [], describe: "Extra profile folders" }),
  handler: async (args) => {
    const profile = loadProfile(args.profile, args["profile-dir"]);
    const logger = createLogger("simulator");
    const options = {
      profile,
      seed: args.seed,
      unitId: args["unit-id"],
      strictAddresses: args["strict-addresses"],
      faultRate: args["fault-rate"],
    };
    let endpoint: { host: string; port: number } | { serialPath: string; baudRate: number };
    if (args.serial) endpoint = { serialPath: args.serial, baudRate: args.baud };
    else {
      try {
        endpoint = parseListenAddress(args.listen ?? "127.0.0.1:5020");
      } catch (error) {
        throw new CliExit(`--listen: ${(error as Error).message}`, 2);
      }
    }
    let simulator: Awaited<ReturnType<typeof startSimulator>>;
    try {
      simulator = await startSimulator(options, endpoint);
    } catch (error) {
      throw new CliExit(`cannot serve the simulator: ${(error as Error).message}`, 1);
    }
    logger.info(
      { profile: profile.name, unitId: options.unitId, seed: options.seed, ...endpoint },
      "simulator serving",
    );
    exitOnSignals(logger, () => simulator.close());
  },
};

export const exporterCommand: CommandModule<object, RunArgs> = {
  command: "exporter",
  describe: "Run the edge exporter: Modbus meters to OpenMetrics over MQTT, with store and forward",
  builder: (y: Argv) =>
    (y as Argv<RunArgs>)
      // Prometheus-style flags (`--web.listen-address`) are names, not nested objects.
      .parserConfiguration({ "dot-notation": false })
      .command(profilesCommand as CommandModule<RunArgs, never>)
      .command(planCommand as CommandModule<RunArgs, never>)
      .command(simulateCommand as CommandModule<RunArgs, never>)
      // The service's flags mean nothing to profiles, plan and simulate: not global, so their --help
      // does not list them and strict parsing refuses them there.
      .option("config", { type: "string", default: "edge.yaml", describe: "Edge config file", global: false })
      .option("web.listen-address", {
        type: "string",
        describe: "Address for /metrics, /healthz and /readyz",
        defaultDescription: "web.listen_address from the config, 0.0.0.0:9464",
        global: false,
      })
      .option("mqtt.url", {
        type: "string",
        describe: "Broker URL (env FLOORSENSE_MQTT_URL)",
        defaultDescription: "from the config",
        global: false,
      })
      .option("queue.dir", {
        type: "string",
        describe: "Store-and-forward folder (env FLOORSENSE_QUEUE_DIR)",
        defaultDescription: "from the config",
        global: false,
      })
      .option("log.level", {
        type: "string",
        describe: "fatal, error, warn, info, debug, trace or silent",
        defaultDescription: "log_level from the config, info",
        global: false,
      }) as Argv<RunArgs>,
  handler: async (args) => {
    await runExporter({ configFile: args.config, overrides: overrides(args), handleSignals: true });
  },
};
