import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  ConfigError,
  type ConfigProblem,
  parseYamlText,
  pathToString,
  validateConfig,
} from "../lib/config-loader.js";
import {
  REGISTER_TYPES,
  type RegisterType,
  registerCount,
  WORD_ORDERS,
  type WordOrder,
} from "./register-decoder.js";

/**
 * A device profile: the register map of one meter model as data. Adding a meter means adding a
 * YAML file, so everything a register needs (where, how to decode, what to call it) lives here.
 */

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = new Set(["tenant", "site", "machine", "device"]);

const metricSchema = z.strictObject({
  type: z.enum(["gauge", "counter", "info"]),
  help: z.string().min(1),
  unit: z
    .string()
    .regex(/^[a-z_]+$/, "a unit is lower case letters and underscores")
    .optional(),
});

const registerFields = {
  function: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).optional(),
  type: z.enum(REGISTER_TYPES).optional(),
  order: z.enum(WORD_ORDERS).optional(),
};

const registerSchema = z.strictObject({
  ...registerFields,
  address: z.number().int().min(0).max(0xffff),
  metric: z.string().regex(METRIC_NAME, "not a valid metric name"),
  labels: z.record(z.string().regex(LABEL_NAME, "not a valid label name"), z.string()).default({}),
  scale: z.number().finite().default(1),
  offset: z.number().finite().default(0),
  bit: z.number().int().min(0).max(15).optional(),
  length: z.number().int().min(1).max(250).optional(),
  /** For strings: the label of the `_info` sample that carries the text. */
  label: z.string().regex(LABEL_NAME, "not a valid label name").optional(),
  description: z.string().optional(),
});

export const profileSchema = z.strictObject({
  profile: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "a profile name is lower case letters, digits, - and _"),
  manufacturer: z.string(),
  model: z.string(),
  description: z.string().optional(),
  source: z.string().min(1),
  max_registers_per_request: z.number().int().min(1).max(125).default(125),
  max_bits_per_request: z.number().int().min(1).max(2000).default(2000),
  max_gap: z.number().int().min(0).max(125).default(10),
  max_requests: z.number().int().min(1).optional(),
  defaults: z
    .strictObject({
      function: registerFields.function,
      type: registerFields.type,
      order: registerFields.order,
    })
    .default({}),
  metrics: z.record(z.string().regex(METRIC_NAME, "not a valid metric name"), metricSchema),
  registers: z.array(registerSchema).min(1, "a profile needs at least one register"),
});

export type FunctionCode = 1 | 2 | 3 | 4;

/** One value a profile reads, with every default resolved. */
export interface RegisterDef {
  /** Position in the profile's `registers` list: stable id for plans and readings. */
  index: number;
  function: FunctionCode;
  address: number;
  /** Registers (function 3/4) or bits (function 1/2) the value spans. */
  count: number;
  type: RegisterType;
  order: WordOrder;
  bit?: number;
  length?: number;
  scale: number;
  offset: number;
  metric: string;
  labels: Record<string, string>;
  label?: string;
}

export interface MetricDef {
  /** Sample name as written in the profile (counters with `_total`). */
  name: string;
  /** Family name for `# TYPE` (counters without `_total`, info without `_info`). */
  family: string;
  type: "gauge" | "counter" | "info";
  help: string;
  unit?: string;
}

export interface Profile {
  name: string;
  manufacturer: string;
  model: string;
  description?: string;
  source: string;
  file: string;
  maxRegistersPerRequest: number;
  maxBitsPerRequest: number;
  maxGap: number;
  maxRequests?: number;
  metrics: Map<string, MetricDef>;
  registers: RegisterDef[];
}

/** The folder of the profiles that ship with floorsense, from source and from the compiled tree. */
export function builtinProfileDir(): string {
  for (const candidate of ["./profiles/", "../../exporter/profiles/"]) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  return fileURLToPath(new URL("./profiles/", import.meta.url));
}

export interface ProfileSummary {
  name: string;
  manufacturer: string;
  model: string;
  registers: number;
  file: string;
}

/** Profiles found in `dirs` (later folders do not shadow earlier ones) plus the built-in ones. */
export function listProfiles(dirs: string[] = []): ProfileSummary[] {
  const seen = new Map<string, ProfileSummary>();
  for (const dir of [...dirs, builtinProfileDir()]) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(entry)) continue;
      const name = entry.replace(/\.ya?ml$/, "");
      if (seen.has(name)) continue;
      const profile = loadProfileFile(join(dir, entry));
      seen.set(name, {
        name: profile.name,
        manufacturer: profile.manufacturer,
        model: profile.model,
        registers: profile.registers.length,
        file: profile.file,
      });
    }
  }
  return [...seen.values()];
}

/** Finds a profile by name: user folders first, so a site can override a shipped profile. */
export function findProfileFile(name: string, dirs: string[] = []): string | undefined {
  for (const dir of [...dirs, builtinProfileDir()]) {
    for (const extension of [".yaml", ".yml"]) {
      const file = join(dir, `${name}${extension}`);
      if (existsSync(file)) return file;
    }
  }
  return undefined;
}

export function loadProfile(name: string, dirs: string[] = []): Profile {
  const file = findProfileFile(name, dirs);
  if (!file) {
    const known = listProfiles(dirs)
      .map((p) => p.name)
      .join(", ");
    throw new Error(`unknown profile "${name}" (known: ${known})`);
  }
  return loadProfileFile(file);
}

export function loadProfileFile(file: string): Profile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(file, [
      { path: "", message: `cannot read profile: ${String(error)}`, value: undefined },
    ]);
  }
  return parseProfile(file, text);
}

/** Parses and checks a profile; every problem names the file, line, path and value. */
export function parseProfile(file: string, text: string): Profile {
  const { value, lineOf } = parseYamlText(file, text);
  const raw = validateConfig(file, profileSchema, value, { lineOf });
  const problems: ConfigProblem[] = [];
  const problem = (path: (string | number)[], message: string, bad: unknown) =>
    problems.push({ path: pathToString(path), message, value: bad, line: lineOf(path) });

  const metrics = new Map<string, MetricDef>();
  for (const [name, metric] of Object.entries(raw.metrics)) {
    let family = name;
    if (metric.type === "counter") {
      if (!name.endsWith("_total")) problem(["metrics", name], "a counter's name ends in _total", name);
      family = name.replace(/_total$/, "");
    }
    if (metric.type === "info") {
      if (!name.endsWith("_info")) problem(["metrics", name], "an info metric's name ends in _info", name);
      family = name.replace(/_info$/, "");
    }
    if (metric.unit && !family.endsWith(`_${metric.unit}`)) {
      problem(["metrics", name, "unit"], `the name must end in _${metric.unit} (before _total)`, metric.unit);
    }
    metrics.set(name, { name, family, type: metric.type, help: metric.help, unit: metric.unit });
  }

  const registers: RegisterDef[] = raw.registers.map((r, index) => {
    const fc = (r.function ?? raw.defaults.function ?? 4) as FunctionCode;
    const type = fc <= 2 ? "bit" : (r.type ?? raw.defaults.type ?? "uint16");
    const def: RegisterDef = {
      index,
      function: fc,
      address: r.address,
      count: type === "string" ? registerCount("string", r.length ?? 0) : registerCount(type),
      type,
      order: r.order ?? raw.defaults.order ?? "ABCD",
      scale: r.scale,
      offset: r.offset,
      metric: r.metric,
      labels: r.labels,
    };
    if (r.bit !== undefined) def.bit = r.bit;
    if (r.length !== undefined) def.length = r.length;
    if (r.label !== undefined) def.label = r.label;
    const at = (key: string) => ["registers", index, key];
    const metric = metrics.get(r.metric);
    if (!metric) problem(at("metric"), "not declared under metrics", r.metric);
    if (r.type && fc <= 2 && r.type !== "bit")
      problem(at("type"), "functions 1 and 2 read bits: type must be bit", r.type);
    if (type === "string") {
      if (r.length === undefined) problem(at("length"), "a string needs its length in characters", undefined);
      if (metric && metric.type !== "info")
        problem(at("metric"), "a string maps to an info metric", r.metric);
      if (!r.label) problem(at("label"), "a string needs the label that carries its text", undefined);
    } else if (metric && metric.type === "info") {
      problem(at("metric"), "only strings map to info metrics", r.metric);
    }
    if (r.bit !== undefined && type !== "bit") problem(at("bit"), "bit applies only to type bit", r.bit);
    if (r.address + def.count > 0x10000)
      problem(at("address"), "the value runs past register 65535", r.address);
    for (const name of Object.keys(r.labels)) {
      if (RESERVED_LABELS.has(name)) {
        problem(at("labels"), `label ${name} comes from the topic, a profile cannot set it`, r.labels);
      }
    }
    const limit = fc <= 2 ? raw.max_bits_per_request : raw.max_registers_per_request;
    if (def.count > limit) {
      problem(at("type"), `needs ${def.count} registers, more than max_registers_per_request ${limit}`, type);
    }
    return def;
  });

  checkOverlaps(registers, problem);
  checkDuplicateSeries(registers, problem);
  if (problems.length > 0) throw new ConfigError(file, problems);

  const profile: Profile = {
    name: raw.profile,
    manufacturer: raw.manufacturer,
    model: raw.model,
    source: raw.source,
    file,
    maxRegistersPerRequest: raw.max_registers_per_request,
    maxBitsPerRequest: raw.max_bits_per_request,
    maxGap: raw.max_gap,
    metrics,
    registers,
  };
  if (raw.description !== undefined) profile.description = raw.description;
  if (raw.max_requests !== undefined) profile.maxRequests = raw.max_requests;
  return profile;
}

type Report = (path: (string | number)[], message: string, bad: unknown) => void;

function checkOverlaps(registers: RegisterDef[], problem: Report): void {
  // Coils and discrete inputs, holding and input registers are four separate address spaces.
  for (const fc of [1, 2, 3, 4] as const) {
    const sorted = registers.filter((r) => r.function === fc).sort((a, b) => a.address - b.address);
    for (let i = 1; i < sorted.length; i++) {
      const current = sorted[i]!;
      for (let j = i - 1; j >= 0; j--) {
        const earlier = sorted[j]!;
        if (earlier.address + earlier.count <= current.address) continue;
        // Several bits of one status register are one read, not an overlap.
        const sameWordBits =
          current.type === "bit" &&
          earlier.type === "bit" &&
          fc >= 3 &&
          earlier.address === current.address &&
          earlier.bit !== current.bit;
        if (sameWordBits) continue;
        problem(
          ["registers", current.index, "address"],
          `overlaps registers[${earlier.index}] (function ${fc}, address ${hex(earlier.address)}, ${earlier.count} registers)`,
          current.address,
        );
        break;
      }
    }
  }
}

function checkDuplicateSeries(registers: RegisterDef[], problem: Report): void {
  const seen = new Map<string, number>();
  for (const r of registers) {
    const key = `${r.metric}${JSON.stringify(Object.entries(r.labels).sort())}`;
    const previous = seen.get(key);
    if (previous !== undefined) {
      problem(
        ["registers", r.index, "labels"],
        `same metric and labels as registers[${previous}]: two values for one series`,
        r.labels,
      );
    } else seen.set(key, r.index);
  }
}

export function hex(address: number): string {
  return `0x${address.toString(16).padStart(4, "0").toUpperCase()}`;
}
