import { describe, expect, it } from "vitest";
import { deviceKey, parseTopic } from "../../ingest-bridge/topic.js";

describe("parseTopic", () => {
  it("reads the identity of a readings topic", () => {
    expect(parseTopic("floorsense/v1/acme/plant-1/press_7/sdm630")).toEqual({
      kind: "readings",
      identity: { tenant: "acme", site: "plant-1", machine: "press_7", device: "sdm630" },
    });
  });

  it("recognises the machine's status topic", () => {
    expect(parseTopic("floorsense/v1/acme/plant-1/press_7/status")).toEqual({
      kind: "status",
      tenant: "acme",
      site: "plant-1",
      machine: "press_7",
    });
  });

  it.each([
    ["other/v1/a/b/c/d", "topic does not start with floorsense/v1/"],
    ["floorsense/v1/a/b/c", "expected floorsense/v1/{tenant}/{site}/{machine}/{device}"],
    ["floorsense/v1/a/b/c/d/e", "expected floorsense/v1/{tenant}/{site}/{machine}/{device}"],
    ["floorsense/v1/Acme/b/c/d", 'tenant "Acme" is not a valid name'],
    ["floorsense/v1/a//c/d", 'site "" is not a valid name'],
    ["floorsense/v1/a/b/-c/d", 'machine "-c" is not a valid name'],
    [`floorsense/v1/a/b/c/${"d".repeat(64)}`, `device "${"d".repeat(64)}" is not a valid name`],
  ])("refuses %s", (topic, reason) => {
    expect(parseTopic(topic)).toEqual({ kind: "invalid", reason });
  });

  it("keys devices by site, machine and device", () => {
    expect(deviceKey({ tenant: "t", site: "s", machine: "m", device: "d" })).toBe("s/m/d");
  });
});
