/** What `floorsense openmetrics lint` and `convert` do, kept apart from flag parsing and I/O. */
import { OpenMetricsParseError } from "./errors.js";
import { parseOpenMetrics, scanOpenMetrics } from "./parser.js";
import { parsePrometheusText } from "./prometheus-text.js";
import { serializeOpenMetrics, serializePrometheusText } from "./serializer.js";
import type { MetricFamily } from "./types.js";

export type ExpositionFormat = "openmetrics" | "text";

export interface LintResult {
  ok: boolean;
  /** `file:line:col: message` lines, one per problem. */
  findings: string[];
  families: number;
  samples: number;
}

function parse(input: Uint8Array | string, format: ExpositionFormat): MetricFamily[] {
  return format === "openmetrics" ? parseOpenMetrics(input) : parsePrometheusText(input);
}

function finding(file: string, error: OpenMetricsParseError): string {
  return `${file}:${error.line}:${error.column}: ${error.message}`;
}

/** Units that are not base units, and the base unit to use instead (after promtool's list). */
const NON_BASE_UNITS: Record<string, string> = {
  nanoseconds: "seconds",
  microseconds: "seconds",
  milliseconds: "seconds",
  minutes: "seconds",
  hours: "seconds",
  days: "seconds",
  weeks: "seconds",
  bits: "bytes",
  kilobytes: "bytes",
  megabytes: "bytes",
  gigabytes: "bytes",
  kibibytes: "bytes",
  mebibytes: "bytes",
  millivolts: "volts",
  kilovolts: "volts",
  milliamperes: "amperes",
  kilowatts: "watts",
  megawatts: "watts",
  kwh: "joules",
  kilowatthours: "joules",
  percent: "ratio",
  fahrenheit: "celsius",
};

/** Naming conventions (Prometheus naming guide) for one family; the spec itself allows all of these. */
function namingProblems(family: MetricFamily): string[] {
  const problems: string[] = [];
  const { name, type } = family;
  if (/[A-Z]/.test(name)) problems.push(`"${name}": metric names should be snake_case`);
  if (name.includes(":")) problems.push(`"${name}": colons are reserved for recording rules`);
  if (family.help === undefined) problems.push(`"${name}": no HELP text`);
  if (type === "counter" && name.endsWith("_total")) {
    problems.push(`counter "${name}": name the family without "_total"; its sample is then "${name}_total"`);
  }
  if (type !== "counter" && name.endsWith("_total")) {
    problems.push(`${type} "${name}": only counters should end in "_total"`);
  }
  if ((type === "gauge" || type === "unknown") && /_(count|sum|bucket)$/.test(name)) {
    problems.push(
      `${type} "${name}": the suffixes _count, _sum and _bucket belong to histograms and summaries`,
    );
  }
  for (const part of name.toLowerCase().split("_")) {
    const base = NON_BASE_UNITS[part];
    if (base !== undefined) problems.push(`"${name}": use the base unit ${base} instead of ${part}`);
  }
  return problems;
}

/**
 * Checks one exposition; `file` is the name findings carry (`<stdin>` for standard input). With
 * `strictNames`, a valid exposition is also checked against the naming conventions.
 */
export function lintExposition(
  input: Uint8Array | string,
  file: string,
  format: ExpositionFormat,
  options: { strictNames?: boolean } = {},
): LintResult {
  const lines = new Map<MetricFamily, number>();
  let families: MetricFamily[] = [];
  try {
    if (format === "openmetrics") {
      scanOpenMetrics(input, {
        family: (family, line) => {
          families.push(family);
          lines.set(family, line);
        },
        sample: () => {},
      });
    } else {
      families = parsePrometheusText(input);
    }
  } catch (error) {
    if (!(error instanceof OpenMetricsParseError)) throw error;
    return { ok: false, findings: [finding(file, error)], families: 0, samples: 0 };
  }
  const samples = families.reduce((n, f) => n + f.samples.length, 0);
  const findings: string[] = [];
  if (options.strictNames) {
    for (const family of families) {
      const line = lines.get(family) ?? 1;
      for (const problem of namingProblems(family)) findings.push(`${file}:${line}:1: ${problem}`);
    }
  }
  return { ok: findings.length === 0, findings, families: families.length, samples };
}

/** OpenMetrics expositions end with `# EOF`; text 0.0.4 ones never do. */
export function detectFormat(input: Uint8Array | string): ExpositionFormat {
  const text = typeof input === "string" ? input : Buffer.from(input).toString("utf8");
  const trimmed = text.replace(/[\s]+$/, "");
  return trimmed.endsWith("\n# EOF") || trimmed === "# EOF" ? "openmetrics" : "text";
}

export type ConvertResult = { ok: true; output: string } | { ok: false; error: string };

/** Converts between the two formats; reports input errors as `file:line:col: message`. */
export function convertExposition(
  input: Uint8Array | string,
  file: string,
  from: ExpositionFormat | "auto",
  to: ExpositionFormat,
): ConvertResult {
  const format = from === "auto" ? detectFormat(input) : from;
  let families: MetricFamily[];
  try {
    families = parse(input, format);
  } catch (error) {
    if (!(error instanceof OpenMetricsParseError)) throw error;
    return { ok: false, error: finding(file, error) };
  }
  if (to === "text") return { ok: true, output: serializePrometheusText(families) };
  const output = serializeOpenMetrics(families);
  // Text 0.0.4 allows things OpenMetrics forbids (a NaN counter, a histogram without +Inf, names
  // that clash once counters gain `_total`); never hand out an invalid exposition.
  try {
    parseOpenMetrics(output);
  } catch (error) {
    if (!(error instanceof OpenMetricsParseError)) throw error;
    return {
      ok: false,
      error: `${file}: cannot be written as valid OpenMetrics: ${error.message} (output line ${error.line})`,
    };
  }
  return { ok: true, output };
}
