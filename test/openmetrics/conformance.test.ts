import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { OpenMetricsParseError, parseOpenMetrics } from "../../openmetrics/index.js";

// The official OpenMetrics parser suite lives beside the checkout (never copied into the repo).
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const suiteDir = process.env.OPENMETRICS_TESTDATA ?? path.resolve(repoRoot, "../shared/openmetrics-testdata");
const present = existsSync(suiteDir);

interface Case {
  name: string;
  input: Buffer;
  shouldParse: boolean;
}

function loadCases(): Case[] {
  return readdirSync(suiteDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(suiteDir, entry.name, "test.json")))
    .map((entry) => {
      const spec = JSON.parse(readFileSync(path.join(suiteDir, entry.name, "test.json"), "utf8")) as {
        type: string;
        file: string;
        shouldParse: boolean;
      };
      if (spec.type !== "text") throw new Error(`${entry.name}: unsupported case type ${spec.type}`);
      return {
        name: entry.name,
        input: readFileSync(path.join(suiteDir, entry.name, spec.file)),
        shouldParse: spec.shouldParse,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

if (!present) {
  const message = `OpenMetrics conformance suite not found at ${suiteDir} (set OPENMETRICS_TESTDATA)`;
  if (process.env.CI === "true") throw new Error(`CI=true and ${message}`);
  console.warn(`SKIPPING suite: ${message}`);
}

describe.skipIf(!present)("OpenMetrics official parser suite", () => {
  const cases = present ? loadCases() : [];

  it("has all 211 cases (44 valid, 167 invalid)", () => {
    expect(cases.length).toBe(211);
    expect(cases.filter((c) => c.shouldParse).length).toBe(44);
  });

  for (const testCase of cases) {
    it(`${testCase.name} ${testCase.shouldParse ? "parses" : "is rejected"}`, () => {
      if (testCase.shouldParse) {
        expect(() => parseOpenMetrics(testCase.input)).not.toThrow();
      } else {
        let error: unknown;
        try {
          parseOpenMetrics(testCase.input);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(OpenMetricsParseError);
        const parseError = error as OpenMetricsParseError;
        expect(parseError.line).toBeGreaterThanOrEqual(1);
        expect(parseError.column).toBeGreaterThanOrEqual(1);
      }
    });
  }

  it("also agrees when given the same inputs as strings", () => {
    const disagreements = cases
      .filter((c) => {
        let parsed = true;
        try {
          parseOpenMetrics(c.input.toString("utf8"));
        } catch {
          parsed = false;
        }
        return parsed !== c.shouldParse;
      })
      .map((c) => c.name);
    expect(disagreements).toEqual([]);
  });
});
