import { z } from "zod";
import { type ConfigOverride, envOverrides, loadYamlConfig, validateConfig } from "../lib/config-loader.js";
import { parseListenAddress } from "../lib/http-server.js";
import { LOG_LEVELS, type LogLevel } from "../lib/logger.js";

const listenAddress = z.string().refine((text) => {
  try {
    parseListenAddress(text);
    return true;
  } catch {
    return false;
  }
}, "expected host:port, e.g. 127.0.0.1:1883");

const booleanLike = z.union([z.boolean(), z.enum(["true", "false"]).transform((text) => text === "true")]);

export const brokerConfigSchema = z.strictObject({
  /** MQTT over TCP. */
  listen: listenAddress.default("127.0.0.1:1883"),
  /** Mosquitto-format password file; with it, clients must log in (unless allow_anonymous). */
  password_file: z.string().min(1).optional(),
  /** Mosquitto-format ACL file; with it, whatever the file does not grant is denied. */
  acl_file: z.string().min(1).optional(),
  /** Lets clients without a user name in when a password file is set, as Mosquitto's option of that name. */
  allow_anonymous: booleanLike.default(false),
  web: z.strictObject({ listen_address: listenAddress.default("127.0.0.1:9466") }).prefault({}),
  log_level: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default("info"),
});

export type BrokerConfig = z.output<typeof brokerConfigSchema>;

export const BROKER_ENV: Record<string, string> = {
  listen: "FLOORSENSE_BROKER_LISTEN",
  password_file: "FLOORSENSE_BROKER_PASSWORD_FILE",
  acl_file: "FLOORSENSE_BROKER_ACL_FILE",
  allow_anonymous: "FLOORSENSE_BROKER_ALLOW_ANONYMOUS",
  "web.listen_address": "FLOORSENSE_BROKER_WEB_LISTEN_ADDRESS",
  log_level: "FLOORSENSE_LOG_LEVEL",
};

/**
 * The broker runs fine on flags alone (a laptop, a test), so the YAML file is optional:
 * without it the flags and environment are validated against the same schema.
 */
export function loadBrokerConfig(
  file: string | undefined,
  flagOverrides: ConfigOverride[] = [],
  env: NodeJS.ProcessEnv = process.env,
): BrokerConfig {
  const overrides = [...envOverrides(BROKER_ENV, env), ...flagOverrides];
  if (file !== undefined) return loadYamlConfig(file, brokerConfigSchema, overrides);
  const data: Record<string, unknown> = {};
  for (const override of overrides) {
    if (override.value === undefined) continue;
    const keys = override.path.split(".");
    let node = data;
    for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1]!] = override.value;
  }
  return validateConfig("(flags)", brokerConfigSchema, data, { overrides });
}
