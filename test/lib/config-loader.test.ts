import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, envOverrides, loadYamlConfig, loadYamlText } from "../../lib/config-loader.js";

const schema = z.strictObject({
  mqtt: z.strictObject({ url: z.string().url(), qos: z.coerce.number().int().min(0).max(2).default(1) }),
  devices: z.array(z.strictObject({ name: z.string(), unit_id: z.number().int().min(1).max(247) })),
});

describe("loadYamlText", () => {
  it("returns the validated value with defaults", () => {
    const config = loadYamlText("edge.yaml", "mqtt:\n  url: mqtt://localhost:1883\ndevices: []\n", schema);
    expect(config).toEqual({ mqtt: { url: "mqtt://localhost:1883", qos: 1 }, devices: [] });
  });

  it("names file, line, path and value of every problem", () => {
    const text = "mqtt:\n  url: mqtt://localhost\ndevices:\n  - name: main\n    unit_id: 300\n";
    expect(() => loadYamlText("edge.yaml", text, schema)).toThrow(
      "edge.yaml:5: devices[0].unit_id: Too big: expected number to be <=247, got 300",
    );
  });

  it("reports a missing key at its parent's line", () => {
    const error = catchError(() => loadYamlText("edge.yaml", "mqtt: {}\ndevices: []\n", schema));
    expect(error.message).toBe("edge.yaml:1: mqtt.url: Invalid input: expected string, received undefined");
  });

  it("reports YAML syntax errors with line and column", () => {
    const error = catchError(() => loadYamlText("edge.yaml", "mqtt:\n  url: [unclosed\n", schema));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^edge\.yaml:\d+: \(top level\): YAML syntax: /);
  });

  it("names the environment variable when an override is bad", () => {
    const overrides = envOverrides({ "mqtt.qos": "FLOORSENSE_MQTT_QOS" }, { FLOORSENSE_MQTT_QOS: "7" });
    const text = "mqtt:\n  url: mqtt://localhost\ndevices: []\n";
    expect(() => loadYamlText("edge.yaml", text, schema, overrides)).toThrow(
      'env FLOORSENSE_MQTT_QOS (mqtt.qos): Too big: expected number to be <=2, got "7"',
    );
  });

  it("rejects unknown keys so typos do not pass silently", () => {
    const text = "mqtt:\n  url: mqtt://localhost\n  qso: 1\ndevices: []\n";
    expect(() => loadYamlText("edge.yaml", text, schema)).toThrow(
      "edge.yaml:3: mqtt.qso: unknown key (a typo, or not valid here), got 1",
    );
  });
});

describe("loadYamlConfig", () => {
  it("says when the file does not exist", () => {
    expect(() => loadYamlConfig("/nonexistent/edge.yaml", schema)).toThrow(
      "/nonexistent/edge.yaml: (top level): cannot read config: file not found",
    );
  });

  it("reads a file", () => {
    const dir = mkdtempSync(join(tmpdir(), "floorsense-config-"));
    writeFileSync(join(dir, "c.yaml"), "mqtt:\n  url: mqtt://h:1\ndevices: [{name: a, unit_id: 1}]\n");
    expect(loadYamlConfig(join(dir, "c.yaml"), schema).devices).toEqual([{ name: "a", unit_id: 1 }]);
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}
