/**
 * Serializers: MetricFamily[] to OpenMetrics 1.0 text and to the Prometheus text format 0.0.4.
 * They write what they are given; families that break the OpenMetrics rules (a counter sample
 * without `_total`, a histogram without `+Inf`) produce text the strict parser rejects.
 */
import { formatNumber } from "./numbers.js";
import type { Labels, MetricFamily, MetricType } from "./types.js";

const NEEDS_ESCAPE = /[\\\n"]/;
const NEEDS_HELP_ESCAPE_TEXT = /[\\\n]/;

function escapeValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\\n"]/g, (c) => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : '\\"'));
}

/** Text 0.0.4 HELP knows only `\\` and `\n`; a `\"` there would be read back literally. */
function escapeHelpText(value: string): string {
  if (!NEEDS_HELP_ESCAPE_TEXT.test(value)) return value;
  return value.replace(/[\\\n]/g, (c) => (c === "\\" ? "\\\\" : "\\n"));
}

function writeLabels(labels: Labels): string {
  let out = "";
  for (const name in labels) {
    out += `${out === "" ? "{" : ","}${name}="${escapeValue(labels[name]!)}"`;
  }
  return out === "" ? "" : `${out}}`;
}

/** Renders families as an OpenMetrics 1.0 exposition (TYPE, UNIT, HELP; timestamps in seconds; `# EOF`). */
export function serializeOpenMetrics(families: readonly MetricFamily[]): string {
  let out = "";
  for (const family of families) {
    out += `# TYPE ${family.name} ${family.type}\n`;
    if (family.unit) out += `# UNIT ${family.name} ${family.unit}\n`;
    if (family.help) out += `# HELP ${family.name} ${escapeValue(family.help)}\n`;
    for (const sample of family.samples) {
      out += `${sample.name}${writeLabels(sample.labels)} ${formatNumber(sample.value)}`;
      if (sample.timestamp !== undefined) out += ` ${formatNumber(sample.timestamp)}`;
      const exemplar = sample.exemplar;
      if (exemplar !== undefined) {
        out += ` # {${writeLabels(exemplar.labels).slice(1, -1)}} ${formatNumber(exemplar.value)}`;
        if (exemplar.timestamp !== undefined) out += ` ${formatNumber(exemplar.timestamp)}`;
      }
      out += "\n";
    }
  }
  return `${out}# EOF\n`;
}

/** The `# TYPE` word text format 0.0.4 uses for each OpenMetrics type. */
export const PROMETHEUS_TEXT_TYPES: Readonly<Record<MetricType, string>> = {
  counter: "counter",
  gauge: "gauge",
  histogram: "histogram",
  // Text 0.0.4 has no gauge histogram; like client_python, keep the bucket structure under "histogram".
  gaugehistogram: "histogram",
  summary: "summary",
  stateset: "gauge",
  info: "gauge",
  unknown: "untyped",
};

/**
 * Renders families in the Prometheus text format 0.0.4: counters and info metrics are named with
 * their `_total`/`_info` sample name in HELP/TYPE, `_created` samples, units and exemplars are
 * dropped (0.0.4 has no place for them), stateset and info become gauges, unknown becomes untyped,
 * and timestamps become integer milliseconds.
 */
export function serializePrometheusText(families: readonly MetricFamily[]): string {
  let out = "";
  for (const family of families) {
    const name =
      family.type === "counter"
        ? `${family.name}_total`
        : family.type === "info"
          ? `${family.name}_info`
          : family.name;
    if (family.help) out += `# HELP ${name} ${escapeHelpText(family.help)}\n`;
    out += `# TYPE ${name} ${PROMETHEUS_TEXT_TYPES[family.type]}\n`;
    const created = `${family.name}_created`;
    for (const sample of family.samples) {
      if (sample.name === created) continue;
      out += `${sample.name}${writeLabels(sample.labels)} ${formatNumber(sample.value)}`;
      if (sample.timestamp !== undefined) out += ` ${Math.round(sample.timestamp * 1000).toFixed(0)}`;
      out += "\n";
    }
  }
  return out;
}
