import { describe, expect, it } from "vitest";
import { buildCycle, emptyErrorTotals } from "../../exporter/cycle-builder.js";
import type { DeviceReading } from "../../exporter/device-reader.js";
import { loadProfile } from "../../exporter/profile.js";
import { parseOpenMetrics, serializeOpenMetrics } from "../../openmetrics/index.js";

const sdm630 = loadProfile("sdm630");
const generic = loadProfile("generic");
const register = (profile: typeof sdm630, address: number, fc = 4) =>
  profile.registers.find((r) => r.address === address && r.function === fc)!;

describe("building a cycle's exposition", () => {
  it("stamps each value with its acquisition time and leaves out what failed", () => {
    const reading: DeviceReading = {
      device: "main",
      startedAtMs: 1_700_000_000_000,
      durationMs: 250,
      up: true,
      values: [
        { register: register(sdm630, 0x0000), value: 230.5, timestampMs: 1_700_000_000_100 },
        { register: register(sdm630, 0x0048), value: 18_000_000, timestampMs: 1_700_000_000_200 },
      ],
      errors: [{ kind: "exception", message: "Modbus exception 4", code: 4 }],
    };
    const totals = emptyErrorTotals();
    const text = serializeOpenMetrics(buildCycle(reading, sdm630, { serial: "42" }, totals));
    expect(text).toBe(
      [
        "# TYPE floorsense_meter_voltage_volts gauge",
        "# UNIT floorsense_meter_voltage_volts volts",
        "# HELP floorsense_meter_voltage_volts Line to neutral voltage.",
        'floorsense_meter_voltage_volts{serial="42",phase="L1"} 230.5 1700000000.1',
        "# TYPE floorsense_meter_energy_imported_joules counter",
        "# UNIT floorsense_meter_energy_imported_joules joules",
        "# HELP floorsense_meter_energy_imported_joules Active energy imported.",
        'floorsense_meter_energy_imported_joules_total{serial="42"} 18000000 1700000000.2',
        "# TYPE floorsense_device_up gauge",
        "# HELP floorsense_device_up 1 when the device answered this poll cycle, 0 when it timed out or the link was down.",
        'floorsense_device_up{serial="42"} 1 1700000000',
        "# TYPE floorsense_device_read_duration_seconds gauge",
        "# UNIT floorsense_device_read_duration_seconds seconds",
        "# HELP floorsense_device_read_duration_seconds Time the poll cycle of this device took on the bus.",
        'floorsense_device_read_duration_seconds{serial="42"} 0.25 1700000000',
        "# TYPE floorsense_device_read_errors counter",
        "# HELP floorsense_device_read_errors Failed reads of this device since the exporter started, by kind and Modbus exception code.",
        'floorsense_device_read_errors_total{serial="42",kind="timeout",code=""} 0 1700000000',
        'floorsense_device_read_errors_total{serial="42",kind="crc",code=""} 0 1700000000',
        'floorsense_device_read_errors_total{serial="42",kind="exception",code="1"} 0 1700000000',
        'floorsense_device_read_errors_total{serial="42",kind="exception",code="2"} 0 1700000000',
        'floorsense_device_read_errors_total{serial="42",kind="exception",code="3"} 0 1700000000',
        'floorsense_device_read_errors_total{serial="42",kind="exception",code="4"} 1 1700000000',
        'floorsense_device_read_errors_total{serial="42",kind="exception",code="6"} 0 1700000000',
        'floorsense_device_read_errors_total{serial="42",kind="disconnect",code=""} 0 1700000000',
        'floorsense_device_read_errors_total{serial="42",kind="other",code=""} 0 1700000000',
        "# EOF",
        "",
      ].join("\n"),
    );
    expect(totals.kinds).toEqual({ timeout: 0, crc: 0, disconnect: 0, other: 0 });
    expect([...totals.exceptions]).toEqual([
      ["1", 0],
      ["2", 0],
      ["3", 0],
      ["4", 1],
      ["6", 0],
    ]);
    expect(() => parseOpenMetrics(text)).not.toThrow();
  });

  it("counts errors across cycles and drops values OpenMetrics cannot carry", () => {
    const totals = emptyErrorTotals();
    const down: DeviceReading = {
      device: "main",
      startedAtMs: 1_000,
      durationMs: 500,
      up: false,
      values: [],
      errors: [{ kind: "timeout", message: "Timed out" }],
    };
    buildCycle(down, sdm630, {}, totals);
    const families = buildCycle(
      {
        ...down,
        up: true,
        errors: [],
        values: [
          { register: register(sdm630, 0x0048), value: -5, timestampMs: 2_000 },
          { register: register(sdm630, 0x0046), value: Number.NaN, timestampMs: 2_000 },
        ],
      },
      sdm630,
      {},
      totals,
    );
    expect(families.map((f) => f.name)).toEqual([
      "floorsense_device_up",
      "floorsense_device_read_duration_seconds",
      "floorsense_device_read_errors",
    ]);
    expect(totals.kinds).toEqual({ timeout: 1, crc: 0, disconnect: 0, other: 2 });
  });

  it("counts exceptions by code, adding a series for a code first seen and keeping it", () => {
    const totals = emptyErrorTotals();
    const cycle = (errors: DeviceReading["errors"], startedAtMs: number) =>
      buildCycle(
        { device: "main", startedAtMs, durationMs: 5, up: true, values: [], errors },
        sdm630,
        {},
        totals,
      )
        .find((f) => f.name === "floorsense_device_read_errors")!
        .samples.map((s) => `${s.labels.kind}/${s.labels.code}=${s.value}`);
    expect(
      cycle(
        [
          { kind: "exception", message: "Gateway target device failed to respond", code: 11 },
          { kind: "exception", message: "Illegal data address", code: 2 },
          { kind: "exception", message: "no code known" },
          { kind: "crc", message: "CRC error" },
        ],
        1_000,
      ),
    ).toEqual([
      "timeout/=0",
      "crc/=1",
      "exception/=1",
      "exception/1=0",
      "exception/2=1",
      "exception/3=0",
      "exception/4=0",
      "exception/6=0",
      "exception/11=1",
      "disconnect/=0",
      "other/=0",
    ]);
    expect(cycle([{ kind: "exception", message: "Illegal data address", code: 2 }], 2_000)).toContain(
      "exception/2=2",
    );
    expect(cycle([], 3_000)).toContain("exception/11=1");
  });

  it("publishes strings as info metrics and bits as numbers", () => {
    const families = buildCycle(
      {
        device: "plc",
        startedAtMs: 5_000,
        durationMs: 10,
        up: true,
        values: [
          { register: register(generic, 40, 3), value: "SN-0042", timestampMs: 5_000 },
          { register: register(generic, 0, 2), value: 1, timestampMs: 5_000 },
        ],
        errors: [],
      },
      generic,
      {},
      emptyErrorTotals(),
    );
    const text = serializeOpenMetrics(families);
    expect(text).toContain("# TYPE floorsense_device_serial info\n");
    expect(text).toContain('floorsense_device_serial_info{serial="SN-0042"} 1 5\n');
    expect(text).toContain("floorsense_device_alarm 1 5\n");
    expect(() => parseOpenMetrics(text)).not.toThrow();
  });
});
