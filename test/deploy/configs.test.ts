import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadExporterConfig } from "../../exporter/config.js";
import { loadBridgeConfig } from "../../ingest-bridge/config.js";
import { loadPredictorConfig } from "../../predictor/config.js";
import { needs } from "../support/binaries.js";
import { freePort, waitForPort } from "../support/ports.js";
import { type RunningProcess, startProcess } from "../support/processes.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const deploy = join(root, "deploy");

describe("deploy/ service configs load with the services' own schemas", () => {
  it("edge.yaml: the demo machine reading the simulated SDM630", () => {
    const config = loadExporterConfig(join(deploy, "edge.yaml"), [], {});
    expect(config.identity).toEqual({ tenant: "demo", site: "plant1", machine: "press1" });
    expect(config.mqtt.url).toBe("mqtt://mosquitto:1883");
    expect(config.mqtt.username).toBe("demo.plant1.press1");
    expect(
      config.buses.map((bus) => [bus.name, bus.type, bus.resolved.map((d) => [d.name, d.profileDef.name])]),
    ).toEqual([["sim", "tcp", [["meter1", "sdm630"]]]]);
    expect(config.queue.dir).toBe("/var/lib/floorsense/queue");
    expect(config.web.listen_address).toBe("0.0.0.0:9464");
  });

  it("bridge.yaml: tenant demo behind the token file Prometheus also reads", () => {
    const config = loadBridgeConfig(join(deploy, "bridge.yaml"), [], {});
    expect(config.mqtt.username).toBe("bridge");
    expect(config.tenants).toEqual({
      demo: { bearer_token_file: "/etc/floorsense/secrets/tenant-demo.token" },
    });
    expect(config.web.listen_address).toBe("0.0.0.0:9465");
  });

  it("predictor.yaml: the targets the rules and dashboards expect, on recorded series that exist", () => {
    const config = loadPredictorConfig(join(deploy, "predictor.yaml"), [], {});
    expect(config.prometheus.url).toBe("http://prometheus:9090");
    expect(config.targets.map((target) => [target.name, target.expr, target.horizons])).toEqual([
      ["site_power_avg15m", "tenant_site:floorsense_meter_system_power_watts:avg15m", ["15m", "1h"]],
      ["machine_power", "tenant_site_machine:floorsense_meter_system_power_watts:sum", ["15m", "1h"]],
    ]);
    const recording = parse(readFileSync(join(root, "prometheus", "rules", "recording.yml"), "utf8")) as {
      groups: Array<{ rules: Array<{ record: string; expr: string }> }>;
    };
    const rules = recording.groups.flatMap((group) => group.rules);
    const recorded = new Set(rules.map((rule) => rule.record));
    for (const target of config.targets) expect(recorded.has(target.expr), target.expr).toBe(true);
    // The peak alert's forecast series selects exactly this target and horizon.
    expect(
      rules.find((rule) => rule.record === "tenant_site:floorsense_forecast_power_watts:avg15m")?.expr,
    ).toBe('max by (tenant, site) (floorsense_forecast{target="site_power_avg15m", horizon="15m"})');
    expect(config.model_dir).toBe("/var/lib/floorsense/models");
    expect(config.web.listen_address).toBe("0.0.0.0:9467");
  });
});

describe.skipIf(!needs("mosquitto"))("deploy/mosquitto with the real Mosquitto", () => {
  const scratch = mkdtempSync(join(tmpdir(), "floorsense-deploy-mosquitto-"));
  let broker: RunningProcess;
  let url: string;
  const clients: mqtt.MqttClient[] = [];

  beforeAll(async () => {
    // The compose config as is, with the container paths and port pointed at this checkout.
    const port = await freePort();
    const config = readFileSync(join(deploy, "mosquitto", "mosquitto.conf"), "utf8")
      .replaceAll("/mosquitto/config/", `${join(deploy, "mosquitto")}/`)
      .replaceAll("/mosquitto/data/", `${scratch}/`)
      .replace(/^listener 1883$/m, `listener ${port} 127.0.0.1`);
    expect(config).toContain(`password_file ${join(deploy, "mosquitto", "passwd")}`);
    writeFileSync(join(scratch, "mosquitto.conf"), config);
    broker = startProcess("mosquitto", ["-c", join(scratch, "mosquitto.conf")]);
    await waitForPort(port, 10_000).catch((error) => {
      throw new Error(`mosquitto did not start: ${error}\n${broker.output()}`);
    });
    url = `mqtt://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    for (const client of clients) client.end(true);
    await broker?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function connect(username: string, password: string): Promise<mqtt.MqttClient> {
    const client = mqtt.connect(url, {
      username,
      password,
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    });
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    return client;
  }

  it("refuses a wrong password", async () => {
    await expect(connect("bridge", "wrong")).rejects.toThrow(/Bad User Name or Password|Not authorized/);
  });

  it("lets the exporter publish only under its own machine, and the bridge read it", async () => {
    const bridge = await connect("bridge", "floorsense-demo");
    const received: string[] = [];
    bridge.on("message", (topic, payload) => received.push(`${topic} ${payload.toString()}`));
    await bridge.subscribeAsync("floorsense/v1/#", { qos: 1 });
    const exporter = await connect("demo.plant1.press1", "floorsense-demo");
    // MQTT 5 tells the publisher: the PUBACK carries "Not authorized" for a topic the ACL denies.
    await expect(
      exporter.publishAsync("floorsense/v1/other/plant1/press1/meter1", "foreign", { qos: 1 }),
    ).rejects.toThrow("Publish error: Not authorized");
    await expect(
      exporter.publishAsync("floorsense/v1/demo/plant1/press2/meter1", "neighbour", { qos: 1 }),
    ).rejects.toThrow("Publish error: Not authorized");
    await exporter.publishAsync("floorsense/v1/demo/plant1/press1/meter1", "own", { qos: 1 });
    const deadline = Date.now() + 5_000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toEqual(["floorsense/v1/demo/plant1/press1/meter1 own"]);
  });
});
