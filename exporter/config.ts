import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import {
  ConfigError,
  type ConfigOverride,
  type ConfigProblem,
  envOverrides,
  loadYamlConfig,
  parseYamlText,
  pathToString,
} from "../lib/config-loader.js";
import { parseDuration } from "../lib/duration.js";
import { parseListenAddress } from "../lib/http-server.js";
import { LOG_LEVELS } from "../lib/logger.js";
import { loadProfile, type Profile } from "./profile.js";
import { planRequests } from "./request-planner.js";

/** Tenant, site, machine, device and bus names: safe in topics, label values and file names. */
const NAME = z
  .string()
  .max(63, "at most 63 characters")
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "must match [a-z0-9][a-z0-9_-]* (lower case, digits, - and _)");

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = new Set(["tenant", "site", "machine", "device"]);
/** The error counter's own labels: a constant label of the same name would be overwritten there. */
const ERROR_LABELS = new Set(["kind", "code"]);

/** A Prometheus duration ("500ms", "10s") or a number of milliseconds, as milliseconds. */
function duration(min = 0) {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    let ms: number;
    if (typeof value === "number") ms = value;
    else {
      try {
        ms = parseDuration(value);
      } catch (error) {
        ctx.addIssue({
          code: "custom",
          message: (error as Error).message.replace(/^invalid duration "[^"]*": /, ""),
        });
        return z.NEVER;
      }
    }
    if (ms < min) {
      ctx.addIssue({ code: "custom", message: `must be at least ${min} ms` });
      return z.NEVER;
    }
    return ms;
  });
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** A byte size: a number, or "64MiB", "500kB". */
function byteSize(min: number) {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    let bytes: number;
    if (typeof value === "number") bytes = value;
    else {
      const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
      const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
      if (!match || unit === undefined) {
        ctx.addIssue({
          code: "custom",
          message: "expected a size such as 64MiB, 500kB or a number of bytes",
        });
        return z.NEVER;
      }
      bytes = Math.floor(Number.parseFloat(match[1]!) * unit);
    }
    if (bytes < min) {
      ctx.addIssue({ code: "custom", message: `must be at least ${min} bytes` });
      return z.NEVER;
    }
    return bytes;
  });
}

const port = z.coerce.number().int().min(1).max(65_535);

const deviceSchema = z.strictObject({
  name: NAME,
  unit_id: z.number().int().min(0).max(255),
  profile: z.string().min(1),
  poll_interval: duration(50).default(10_000),
  timeout: duration(10).default(1_000),
  retries: z.number().int().min(0).max(10).default(1),
  labels: z.record(z.string(), z.string()).default({}),
  /** Some meters accept fewer registers per read than their profile says (SDM630 firmware: 50). */
  max_registers_per_request: z.number().int().min(1).max(125).optional(),
  max_gap: z.number().int().min(0).max(125).optional(),
});

const busCommon = {
  name: NAME,
  inter_request_pause: duration().default(0),
  switch_pause: duration().default(0),
  devices: z.array(deviceSchema).min(1, "a bus needs at least one device"),
};

const rtuBusSchema = z.strictObject({
  ...busCommon,
  type: z.literal("rtu"),
  device: z.string().min(1),
  baud: z.number().int().positive().default(9600),
  parity: z.enum(["none", "even", "odd"]).default("none"),
  data_bits: z.union([z.literal(7), z.literal(8)]).default(8),
  stop_bits: z.union([z.literal(1), z.literal(2)]).default(1),
});

const tcpBusSchema = z.strictObject({
  ...busCommon,
  type: z.enum(["tcp", "rtu-over-tcp"]),
  host: z.string().min(1),
  port: port.default(502),
});

const busSchema = z.discriminatedUnion("type", [rtuBusSchema, tcpBusSchema]);

export const exporterConfigSchema = z.strictObject({
  identity: z.strictObject({ tenant: NAME, site: NAME, machine: NAME }),
  mqtt: z.strictObject({
    url: z
      .string()
      .regex(/^(mqtts?|wss?|tcp|ssl):\/\/[^/]+/, "expected mqtt://host:port or mqtts://host:port"),
    client_id: z.string().min(1).optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    qos: z.coerce.number().int().min(1, "QoS 0 could lose cycles; use 1 or 2").max(2).default(1),
    /** 5 carries the payload's content type; 4 (MQTT 3.1.1) is for brokers without MQTT 5, such as `floorsense broker`. */
    protocol_version: z.union([z.literal(4), z.literal(5)]).default(5),
    keepalive: duration(1000).default(30_000),
    connect_timeout: duration(100).default(10_000),
    reconnect_period: duration(50).default(2_000),
    tls: z
      .strictObject({
        ca: z.string().optional(),
        cert: z.string().optional(),
        key: z.string().optional(),
        reject_unauthorized: z.boolean().default(true),
      })
      .optional(),
  }),
  profile_dirs: z.array(z.string()).default([]),
  buses: z.array(busSchema).min(1, "configure at least one bus"),
  queue: z
    .strictObject({
      dir: z.string().min(1),
      max_bytes: byteSize(4096).default(64 * 1024 ** 2),
      max_age: duration(1000).default(7 * 86_400_000),
      /** Cycles per second sent from the queue; live cycles share it, so it must exceed their rate. */
      replay_rate: z.number().positive().default(20),
      segment_bytes: byteSize(1024).default(1024 ** 2),
    })
    .prefault({ dir: "./floorsense-queue" }),
  web: z
    .strictObject({
      listen_address: z
        .string()
        .default("0.0.0.0:9464")
        .superRefine((value, ctx) => {
          try {
            parseListenAddress(value);
          } catch {
            ctx.addIssue({ code: "custom", message: "expected host:port, e.g. 0.0.0.0:9464 or 127.0.0.1:0" });
          }
        }),
    })
    .prefault({}),
  log_level: z.enum(LOG_LEVELS as unknown as [string, ...string[]]).default("info"),
});

export type ExporterConfigInput = z.input<typeof exporterConfigSchema>;
type RawConfig = z.output<typeof exporterConfigSchema>;
export type BusConfig = RawConfig["buses"][number];
export type RtuBusConfig = Extract<BusConfig, { type: "rtu" }>;
export type DeviceConfig = RawConfig["buses"][number]["devices"][number];

/** A device with its profile loaded and its plan limits resolved. */
export interface ResolvedDevice extends DeviceConfig {
  bus: string;
  profileDef: Profile;
  limits: { maxRegisters: number; maxBits: number; maxGap: number };
}

export interface ExporterConfig extends Omit<RawConfig, "buses"> {
  file: string;
  buses: Array<BusConfig & { resolved: ResolvedDevice[] }>;
}

export const EXPORTER_ENV = {
  "mqtt.url": "FLOORSENSE_MQTT_URL",
  "mqtt.username": "FLOORSENSE_MQTT_USERNAME",
  "mqtt.password": "FLOORSENSE_MQTT_PASSWORD",
  "queue.dir": "FLOORSENSE_QUEUE_DIR",
};

export interface LoadOptions {
  /**
   * Check that the TLS files exist. The service needs them; `exporter plan` run on a laptop with
   * the edge box's config does not.
   */
  requireFiles?: boolean;
}

/**
 * Loads edge.yaml once at start: the schema first, then what only the whole config can tell
 * (unique names, known profiles, plans within limits, one bus per port). Relative paths are
 * relative to the file.
 */
export function loadExporterConfig(
  file: string,
  overrides: ConfigOverride[] = [],
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): ExporterConfig {
  const all = [...envOverrides(EXPORTER_ENV, env), ...overrides];
  const raw = loadYamlConfig(file, exporterConfigSchema, all);
  const { lineOf } = parseYamlText(file, readFileSync(file, "utf8"));
  const base = dirname(resolve(file));
  const problems: ConfigProblem[] = [];
  const problem = (path: (string | number)[], message: string, value: unknown) =>
    problems.push({ path: pathToString(path), message, value, line: lineOf(path) });

  const profileDirs = raw.profile_dirs.map((dir) => resolve(base, dir));
  const busNames = new Map<string, number>();
  const endpoints = new Map<string, number>();
  const deviceNames = new Map<string, string>();
  const buses = raw.buses.map((bus, b) => {
    const previousBus = busNames.get(bus.name);
    if (previousBus !== undefined)
      problem(["buses", b, "name"], `bus name already used by buses[${previousBus}]`, bus.name);
    busNames.set(bus.name, b);
    // Two queues on one port would interleave their frames on the line: one bus owns each port.
    const endpoint = endpointKey(bus);
    const owner = endpoints.get(endpoint);
    if (owner !== undefined) {
      const earlier = `buses[${owner}] (${raw.buses[owner]!.name})`;
      if (bus.type === "rtu")
        problem(
          ["buses", b, "device"],
          `serial device already polled by ${earlier}; put these devices on that bus`,
          bus.device,
        );
      else
        problem(
          ["buses", b, "host"],
          `endpoint already polled by ${earlier}; put these devices on that bus`,
          `${bus.host}:${bus.port}`,
        );
    } else endpoints.set(endpoint, b);
    const unitIds = new Map<number, number>();
    const resolved: ResolvedDevice[] = [];
    bus.devices.forEach((device, d) => {
      const at = (...rest: (string | number)[]) => ["buses", b, "devices", d, ...rest];
      const previous = deviceNames.get(device.name);
      if (previous !== undefined) problem(at("name"), `device name already used by ${previous}`, device.name);
      else deviceNames.set(device.name, `buses[${b}].devices[${d}]`);
      if (device.name === "status")
        problem(at("name"), "status is the liveness topic, pick another name", device.name);
      const previousUnit = unitIds.get(device.unit_id);
      if (previousUnit !== undefined && bus.type !== "tcp") {
        problem(
          at("unit_id"),
          `unit id already used by devices[${previousUnit}] on this bus`,
          device.unit_id,
        );
      }
      unitIds.set(device.unit_id, d);
      for (const name of Object.keys(device.labels)) {
        if (!LABEL_NAME.test(name)) problem(at("labels", name), "not a valid label name", name);
        else if (RESERVED_LABELS.has(name)) {
          problem(at("labels", name), `label ${name} comes from the topic, it cannot be set here`, name);
        } else if (ERROR_LABELS.has(name)) {
          problem(at("labels", name), `label ${name} is set by floorsense_device_read_errors_total`, name);
        }
      }
      let profileDef: Profile;
      try {
        profileDef = loadProfile(device.profile, profileDirs);
      } catch (error) {
        if (error instanceof ConfigError)
          problem(at("profile"), `profile is invalid:\n${error.message}`, device.profile);
        else problem(at("profile"), (error as Error).message, device.profile);
        return;
      }
      const deviceMax = device.max_registers_per_request;
      if (deviceMax !== undefined && deviceMax > profileDef.maxRegistersPerRequest) {
        // A device may accept less than its profile says, never more: the profile holds the meter's limit.
        problem(
          at("max_registers_per_request"),
          `above the maximum of profile ${profileDef.name} (${profileDef.maxRegistersPerRequest} registers per request)`,
          deviceMax,
        );
        return;
      }
      const limits = {
        maxRegisters: deviceMax ?? profileDef.maxRegistersPerRequest,
        maxBits: profileDef.maxBitsPerRequest,
        maxGap: device.max_gap ?? profileDef.maxGap,
      };
      const tooWide = profileDef.registers.find((r) => r.function >= 3 && r.count > limits.maxRegisters);
      if (tooWide) {
        problem(
          at("max_registers_per_request"),
          `profile ${profileDef.name} has a ${tooWide.count}-register value (registers[${tooWide.index}]), more than this limit`,
          limits.maxRegisters,
        );
        return;
      }
      const plan = planRequests(profileDef.registers, limits);
      if (profileDef.maxRequests !== undefined && plan.length > profileDef.maxRequests) {
        problem(
          at("max_registers_per_request"),
          `profile ${profileDef.name} needs ${plan.length} requests per cycle with these limits, its max_requests is ${profileDef.maxRequests}`,
          limits.maxRegisters,
        );
      }
      const clash = profileDef.registers.find((r) =>
        Object.keys(device.labels).some((name) => name in r.labels),
      );
      if (clash) {
        const name = Object.keys(device.labels).find((n) => n in clash.labels)!;
        problem(at("labels", name), `profile ${profileDef.name} already sets label ${name}`, name);
      }
      resolved.push({ ...device, bus: bus.name, profileDef, limits });
    });
    return { ...bus, resolved };
  });

  for (const key of ["ca", "cert", "key"] as const) {
    const path = raw.mqtt.tls?.[key];
    if (options.requireFiles === false || path === undefined) continue;
    const full = resolve(base, path);
    if (!existsSync(full))
      problem(["mqtt", "tls", key], full === path ? "file not found" : `file not found: ${full}`, path);
  }

  // Every cycle passes through the queue at replay_rate; slower than the polls and it never drains.
  const cyclesPerSecond = raw.buses
    .flatMap((bus) => bus.devices)
    .reduce((sum, device) => sum + 1000 / device.poll_interval, 0);
  if (cyclesPerSecond >= raw.queue.replay_rate) {
    problem(
      ["queue", "replay_rate"],
      `must exceed the ${round(cyclesPerSecond)} cycles per second the devices produce, or the queue never drains`,
      raw.queue.replay_rate,
    );
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return {
    ...raw,
    file,
    profile_dirs: profileDirs,
    queue: { ...raw.queue, dir: resolve(base, raw.queue.dir) },
    mqtt: {
      ...raw.mqtt,
      ...(raw.mqtt.tls
        ? {
            tls: {
              ...raw.mqtt.tls,
              ...(raw.mqtt.tls.ca ? { ca: resolve(base, raw.mqtt.tls.ca) } : {}),
              ...(raw.mqtt.tls.cert ? { cert: resolve(base, raw.mqtt.tls.cert) } : {}),
              ...(raw.mqtt.tls.key ? { key: resolve(base, raw.mqtt.tls.key) } : {}),
            },
          }
        : {}),
    },
    buses,
  };
}

/** What a bus talks to, so two buses on one port can be told apart from two ports. */
function endpointKey(bus: BusConfig): string {
  if (bus.type !== "rtu") return `tcp ${bus.host.toLowerCase()}:${bus.port}`;
  // /dev/serial/by-id/… links and /dev/ttyUSB0 can name one adapter.
  let device = bus.device;
  try {
    device = realpathSync(device);
  } catch {
    // A port that is not plugged in yet: compare the names as written.
  }
  return `rtu ${device}`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
