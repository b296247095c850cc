/** What `floorsense openmetrics lint` and `convert` do, kept apart from flag parsing and I/O. */
import { OpenMetricsParseError } from "./errors.js";
import { parseOpenMetrics } from "./parser.js";
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

/** Checks one exposition; `file` is the name findings carry (`<stdin>` for standard input). */
export function lintExposition(
  input: Uint8Array | string,
  file: string,
  format: ExpositionFormat,
): LintResult {
  try {
    const families = parse(input, format);
    const samples = families.reduce((n, f) => n + f.samples.length, 0);
    return { ok: true, findings: [], families: families.length, samples };
  } catch (error) {
    if (!(error instanceof OpenMetricsParseError)) throw error;
    return { ok: false, findings: [finding(file, error)], families: 0, samples: 0 };
  }
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
