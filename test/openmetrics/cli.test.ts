import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";

// Spawns the built CLI (bin/floorsense.js → dist/); `npm test` builds first.
const goldenDir = new URL("./golden/", import.meta.url);
const goldenPath = (name: string) => new URL(name, goldenDir).pathname;
const dir = mkdtempSync(path.join(tmpdir(), "floorsense-om-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NEGATIVE_COUNTER = "# TYPE foo counter\nfoo_total -1\n# EOF\n";
const NEGATIVE_COUNTER_FINDING = ':2:11: counter "foo" sample "foo_total" has negative value -1\n';

describe("floorsense openmetrics lint", () => {
  it("exits 0 and prints nothing on stdout for a valid file", async () => {
    const file = goldenPath("meter.openmetrics.metrics");
    const result = await runCli(["openmetrics", "lint", file]);
    expect(result).toEqual({ code: 0, stdout: "", stderr: `${file}: ok (9 families, 26 samples)\n` });
  });

  it("reads standard input when no file is named", async () => {
    const result = await runCli(["openmetrics", "lint"], { stdin: NEGATIVE_COUNTER });
    expect(result).toEqual({ code: 1, stdout: `<stdin>${NEGATIVE_COUNTER_FINDING}`, stderr: "" });
  });

  it("reads standard input for -", async () => {
    const result = await runCli(["openmetrics", "lint", "-"], { stdin: "a 1\n# EOF\n" });
    expect(result).toEqual({ code: 0, stdout: "", stderr: "<stdin>: ok (1 families, 1 samples)\n" });
  });

  it("names the file in findings for an invalid file", async () => {
    const file = path.join(dir, "bad.metrics");
    writeFileSync(file, NEGATIVE_COUNTER);
    const result = await runCli(["openmetrics", "lint", file]);
    expect(result).toEqual({ code: 1, stdout: `${file}${NEGATIVE_COUNTER_FINDING}`, stderr: "" });
  });

  it("reports invalid UTF-8 with its position", async () => {
    const result = await runCli(["openmetrics", "lint"], {
      stdin: Buffer.concat([Buffer.from('a{x="'), Buffer.from([0xff]), Buffer.from('"} 1\n# EOF\n')]),
    });
    expect(result).toEqual({
      code: 1,
      stdout: "<stdin>:1:6: invalid UTF-8 (byte 0xff); expositions must be UTF-8 text\n",
      stderr: "",
    });
  });

  it("exits 2 when the file cannot be read", async () => {
    const file = path.join(dir, "missing.metrics");
    const result = await runCli(["openmetrics", "lint", file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `floorsense openmetrics: cannot read ${file}: ENOENT: no such file or directory, open '${file}'\n`,
    );
  });

  it("reports naming-convention problems with --strict-names, at the family's first line", async () => {
    const stdin =
      "# TYPE reqTime_milliseconds gauge\nreqTime_milliseconds 1\n# TYPE x_total counter\n# HELP x_total h\nx_total_total 1\n# EOF\n";
    const plain = await runCli(["openmetrics", "lint"], { stdin });
    expect(plain.code).toBe(0);
    const strict = await runCli(["openmetrics", "lint", "--strict-names"], { stdin });
    expect(strict).toEqual({
      code: 1,
      stdout: [
        '<stdin>:1:1: "reqTime_milliseconds": metric names should be snake_case',
        '<stdin>:1:1: "reqTime_milliseconds": no HELP text',
        '<stdin>:1:1: "reqTime_milliseconds": use the base unit seconds instead of milliseconds',
        '<stdin>:3:1: counter "x_total": name the family without "_total"; its sample is then "x_total_total"',
        "",
      ].join("\n"),
      stderr: "",
    });
    const golden = await runCli([
      "openmetrics",
      "lint",
      "--strict-names",
      goldenPath("meter.openmetrics.metrics"),
    ]);
    expect(golden.code).toBe(0);
  });

  it("checks text 0.0.4 with --format text", async () => {
    const result = await runCli([
      "openmetrics",
      "lint",
      "--format",
      "text",
      goldenPath("meter.text.metrics"),
    ]);
    expect(result.code).toBe(0);
    const invalid = await runCli(["openmetrics", "lint", "--format", "text"], { stdin: "a 1 1.5\n" });
    expect(invalid).toEqual({
      code: 1,
      stdout: '<stdin>:1:5: invalid timestamp "1.5"; text 0.0.4 timestamps are integer milliseconds\n',
      stderr: "",
    });
  });
});

describe("floorsense openmetrics convert", () => {
  it("converts OpenMetrics to text 0.0.4", async () => {
    const result = await runCli([
      "openmetrics",
      "convert",
      "--to",
      "text",
      goldenPath("meter.openmetrics.metrics"),
    ]);
    expect(result).toEqual({
      code: 0,
      stdout: readFileSync(goldenPath("meter.text.metrics"), "utf8"),
      stderr: "",
    });
  });

  it("converts text 0.0.4 from standard input to OpenMetrics", async () => {
    const stdin =
      '# HELP x_total Things done.\n# TYPE x_total counter\nx_total{a="1"} 3 1500\n\n# a comment\ny 2\n';
    const result = await runCli(["openmetrics", "convert", "--to", "openmetrics", "-"], { stdin });
    expect(result).toEqual({
      code: 0,
      stdout: '# TYPE x counter\n# HELP x Things done.\nx_total{a="1"} 3 1.5\n# TYPE y unknown\ny 2\n# EOF\n',
      stderr: "",
    });
  });

  it("reports input errors on stderr with exit 1", async () => {
    const result = await runCli(["openmetrics", "convert", "--to", "text"], { stdin: NEGATIVE_COUNTER });
    expect(result).toEqual({ code: 1, stdout: "", stderr: `<stdin>${NEGATIVE_COUNTER_FINDING}` });
  });

  it("refuses to write text 0.0.4 that is not valid OpenMetrics", async () => {
    const result = await runCli(["openmetrics", "convert", "--to", "openmetrics"], {
      stdin: "# TYPE a counter\na NaN\n",
    });
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr:
        '<stdin>: cannot be written as valid OpenMetrics: counter "a" sample "a_total" has value NaN; it counts events and must be a number (output line 2)\n',
    });
  });

  it("exits 2 on an unknown --to value", async () => {
    const result = await runCli(["openmetrics", "convert", "--to", "json"], { stdin: "" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'Invalid values:\n  Argument: to, Given: "json", Choices: "text", "openmetrics"',
    );
  });
});
