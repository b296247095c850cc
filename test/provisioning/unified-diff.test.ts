import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { unifiedDiff } from "../../provisioning/unified-diff.js";
import { needs } from "../support/binaries.js";

const dir = mkdtempSync(join(tmpdir(), "floorsense-diff-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (n: number, prefix = "line") => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`);

const CASES: Array<[string, string, string]> = [
  [
    "one line changed in the middle",
    `${lines(20).join("\n")}\n`,
    `${lines(20)
      .map((l) => (l === "line 10" ? "line ten" : l))
      .join("\n")}\n`,
  ],
  ["a line appended", "a\nb\n", "a\nb\nc\n"],
  ["the first line removed", "a\nb\nc\n", "b\nc\n"],
  [
    "two distant changes (two hunks)",
    `${lines(30).join("\n")}\n`,
    `${lines(30)
      .map((l) => (l === "line 3" || l === "line 27" ? `${l}!` : l))
      .join("\n")}\n`,
  ],
  [
    "two close changes (one hunk)",
    `${lines(12).join("\n")}\n`,
    `${lines(12)
      .map((l) => (l === "line 4" || l === "line 9" ? `${l}!` : l))
      .join("\n")}\n`,
  ],
  ["a block replaced", "a\nb\nc\nd\ne\n", "a\nx\ny\nz\ne\n"],
  ["everything new", "", "x\ny\n"],
];

describe.skipIf(!needs("diff"))("unifiedDiff matches GNU diff -u", () => {
  it.each(CASES)("%s", (_name, before, after) => {
    writeFileSync(join(dir, "a"), before);
    writeFileSync(join(dir, "b"), after);
    let expected: string;
    try {
      expected = execFileSync(
        "diff",
        ["-u", "--label", "a/f", "--label", "b/f", join(dir, "a"), join(dir, "b")],
        {
          encoding: "utf8",
        },
      );
    } catch (error) {
      expected = (error as { stdout: string }).stdout;
    }
    expect(unifiedDiff("f", before, after)).toBe(expected);
  });
});

describe("unifiedDiff", () => {
  it("is empty for equal texts and uses /dev/null for missing files", () => {
    expect(unifiedDiff("f", "a\n", "a\n")).toBe("");
    expect(unifiedDiff("f", undefined, "a\n")).toBe("--- /dev/null\n+++ b/f\n@@ -0,0 +1 @@\n+a\n");
    expect(unifiedDiff("f", "a\n", undefined)).toBe("--- a/f\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n");
  });
});
