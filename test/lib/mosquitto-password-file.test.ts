import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  decodePasswordHash,
  hashPassword,
  parsePasswordFile,
  upsertPasswordLine,
  verifyPassword,
} from "../../lib/mosquitto-password-file.js";
import { needs } from "../support/binaries.js";

// Lines written by the real `mosquitto_passwd` 2.0.11 (Debian), pasted verbatim.
const PBKDF2_LINE =
  "alice:$7$101$hs/wgzsy0AdckmSr$Irp/DkU+MqogqP2XHRZAIR5JzTVFaPna/87is9rNxZsMnBsi1ny5xcePp+yS5f4CQFXdkrhbaLNDfywpSjsnvQ==";
const SHA512_LINE =
  "bob:$6$mIjsmvrt0ndpWc6d$D2sn+9c5UHdDTn5FM7JF7z45omtNb2WJcSzR0wCy4dAcTO52s/naKldnrluz+JrTVaBFNXocPm3hwt/bSbNpKw==";

describe("Mosquitto password files", () => {
  it("verifies a $7$ (PBKDF2-SHA512) line written by mosquitto_passwd", () => {
    const { entries, warnings } = parsePasswordFile(`${PBKDF2_LINE}\n`);
    expect(warnings).toEqual([]);
    const alice = entries.get("alice")!;
    expect(alice.hash.type).toBe("sha512-pbkdf2");
    expect(alice.hash.type === "sha512-pbkdf2" && alice.hash.iterations).toBe(101);
    expect(verifyPassword("secret", alice.hash)).toBe(true);
    expect(verifyPassword("Secret", alice.hash)).toBe(false);
    expect(verifyPassword("", alice.hash)).toBe(false);
  });

  it("verifies a $6$ (salted SHA-512) line written by mosquitto_passwd -H sha512", () => {
    const bob = parsePasswordFile(SHA512_LINE).entries.get("bob")!;
    expect(bob.hash.type).toBe("sha512");
    expect(verifyPassword("hunter2", bob.hash)).toBe(true);
    expect(verifyPassword("hunter3", bob.hash)).toBe(false);
  });

  it("hashes in the mosquitto_passwd format: 101 iterations, 12-byte salt, 64-byte hash", () => {
    const salt = Buffer.from("hs/wgzsy0AdckmSr", "base64");
    expect(hashPassword("secret", { salt })).toBe(PBKDF2_LINE.slice("alice:".length));
    const random = hashPassword("pw");
    expect(random).toMatch(/^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    expect(hashPassword("pw")).not.toBe(random);
  });

  it("skips comments and lines without a colon, and warns about entries Mosquitto drops", () => {
    const text = [
      "# users",
      "no-colon-here",
      PBKDF2_LINE,
      "carol:",
      "dave:$5$abc$def",
      "erin:$7$0$hs/wgzsy0AdckmSr$Irp/DkU+MqogqP2XHRZAIR5JzTVFaPna/87is9rNxZsMnBsi1ny5xcePp+yS5f4CQFXdkrhbaLNDfywpSjsnvQ==",
      "frank:$7$101$c2hvcnQ=$Irp/DkU+MqogqP2XHRZAIR5JzTVFaPna/87is9rNxZsMnBsi1ny5xcePp+yS5f4CQFXdkrhbaLNDfywpSjsnvQ==",
      "",
    ].join("\n");
    const { entries, warnings } = parsePasswordFile(text);
    expect([...entries.keys()]).toEqual(["alice"]);
    expect(warnings).toEqual([
      { line: 4, username: "carol", message: "missing password hash, entry ignored" },
      {
        line: 5,
        username: "dave",
        message: "invalid password hash type (expected $6$ or $7$), entry ignored",
      },
      { line: 6, username: "erin", message: "invalid hash iterations, entry ignored" },
      { line: 7, username: "frank", message: "unable to decode password salt (12 bytes), entry ignored" },
    ]);
  });

  it("uses the later line when a user appears twice", () => {
    const second = `alice:${hashPassword("other")}`;
    const { entries, warnings } = parsePasswordFile(`${PBKDF2_LINE}\n${second}\n`);
    expect(verifyPassword("other", entries.get("alice")!.hash)).toBe(true);
    expect(warnings).toEqual([
      { line: 1, username: "alice", message: "duplicate user, line 2 is used instead" },
    ]);
  });

  it("rejects hashes of the wrong length", () => {
    expect(decodePasswordHash("$7$101$hs/wgzsy0AdckmSr$AAAA")).toBe(
      "unable to decode password hash (64 bytes)",
    );
    expect(decodePasswordHash("$7$101$hs/wgzsy0AdckmSr")).toBe(
      "invalid password hash (expected salt and hash fields)",
    );
  });

  it("replaces, appends and removes one user's line, keeping the others", () => {
    const start = `# keep me\n${PBKDF2_LINE}\n${SHA512_LINE}\n`;
    expect(upsertPasswordLine(start, "bob", "$7$X")).toBe(`# keep me\n${PBKDF2_LINE}\nbob:$7$X\n`);
    expect(upsertPasswordLine(start, "zed", "$7$Y")).toBe(`${start}zed:$7$Y\n`);
    expect(upsertPasswordLine(start, "alice", undefined)).toBe(`# keep me\n${SHA512_LINE}\n`);
    expect(upsertPasswordLine("", "a", "$7$Z")).toBe("a:$7$Z\n");
    expect(() => upsertPasswordLine("", "a:b", "$7$Z")).toThrow(
      `cannot write password file entry "a:b": user name must not contain ':' or line breaks`,
    );
  });
});

describe.skipIf(!needs("mosquitto_passwd"))("against the real mosquitto_passwd", () => {
  const dir = mkdtempSync(join(tmpdir(), "floorsense-passwd-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("accepts what mosquitto_passwd writes for a fresh salt", () => {
    const file = join(dir, "passwd");
    execFileSync("mosquitto_passwd", ["-c", "-b", file, "machine-1", "s3cr3t:with$odd chars"]);
    execFileSync("mosquitto_passwd", ["-H", "sha512", "-b", file, "legacy", "old"]);
    const { entries, warnings } = parsePasswordFile(readFileSync(file, "utf8"));
    expect(warnings).toEqual([]);
    expect(verifyPassword("s3cr3t:with$odd chars", entries.get("machine-1")!.hash)).toBe(true);
    expect(verifyPassword("s3cr3t", entries.get("machine-1")!.hash)).toBe(false);
    expect(verifyPassword("old", entries.get("legacy")!.hash)).toBe(true);
  });
});
