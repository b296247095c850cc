import { describe, expect, it } from "vitest";
import {
  type MetricFamily,
  OpenMetricsParseError,
  parseOpenMetrics,
  parseOpenMetricsNumber,
  scanOpenMetrics,
} from "../../openmetrics/index.js";

function errorOf(input: string | Uint8Array): { line: number; column: number; message: string } {
  try {
    parseOpenMetrics(input);
  } catch (error) {
    if (!(error instanceof OpenMetricsParseError)) throw error;
    return { line: error.line, column: error.column, message: error.message };
  }
  throw new Error(`parsed without error: ${JSON.stringify(input)}`);
}

describe("parseOpenMetrics results", () => {
  it("builds families with type, help, unit, labels, timestamps and exemplars", () => {
    const text = [
      "# TYPE http_seconds histogram",
      "# UNIT http_seconds seconds",
      '# HELP http_seconds Request \\"latency\\"\\nin seconds \\\\ \\q.',
      'http_seconds_bucket{path="/a",le="0.5"} 1 17.25 # {trace_id="x"} 0.25 17',
      'http_seconds_bucket{path="/a",le="+Inf"} 2 17.25',
      'http_seconds_count{path="/a"} 2 17.25',
      'http_seconds_sum{path="/a"} 1.5 17.25',
      "up 1",
      "# EOF",
      "",
    ].join("\n");
    const expected: MetricFamily[] = [
      {
        name: "http_seconds",
        type: "histogram",
        unit: "seconds",
        help: 'Request "latency"\nin seconds \\ \\q.',
        samples: [
          {
            name: "http_seconds_bucket",
            labels: { path: "/a", le: "0.5" },
            value: 1,
            timestamp: 17.25,
            exemplar: { labels: { trace_id: "x" }, value: 0.25, timestamp: 17 },
          },
          { name: "http_seconds_bucket", labels: { path: "/a", le: "+Inf" }, value: 2, timestamp: 17.25 },
          { name: "http_seconds_count", labels: { path: "/a" }, value: 2, timestamp: 17.25 },
          { name: "http_seconds_sum", labels: { path: "/a" }, value: 1.5, timestamp: 17.25 },
        ],
      },
      { name: "up", type: "unknown", samples: [{ name: "up", labels: {}, value: 1 }] },
    ];
    expect(parseOpenMetrics(text)).toStrictEqual(expected);
  });

  it("reads bytes as UTF-8 and keeps NUL and non-ASCII characters", () => {
    const bytes = new TextEncoder().encode('a{city="Zürich ☃ 😀",nul="\u0000"} 1\n# EOF');
    expect(parseOpenMetrics(bytes)[0]!.samples[0]!.labels).toEqual({ city: "Zürich ☃ 😀", nul: "\u0000" });
  });

  it("treats an empty HELP or UNIT as absent", () => {
    expect(parseOpenMetrics("# TYPE a gauge\n# HELP a \n# UNIT a \n# EOF\n")).toStrictEqual([
      { name: "a", type: "gauge", samples: [] },
    ]);
  });

  it("accepts an exposition that is only # EOF, with or without the final newline", () => {
    expect(parseOpenMetrics("# EOF")).toEqual([]);
    expect(parseOpenMetrics("# EOF\n")).toEqual([]);
  });

  it("accepts several MetricPoints of one metric in time order", () => {
    const families = parseOpenMetrics(
      '# TYPE s summary\ns_count{a="b"} 0 123\ns_sum{a="b"} 0 123\ns_count{a="b"} 1 456\ns_sum{a="b"} 2 456\n# EOF\n',
    );
    expect(families[0]!.samples.map((s) => s.timestamp)).toEqual([123, 123, 456, 456]);
  });

  it("lets a counter go down across MetricPoints only with a new _created", () => {
    const reset = "# TYPE a counter\na_total 5 1\na_created 0 1\na_total 3 2\na_created 1.5 2\n# EOF\n";
    expect(parseOpenMetrics(reset)[0]!.samples.map((s) => s.value)).toEqual([5, 0, 3, 1.5]);
    expect(errorOf("# TYPE a counter\na_total 5 1\na_total 3 2\n# EOF\n")).toEqual({
      line: 3,
      column: 1,
      message:
        'counter "a" metric {}: a_total went down from 5 to 3 without a new a_created; counters only decrease when reset',
    });
  });

  it("streams families and samples through scanOpenMetrics", () => {
    const seen: string[] = [];
    scanOpenMetrics("# TYPE a counter\na_total 1\na_created 2\nb 3\n# EOF\n", {
      family: (f) => seen.push(`family ${f.name}`),
      sample: (s, f) => seen.push(`${f.name}: ${s.name}=${s.value}`),
    });
    expect(seen).toEqual(["family a", "a: a_total=1", "a: a_created=2", "family b", "b: b=3"]);
  });
});

describe("metric identity ignores label order and escape spelling", () => {
  it("sees a metric coming back with its labels in another order", () => {
    expect(errorOf('a{x="1",y="2"} 1\na{x="3"} 1\na{y="2",x="1"} 1\n# EOF\n')).toEqual({
      line: 3,
      column: 2,
      message:
        'metric {y="2",x="1"} of "a" appears again after other metrics; a metric\'s samples must be contiguous',
    });
  });

  it("sees the same value spelled with an undefined escape and with an escaped backslash", () => {
    expect(errorOf('a{x="a\\b"} 1\na{x="a\\\\b"} 2\n# EOF\n')).toEqual({
      line: 2,
      column: 1,
      message: 'duplicate sample a{x="a\\\\b"}; without timestamps each sample may appear only once',
    });
  });

  it("groups buckets with their count and sum whatever the position of le", () => {
    const text = [
      "# TYPE h histogram",
      'h_bucket{le="1",b="y",a="x"} 1',
      'h_bucket{a="x",le="+Inf",b="y"} 2',
      'h_count{b="y",a="x"} 2',
      'h_sum{a="x",b="y"} 3',
      'h_bucket{a="z",le="+Inf"} 0',
      "# EOF",
      "",
    ].join("\n");
    expect(parseOpenMetrics(text)[0]!.samples).toHaveLength(5);
    expect(errorOf(`${text.replace("# EOF\n", "")}h_sum{b="y",a="x"} 3\n# EOF\n`)).toEqual({
      line: 7,
      column: 6,
      message:
        'metric {b="y",a="x"} of "h" appears again after other metrics; a metric\'s samples must be contiguous',
    });
  });
});

describe("number syntax (the ABNF, not JS Number())", () => {
  const valid: Array<[string, number]> = [
    ["0", 0],
    ["-0", -0],
    ["+1", 1],
    ["0042", 42],
    ["1.", 1],
    [".5", 0.5],
    ["-.5e-3", -0.0005],
    ["1E5", 100000],
    ["1e+05", 100000],
    ["9223372036854775808", 2 ** 63],
    ["+Inf", Number.POSITIVE_INFINITY],
    ["-inf", Number.NEGATIVE_INFINITY],
    ["infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ["NaN", Number.NaN],
    ["nan", Number.NaN],
  ];
  it.each(valid)("accepts %s", (text, value) => {
    expect(parseOpenMetricsNumber(text)).toBe(value);
    expect(parseOpenMetrics(`a ${text}\n# EOF\n`)[0]!.samples[0]!.value).toBe(value);
  });

  const invalid = [
    "",
    " 1",
    "1 ",
    "0x10",
    "0b1",
    "0o7",
    "1_000",
    "-NaN",
    "+NaN",
    "Infinit",
    "Infinityy",
    "In",
    "1e",
    "1e+",
    ".",
    "+",
    "-",
    "1.2.3",
    "e5",
    "1e5.0",
    "١",
  ];
  it.each(invalid)("rejects %j", (text) => {
    expect(parseOpenMetricsNumber(text)).toBeUndefined();
  });

  it("rejects NaN and Inf as timestamps but accepts negative and fractional ones", () => {
    expect(parseOpenMetricsNumber("NaN", false)).toBeUndefined();
    expect(parseOpenMetricsNumber("+Inf", false)).toBeUndefined();
    expect(parseOpenMetrics("a 1 -1.5\n# EOF\n")[0]!.samples[0]!.timestamp).toBe(-1.5);
  });

  it("rejects numbers outside the float64 range", () => {
    expect(errorOf("a 1e309\n# EOF\n")).toEqual({
      line: 1,
      column: 3,
      message: 'value "1e309" is outside the range of a 64-bit float',
    });
  });
});

describe("parse errors carry line, column and an actionable message", () => {
  const cases: Array<[string, string | Uint8Array, number, number, string]> = [
    [
      "negative counter",
      "# TYPE foo counter\nfoo_total -1\n# EOF\n",
      2,
      11,
      'counter "foo" sample "foo_total" has negative value -1',
    ],
    ["missing EOF", "a 1\n", 2, 1, 'the exposition must end with a "# EOF" line'],
    ["text after EOF", "# EOF\nx\n", 2, 1, 'text after "# EOF"; "# EOF" must be the last line'],
    ["blank line", "a 1\n\n# EOF\n", 2, 1, "blank line; OpenMetrics does not allow empty lines"],
    [
      "comment",
      "# hello\n# EOF\n",
      1,
      3,
      'unknown line "# hello"; only "# TYPE", "# HELP", "# UNIT" and "# EOF" are allowed (OpenMetrics has no comments)',
    ],
    ["CRLF", "a 1\r\n# EOF\n", 1, 4, "carriage return before the newline; lines must end with \\n alone"],
    [
      "BOM",
      "\ufeffa 1\n# EOF\n",
      1,
      1,
      "the exposition starts with a byte order mark (BOM); OpenMetrics forbids BOMs",
    ],
    [
      "bad UTF-8",
      new Uint8Array([0x61, 0x7b, 0x62, 0x3d, 0x22, 0xc3, 0x28, 0x22, 0x7d, 0x20, 0x31, 0x0a]),
      1,
      6,
      "invalid UTF-8 (byte 0xc3); expositions must be UTF-8 text",
    ],
    [
      "-NaN",
      "a -NaN\n# EOF\n",
      1,
      3,
      'invalid value "-NaN"; values are decimal numbers (e.g. 12, -3.5, 1e-3), NaN, +Inf or -Inf',
    ],
    [
      "unit not a suffix",
      "# UNIT a_volts seconds\n# EOF\n",
      1,
      16,
      'unit "seconds" is not a suffix of "a_volts"; the family name must end in "_seconds"',
    ],
    ["duplicate label", 'a{x="1",x="2"} 1\n# EOF\n', 1, 9, 'label "x" appears twice in one label set'],
    [
      "duplicate sample",
      'a{x="1",y="2"} 1\na{y="2",x="1"} 1\n# EOF\n',
      2,
      1,
      'duplicate sample a{y="2",x="1"}; without timestamps each sample may appear only once',
    ],
    [
      "interleaved family",
      "a 1\nb 1\na 2\n# EOF\n",
      3,
      1,
      'family "a" appears again (first at line 1); a family\'s lines must be contiguous',
    ],
    [
      "metadata after samples",
      "a 1\n# HELP a x\n# EOF\n",
      2,
      1,
      '"# HELP a" comes after samples of "a"; metadata must come before a family\'s samples',
    ],
    [
      "wrong counter sample",
      "# TYPE a counter\na 1\n# EOF\n",
      2,
      1,
      'counter "a" has no sample named "a"; its samples are "a_total", "a_created"',
    ],
    [
      "histogram count mismatch",
      '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3\nh_sum 1\n# EOF\n',
      2,
      1,
      'histogram "h" metric {}: h_count is 3 but the le="+Inf" bucket is 2; they must be equal',
    ],
    [
      "non-integer bucket",
      '# TYPE h histogram\nh_bucket{le="+Inf"} 0.5\n# EOF\n',
      2,
      21,
      'histogram "h" sample "h_bucket" has value 0.5; it must be an integer',
    ],
    [
      "exemplar too long",
      `# TYPE c counter\nc_total 1 # {a="${"é".repeat(128)}"} 1\n# EOF\n`,
      2,
      13,
      "exemplar labels are 129 code points long (names plus values); at most 128 are allowed",
    ],
    [
      "exemplar above its bucket",
      '# TYPE h histogram\nh_bucket{le="1"} 1 # {} 2\nh_bucket{le="+Inf"} 1\n# EOF\n',
      2,
      20,
      'histogram "h" sample "h_bucket" le="1" has an exemplar with value 2, outside the bucket; it must be at most 1',
    ],
    [
      "counter without total",
      "# TYPE c counter\nc_created 1\n# EOF\n",
      2,
      1,
      'counter "c" metric {} has no "c_total" sample',
    ],
    [
      "reserved label",
      'a{__name__="x"} 1\n# EOF\n',
      1,
      3,
      'label name "__name__" starts with "_"; such names are reserved',
    ],
    [
      "lone surrogate",
      'a{x="\ud83d"} 1\n# EOF\n',
      1,
      6,
      "lone UTF-16 surrogate; the text is not valid Unicode",
    ],
    [
      "quantile out of range",
      '# TYPE s summary\ns{quantile="2"} 1\n# EOF\n',
      2,
      13,
      'summary "s" sample "s" has quantile="2"; a quantile must be a number from 0 to 1',
    ],
    [
      "stateset value",
      '# TYPE s stateset\ns{s="on"} 0.5\n# EOF\n',
      2,
      11,
      'stateset "s" sample "s" has value 0.5; a state is 1 (true) or 0 (false)',
    ],
    [
      "info value",
      "# TYPE i info\ni_info 2\n# EOF\n",
      2,
      8,
      'info "i" sample "i_info" has value 2; info samples must have the value 1',
    ],
    [
      "column counts code points",
      'a{x="😀😀"} z\n# EOF\n',
      1,
      11,
      'invalid value "z"; values are decimal numbers (e.g. 12, -3.5, 1e-3), NaN, +Inf or -Inf',
    ],
  ];
  it.each(cases)("%s", (_name, input, line, column, message) => {
    expect(errorOf(input)).toEqual({ line, column, message });
  });
});
