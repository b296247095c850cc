import { resolve } from "node:path";
import type { CommandModule } from "yargs";
import { CliExit } from "../../lib/cli-exit.js";
import { parseDuration } from "../../lib/duration.js";
import { packageRoot } from "../../lib/repo-root.js";
import { findProgram } from "../../stack/programs.js";
import { DEFAULT_PORTS } from "../../stack/stack-files.js";
import { startStack } from "../../stack/stack-runner.js";

interface StackArgs {
  "data-dir": string;
  broker: "embedded" | "mosquitto";
  interval: string;
  predictor: boolean;
  "contracted-peak-watts": number;
  "prometheus-port": number;
}

export const stackCommand: CommandModule<object, StackArgs> = {
  command: "stack",
  describe:
    "Run the whole stack on this machine: broker, two simulated meters and their exporters, bridge, predictor, Prometheus (and Alertmanager when installed)",
  builder: (y) =>
    y
      .option("data-dir", {
        type: "string",
        default: ".floorsense/stack",
        describe: "Where configs, queues, models and Prometheus data live",
      })
      .option("broker", {
        choices: ["embedded", "mosquitto"] as const,
        default: "embedded" as const,
        describe: "embedded: floorsense broker (aedes); mosquitto: the Debian Mosquitto",
      })
      .option("interval", {
        type: "string",
        default: "5s",
        describe: "Poll, scrape and rule evaluation interval",
      })
      .option("predictor", {
        type: "boolean",
        default: true,
        describe: "Run the predictor (--no-predictor to leave it out)",
      })
      .option("contracted-peak-watts", {
        type: "number",
        default: 250_000,
        describe: "Contracted peak of the demo site; the peak alerts compare against it",
      })
      .option("prometheus-port", {
        type: "number",
        default: DEFAULT_PORTS.prometheus,
        describe: "Port of the Prometheus UI",
      }),
  handler: async (args) => {
    try {
      parseDuration(args.interval);
    } catch (error) {
      throw new CliExit(`--interval: ${(error as Error).message}`, 2);
    }
    const prometheus = findProgram("prometheus");
    if (!prometheus) {
      throw new CliExit(
        "floorsense stack needs Prometheus, which is not installed.\nInstall it with: scripts/setup   (or: sudo apt-get install -y prometheus)",
        1,
      );
    }
    const mosquitto = findProgram("mosquitto");
    if (args.broker === "mosquitto" && !mosquitto) {
      throw new CliExit(
        "--broker mosquitto: Mosquitto is not installed.\nInstall it with: sudo apt-get install -y mosquitto",
        1,
      );
    }
    const dataDir = resolve(args["data-dir"]);
    const write = (line: string) => process.stdout.write(`${line}\n`);
    const stack = await startStack({
      repoRoot: packageRoot(),
      dataDir,
      ports: { ...DEFAULT_PORTS, prometheus: args["prometheus-port"] },
      interval: args.interval,
      broker: args.broker,
      withPredictor: args.predictor,
      contractedPeakWatts: args["contracted-peak-watts"],
      binaries: { prometheus, alertmanager: findProgram("prometheus-alertmanager"), mosquitto },
      write,
    });
    const width = Math.max(...Object.keys(stack.urls).map((k) => k.length));
    write("\nfloorsense is running. Where to look:");
    for (const [name, url] of Object.entries(stack.urls)) write(`  ${name.padEnd(width)}  ${url}`);
    write(`\nTry in Prometheus: tenant_site_machine:floorsense_meter_system_power_watts:sum`);
    write(`              or:  floorsense_meter_voltage_volts{machine="press1"}`);
    if (!stack.urls.Alertmanager)
      write(
        "Alertmanager is not installed (apt-get install -y prometheus-alertmanager); alerts show in Prometheus only.",
      );
    write(`Configs and data: ${dataDir}   (Ctrl-C stops everything)\n`);

    await new Promise<void>((resolveStop) => {
      let stopping = false;
      const stop = (reason: string, code: number) => {
        if (stopping) return;
        stopping = true;
        write(`\nstopping the stack (${reason})...`);
        stack.stop().then(() => {
          process.exitCode = code;
          resolveStop();
        });
      };
      process.on("SIGINT", () => stop("SIGINT", 0));
      process.on("SIGTERM", () => stop("SIGTERM", 0));
      stack.supervisor.onUnexpectedExit = (name, code) => stop(`${name} exited with code ${code}`, 1);
    });
  },
};
