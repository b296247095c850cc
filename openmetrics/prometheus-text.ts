/**
 * Parser for the Prometheus text format 0.0.4, used to convert such expositions to OpenMetrics.
 * It follows the 0.0.4 rules (blank lines and `#` comments allowed, runs of blanks and tabs between
 * tokens, integer millisecond timestamps, HELP escapes `\\` and `\n` only) and maps the result onto
 * the OpenMetrics data model: counters become families without `_total` whose samples are named
 * `<family>_total`, untyped becomes unknown, timestamps become seconds.
 */
import { OpenMetricsParseError } from "./errors.js";
import { scanNumber } from "./numbers.js";
import type { Labels, MetricFamily, MetricType, Sample } from "./types.js";
import { decodeUtf8 } from "./utf8.js";

const TEXT_TYPES: Record<string, MetricType> = {
  counter: "counter",
  gauge: "gauge",
  histogram: "histogram",
  summary: "summary",
  untyped: "unknown",
};

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const INTEGER = /^[+-]?[0-9]+$/;

interface TextFamily {
  name: string;
  type?: MetricType;
  help?: string;
  samples: Sample[];
  /** Line of the first sample; TYPE and HELP must come before it. */
  sampled: boolean;
}

function isBlank(c: string | undefined): boolean {
  return c === " " || c === "\t";
}

/** Sample names a TYPE'd 0.0.4 family owns. */
function owns(family: TextFamily, name: string): boolean {
  if (name === family.name) return family.type !== "histogram";
  if (family.type === "histogram") {
    return (
      name === `${family.name}_bucket` || name === `${family.name}_sum` || name === `${family.name}_count`
    );
  }
  if (family.type === "summary") return name === `${family.name}_sum` || name === `${family.name}_count`;
  return false;
}

/** Parses a text 0.0.4 exposition. Throws OpenMetricsParseError with line and column. */
export function parsePrometheusText(input: string | Uint8Array): MetricFamily[] {
  const decoded = decodeUtf8(input);
  // Text 0.0.4 has no rule against a byte order mark; skip one.
  const text = decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded;
  const families: TextFamily[] = [];
  const byName = new Map<string, TextFamily>();
  let current: TextFamily | undefined;
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();

  lines.forEach((rawLine, index) => {
    const lineNo = index + 1;
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    let pos = 0;
    const fail: (message: string, at?: number) => never = (message, at = pos) => {
      throw new OpenMetricsParseError(message, lineNo, [...line.slice(0, at)].length + 1);
    };
    const skipBlanks = () => {
      while (isBlank(line[pos])) pos++;
    };
    const familyFor = (name: string): TextFamily => {
      let family = byName.get(name);
      if (family === undefined) {
        family = { name, samples: [], sampled: false };
        byName.set(name, family);
        families.push(family);
      }
      return family;
    };

    skipBlanks();
    if (pos === line.length) return;
    if (line[pos] === "#") {
      pos++;
      skipBlanks();
      const keyword = /^[A-Z]+/.exec(line.slice(pos))?.[0];
      if (keyword !== "HELP" && keyword !== "TYPE") return; // an ordinary comment
      pos += keyword.length;
      if (!isBlank(line[pos])) return;
      skipBlanks();
      const name = METRIC_NAME.exec(line.slice(pos))?.[0];
      if (name === undefined) fail(`expected a metric name after # ${keyword}`);
      pos += name.length;
      if (pos < line.length && !isBlank(line[pos]))
        fail(`unexpected "${line[pos]}" in metric name "${name}"`);
      skipBlanks();
      const family = familyFor(name);
      if (family.sampled) fail(`# ${keyword} for "${name}" comes after its samples`);
      if (keyword === "TYPE") {
        if (family.type !== undefined) fail(`second # TYPE line for "${name}"`);
        const word = line.slice(pos).trimEnd();
        const type = TEXT_TYPES[word];
        if (type === undefined)
          fail(`unknown metric type "${word}"; expected counter, gauge, histogram, summary or untyped`);
        family.type = type;
      } else {
        if (family.help !== undefined) fail(`second # HELP line for "${name}"`);
        let help = "";
        for (let i = pos; i < line.length; i++) {
          const c = line[i]!;
          if (c !== "\\") {
            help += c;
            continue;
          }
          const n = line[i + 1];
          if (n === "\\") help += "\\";
          else if (n === "n") help += "\n";
          else fail(`invalid escape "\\${n ?? ""}" in HELP; only \\\\ and \\n are allowed`, i);
          i++;
        }
        family.help = help;
      }
      current = family;
      return;
    }

    const name = METRIC_NAME.exec(line.slice(pos))?.[0];
    if (name === undefined) fail(`expected a metric name, found "${line[pos]}"`);
    const namePos = pos;
    pos += name.length;
    const afterName = pos;
    skipBlanks();
    const labels: Labels = {};
    if (line[pos] !== "{") pos = afterName;
    else {
      pos++;
      for (;;) {
        skipBlanks();
        if (line[pos] === "}") {
          pos++;
          break;
        }
        const labelName = LABEL_NAME.exec(line.slice(pos))?.[0];
        if (labelName === undefined) fail("expected a label name");
        if (labelName.startsWith("__"))
          fail(`label name "${labelName}" starts with "__"; such names are reserved`);
        const labelPos = pos;
        pos += labelName.length;
        skipBlanks();
        if (line[pos] !== "=") fail(`expected "=" after label name "${labelName}"`);
        pos++;
        skipBlanks();
        if (line[pos] !== '"') fail(`the value of label "${labelName}" must be in double quotes`);
        pos++;
        let value = "";
        for (;;) {
          const c = line[pos];
          if (c === undefined) fail(`the value of label "${labelName}" has no closing quote`);
          if (c === '"') break;
          if (c === "\\") {
            const n = line[pos + 1];
            if (n === "\\") value += "\\";
            else if (n === '"') value += '"';
            else if (n === "n") value += "\n";
            else fail(`invalid escape "\\${n ?? ""}" in a label value; only \\\\, \\" and \\n are allowed`);
            pos += 2;
            continue;
          }
          value += c;
          pos++;
        }
        pos++;
        if (Object.hasOwn(labels, labelName)) fail(`label "${labelName}" appears twice`, labelPos);
        labels[labelName] = value;
        skipBlanks();
        if (line[pos] === ",") {
          pos++;
          continue;
        }
        if (line[pos] === "}") {
          pos++;
          break;
        }
        fail(`expected "," or "}" after the value of label "${labelName}"`);
      }
    }
    if (!isBlank(line[pos]))
      fail(pos === line.length ? `sample "${name}" has no value` : `unexpected "${line[pos]}"`);
    skipBlanks();
    const valueStart = pos;
    while (pos < line.length && !isBlank(line[pos])) pos++;
    const value = scanNumber(line, valueStart, pos, true);
    if (value === undefined) fail(`invalid value "${line.slice(valueStart, pos)}"`, valueStart);
    skipBlanks();
    let timestamp: number | undefined;
    if (pos < line.length) {
      const tsStart = pos;
      while (pos < line.length && !isBlank(line[pos])) pos++;
      const token = line.slice(tsStart, pos);
      if (!INTEGER.test(token))
        fail(`invalid timestamp "${token}"; text 0.0.4 timestamps are integer milliseconds`, tsStart);
      timestamp = Number(token) / 1000;
      skipBlanks();
      if (pos < line.length) fail(`unexpected "${line[pos]}" after the timestamp`);
    }

    let family = current !== undefined && owns(current, name) ? current : undefined;
    if (family === undefined) {
      const existing = byName.get(name);
      if (existing?.sampled && existing !== current) {
        fail(
          `samples of "${name}" appear again after other metrics; a family's samples must be contiguous`,
          namePos,
        );
      }
      family = familyFor(name);
    }
    family.sampled = true;
    current = family;
    const sample: Sample = { name, labels, value };
    if (timestamp !== undefined) sample.timestamp = timestamp;
    family.samples.push(sample);
  });

  return families.map(toOpenMetricsFamily);
}

function toOpenMetricsFamily(family: TextFamily): MetricFamily {
  const type = family.type ?? "unknown";
  let name = family.name;
  let samples = family.samples;
  if (type === "counter") {
    if (name.endsWith("_total")) name = name.slice(0, -"_total".length);
    const total = `${name}_total`;
    samples = samples.map((sample) => (sample.name === total ? sample : { ...sample, name: total }));
  }
  const result: MetricFamily = { name, type, samples };
  if (family.help) result.help = family.help;
  return result;
}
