import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BrokerSecurity } from "../../broker/security.js";
import { hashPassword } from "../../lib/mosquitto-password-file.js";

const dir = mkdtempSync(join(tmpdir(), "floorsense-broker-security-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function files(passwd: string, acl?: string) {
  const passwordFile = join(dir, `passwd-${Math.random()}`);
  writeFileSync(passwordFile, passwd);
  let aclFile: string | undefined;
  if (acl !== undefined) {
    aclFile = join(dir, `acl-${Math.random()}`);
    writeFileSync(aclFile, acl);
  }
  return { passwordFile, aclFile };
}

describe("BrokerSecurity", () => {
  const passwd = `m1:${hashPassword("pw1")}\n`;

  it.each([
    ["m1", "pw1", { ok: true }],
    ["m1", "pw2", { ok: false, reason: "bad_password" }],
    ["m1", undefined, { ok: false, reason: "missing_password" }],
    ["m2", "pw1", { ok: false, reason: "unknown_user" }],
    [undefined, undefined, { ok: false, reason: "anonymous" }],
  ])("login %s/%s: %o", (username, password, verdict) => {
    const security = new BrokerSecurity({ ...files(passwd), allowAnonymous: false });
    expect(security.checkLogin(username, password === undefined ? undefined : Buffer.from(password))).toEqual(
      verdict,
    );
  });

  it("lets anonymous clients in with allowAnonymous, but still checks named users", () => {
    const security = new BrokerSecurity({ ...files(passwd), allowAnonymous: true });
    expect(security.checkLogin(undefined, undefined)).toEqual({ ok: true });
    expect(security.checkLogin("m1", Buffer.from("nope"))).toEqual({ ok: false, reason: "bad_password" });
  });

  it("lets everyone in without a password file", () => {
    const security = new BrokerSecurity({ allowAnonymous: false });
    expect(security.checkLogin(undefined, undefined)).toEqual({ ok: true });
    expect(security.checkLogin("anyone", Buffer.from("x"))).toEqual({ ok: true });
    expect(security.allows({ clientId: "c" }, "any/topic", "write")).toBe(true);
  });

  it("keeps the previous rules when a reload finds a broken ACL file", () => {
    const { passwordFile, aclFile } = files(passwd, "user m1\ntopic write a/#\n");
    const security = new BrokerSecurity({ passwordFile, aclFile, allowAnonymous: false });
    expect(security.allows({ username: "m1", clientId: "c" }, "a/b", "write")).toBe(true);
    writeFileSync(aclFile!, "user m1\ntopic sometimes a/#\n");
    expect(() => security.reload()).toThrow(
      `invalid ACL file ${aclFile}:2: invalid access type "sometimes": expected read, write, readwrite or deny`,
    );
    expect(security.allows({ username: "m1", clientId: "c" }, "a/b", "write")).toBe(true);
  });

  it("names a missing file", () => {
    expect(() => new BrokerSecurity({ passwordFile: join(dir, "nope"), allowAnonymous: false })).toThrow(
      `cannot read password file ${join(dir, "nope")}: file not found`,
    );
  });
});
