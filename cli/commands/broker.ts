import type { CommandModule } from "yargs";
import { loadBrokerConfig } from "../../broker/config.js";
import { CliExit } from "../../lib/cli-exit.js";
import type { ConfigOverride } from "../../lib/config-loader.js";

interface BrokerArgs {
  config?: string;
  listen?: string;
  "password-file"?: string;
  "acl-file"?: string;
  "allow-anonymous"?: boolean;
  "web.listen-address"?: string;
  "log-level"?: string;
}

export const brokerCommand: CommandModule<object, BrokerArgs> = {
  command: "broker",
  describe: "Run the embedded MQTT broker (aedes; MQTT 3.1.1 and 5) with Mosquitto password and ACL files",
  builder: (y) =>
    y
      // Prometheus-style flags (`--web.listen-address`) are names, not nested objects.
      .parserConfiguration({ "dot-notation": false })
      .option("config", {
        type: "string",
        describe: "YAML config file (optional; flags and env override it)",
        defaultDescription: "none",
      })
      .option("listen", {
        type: "string",
        describe: "MQTT TCP listen address host:port",
        defaultDescription: "127.0.0.1:1883",
      })
      .option("password-file", {
        type: "string",
        describe: "Mosquitto password file; clients must log in",
        defaultDescription: "none: every client may connect",
      })
      .option("acl-file", {
        type: "string",
        describe: "Mosquitto ACL file (re-read on SIGHUP, with the password file)",
        defaultDescription: "none: everything allowed",
      })
      .option("allow-anonymous", {
        type: "boolean",
        describe: "Let clients without a user name in when a password file is set",
        defaultDescription: "false",
      })
      .option("web.listen-address", {
        type: "string",
        alias: "web-listen-address",
        describe: "Address for /metrics, /healthz and /readyz",
        defaultDescription: "127.0.0.1:9466",
      })
      .option("log-level", {
        type: "string",
        describe: "fatal, error, warn, info, debug, trace or silent",
        defaultDescription: "info",
      }),
  handler: async (args) => {
    const flags: ConfigOverride[] = [
      { path: "listen", value: args.listen, source: "--listen" },
      { path: "password_file", value: args["password-file"], source: "--password-file" },
      { path: "acl_file", value: args["acl-file"], source: "--acl-file" },
      { path: "allow_anonymous", value: args["allow-anonymous"], source: "--allow-anonymous" },
      { path: "web.listen_address", value: args["web.listen-address"], source: "--web.listen-address" },
      { path: "log_level", value: args["log-level"], source: "--log-level" },
    ];
    const config = loadBrokerConfig(args.config, flags);
    // Loaded on use: aedes and its dependencies would slow down every other floorsense command.
    const { runBroker } = await import("../../broker/main.js");
    try {
      await runBroker(config);
    } catch (error) {
      // A missing or broken password/ACL file is the operator's to fix, not a crash.
      if ((error as Error).name === "SecurityFileError")
        throw new CliExit(`floorsense broker: ${(error as Error).message}`, 2);
      throw error;
    }
  },
};
