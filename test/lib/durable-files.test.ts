import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../lib/durable-files.js";

const dir = mkdtempSync(join(tmpdir(), "floorsense-atomic-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("writeFileAtomic", () => {
  it("replaces the file whole, with the requested mode, leaving no temporary file", () => {
    const file = join(dir, "a", "secret.txt");
    writeFileAtomic(file, "one\n", 0o600);
    writeFileAtomic(file, "two\n", 0o600);
    expect(readFileSync(file, "utf8")).toBe("two\n");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, "a"))).toEqual(["secret.txt"]);
  });

  it("tightens the mode of a file that was readable by others", () => {
    const file = join(dir, "loose.txt");
    writeFileSync(file, "x", { mode: 0o644 });
    writeFileAtomic(file, "y", 0o600);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("cleans up and keeps what was there when the rename fails", () => {
    // A folder where the file should go makes the final rename fail after the data was written.
    const target = join(dir, "occupied");
    mkdirSync(target);
    writeFileSync(join(target, "keep"), "kept\n");
    expect(() => writeFileAtomic(target, "new\n")).toThrow();
    expect(readFileSync(join(target, "keep"), "utf8")).toBe("kept\n");
    expect(readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });
});
