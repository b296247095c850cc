import { mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadExporterConfig } from "../../exporter/config.js";

const dir = mkdtempSync(join(tmpdir(), "floorsense-edge-config-"));
const base = `identity: { tenant: acme, site: plant-1, machine: press-7 }
mqtt:
  url: mqtt://127.0.0.1:1883
buses:
  - name: rs485-1
    type: rtu
    device: /dev/ttyUSB0
    baud: 9600
    devices:
      - name: main-incomer
        unit_id: 1
        profile: sdm630
        poll_interval: 10s
queue:
  dir: ./queue
`;

let counter = 0;
function write(text: string): string {
  const file = join(dir, `edge-${counter++}.yaml`);
  writeFileSync(file, text);
  return file;
}
function errorOf(text: string, env: NodeJS.ProcessEnv = {}): string {
  const file = write(text);
  try {
    loadExporterConfig(file, [], env);
  } catch (error) {
    return (error as Error).message.replace(file, "edge.yaml");
  }
  throw new Error("expected the config to be rejected");
}

describe("loading edge.yaml", () => {
  it("fills defaults, resolves paths against the file and loads the profile", () => {
    const file = write(base);
    const config = loadExporterConfig(file, [], {});
    expect(config.identity).toEqual({ tenant: "acme", site: "plant-1", machine: "press-7" });
    expect(config.mqtt).toEqual({
      url: "mqtt://127.0.0.1:1883",
      qos: 1,
      protocol_version: 5,
      keepalive: 30_000,
      connect_timeout: 10_000,
      reconnect_period: 2_000,
    });
    expect(config.queue).toEqual({
      dir: join(dir, "queue"),
      max_bytes: 64 * 1024 * 1024,
      max_age: 7 * 86_400_000,
      replay_rate: 20,
      segment_bytes: 1024 * 1024,
    });
    expect(config.web.listen_address).toBe("0.0.0.0:9464");
    const bus = config.buses[0]!;
    expect(bus).toMatchObject({ type: "rtu", baud: 9600, parity: "none", data_bits: 8, stop_bits: 1 });
    const device = bus.resolved[0]!;
    expect(device).toMatchObject({ name: "main-incomer", poll_interval: 10_000, timeout: 1_000, retries: 1 });
    expect(device.profileDef.name).toBe("sdm630");
    expect(device.limits).toEqual({ maxRegisters: 80, maxBits: 2000, maxGap: 30 });
  });

  it("takes the broker URL from the environment and a device limit from the file", () => {
    const file = write(
      base.replace("poll_interval: 10s", "poll_interval: 10s\n        max_registers_per_request: 50"),
    );
    const config = loadExporterConfig(file, [], { FLOORSENSE_MQTT_URL: "mqtts://broker.example:8883" });
    expect(config.mqtt.url).toBe("mqtts://broker.example:8883");
    expect(config.buses[0]!.resolved[0]!.limits.maxRegisters).toBe(50);
  });
});

describe("config errors name the file, line, path and value", () => {
  it("an unknown profile", () => {
    expect(errorOf(base.replace("profile: sdm630", "profile: sdm631"))).toBe(
      'edge.yaml:12: buses[0].devices[0].profile: unknown profile "sdm631" (known: generic, janitza-b23, sdm120, sdm220, sdm630, sdm72), got "sdm631"',
    );
  });

  it("a name that is unsafe in a topic", () => {
    expect(errorOf(base.replace("name: main-incomer", "name: Main Incomer"))).toBe(
      'edge.yaml:10: buses[0].devices[0].name: must match [a-z0-9][a-z0-9_-]* (lower case, digits, - and _), got "Main Incomer"',
    );
  });

  it("a duration that is not one", () => {
    expect(errorOf(base.replace("poll_interval: 10s", "poll_interval: 10 seconds"))).toBe(
      'edge.yaml:13: buses[0].devices[0].poll_interval: expected a Prometheus duration such as 500ms, 15s, 5m, 1h30m, got "10 seconds"',
    );
  });

  it("a parity a UART does not have, and a typo", () => {
    expect(errorOf(base.replace("baud: 9600", "baud: 9600\n    parity: mark"))).toBe(
      'edge.yaml:9: buses[0].parity: Invalid option: expected one of "none"|"even"|"odd", got "mark"',
    );
    expect(errorOf(base.replace("baud: 9600", "baudrate: 9600"))).toBe(
      "edge.yaml:8: buses[0].baudrate: unknown key (a typo, or not valid here), got 9600",
    );
  });

  it("two devices with one name", () => {
    const text = base.replace(
      "        poll_interval: 10s\n",
      "        poll_interval: 10s\n      - name: main-incomer\n        unit_id: 2\n        profile: sdm120\n",
    );
    expect(errorOf(text)).toBe(
      'edge.yaml:14: buses[0].devices[1].name: device name already used by buses[0].devices[0], got "main-incomer"',
    );
  });

  it("a replay rate the polls outrun", () => {
    const text = base
      .replace("poll_interval: 10s", "poll_interval: 50ms")
      .replace("dir: ./queue", "dir: ./queue\n  replay_rate: 10");
    expect(errorOf(text)).toBe(
      "edge.yaml:16: queue.replay_rate: must exceed the 20 cycles per second the devices produce, or the queue never drains, got 10",
    );
  });

  it("QoS 0, and an identity label set on a device", () => {
    expect(errorOf(base.replace("url: mqtt://127.0.0.1:1883", "url: mqtt://127.0.0.1:1883\n  qos: 0"))).toBe(
      "edge.yaml:4: mqtt.qos: QoS 0 could lose cycles; use 1 or 2, got 0",
    );
    expect(
      errorOf(
        base.replace(
          "poll_interval: 10s",
          'poll_interval: 10s\n        labels: { machine: x, serial: "123" }',
        ),
      ),
    ).toBe(
      'edge.yaml:14: buses[0].devices[0].labels.machine: label machine comes from the topic, it cannot be set here, got "machine"',
    );
    expect(
      errorOf(base.replace("poll_interval: 10s", 'poll_interval: 10s\n        labels: { code: "A-17" }')),
    ).toBe(
      'edge.yaml:14: buses[0].devices[0].labels.code: label code is set by floorsense_device_read_errors_total, got "code"',
    );
  });

  it("a device limit below a value's width and a plan over the profile's max_requests", () => {
    const profiles = mkdtempSync(join(tmpdir(), "floorsense-edge-profiles-"));
    writeFileSync(
      join(profiles, "tiny.yaml"),
      [
        "profile: tiny",
        "manufacturer: x",
        "model: x",
        "source: test",
        "max_requests: 1",
        "max_gap: 0",
        "defaults: { type: float64 }",
        "metrics:",
        "  floorsense_meter_voltage_volts: { type: gauge, unit: volts, help: V }",
        "registers:",
        "  - { address: 0, metric: floorsense_meter_voltage_volts, labels: { phase: L1 } }",
        "  - { address: 10, metric: floorsense_meter_voltage_volts, labels: { phase: L2 } }",
      ].join("\n"),
    );
    const text = `profile_dirs: [${profiles}]\n${base.replace("profile: sdm630", "profile: tiny")}`;
    expect(errorOf(text)).toBe(
      "edge.yaml:11: buses[0].devices[0].max_registers_per_request: profile tiny needs 2 requests per cycle with these limits, its max_requests is 1, got 125",
    );
    expect(
      errorOf(text.replace("poll_interval: 10s", "poll_interval: 10s\n        max_registers_per_request: 2")),
    ).toBe(
      "edge.yaml:15: buses[0].devices[0].max_registers_per_request: profile tiny has a 4-register value (registers[0]), more than this limit, got 2",
    );
  });

  it("a TLS file that is not there", () => {
    const text = base.replace(
      "url: mqtt://127.0.0.1:1883",
      "url: mqtts://127.0.0.1:8883\n  tls: { ca: certs/ca.pem }",
    );
    expect(errorOf(text)).toBe(
      `edge.yaml:4: mqtt.tls.ca: file not found: ${join(dir, "certs/ca.pem")}, got "certs/ca.pem"`,
    );
    const absolute = base.replace(
      "url: mqtt://127.0.0.1:1883",
      "url: mqtts://127.0.0.1:8883\n  tls: { ca: /etc/floorsense-nowhere/ca.pem }",
    );
    expect(errorOf(absolute)).toBe(
      'edge.yaml:4: mqtt.tls.ca: file not found, got "/etc/floorsense-nowhere/ca.pem"',
    );
    // Planning reads the config only: the edge box's TLS files need not be on this computer.
    const config = loadExporterConfig(write(absolute), [], {}, { requireFiles: false });
    expect(config.mqtt.tls?.ca).toBe("/etc/floorsense-nowhere/ca.pem");
  });

  it("a device limit above the profile's maximum registers per request", () => {
    expect(
      errorOf(
        base.replace("poll_interval: 10s", "poll_interval: 10s\n        max_registers_per_request: 100"),
      ),
    ).toBe(
      "edge.yaml:14: buses[0].devices[0].max_registers_per_request: above the maximum of profile sdm630 (80 registers per request), got 100",
    );
    const file = write(
      base.replace("poll_interval: 10s", "poll_interval: 10s\n        max_registers_per_request: 80"),
    );
    expect(loadExporterConfig(file, [], {}).buses[0]!.resolved[0]!.limits.maxRegisters).toBe(80);
  });

  it("two buses on one serial device, and on one TCP endpoint", () => {
    const secondRtu = `${base.replace("queue:\n  dir: ./queue\n", "")}  - name: rs485-2
    type: rtu
    device: /dev/ttyUSB0
    devices:
      - { name: other, unit_id: 1, profile: sdm120 }
queue:
  dir: ./queue
`;
    expect(errorOf(secondRtu)).toBe(
      'edge.yaml:16: buses[1].device: serial device already polled by buses[0] (rs485-1); put these devices on that bus, got "/dev/ttyUSB0"',
    );
    // A by-id link and the node it points to are one adapter.
    const adapter = join(dir, "ttyUSB7");
    writeFileSync(adapter, "");
    symlinkSync(adapter, join(dir, "usb-FTDI-if00-port0"));
    const linked = secondRtu
      .replace("device: /dev/ttyUSB0", `device: ${adapter}`)
      .replace("device: /dev/ttyUSB0", `device: ${join(dir, "usb-FTDI-if00-port0")}`);
    expect(errorOf(linked)).toBe(
      `edge.yaml:16: buses[1].device: serial device already polled by buses[0] (rs485-1); put these devices on that bus, got "${join(dir, "usb-FTDI-if00-port0")}"`,
    );
    const tcp = (name: string, type: string, host: string, port: number, device: string) =>
      `  - name: ${name}\n    type: ${type}\n    host: ${host}\n    port: ${port}\n    devices:\n      - { name: ${device}, unit_id: 1, profile: sdm120 }\n`;
    const twoTcp = `${base.replace("queue:\n  dir: ./queue\n", "")}${tcp("plc-a", "tcp", "192.168.10.20", 502, "a")}${tcp("plc-b", "rtu-over-tcp", "192.168.10.20", 502, "b")}${tcp("plc-c", "tcp", "192.168.10.20", 503, "c")}queue:\n  dir: ./queue\n`;
    expect(errorOf(twoTcp)).toBe(
      'edge.yaml:22: buses[2].host: endpoint already polled by buses[1] (plc-a); put these devices on that bus, got "192.168.10.20:502"',
    );
  });

  it("a bad override from the environment names the variable", () => {
    expect(errorOf(base, { FLOORSENSE_MQTT_URL: "localhost:1883" })).toBe(
      'env FLOORSENSE_MQTT_URL (mqtt.url): expected mqtt://host:port or mqtts://host:port, got "localhost:1883"',
    );
  });

  it("a missing file", () => {
    expect(() => loadExporterConfig(join(dir, "nope.yaml"), [], {})).toThrow(
      `${join(dir, "nope.yaml")}: (top level): cannot read config: file not found`,
    );
  });
});
