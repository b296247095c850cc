import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { needs } from "../support/binaries.js";
import { type Mosquitto, startMosquitto } from "../support/mosquitto.js";
import { freePort } from "../support/ports.js";
import { eventually, stopAll } from "../support/processes.js";
import { acmeAuth, publisher, reading, scrape, startBridge } from "./helpers.js";

describe.skipIf(!needs("mosquitto"))("bridge persistent session", () => {
  let broker: Mosquitto;

  beforeAll(async () => {
    broker = await startMosquitto();
  });

  afterAll(async () => {
    await stopAll();
    await broker?.stop();
  });

  it("receives every QoS 1 message published while it was stopped", async () => {
    const port = await freePort();
    const first = await startBridge(broker.url, "bridge-session", "", port);
    expect((await first.process.stop()) ?? "killed").toBe(0);

    const pub = await publisher(broker.url);
    const ts = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 50; i++) {
      await pub.publishAsync(`floorsense/v1/acme/plant1/line${i}/meter1`, reading(ts, 100 + i), { qos: 1 });
    }
    await pub.endAsync();

    const second = await startBridge(broker.url, "bridge-session", "", port);
    const body = await eventually(
      async () => {
        const { body } = await scrape(`${second.url}/tenants/acme/metrics`, acmeAuth);
        return (body.match(/^floorsense_device_up\{/gm) ?? []).length === 50 ? body : undefined;
      },
      15_000,
      "50 devices after restart",
    );
    for (let i = 0; i < 50; i++) {
      expect(body).toContain(
        `floorsense_meter_voltage_volts{phase="L1",tenant="acme",site="plant1",machine="line${i}",device="meter1"} ${100 + i} ${ts * 1000}\n`,
      );
    }
    const metrics = await (await fetch(`${second.url}/metrics`)).text();
    expect(metrics).toContain("floorsense_bridge_messages_total 50");
    expect(metrics).toContain("floorsense_bridge_mqtt_connected 1");
    expect(metrics).toMatch(/floorsense_bridge_build_info\{version="[^"]+",revision="[^"]+",nodejs="v\d+/);

    // QoS 0 messages (status published without QoS, as mosquitto_pub does by default) count too.
    const qos0 = await publisher(broker.url);
    await qos0.publishAsync("floorsense/v1/acme/plant1/qos0/meter1", reading(ts, 7), { qos: 0 });
    await qos0.endAsync();
    await eventually(
      async () =>
        (await scrape(`${second.url}/tenants/acme/metrics`, acmeAuth)).body.includes('machine="qos0"'),
      10_000,
      "QoS 0 reading stored",
    );
    expect((await second.process.stop()) ?? "killed").toBe(0);
  });
});
