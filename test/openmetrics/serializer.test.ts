import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  formatCanonicalNumber,
  formatNumber,
  type MetricFamily,
  parseOpenMetrics,
  parsePrometheusText,
  serializeOpenMetrics,
  serializePrometheusText,
} from "../../openmetrics/index.js";
import { findBinary, needs } from "../support/binaries.js";
import { meterFamilies } from "./fixtures.js";

const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), "utf8");

describe("serializeOpenMetrics", () => {
  it("writes the meter families exactly as the hand-written golden file", () => {
    expect(serializeOpenMetrics(meterFamilies())).toBe(golden("meter.openmetrics.metrics"));
  });

  it("writes text the strict parser reads back to the same families", () => {
    expect(parseOpenMetrics(serializeOpenMetrics(meterFamilies()))).toEqual(meterFamilies());
  });

  it("writes an empty exposition as just # EOF", () => {
    expect(serializeOpenMetrics([])).toBe("# EOF\n");
  });

  it("escapes backslash, double quote and newline in label values and HELP", () => {
    const text = serializeOpenMetrics([
      {
        name: "a",
        type: "gauge",
        help: 'say "hi"\\\n',
        samples: [{ name: "a", labels: { v: 'x"y\\z\nw' }, value: 1 }],
      },
    ]);
    expect(text).toBe('# TYPE a gauge\n# HELP a say \\"hi\\"\\\\\\n\na{v="x\\"y\\\\z\\nw"} 1\n# EOF\n');
  });

  it("spells special values and negative zero so they read back", () => {
    const samples = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, -0, 1e21, 5e-324].map(
      (value, i) => ({ name: "a", labels: { i: String(i) }, value }),
    );
    const text = serializeOpenMetrics([{ name: "a", type: "gauge", samples }]);
    expect(text.split("\n").slice(1, 7)).toEqual([
      'a{i="0"} +Inf',
      'a{i="1"} -Inf',
      'a{i="2"} NaN',
      'a{i="3"} -0',
      'a{i="4"} 1e+21',
      'a{i="5"} 5e-324',
    ]);
    const back = parseOpenMetrics(text)[0]!.samples.map((s) => s.value);
    expect(back).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, -0, 1e21, 5e-324]);
    expect(Object.is(back[3], -0)).toBe(true);
  });
});

describe("serializePrometheusText", () => {
  it("writes the meter families exactly as the hand-written text 0.0.4 golden file", () => {
    expect(serializePrometheusText(meterFamilies())).toBe(golden("meter.text.metrics"));
  });

  it("escapes only backslash and newline in HELP, as text 0.0.4 defines", () => {
    const text = serializePrometheusText([{ name: "a", type: "gauge", help: 'q"\\\n', samples: [] }]);
    expect(text).toBe('# HELP a q"\\\\\\n\n# TYPE a gauge\n');
  });

  it("names unknown families untyped and gauge histograms histogram", () => {
    const text = serializePrometheusText([
      { name: "u", type: "unknown", samples: [{ name: "u", labels: {}, value: 2, timestamp: 1.0004 }] },
      {
        name: "g",
        type: "gaugehistogram",
        samples: [
          { name: "g_bucket", labels: { le: "+Inf" }, value: 1 },
          { name: "g_gcount", labels: {}, value: 1 },
          { name: "g_gsum", labels: {}, value: -2 },
        ],
      },
    ]);
    expect(text).toBe(
      '# TYPE u untyped\nu 2 1000\n# TYPE g histogram\ng_bucket{le="+Inf"} 1\ng_gcount 1\ng_gsum -2\n',
    );
  });
});

describe("parsePrometheusText", () => {
  it("reads the golden text 0.0.4 back into OpenMetrics families (minus what 0.0.4 cannot carry)", () => {
    const expected: MetricFamily[] = meterFamilies().map((family) => {
      const { unit: _unit, ...rest } = family;
      const type = family.type === "info" || family.type === "stateset" ? "gauge" : family.type;
      const name = family.type === "info" ? `${family.name}_info` : family.name;
      const samples = family.samples
        .filter((s) => !s.name.endsWith("_created"))
        .map(({ exemplar: _e, ...s }) => s);
      return { ...rest, name, type, samples };
    });
    expect(parsePrometheusText(golden("meter.text.metrics"))).toEqual(expected);
  });

  it("accepts blank lines, comments, tabs, trailing commas and counters without _total", () => {
    const text = [
      "# a comment",
      "",
      "# HELP x_seconds Some help with \\\\ and \\n.",
      "# TYPE x_seconds counter",
      'x_seconds{a="1",} 5 1500',
      "\t",
      "# TYPE y untyped",
      'y\t{ b = "2" }   7',
    ].join("\n");
    expect(parsePrometheusText(text)).toEqual([
      {
        name: "x_seconds",
        type: "counter",
        help: "Some help with \\ and \n.",
        samples: [{ name: "x_seconds_total", labels: { a: "1" }, value: 5, timestamp: 1.5 }],
      },
      { name: "y", type: "unknown", samples: [{ name: "y", labels: { b: "2" }, value: 7 }] },
    ]);
  });

  it("rejects a float timestamp with line and column", () => {
    expect(() => parsePrometheusText("a 1 1.5\n")).toThrowError(
      expect.objectContaining({
        message: 'invalid timestamp "1.5"; text 0.0.4 timestamps are integer milliseconds',
        line: 1,
        column: 5,
      }),
    );
  });
});

describe("number formatting", () => {
  it("renders canonical le/quantile values like Go's %g with .0", () => {
    const cases: Array<[number, string]> = [
      [0, "0.0"],
      [0.001, "0.001"],
      [0.95, "0.95"],
      [1, "1.0"],
      [10, "10.0"],
      [1e-10, "1e-10"],
      [1e-5, "1e-05"],
      [0.0001, "0.0001"],
      [100000, "100000.0"],
      [1e6, "1e+06"],
      [1.55555555555552e6, "1.55555555555552e+06"],
      [1e23, "1e+23"],
      [-2.5, "-2.5"],
      [Number.POSITIVE_INFINITY, "+Inf"],
    ];
    expect(cases.map(([n]) => formatCanonicalNumber(n))).toEqual(cases.map(([, s]) => s));
  });

  it("renders values as the shortest text that reads back exactly", () => {
    expect([0.1, 1 / 3, 123456789012, 1.5e-7, -0].map(formatNumber)).toEqual([
      "0.1",
      "0.3333333333333333",
      "123456789012",
      "1.5e-7",
      "-0",
    ]);
  });
});

describe.skipIf(!needs("promtool"))("promtool check metrics accepts the serializer output", () => {
  const promtool = findBinary("promtool")!;
  const check = (text: string) =>
    spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });

  it("finds nothing in the text 0.0.4 output of the meter families", () => {
    const result = check(serializePrometheusText(meterFamilies()));
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 0,
      stdout: "",
      stderr: "",
    });
  });

  // promtool (2.42 on Debian 12) reads only text 0.0.4, so the OpenMetrics output can only be fed the
  // part both formats spell alike: gauges and histograms without timestamps, _created or exemplars.
  // UNIT and # EOF lines are comments to it.
  it("finds nothing in the OpenMetrics output of the parts both formats share", () => {
    const shared = meterFamilies()
      .filter((f) => f.type === "gauge" || f.type === "histogram")
      .map((f) => ({
        ...f,
        samples: f.samples
          .filter((s) => !s.name.endsWith("_created"))
          .map(({ timestamp: _t, exemplar: _e, ...s }) => s),
      }));
    const text = serializeOpenMetrics(shared);
    expect(text).toContain("# UNIT floorsense_device_read_duration_seconds seconds\n");
    const result = check(text);
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 0,
      stdout: "",
      stderr: "",
    });
  });

  // promtool's backfill command reads OpenMetrics with Prometheus's own OpenMetrics parser, so it
  // checks the full family set (info, stateset, exemplars, _created, UNIT). It needs a timestamp on
  // every sample.
  it("reads the full OpenMetrics output with Prometheus's OpenMetrics parser (tsdb backfill)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "floorsense-om-backfill-"));
    try {
      const families = meterFamilies().map((f) => ({
        ...f,
        samples: f.samples.map((s) => ({ ...s, timestamp: 1700000000.5 })),
      }));
      const file = path.join(dir, "meter.om");
      writeFileSync(file, serializeOpenMetrics(families));
      const result = spawnSync(
        promtool,
        ["tsdb", "create-blocks-from", "openmetrics", file, path.join(dir, "blocks")],
        {
          encoding: "utf8",
        },
      );
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      // The block table: min time, max time, duration, samples, chunks, series.
      expect(result.stdout).toMatch(/ 1700000000500 +1700000000501 +1ms +26 +26 +26 /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("does report problems (the check can fail)", () => {
    const result = check("# TYPE a counter\na 1\n");
    expect(result.status).toBe(3);
    expect(`${result.stdout}${result.stderr}`).toContain('a counter metrics should have "_total" suffix');
  });
});
