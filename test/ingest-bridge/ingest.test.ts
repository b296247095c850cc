import { describe, expect, it } from "vitest";
import { preparePayload } from "../../ingest-bridge/ingest.js";
import { keyMatches, seriesKey } from "../../ingest-bridge/series-key.js";
import { parseOpenMetrics } from "../../openmetrics/index.js";

const payload = (text: string) => Buffer.from(text);

describe("seriesKey", () => {
  it("sorts labels and escapes values as the exposition needs them", () => {
    expect(seriesKey("x", { b: "2", a: 'q"\\\n' })).toBe('x{a="q\\"\\\\\\n",b="2",');
    expect(seriesKey("x", {})).toBe("x{");
  });

  it("matches a sample against a stored key exactly as building the key would", () => {
    const cases: Array<[string, Record<string, string>]> = [
      ["x", {}],
      ["x", { phase: "L1" }],
      ["x_total", { phase: "L1" }],
      ["x_created", { phase: "L1" }],
      ["x", { phase: "L11" }],
      ["x", { phasex: "L1" }],
      ["x", { a: "1", b: "2" }],
      ["x", { b: "2", a: "1" }],
      ["x", { a: "1", b: "2", c: "" }],
      ["x", { a: 'q"' }],
      ["x", { a: "q\\" }],
      ["x", { a: "q\\\\" }],
      ["x", { a: "line\nbreak" }],
      ["x", { s: '{",b="x' }],
      ["x_sum", {}],
      ["x_bucket", { le: "1" }],
      ["x_gcount", { le: "1" }],
    ];
    // Every key of family x against every sample of family x.
    for (const [storedName, storedLabels] of cases) {
      const key = seriesKey(storedName, storedLabels);
      for (const [name, labels] of cases) {
        expect(keyMatches(key, "x", name, labels), `${key} vs ${name} ${JSON.stringify(labels)}`).toBe(
          key === seriesKey(name, labels),
        );
      }
    }
  });
});

describe("preparePayload", () => {
  it("parses a valid payload into families with timestamps in seconds", () => {
    const prepared = preparePayload(
      payload('# TYPE v_volts gauge\n# UNIT v_volts volts\nv_volts{phase="L1"} 230.5 1700000000.25\n# EOF\n'),
      1000,
      parseOpenMetrics,
    );
    expect(prepared).toEqual({
      ok: true,
      samples: 1,
      families: [
        {
          name: "v_volts",
          type: "gauge",
          unit: "volts",
          samples: [{ name: "v_volts", labels: { phase: "L1" }, value: 230.5, timestamp: 1700000000.25 }],
        },
      ],
    });
  });

  it("refuses a payload over the size limit before parsing it", () => {
    expect(preparePayload(payload("x 1\n# EOF\n"), 5, parseOpenMetrics)).toEqual({
      ok: false,
      reason: "too_large",
      message: "payload of 10 bytes exceeds limits.max_payload_bytes (5)",
    });
  });

  it("refuses an invalid exposition with the parser's position and message", () => {
    const result = preparePayload(payload("x 1\n"), 1000, parseOpenMetrics);
    expect(result).toEqual({
      ok: false,
      reason: "parse_error",
      message: 'line 2, column 1: the exposition must end with a "# EOF" line',
    });
  });

  it.each(["tenant", "site", "machine", "device"])("refuses a payload that sets the %s label", (label) => {
    const result = preparePayload(payload(`a 1\nb{${label}="x"} 2\n# EOF\n`), 1000, parseOpenMetrics);
    expect(result).toEqual({
      ok: false,
      reason: "identity_label",
      message: `sample b carries label "${label}", which only the topic may set`,
    });
  });
});
