import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { needs } from "../support/binaries.js";
import { type Mosquitto, startMosquitto } from "../support/mosquitto.js";
import { freePort } from "../support/ports.js";
import { eventually, stopAll } from "../support/processes.js";
import { type Prometheus, startPrometheus } from "../support/prometheus.js";
import { publisher, reading, startBridge } from "./helpers.js";

const SERIES = [
  'floorsense_meter_voltage_volts{phase="L1"',
  'floorsense_meter_voltage_volts{phase="L2"',
  'floorsense_meter_voltage_volts{phase="L3"',
  "floorsense_meter_energy_imported_joules_total{",
  "floorsense_device_up{",
];

async function samplesOf(
  prometheus: Prometheus,
  selector: string,
  at: number,
): Promise<Array<[number, string]>> {
  const params = new URLSearchParams({ query: `${selector}[2h]`, time: String(at) });
  const body = (await (await fetch(`${prometheus.url}/api/v1/query?${params}`)).json()) as {
    data: { result: Array<{ values: Array<[number, string]> }> };
  };
  if (body.data.result.length > 1) throw new Error(`${selector} matched ${body.data.result.length} series`);
  return body.data.result[0]?.values ?? [];
}

const remoteWrite = (url: string) => `remote_write:
  - name: prometheus
    url: ${url}
    min_backoff: 50ms
    max_backoff: 200ms
`;

describe.skipIf(!needs("mosquitto", "prometheus"))("bridge remote write into a real Prometheus", () => {
  let broker: Mosquitto;
  let prometheus: Prometheus;
  let pub: MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto();
    prometheus = await startPrometheus({
      // Replayed backlog is older than the live samples already written: it needs the OOO window.
      config: "global:\n  scrape_interval: 15s\nstorage:\n  tsdb:\n    out_of_order_time_window: 1h\n",
      flags: ["--web.enable-remote-write-receiver"],
    });
    pub = await publisher(broker.url);
  });

  afterAll(async () => {
    await pub?.endAsync();
    await prometheus?.stop();
    await stopAll();
    await broker?.stop();
  });

  it("delivers every sample of a replayed outage exactly, with its acquisition timestamp", async () => {
    const bridge = await startBridge(broker.url, "bridge-rw", remoteWrite(`${prometheus.url}/api/v1/write`));
    const now = Math.floor(Date.now() / 1000);
    const live = now - 30;
    const topic = "floorsense/v1/acme/plant1/press1/meter1";
    // The exporter's order after an outage: the live cycle, then the queued cycles oldest first.
    const cycles = [live, ...Array.from({ length: 20 }, (_, i) => live - (20 - i) * 60 + 0.5), now];
    for (const [i, ts] of cycles.entries()) {
      await pub.publishAsync(topic, reading(ts, 200 + i), { qos: 1 });
    }
    const expected = [...cycles].sort((a, b) => a - b);
    for (const series of SERIES) {
      const selector = `${series}${series.endsWith("{") ? "" : ","}machine="press1"}`;
      const samples = await eventually(
        async () => {
          const got = await samplesOf(prometheus, selector, now + 1);
          return got.length >= expected.length ? got : undefined;
        },
        20_000,
        `${expected.length} samples of ${selector}`,
      );
      expect(samples.map(([t]) => t)).toEqual(expected);
    }
    const l1 = await samplesOf(
      prometheus,
      'floorsense_meter_voltage_volts{phase="L1",machine="press1"}',
      now + 1,
    );
    const byTime = new Map(cycles.map((ts, i) => [ts, String(200 + i)]));
    expect(l1.map(([t, v]) => [t, v])).toEqual(expected.map((t) => [t, byTime.get(t)]));
    expect((await bridge.process.stop()) ?? "killed").toBe(0);
  });

  it("acknowledges only accepted messages: a bridge stopped while its endpoint is down leaves them to the next", async () => {
    const deadPort = await freePort();
    const first = await startBridge(
      broker.url,
      "bridge-rw-redelivery",
      remoteWrite(`http://127.0.0.1:${deadPort}/api/v1/write`),
    );
    const ts = Math.floor(Date.now() / 1000) - 10;
    await pub.publishAsync("floorsense/v1/acme/plant1/press9/meter1", reading(ts, 321), { qos: 1 });
    await eventually(
      async () => {
        const body = await (await fetch(`${first.url}/metrics`)).text();
        return /floorsense_bridge_remote_write_failures_total\{endpoint="prometheus",reason="network"\} [1-9]/.test(
          body,
        );
      },
      10_000,
      "remote write failing",
    );
    expect((await first.process.stop()) ?? "killed").toBe(0);

    const second = await startBridge(
      broker.url,
      "bridge-rw-redelivery",
      remoteWrite(`${prometheus.url}/api/v1/write`),
    );
    const samples = await eventually(
      async () => {
        const got = await samplesOf(prometheus, 'floorsense_device_up{machine="press9"}', ts + 1);
        return got.length > 0 ? got : undefined;
      },
      20_000,
      "redelivered sample in Prometheus",
    );
    expect(samples).toEqual([[ts, "1"]]);
    expect((await second.process.stop()) ?? "killed").toBe(0);
  });
});
