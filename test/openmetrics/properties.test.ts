import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatCanonicalNumber,
  type Labels,
  type MetricFamily,
  type MetricType,
  OpenMetricsParseError,
  parseOpenMetrics,
  parsePrometheusText,
  type Sample,
  serializeOpenMetrics,
  serializePrometheusText,
} from "../../openmetrics/index.js";
import { meterFamilies } from "./fixtures.js";

// Label values stress escaping and multi-byte text; names avoid the reserved "_" start and, with
// their "k" prefix, never collide with le/quantile or a family name (those start with "m").
const labelValue = fc.string({
  unit: fc.oneof(
    fc.constantFrom("\\", '"', "\n", "#", " ", "{", "}", ",", "=", "\u0000", "é", "☃", "😀", "\\n"),
    fc.string({ minLength: 1, maxLength: 1 }),
  ),
  maxLength: 12,
});
const word = (chars: string, minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...chars), minLength, maxLength });
const labelName = word("abcxyz019_", 0, 5).map((rest) => `k${rest}`);
const labelsArb = fc.dictionary(labelName, labelValue, { maxKeys: 3 });
const timestamp = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 });
const nonNegative = fc.double({ min: 0, noNaN: true });
const count = fc.nat({ max: 1_000_000 });

/** One metric's samples for `type`, given the metric's own labels. */
function metricArb(type: MetricType, name: string, labels: Labels): fc.Arbitrary<Sample[]> {
  const s = (suffix: string, value: number, extra: Labels = {}): Sample => ({
    name: name + suffix,
    labels: { ...labels, ...extra },
    value,
  });
  switch (type) {
    case "gauge":
    case "unknown":
      return fc.tuple(fc.double(), fc.option(timestamp, { nil: undefined })).map(([v, ts]) => {
        const sample = s("", v);
        if (ts !== undefined) sample.timestamp = ts;
        return [sample];
      });
    case "counter":
      return fc
        .record({
          total: nonNegative,
          created: fc.option(timestamp, { nil: undefined }),
          exemplar: fc.option(
            fc.record({
              labels: fc.dictionary(labelName, fc.string({ maxLength: 8 }), { maxKeys: 2 }),
              value: fc.double(),
            }),
            { nil: undefined },
          ),
        })
        .map(({ total, created, exemplar }) => {
          const t = s("_total", total);
          if (exemplar) t.exemplar = exemplar;
          return created === undefined ? [t] : [t, s("_created", created)];
        });
    case "histogram":
    case "gaugehistogram":
      return fc
        .record({
          les: fc.uniqueArray(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), {
            maxLength: 5,
          }),
          increments: fc.array(count, { minLength: 6, maxLength: 6 }),
          withSum: fc.boolean(),
          sum: fc.double({ noNaN: true, min: 0 }),
          exemplarAt: fc.nat({ max: 6 }),
        })
        .map(({ les, increments, withSum, sum, exemplarAt }) => {
          const sorted = [...new Set(les.map((le) => formatCanonicalNumber(le)))]
            .map((text) => ({ text, value: Number(text) }))
            .sort((a, b) => a.value - b.value);
          sorted.push({ text: "+Inf", value: Number.POSITIVE_INFINITY });
          let cumulative = 0;
          const samples = sorted.map(({ text, value }, i) => {
            cumulative += increments[i]!;
            const bucket = s("_bucket", cumulative, { le: text });
            if (i === exemplarAt) {
              bucket.exemplar = { labels: { trace_id: "abc" }, value: Number.isFinite(value) ? value : 1e9 };
            }
            return bucket;
          });
          const negative = sorted.some((b) => b.value < 0);
          if (type === "histogram" && withSum && !negative)
            samples.push(s("_count", cumulative), s("_sum", sum));
          if (type === "gaugehistogram" && withSum) {
            samples.push(s("_gcount", cumulative), s("_gsum", negative ? -sum : sum));
          }
          return samples;
        });
    case "summary":
      return fc
        .record({
          quantiles: fc.uniqueArray(fc.constantFrom("0.0", "0.5", "0.9", "0.99", "1.0"), { maxLength: 5 }),
          values: fc.array(fc.oneof(nonNegative, fc.constant(Number.NaN)), { minLength: 5, maxLength: 5 }),
          countSum: fc.option(fc.tuple(count, nonNegative), { nil: undefined }),
        })
        .map(({ quantiles, values, countSum }) => {
          const samples = quantiles.map((q, i) => s("", values[i]!, { quantile: q }));
          if (countSum) samples.push(s("_count", countSum[0]), s("_sum", countSum[1]));
          return samples;
        });
    case "stateset":
      return fc
        .uniqueArray(word("abcdefgh", 1, 6), { minLength: 1, maxLength: 4 })
        .chain((states) =>
          fc
            .array(fc.constantFrom(0, 1), { minLength: states.length, maxLength: states.length })
            .map((values) => states.map((state, i) => s("", values[i]!, { [name]: state }))),
        );
    case "info":
      return fc.constant([s("_info", 1)]);
  }
}

const TYPES: MetricType[] = [
  "counter",
  "gauge",
  "histogram",
  "gaugehistogram",
  "summary",
  "stateset",
  "info",
  "unknown",
];

const familyArb = (index: number): fc.Arbitrary<MetricFamily> =>
  fc
    .record({
      type: fc.constantFrom(...TYPES),
      stem: word("abcdefgh", 0, 4),
      unit: fc.option(word("abcdefgh", 1, 6), { nil: undefined }),
      help: fc.option(
        labelValue.filter((h) => h !== ""),
        { nil: undefined },
      ),
      metricLabels: fc.uniqueArray(labelsArb, {
        maxLength: 3,
        selector: (l) => JSON.stringify(Object.entries(l).sort()),
      }),
    })
    .chain(({ type, stem, unit, help, metricLabels }) => {
      const withUnit = unit !== undefined && type !== "info" && type !== "stateset";
      const name = withUnit ? `m${index}${stem}_${unit}` : `m${index}${stem}`;
      const sampleName = name;
      return fc.tuple(...metricLabels.map((labels) => metricArb(type, sampleName, labels))).map((metrics) => {
        const family: MetricFamily = { name, type, samples: metrics.flat() };
        if (withUnit) family.unit = unit;
        if (help !== undefined) family.help = help;
        return family;
      });
    });

const familiesArb = fc
  .integer({ min: 0, max: 5 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => familyArb(i))));

describe("property: serialize then parse", () => {
  it("gives back the same families for random valid families", () => {
    fc.assert(
      fc.property(familiesArb, (families) => {
        const text = serializeOpenMetrics(families);
        expect(parseOpenMetrics(text)).toEqual(families);
        expect(parseOpenMetrics(new TextEncoder().encode(text))).toEqual(families);
      }),
      { numRuns: 300 },
    );
  });
});

type Mutation =
  | { kind: "delete"; at: number; length: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "swapLines"; a: number; b: number }
  | { kind: "duplicateLine"; a: number };

describe("property: mutated input", () => {
  const base = serializeOpenMetrics(meterFamilies());
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
    fc.record({
      kind: fc.constant("insert" as const),
      at: fc.nat(),
      text: fc.constantFrom(
        " ",
        "\n",
        "#",
        "{",
        "}",
        '"',
        "\\",
        ",",
        "=",
        "\r",
        "-",
        "e",
        "NaN",
        "+Inf",
        "# EOF\n",
        "\u0000",
        "😀",
        "_total",
      ),
    }),
    fc.record({ kind: fc.constant("swapLines" as const), a: fc.nat(), b: fc.nat() }),
    fc.record({ kind: fc.constant("duplicateLine" as const), a: fc.nat() }),
  );
  const apply = (text: string, m: Mutation): string => {
    if (m.kind === "delete") {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + m.length);
    }
    if (m.kind === "insert") {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + m.text + text.slice(at);
    }
    const lines = text.split("\n");
    const a = m.a % lines.length;
    if (m.kind === "duplicateLine") {
      lines.splice(a, 0, lines[a]!);
      return lines.join("\n");
    }
    if (m.kind !== "swapLines") return text;
    const b = m.b % lines.length;
    [lines[a], lines[b]] = [lines[b]!, lines[a]!];
    return lines.join("\n");
  };

  it("only ever throws OpenMetricsParseError, quickly", () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        const text = mutations.reduce<string>((t, m) => apply(t, m), base);
        const started = performance.now();
        try {
          parseOpenMetrics(text);
        } catch (error) {
          expect(error).toBeInstanceOf(OpenMetricsParseError);
          const { line, column } = error as OpenMetricsParseError;
          expect(line).toBeGreaterThanOrEqual(1);
          expect(column).toBeGreaterThanOrEqual(1);
        }
        expect(performance.now() - started).toBeLessThan(1000);
      }),
      { numRuns: 2000 },
    );
  });

  it("only ever throws OpenMetricsParseError for arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const parse of [parseOpenMetrics, parsePrometheusText]) {
          try {
            parse(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(OpenMetricsParseError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("text 0.0.4 parser: mutations only ever throw OpenMetricsParseError", () => {
    const text = serializePrometheusText(meterFamilies());
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        try {
          parsePrometheusText(mutations.reduce<string>((t, m) => apply(t, m), text));
        } catch (error) {
          expect(error).toBeInstanceOf(OpenMetricsParseError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
