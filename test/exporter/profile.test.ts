import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listProfiles, loadProfile, parseProfile } from "../../exporter/profile.js";

const head = [
  "profile: t",
  "manufacturer: x",
  "model: x",
  "source: test",
  "max_registers_per_request: 50",
  "defaults: { function: 4, type: float32 }",
  "metrics:",
  "  floorsense_meter_voltage_volts: { type: gauge, unit: volts, help: V }",
  "  floorsense_meter_energy_imported_joules_total: { type: counter, unit: joules, help: E }",
  "registers:",
];
const profileWith = (...registers: string[]) => [...head, ...registers].join("\n");
const errorOf = (text: string) => {
  try {
    parseProfile("p.yaml", text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the profile to be rejected");
};

describe("shipped profiles", () => {
  it("lists every profile with its register count", () => {
    expect(listProfiles().map((p) => [p.name, p.registers])).toEqual([
      ["generic", 7],
      ["janitza-b23", 20],
      ["sdm120", 13],
      ["sdm220", 8],
      ["sdm630", 68],
      ["sdm72", 27],
    ]);
  });

  it("maps the SDM630 onto the catalogue names with base-unit scales", () => {
    const sdm630 = loadProfile("sdm630");
    const at = (address: number) => sdm630.registers.find((r) => r.address === address)!;
    expect(at(0x0000)).toMatchObject({
      metric: "floorsense_meter_voltage_volts",
      labels: { phase: "L1" },
      scale: 1,
    });
    expect(at(0x0004)).toMatchObject({ metric: "floorsense_meter_voltage_volts", labels: { phase: "L3" } });
    expect(at(0x0034)).toMatchObject({ metric: "floorsense_meter_system_power_watts", labels: {} });
    expect(at(0x0048)).toMatchObject({
      metric: "floorsense_meter_energy_imported_joules_total",
      scale: 3.6e6,
    });
    expect(at(0x004a)).toMatchObject({
      metric: "floorsense_meter_energy_exported_joules_total",
      scale: 3.6e6,
    });
    expect(at(0x00ea)).toMatchObject({
      metric: "floorsense_meter_voltage_thd_ratio",
      labels: { phase: "L1" },
      scale: 0.01,
    });
    expect(at(0x00f0)).toMatchObject({
      metric: "floorsense_meter_current_thd_ratio",
      labels: { phase: "L1" },
      scale: 0.01,
    });
    expect(at(0x00c8)).toMatchObject({
      metric: "floorsense_meter_line_voltage_volts",
      labels: { phases: "L1-L2" },
    });
    expect(at(0x0046)).toMatchObject({
      metric: "floorsense_meter_frequency_hertz",
      function: 4,
      type: "float32",
      order: "ABCD",
    });
    expect(sdm630.metrics.get("floorsense_meter_energy_imported_joules_total")).toMatchObject({
      family: "floorsense_meter_energy_imported_joules",
      type: "counter",
      unit: "joules",
    });
  });

  it("has every register of the reference table", () => {
    const addresses = new Set(loadProfile("sdm630").registers.map((r) => r.address));
    // The 52 rows of ../shared/reference/sdm630.md's table.
    const reference = [
      0x00, 0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x0e, 0x10, 0x12, 0x14, 0x16, 0x18, 0x1a, 0x1c, 0x1e, 0x20,
      0x22, 0x34, 0x38, 0x3c, 0x3e, 0x42, 0x46, 0x48, 0x4a, 0x4c, 0x4e, 0xea, 0xec, 0xee, 0xf8, 0x156, 0x158,
      0x15a, 0x15c, 0x15e, 0x160, 0x162, 0x164, 0x166, 0x168, 0x16a, 0x16c, 0x16e, 0x170, 0x172, 0x174, 0x176,
      0x178, 0x17a, 0x17c,
    ];
    expect(reference.length).toBe(52);
    expect(reference.filter((a) => !addresses.has(a))).toEqual([]);
  });

  it("lets a user folder override a shipped profile", () => {
    const dir = mkdtempSync(join(tmpdir(), "floorsense-profiles-"));
    writeFileSync(
      join(dir, "sdm630.yaml"),
      profileWith(
        "  - { address: 0, metric: floorsense_meter_voltage_volts, labels: { phase: L1 } }",
      ).replace("profile: t", "profile: sdm630"),
    );
    expect(loadProfile("sdm630", [dir]).registers.length).toBe(1);
    expect(() => loadProfile("sdm999", [dir])).toThrow(
      'unknown profile "sdm999" (known: sdm630, generic, janitza-b23, sdm120, sdm220, sdm72)',
    );
  });
});

describe("profile errors name file, line, path and value", () => {
  it("overlapping registers", () => {
    expect(
      errorOf(
        profileWith(
          "  - { address: 0, metric: floorsense_meter_voltage_volts, labels: { phase: L1 } }",
          "  - { address: 1, metric: floorsense_meter_voltage_volts, labels: { phase: L2 } }",
        ),
      ),
    ).toBe(
      "p.yaml:12: registers[1].address: overlaps registers[0] (function 4, address 0x0000, 2 registers), got 1",
    );
  });

  it("two registers for one series", () => {
    expect(
      errorOf(
        profileWith(
          "  - { address: 0, metric: floorsense_meter_voltage_volts, labels: { phase: L1 } }",
          "  - { address: 2, metric: floorsense_meter_voltage_volts, labels: { phase: L1 } }",
        ),
      ),
    ).toBe(
      'p.yaml:12: registers[1].labels: same metric and labels as registers[0]: two values for one series, got {"phase":"L1"}',
    );
  });

  it("an undeclared metric, an unknown type, a reserved label", () => {
    expect(errorOf(profileWith("  - { address: 0, metric: floorsense_meter_current_amperes }"))).toBe(
      'p.yaml:11: registers[0].metric: not declared under metrics, got "floorsense_meter_current_amperes"',
    );
    expect(
      errorOf(profileWith("  - { address: 0, metric: floorsense_meter_voltage_volts, type: float16 }")),
    ).toBe(
      'p.yaml:11: registers[0].type: Invalid option: expected one of "int16"|"uint16"|"int32"|"uint32"|"int64"|"uint64"|"float32"|"float64"|"bit"|"string", got "float16"',
    );
    expect(
      errorOf(
        profileWith("  - { address: 0, metric: floorsense_meter_voltage_volts, labels: { device: x } }"),
      ),
    ).toBe(
      'p.yaml:11: registers[0].labels: label device comes from the topic, a profile cannot set it, got {"device":"x"}',
    );
  });

  it("a value wider than the per-request limit", () => {
    expect(
      errorOf(
        profileWith("  - { address: 0, metric: floorsense_meter_voltage_volts, type: string, length: 120 }"),
      ),
    ).toBe(
      [
        'p.yaml:11: registers[0].metric: a string maps to an info metric, got "floorsense_meter_voltage_volts"',
        "p.yaml:11: registers[0].label: a string needs the label that carries its text",
        'p.yaml:11: registers[0].type: needs 60 registers, more than max_registers_per_request 50, got "string"',
      ].join("\n"),
    );
  });

  it("a unit the name does not end with", () => {
    const text = profileWith("  - { address: 0, metric: floorsense_meter_voltage_volts }").replace(
      "unit: joules",
      "unit: watts",
    );
    expect(errorOf(text)).toBe(
      'p.yaml:9: metrics.floorsense_meter_energy_imported_joules_total.unit: the name must end in _watts (before _total), got "watts"',
    );
  });
});
