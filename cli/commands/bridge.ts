import type { CommandModule } from "yargs";
import type { ConfigOverride } from "../../lib/config-loader.js";
import { exitOnSignals } from "../../lib/lifecycle.js";
import { createLogger } from "../../lib/logger.js";

interface BridgeArgs {
  config: string;
  "mqtt.url"?: string;
  "web.listen-address"?: string;
  "log.level"?: string;
}

export const bridgeCommand: CommandModule<object, BridgeArgs> = {
  command: "bridge",
  describe: "Run the ingest bridge: MQTT readings to per-tenant Prometheus endpoints and remote write",
  builder: (y) =>
    y
      // Flags named like the config paths they override stay flat (Prometheus style), not nested.
      .parserConfiguration({ "dot-notation": false })
      .option("config", {
        type: "string",
        default: "bridge.yaml",
        describe: "YAML config file (docs/bridge.md)",
      })
      .option("mqtt.url", {
        type: "string",
        describe: "Override mqtt.url",
        defaultDescription: "from config",
      })
      .option("web.listen-address", {
        type: "string",
        describe: "Override web.listen_address (host:port)",
        defaultDescription: "from config, else 0.0.0.0:9465",
      })
      .option("log.level", {
        type: "string",
        describe: "Override log_level",
        defaultDescription: "from config, else info",
      }) as never,
  handler: async (args) => {
    // Loaded lazily so `floorsense --help` does not pay for the bridge's imports.
    const { loadBridgeConfig } = await import("../../ingest-bridge/config.js");
    const { startBridge } = await import("../../ingest-bridge/main.js");
    const overrides: ConfigOverride[] = [];
    const add = (path: string, value: string | undefined, source: string) => {
      if (value !== undefined) overrides.push({ path, value, source });
    };
    add("mqtt.url", args["mqtt.url"], "--mqtt.url");
    add("web.listen_address", args["web.listen-address"], "--web.listen-address");
    add("log_level", args["log.level"], "--log.level");
    const config = loadBridgeConfig(args.config, overrides);
    const logger = createLogger("bridge", config.log_level);
    const bridge = await startBridge(config, logger);
    exitOnSignals(logger, () => bridge.close());
  },
};
