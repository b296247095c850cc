import { readFileSync } from "node:fs";
import { z } from "zod";
import { type ConfigOverride, envOverrides, loadYamlConfig } from "../lib/config-loader.js";
import { parseDuration } from "../lib/duration.js";
import { parseListenAddress } from "../lib/http-server.js";
import { LOG_LEVELS, type LogLevel } from "../lib/logger.js";

/** Tenant, site, machine and device names: safe in topics, label values and file names alike. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** A Prometheus duration string, kept as milliseconds after validation. */
const duration = z.string().transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

const positiveInt = z.coerce.number().int().positive();

const basicAuth = z
  .strictObject({
    username: z.string().min(1),
    password: z.string().min(1).optional(),
    password_file: z.string().min(1).optional(),
  })
  .refine(
    (b) => (b.password === undefined) !== (b.password_file === undefined),
    "set exactly one of password and password_file",
  );

const tenantAuth = z
  .strictObject({
    bearer_token: z.string().min(16, "a bearer token needs at least 16 characters").optional(),
    bearer_token_file: z.string().min(1).optional(),
    basic: basicAuth.optional(),
  })
  .refine(
    (t) => [t.bearer_token, t.bearer_token_file, t.basic].filter((x) => x !== undefined).length === 1,
    "set exactly one of bearer_token, bearer_token_file and basic",
  );

const remoteWrite = z.strictObject({
  /** Names the endpoint in metrics and logs. */
  name: z.string().regex(/^[a-zA-Z0-9_-]+$/, "letters, digits, _ and - only"),
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), z.string()).default({}),
  /** Header that carries the tenant (Mimir, Cortex, VictoriaMetrics cluster); "" sends none. */
  tenant_header: z.string().default("X-Scope-OrgID"),
  bearer_token: z.string().min(1).optional(),
  basic: basicAuth.optional(),
  max_samples_per_send: positiveInt.default(2_000),
  /** Samples waiting for this endpoint; a full queue makes the bridge stop taking messages. */
  capacity: positiveInt.default(100_000),
  min_backoff: duration.default(30),
  max_backoff: duration.default(5_000),
  timeout: duration.default(30_000),
});

export const bridgeConfigSchema = z.strictObject({
  mqtt: z
    .strictObject({
      url: z
        .string()
        .regex(/^(mqtts?|wss?|tcp|ssl):\/\/.+/, "expected mqtt://host:port or mqtts://host:port"),
      client_id: z.string().min(1).max(128).default("floorsense-bridge"),
      username: z.string().optional(),
      password: z.string().optional(),
      password_file: z.string().optional(),
      tls: z
        .strictObject({
          ca_file: z.string().optional(),
          cert_file: z.string().optional(),
          key_file: z.string().optional(),
          insecure_skip_verify: z.boolean().default(false),
        })
        .optional(),
      /**
       * 5 by default. 4 (MQTT 3.1.1) for brokers without MQTT 5 such as `floorsense broker`; the
       * session then persists with clean=false alone, without an expiry interval.
       */
      protocol_version: z.union([z.literal(4), z.literal(5)]).default(5),
      topic_filter: z.string().min(1).default("floorsense/v1/#"),
      /** With a group, replicas subscribe to `$share/<group>/<filter>` and split the messages. */
      shared_group: z
        .string()
        .regex(/^[^/#+]+$/, "no /, # or + in a share name")
        .optional(),
      /** How long the broker keeps the session (and queued QoS 1 messages) while the bridge is away. */
      session_expiry: duration.default(3_600_000),
      keepalive: duration.default(30_000),
      reconnect_period: duration.default(1_000),
    })
    .refine((m) => !(m.password && m.password_file), "set at most one of password and password_file"),
  limits: z
    .strictObject({
      max_payload_bytes: positiveInt.default(1_048_576),
      max_series_per_tenant: positiveInt.default(2_000_000),
      max_series_per_device: positiveInt.default(10_000),
      max_sample_age: duration.default(3_600_000),
      max_sample_future: duration.default(300_000),
    })
    .prefault({}),
  liveness: z
    .strictObject({
      /** A device is silent after this many of its poll intervals without a message. */
      staleness_multiple: z.coerce.number().positive().default(3),
      /** Poll interval assumed until two messages of a device have shown the real one. */
      default_poll_interval: duration.default(60_000),
      sweep_interval: duration.default(1_000),
    })
    .prefault({}),
  exposition: z
    .strictObject({
      /** keep: expose acquisition timestamps; drop: let Prometheus stamp scrape time (staleness works). */
      timestamps: z.enum(["keep", "drop"]).default("keep"),
    })
    .prefault({}),
  tenants: z.record(z.string(), tenantAuth).superRefine((tenants, ctx) => {
    for (const tenant of Object.keys(tenants)) {
      if (!NAME_PATTERN.test(tenant)) {
        ctx.addIssue({
          code: "custom",
          path: [tenant],
          message: "tenant names must match [a-z0-9][a-z0-9_-]* (at most 63 characters)",
        });
      }
    }
  }),
  remote_write: z.array(remoteWrite).default([]),
  web: z
    .strictObject({
      listen_address: z
        .string()
        .refine((text) => {
          try {
            parseListenAddress(text);
            return true;
          } catch {
            return false;
          }
        }, "expected host:port")
        .default("0.0.0.0:9465"),
    })
    .prefault({}),
  log_level: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default("info"),
});

export type BridgeConfig = z.output<typeof bridgeConfigSchema>;
export type TenantAuthConfig = BridgeConfig["tenants"][string];
export type RemoteWriteConfig = BridgeConfig["remote_write"][number];

export const BRIDGE_ENV: Record<string, string> = {
  "mqtt.url": "FLOORSENSE_MQTT_URL",
  "mqtt.username": "FLOORSENSE_MQTT_USERNAME",
  "mqtt.password": "FLOORSENSE_MQTT_PASSWORD",
  "mqtt.client_id": "FLOORSENSE_BRIDGE_CLIENT_ID",
  "web.listen_address": "FLOORSENSE_BRIDGE_LISTEN_ADDRESS",
  log_level: "FLOORSENSE_LOG_LEVEL",
};

export function loadBridgeConfig(
  file: string,
  flagOverrides: ConfigOverride[] = [],
  env: NodeJS.ProcessEnv = process.env,
): BridgeConfig {
  return loadYamlConfig(file, bridgeConfigSchema, [...envOverrides(BRIDGE_ENV, env), ...flagOverrides]);
}

/** Credentials as the scrape handler compares them, with files read once at start. */
export type TenantCredentials =
  | { kind: "bearer"; token: string }
  | { kind: "basic"; username: string; password: string };

export function resolveTenantCredentials(
  auth: TenantAuthConfig,
  readFile: (path: string) => string = (p) => readFileSync(p, "utf8"),
): TenantCredentials {
  if (auth.bearer_token !== undefined) return { kind: "bearer", token: auth.bearer_token };
  if (auth.bearer_token_file !== undefined) {
    return { kind: "bearer", token: readFile(auth.bearer_token_file).trim() };
  }
  const basic = auth.basic!;
  return {
    kind: "basic",
    username: basic.username,
    password: basic.password ?? readFile(basic.password_file!).replace(/\r?\n$/, ""),
  };
}
