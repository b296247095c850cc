import { describe, expect, it } from "vitest";
import { authorized, challenge } from "../../ingest-bridge/tenant-auth.js";

const bearer = { kind: "bearer", token: "0123456789abcdef0123" } as const;
const basic = { kind: "basic", username: "prom", password: "pa:ss" } as const;
const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("tenant auth", () => {
  it("accepts the tenant's bearer token only", () => {
    expect(authorized(bearer, "Bearer 0123456789abcdef0123")).toBe(true);
    expect(authorized(bearer, "bearer 0123456789abcdef0123")).toBe(true);
    expect(authorized(bearer, "Bearer 0123456789abcdef0124")).toBe(false);
    expect(authorized(bearer, "Bearer ")).toBe(false);
    expect(authorized(bearer, `Basic ${b64("x:0123456789abcdef0123")}`)).toBe(false);
    expect(authorized(bearer, undefined)).toBe(false);
  });

  it("accepts basic auth with user and password (the password may hold a colon)", () => {
    expect(authorized(basic, `Basic ${b64("prom:pa:ss")}`)).toBe(true);
    expect(authorized(basic, `Basic ${b64("prom:pa:sx")}`)).toBe(false);
    expect(authorized(basic, `Basic ${b64("other:pa:ss")}`)).toBe(false);
    expect(authorized(basic, `Basic ${b64("prom")}`)).toBe(false);
    expect(authorized(basic, "Bearer pa:ss")).toBe(false);
  });

  it("refuses everything for a tenant without credentials", () => {
    expect(authorized(undefined, "Bearer 0123456789abcdef0123")).toBe(false);
  });

  it("challenges with the scheme the tenant uses", () => {
    expect(challenge(basic, "acme")).toBe('Basic realm="floorsense tenant acme", charset="UTF-8"');
    expect(challenge(bearer, "acme")).toBe('Bearer realm="floorsense tenant acme"');
    expect(challenge(undefined, "nobody")).toBe('Bearer realm="floorsense tenant nobody"');
  });
});
