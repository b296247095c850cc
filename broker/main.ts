import { Gauge, Registry } from "prom-client";
import { registerBuildInfo } from "../lib/build-info.js";
import { type ServiceHttp, startServiceHttp } from "../lib/http-server.js";
import { exitOnSignals, once } from "../lib/lifecycle.js";
import { createLogger, type Logger } from "../lib/logger.js";
import type { BrokerConfig } from "./config.js";
import { type MqttServer, startMqttServer } from "./mqtt-server.js";
import { BrokerSecurity } from "./security.js";

export interface RunningBroker {
  readonly mqtt: MqttServer;
  readonly http: ServiceHttp;
  reload(): boolean;
  close(): Promise<void>;
}

/** Starts the embedded broker and its /metrics endpoint; the caller owns signals. */
export async function startBroker(config: BrokerConfig, logger: Logger): Promise<RunningBroker> {
  const registry = new Registry();
  registerBuildInfo(registry, "broker");
  const reloads = new Gauge({
    name: "floorsense_broker_security_last_reload_success",
    help: "1 when the last read of the password and ACL files succeeded, 0 when the previous rules are still in force.",
    registers: [registry],
  });
  const security = new BrokerSecurity({
    passwordFile: config.password_file,
    aclFile: config.acl_file,
    allowAnonymous: config.allow_anonymous,
  });
  reloads.set(1);
  for (const warning of security.passwordWarnings) {
    logger.warn({ file: config.password_file, ...warning }, "password file entry ignored");
  }
  const mqtt = await startMqttServer({ listen: config.listen, security, registry, logger });
  let http: ServiceHttp;
  try {
    http = await startServiceHttp({
      listenAddress: config.web.listen_address,
      registry,
      logger,
      isReady: () => ({ ready: true }),
    });
  } catch (error) {
    await mqtt.close();
    throw error;
  }
  logger.info(
    {
      passwordFile: config.password_file ?? null,
      aclFile: config.acl_file ?? null,
      allowAnonymous: config.allow_anonymous,
    },
    "broker ready",
  );
  return {
    mqtt,
    http,
    reload() {
      try {
        mqtt.reloadSecurity();
        reloads.set(1);
        for (const warning of security.passwordWarnings) {
          logger.warn({ file: config.password_file, ...warning }, "password file entry ignored");
        }
        logger.info("password and ACL files reloaded");
        return true;
      } catch (error) {
        reloads.set(0);
        logger.error({ err: (error as Error).message }, "reload failed, keeping the previous rules");
        return false;
      }
    },
    close: once(async () => {
      await mqtt.close();
      await http.close();
    }),
  };
}

/** `floorsense broker`: runs until SIGTERM/SIGINT; SIGHUP re-reads the password and ACL files. */
export async function runBroker(config: BrokerConfig): Promise<void> {
  const logger = createLogger("broker", config.log_level);
  const broker = await startBroker(config, logger);
  process.on("SIGHUP", () => broker.reload());
  exitOnSignals(logger, () => broker.close());
}
