import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { systemClock } from "../../exporter/clock.js";
import { DeviceReader } from "../../exporter/device-reader.js";
import { createModbusTransport } from "../../exporter/modbus-transport.js";
import { loadProfile } from "../../exporter/profile.js";
import { createLogger } from "../../lib/logger.js";
import { CLI_ENTRY, REPO_ROOT, runCli } from "../support/cli.js";
import { freePort, waitForPort } from "../support/ports.js";
import { startProcess, stopAll } from "../support/processes.js";

const dir = mkdtempSync(join(tmpdir(), "floorsense-exporter-cli-"));
const config = join(dir, "edge.yaml");
writeFileSync(
  config,
  `identity: { tenant: acme, site: plant-1, machine: press-7 }
mqtt: { url: "mqtt://127.0.0.1:1883" }
buses:
  - name: rs485-1
    type: rtu
    device: /dev/ttyUSB0
    baud: 9600
    devices:
      - { name: main, unit_id: 1, profile: sdm630 }
      - { name: small, unit_id: 2, profile: sdm630, max_registers_per_request: 50 }
queue: { dir: ./queue }
`,
);

describe("floorsense exporter subcommands", () => {
  afterAll(() => stopAll());

  it("lists the profiles", async () => {
    const result = await runCli(["exporter", "profiles"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        "profile      values  device",
        "generic           7  Example Generic Modbus device (template)",
        "janitza-b23      20  Janitza B23 (B-series)",
        "sdm120           13  Eastron SDM120",
        "sdm220            8  Eastron SDM220",
        "sdm630           68  Eastron SDM630",
        "sdm72            27  Eastron SDM72D-M v2",
        "",
      ].join("\n"),
    );
  });

  it("prints the plan with requests, bytes and wire time per cycle", async () => {
    const result = await runCli(["exporter", "plan", "--config", config]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe("bus rs485-1 (rtu /dev/ttyUSB0, 9600 baud 8N1)");
    expect(lines).toContain(
      "    per cycle: 4 requests, 32 bytes out, 372 bytes back, 530.0 ms on the wire (incl. 3.5-char gaps and 20 ms response latency)",
    );
    expect(lines).toContain(
      "    per cycle: 5 requests, 40 bytes out, 329 bytes back, 520.8 ms on the wire (incl. 3.5-char gaps and 20 ms response latency)",
    );
    expect(lines).toContain("    1  04  0x0000     80      34      12");
    expect(lines).toContain("  bus busy 1050.8 ms per round of all devices");
  });

  it("prints for the example config exactly the plan docs/exporter.md shows, without its TLS file", async () => {
    // The example names /etc/floorsense/ca.pem, which exists on the edge box, not here.
    const result = await runCli(["exporter", "plan", "--config", "exporter/edge.example.yaml"], {
      env: { FLOORSENSE_MQTT_URL: "" },
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe("bus rs485-1 (rtu /dev/ttyUSB0, 9600 baud 8N1)");
    expect(lines).toContain(
      "  device main-incomer: profile sdm630, unit 1, 68 values, max 80 registers per request, max gap 30",
    );
    expect(lines).toContain(
      "  device compressor: profile sdm630, unit 2, 68 values, max 50 registers per request, max gap 30",
    );
    expect(lines).toContain("  bus busy 1269.2 ms per round of all devices");
    expect(lines).toContain("bus plc (tcp 192.168.10.20:502)");
    expect(lines).toContain("    per cycle: 3 requests, 36 bytes out, 128 bytes back (Modbus TCP frames)");
    // And the whole output is the block the documentation shows under "for the config above".
    const doc = readFileSync(join(REPO_ROOT, "docs/exporter.md"), "utf8");
    const block = /`floorsense exporter plan` for the\sconfig above:\n\n```\n([\s\S]*?)```/.exec(doc);
    expect(block?.[1]).toBe(result.stdout);
  });

  it("lists only a subcommand's own options in its --help", async () => {
    const service = ["--web.listen-address", "--mqtt.url", "--queue.dir", "--log.level"];
    const main = await runCli(["exporter", "--help"]);
    for (const flag of service) expect(main.stdout).toContain(flag);
    for (const sub of ["profiles", "plan", "simulate"]) {
      const help = await runCli(["exporter", sub, "--help"]);
      expect(help.code).toBe(0);
      for (const flag of service) expect(help.stdout).not.toContain(flag);
    }
    const plan = await runCli(["exporter", "plan", "--help"]);
    expect(plan.stdout).toMatch(/--config +Edge config file \(edge\.yaml\) +\[string\] \[required\]\n/);
    const refused = await runCli(["exporter", "plan", "--config", config, "--mqtt.url", "mqtt://x:1"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/\nUnknown argument: mqtt\.url\n$/);
  });

  it("exits 2 with file, line, path and value on a bad config", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(
      bad,
      "identity: { tenant: Acme, site: s, machine: m }\nmqtt: { url: mqtt://h:1 }\nbuses: []\n",
    );
    const result = await runCli(["exporter", "plan", "--config", bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      [
        "floorsense: invalid configuration",
        `${bad}:1: identity.tenant: must match [a-z0-9][a-z0-9_-]* (lower case, digits, - and _), got "Acme"`,
        `${bad}:3: buses: configure at least one bus, got []`,
        "",
      ].join("\n"),
    );
  });

  it("names the flag when a flag's value is bad", async () => {
    const result = await runCli(["exporter", "--config", config, "--web.listen-address", "nonsense"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      [
        "floorsense: invalid configuration",
        '--web.listen-address (web.listen_address): expected host:port, e.g. 0.0.0.0:9464 or 127.0.0.1:0, got "nonsense"',
        "",
      ].join("\n"),
    );
  });

  it("serves a simulated meter that the exporter's reader reads", async () => {
    const port = await freePort();
    startProcess(process.execPath, [
      CLI_ENTRY,
      "exporter",
      "simulate",
      "--profile",
      "sdm630",
      "--listen",
      `127.0.0.1:${port}`,
      "--fault-rate",
      "0",
    ]);
    await waitForPort(port, 15_000);
    const transport = createModbusTransport({ type: "tcp", host: "127.0.0.1", port });
    const reader = new DeviceReader({
      name: "sim",
      unitId: 1,
      profile: loadProfile("sdm630"),
      limits: { maxRegisters: 80, maxBits: 2000, maxGap: 30 },
      timeoutMs: 1_000,
      retries: 0,
      interRequestPauseMs: 0,
      transport,
      clock: systemClock,
      logger: createLogger("exporter-test", "silent"),
    });
    const reading = await reader.read();
    await transport.close();
    expect(reading.errors).toEqual([]);
    expect(reading.values.length).toBe(68);
  });
});
