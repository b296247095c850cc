import { readFileSync } from "node:fs";
import { isNode, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";

/** One value that replaces what the YAML file says, from an environment variable or a flag. */
export interface ConfigOverride {
  /** Dotted path into the config, e.g. `mqtt.url`. */
  path: string;
  value: unknown;
  /** Where the value came from, for error messages: `--mqtt.url`, `env FLOORSENSE_MQTT_URL`. */
  source: string;
}

export interface ConfigProblem {
  path: string;
  message: string;
  value: unknown;
  line?: number;
  source?: string;
}

/**
 * A config that cannot be used. The message names the file, the path in it, the bad value and,
 * where the YAML has it, the line; one line per problem so a person can fix them all at once.
 */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(problems.map((problem) => formatProblem(file, problem)).join("\n"));
    this.name = "ConfigError";
  }
}

function formatProblem(file: string, problem: ConfigProblem): string {
  const where = problem.source
    ? `${problem.source} (${problem.path})`
    : `${file}${problem.line !== undefined ? `:${problem.line}` : ""}: ${problem.path || "(top level)"}`;
  const shown = problem.value === undefined ? "" : `, got ${describeValue(problem.value)}`;
  return `${where}: ${problem.message}${shown}`;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return String(value);
  }
}

export function pathToString(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function setAt(root: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split(".");
  let node = root;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== "object" || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** Parses YAML text; syntax errors become a ConfigError with line and column. */
export function parseYamlText(file: string, text: string) {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      file,
      document.errors.map((error) => {
        const position = lineCounter.linePos(error.pos[0]);
        return {
          path: "",
          message: `YAML syntax: ${error.message.split("\n")[0]} (column ${position.col})`,
          value: undefined,
          line: position.line,
        };
      }),
    );
  }
  const lineOf = (path: readonly PropertyKey[]): number | undefined => {
    // Walk up until a node with a position exists: a missing key is reported at its parent.
    for (let depth = path.length; depth >= 0; depth--) {
      const node = document.getIn(path.slice(0, depth) as (string | number)[], true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return { value: (document.toJS() ?? {}) as unknown, lineOf };
}

/**
 * Validates plain data against a schema and turns every issue into a ConfigProblem with the
 * value found at its path. `lineOf` maps a path to a YAML line when the data came from a file.
 */
export function validateConfig<S extends z.ZodType>(
  file: string,
  schema: S,
  data: unknown,
  options: {
    lineOf?: (path: readonly PropertyKey[]) => number | undefined;
    overrides?: ConfigOverride[];
  } = {},
): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const overrideByPath = new Map((options.overrides ?? []).map((o) => [o.path, o.source]));
  const problem = (issuePath: readonly PropertyKey[], message: string): ConfigProblem => {
    const path = pathToString(issuePath);
    const source = overrideByPath.get(path);
    return {
      path,
      message,
      value: valueAt(data, issuePath),
      line: source ? undefined : options.lineOf?.(issuePath),
      source,
    };
  };
  const problems = result.error.issues.flatMap((issue): ConfigProblem[] =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => problem([...issue.path, key], "unknown key (a typo, or not valid here)"))
      : [problem(issue.path, issue.message)],
  );
  throw new ConfigError(file, problems);
}

/**
 * Reads a YAML config file, applies env/flag overrides on top and validates the result once.
 * Every service loads its config through this, so errors read the same everywhere.
 */
export function loadYamlConfig<S extends z.ZodType>(
  file: string,
  schema: S,
  overrides: ConfigOverride[] = [],
): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : String(error);
    throw new ConfigError(file, [{ path: "", message: `cannot read config: ${reason}`, value: undefined }]);
  }
  return loadYamlText(file, text, schema, overrides);
}

export function loadYamlText<S extends z.ZodType>(
  file: string,
  text: string,
  schema: S,
  overrides: ConfigOverride[] = [],
): z.output<S> {
  const { value, lineOf } = parseYamlText(file, text);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(file, [{ path: "", message: "expected a mapping at the top level", value }]);
  }
  const data = structuredClone(value) as Record<string, unknown>;
  for (const override of overrides) {
    if (override.value !== undefined) setAt(data, override.path, override.value);
  }
  return validateConfig(file, schema, data, { lineOf, overrides });
}

/**
 * Collects overrides from the environment: `names` maps a config path to the variable that
 * may override it. Values stay strings; schemas coerce numbers and booleans where they allow it.
 */
export function envOverrides(
  names: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): ConfigOverride[] {
  const overrides: ConfigOverride[] = [];
  for (const [path, variable] of Object.entries(names)) {
    const value = env[variable];
    if (value !== undefined && value !== "") overrides.push({ path, value, source: `env ${variable}` });
  }
  return overrides;
}
