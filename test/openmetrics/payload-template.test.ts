import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type MetricFamily, parseOpenMetrics } from "../../openmetrics/index.js";
import { PayloadTemplate } from "../../openmetrics/payload-template.js";

const BASE = [
  "# TYPE meter_voltage_volts gauge",
  "# UNIT meter_voltage_volts volts",
  '# HELP meter_voltage_volts Line to neutral voltage, with a "quote" and a \\\\ backslash.',
  'meter_voltage_volts{phase="L1",note="a } brace, a # hash and a \\"quoted\\" space"} 230.1 1700000000.5',
  'meter_voltage_volts{phase="L2",note="é ☃"} 229.9 1700000000.5',
  "# TYPE meter_energy_joules counter",
  'meter_energy_joules_total{direction="import"} 123456789 1700000000.5',
  "# TYPE meter_frequency_hertz gauge",
  "meter_frequency_hertz 50.01",
  "# TYPE meter info",
  'meter_info{serial="A17"} 1',
  "# EOF",
  "",
].join("\n");

/** The base payload with its numbers replaced, in order: voltages, energy, frequency, info. */
function withNumbers(n: {
  l1?: string;
  l2?: string;
  ts?: string;
  energy?: string;
  hz?: string;
  info?: string;
}) {
  const ts = n.ts ?? "1700000000.5";
  return BASE.replace("230.1 1700000000.5", `${n.l1 ?? "230.1"} ${ts}`)
    .replace("229.9 1700000000.5", `${n.l2 ?? "229.9"} ${ts}`)
    .replace("123456789 1700000000.5", `${n.energy ?? "123456789"} ${ts}`)
    .replace("50.01\n", `${n.hz ?? "50.01"}\n`)
    .replace('"A17"} 1\n', `"A17"} ${n.info ?? "1"}\n`);
}

function templateOf(text: string): PayloadTemplate {
  const bytes = Buffer.from(text);
  const template = PayloadTemplate.build(bytes, parseOpenMetrics(bytes));
  if (!template) throw new Error("no template");
  return template;
}

/** What `match` yields, or undefined when it refuses. */
function matched(template: PayloadTemplate, text: string) {
  const values = new Float64Array(template.samples);
  const timestamps = new Float64Array(template.samples);
  if (!template.match(Buffer.from(text), values, timestamps)) return undefined;
  return { values: [...values], timestamps: [...timestamps] };
}

/** The same, from the strict parser: the reference the template must agree with. */
function parsed(text: string) {
  const families: MetricFamily[] = parseOpenMetrics(text);
  const samples = families.flatMap((f) => f.samples);
  return { values: samples.map((s) => s.value), timestamps: samples.map((s) => s.timestamp ?? Number.NaN) };
}

describe("PayloadTemplate", () => {
  const template = templateOf(BASE);

  it("reads a payload that differs only in its numbers exactly as the parser does", () => {
    const next = withNumbers({
      l1: "231.25",
      l2: "-0",
      ts: "1700000001.123",
      energy: "123456999",
      hz: "NaN",
    });
    expect(template.samples).toBe(5);
    expect(matched(template, next)).toEqual(parsed(next));
    expect(matched(template, next)?.values[1]).toBe(-0);
  });

  it("reads every spelling of a number the grammar allows, through the codec's own number parser", () => {
    for (const l1 of [
      "+Inf",
      "-inf",
      "Infinity",
      "1e3",
      "1.5E-3",
      "00012",
      ".5",
      "5.",
      "+7",
      "1234567890123456789",
    ]) {
      const next = withNumbers({ l1 });
      expect(matched(template, next), l1).toEqual(parsed(next));
    }
    for (const ts of ["1700000002", "1.7e9", "1700000000.000001"]) {
      const next = withNumbers({ ts });
      expect(matched(template, next), ts).toEqual(parsed(next));
    }
  });

  it("refuses every number the parser refuses in that place, so the full parse reports it", () => {
    const refused = [
      { l1: "1e999" },
      { l1: "-NaN" },
      { l1: "0x10" },
      { l1: "1_000" },
      { l1: "1.2.3" },
      { ts: "NaN" },
      { ts: "+Inf" },
      { energy: "-1" },
      { energy: "NaN" },
      { info: "2" },
      { info: "0" },
    ];
    for (const numbers of refused) {
      const next = withNumbers(numbers);
      expect(matched(template, next), JSON.stringify(numbers)).toBeUndefined();
      expect(() => parseOpenMetrics(next), JSON.stringify(numbers)).toThrow();
    }
  });

  it("refuses any change outside the numbers", () => {
    const changes = [
      BASE.replace('phase="L2"', 'phase="L3"'),
      BASE.replace("Line to neutral", "Line to line"),
      BASE.replace("# EOF\n", "# EOF"),
      `${BASE}x 1\n`,
      BASE.replace("230.1 ", "230.1  "),
      BASE.replace("50.01\n", "50.01 \n"),
      BASE.replace("50.01\n", "50.01\r\n"),
      BASE.replace("50.01\n", "50.01 1700000000\n"),
      BASE.replace("230.1 1700000000.5", "230.1"),
      BASE.replace("229.9", '229.9 # {a="b"} 1'),
      BASE.slice(0, BASE.indexOf("# TYPE meter_frequency_hertz")),
    ];
    for (const text of changes) expect(matched(template, text), text).toBeUndefined();
  });

  it("is not built for payloads whose rules relate samples, or that carry exemplars", () => {
    const none = (text: string) => PayloadTemplate.build(Buffer.from(text), parseOpenMetrics(text));
    expect(
      none('# TYPE h histogram\nh_bucket{le="1"} 0\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 2\n# EOF\n'),
    ).toBeUndefined();
    expect(none("# TYPE c counter\nc_total 1\nc_created 1700000000\n# EOF\n")).toBeUndefined();
    expect(none("# TYPE g gauge\ng 1 1700000000\ng 2 1700000001\n# EOF\n")).toBeUndefined();
    expect(none('# TYPE c counter\nc_total 1 # {trace="a"} 1\n# EOF\n')).toBeUndefined();
    expect(none('# TYPE s stateset\ns{s="a"} 1\n# EOF\n')).toBeUndefined();
  });

  it("gives payloads of the same shape the same shape digest, and other shapes another", () => {
    expect(templateOf(withNumbers({ l1: "1", ts: "5" })).shape).toBe(template.shape);
    expect(templateOf(BASE.replace('"A17"', '"A18"')).shape).not.toBe(template.shape);
  });

  it("never accepts what the parser refuses, and agrees with it on what both accept (fuzzed)", () => {
    const bytes = Buffer.from(BASE);
    // Half the mutations land on or next to a number of a sample line, where the template reads.
    const numberPositions: number[] = [];
    for (const m of BASE.matchAll(/ [-+.\deE]+(?= |\n)/g)) {
      for (let i = m.index; i <= m.index + m[0].length; i++) numberPositions.push(i);
    }
    const mutation = fc.record({
      at: fc.oneof(fc.nat({ max: bytes.length - 1 }), fc.constantFrom(...numberPositions)),
      kind: fc.constantFrom("replace", "insert", "delete"),
      byte: fc.constantFrom(...Buffer.from('0123456789.-+eEinfINFa \n#{}"\\x\u00e9')),
    });
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        let text = Buffer.from(bytes);
        for (const m of mutations) {
          const at = Math.min(m.at, text.length - 1);
          if (m.kind === "replace") text[at] = m.byte;
          else if (m.kind === "insert")
            text = Buffer.concat([text.subarray(0, at), Buffer.from([m.byte]), text.subarray(at)]);
          else text = Buffer.concat([text.subarray(0, at), text.subarray(at + 1)]);
        }
        const values = new Float64Array(template.samples);
        const timestamps = new Float64Array(template.samples);
        if (!template.match(text, values, timestamps)) return;
        accepted++;
        const reference = parsed(text.toString("utf8"));
        expect({ values: [...values], timestamps: [...timestamps] }).toEqual(reference);
      }),
      { numRuns: 20_000, seed: 4242 },
    );
    // Most mutations hit the labels and text; enough must land in numbers for the agreement to count.
    expect(accepted).toBeGreaterThan(1_000);
  });
});
