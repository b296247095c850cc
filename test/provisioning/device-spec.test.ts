import { describe, expect, it } from "vitest";
import { parseDeviceSpec } from "../../provisioning/device-spec.js";
import { normaliseName } from "../../provisioning/names.js";

describe("parseDeviceSpec", () => {
  it.each([
    [
      "main=sdm630@rtu:/dev/ttyUSB0:1",
      { name: "main", profile: "sdm630", connection: { transport: "rtu", port: "/dev/ttyUSB0" }, unitId: 1 },
    ],
    [
      "spindle=sdm120@tcp:10.0.0.5:502:3",
      {
        name: "spindle",
        profile: "sdm120",
        connection: { transport: "tcp", host: "10.0.0.5", port: 502 },
        unitId: 3,
      },
    ],
    [
      "gw=sdm72@rtu-over-tcp:gateway.local:4001:12",
      {
        name: "gw",
        profile: "sdm72",
        connection: { transport: "rtu-over-tcp", host: "gateway.local", port: 4001 },
        unitId: 12,
      },
    ],
    [
      "v6=sdm630@tcp:[fd00::5]:502:1",
      {
        name: "v6",
        profile: "sdm630",
        connection: { transport: "tcp", host: "fd00::5", port: 502 },
        unitId: 1,
      },
    ],
    [
      "byid=sdm630@rtu:/dev/serial/by-id/usb-FTDI:if00:9",
      {
        name: "byid",
        profile: "sdm630",
        connection: { transport: "rtu", port: "/dev/serial/by-id/usb-FTDI:if00" },
        unitId: 9,
      },
    ],
  ])("%s", (spec, expected) => {
    expect(parseDeviceSpec(spec)).toEqual(expected);
  });

  it.each([
    "main",
    "main=sdm630",
    "main=sdm630@udp:x:1",
    "=sdm630@rtu:/dev/ttyUSB0:1",
    "main=sdm630@rtu:1",
  ])("refuses %j", (spec) => {
    expect(() => parseDeviceSpec(spec)).toThrow(
      `invalid --device ${JSON.stringify(spec)}: expected NAME=PROFILE@`,
    );
  });
});

describe("normaliseName", () => {
  it("folds case and says so", () => {
    expect(normaliseName("tenant", "ACME")).toEqual({
      name: "acme",
      note: 'tenant "ACME" is written as "acme" (names are lower case)',
    });
    expect(normaliseName("site", "plant-1")).toEqual({ name: "plant-1" });
  });

  it.each(["a\u0000b", "a\nb", "ümlaut", "a:b", "a*b"])("refuses %j", (name) => {
    expect(() => normaliseName("machine", name)).toThrow(`invalid machine name ${JSON.stringify(name)}`);
  });
});
