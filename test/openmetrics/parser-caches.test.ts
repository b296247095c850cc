import { describe, expect, it } from "vitest";
import { OpenMetricsParseError, parseOpenMetrics } from "../../openmetrics/index.js";

// The parser keeps names, label names and HELP texts of earlier calls to find them again quickly.
// These tests make sure those caches never change what a later call accepts or returns.

function errorOf(input: string): { line: number; column: number; message: string } {
  try {
    parseOpenMetrics(input);
  } catch (error) {
    if (!(error instanceof OpenMetricsParseError)) throw error;
    return { line: error.line, column: error.column, message: error.message };
  }
  throw new Error(`parsed without error: ${JSON.stringify(input)}`);
}

describe("parseOpenMetrics across calls", () => {
  it("reads names that extend, shorten or reorder the previous exposition's names", () => {
    parseOpenMetrics(
      '# TYPE a gauge\n# HELP a First.\na{x="1"} 1 5\n# TYPE ab gauge\nab 2\n# TYPE c counter\nc_total 3\n# EOF\n',
    );
    const families = parseOpenMetrics(
      '# TYPE ab gauge\n# HELP ab First!\nab{y="1"} 1 5\n# TYPE a_b gauge\na_b 2\n# TYPE c_total gauge\nc_total 4\n# EOF\n',
    );
    expect(families).toEqual([
      {
        name: "ab",
        type: "gauge",
        help: "First!",
        samples: [{ name: "ab", labels: { y: "1" }, value: 1, timestamp: 5 }],
      },
      { name: "a_b", type: "gauge", samples: [{ name: "a_b", labels: {}, value: 2 }] },
      { name: "c_total", type: "gauge", samples: [{ name: "c_total", labels: {}, value: 4 }] },
    ]);
  });

  it("still refuses reserved names after the same name without the underscore was seen", () => {
    parseOpenMetrics('# TYPE m gauge\nm{a="1"} 1\n# EOF\n');
    expect(errorOf("# TYPE _m gauge\n_m 1\n# EOF\n")).toEqual({
      line: 1,
      column: 8,
      message: 'metric name "_m" starts with "_"; such names are reserved',
    });
    expect(errorOf('m{_a="1"} 1\n# EOF\n')).toEqual({
      line: 1,
      column: 3,
      message: 'label name "_a" starts with "_"; such names are reserved',
    });
  });

  it("still refuses a unit that is not the name's suffix after a matching one was seen", () => {
    parseOpenMetrics("# TYPE m_volts gauge\n# UNIT m_volts volts\nm_volts 1\n# EOF\n");
    expect(errorOf("# TYPE mvolts gauge\n# UNIT mvolts volts\nmvolts 1\n# EOF\n")).toEqual({
      line: 2,
      column: 15,
      message: 'unit "volts" is not a suffix of "mvolts"; the family name must end in "_volts"',
    });
  });

  it("returns the right names when more distinct names arrive than the cache holds", () => {
    const count = 10_000;
    let text = "";
    for (let i = 0; i < count; i++) text += `n${i}{l${i % 7}="v"} ${i}\n`;
    const families = parseOpenMetrics(`${text}# EOF\n`);
    expect(families).toHaveLength(count);
    for (let i = 0; i < count; i++) {
      expect(families[i]!.name).toBe(`n${i}`);
      expect(families[i]!.samples[0]).toEqual({ name: `n${i}`, labels: { [`l${i % 7}`]: "v" }, value: i });
    }
  });
});
