import { describe, expect, it } from "vitest";
import { Liveness } from "../../ingest-bridge/liveness.js";
import { MessageRouter } from "../../ingest-bridge/message-router.js";
import { createBridgeMetrics } from "../../ingest-bridge/metrics.js";
import type { RemoteWriteEndpoint } from "../../ingest-bridge/remote-write.js";
import type { RemoteSample } from "../../ingest-bridge/remote-write-encoding.js";
import { SeriesStore } from "../../ingest-bridge/series-store.js";
import { createLogger } from "../../lib/logger.js";
import { parseOpenMetrics } from "../../openmetrics/index.js";

const NOW_MS = 1_700_000_000_000;

function harness(remoteWrite: RemoteWriteEndpoint[] = []) {
  const store = new SeriesStore({
    maxSeriesPerTenant: 100,
    maxSeriesPerDevice: 3,
    maxSampleAgeMs: 3_600_000,
    maxSampleFutureMs: 300_000,
  });
  const metrics = createBridgeMetrics(undefined, { tenants: ["acme"], count: (t) => store.seriesCount(t) });
  let router: MessageRouter | undefined;
  const liveness = new Liveness(
    { stalenessMultiple: 3, defaultPollIntervalMs: 60_000 },
    { gone: (id, why) => router?.forget(id, why), lastMessage: () => {}, online: () => {} },
  );
  router = new MessageRouter({
    store,
    liveness,
    metrics,
    logger: createLogger("bridge", "silent"),
    parse: parseOpenMetrics,
    maxPayloadBytes: 10_000,
    maxSampleFutureMs: 300_000,
    tenants: new Set(["acme"]),
    remoteWrite,
    now: () => NOW_MS,
  });
  const counter = async (name: string) =>
    (await metrics.registry.getSingleMetricAsString(name)).split("\n").filter((l) => !l.startsWith("#") && l);
  return { store, router, counter, liveness };
}

const TOPIC = "floorsense/v1/acme/s1/press/m1";
const payload = (text: string) => Buffer.from(`${text}# EOF\n`);

describe("MessageRouter", () => {
  it("counts every refusal by reason, with an empty tenant for names the config does not know", async () => {
    const { router, counter, store } = harness();
    router.handle("floorsense/v1/acme/s1/press", payload("x 1\n"));
    router.handle("floorsense/v1/other/s1/press/m1", payload("x 1\n"));
    router.handle("floorsense/v1/acme/s1/press/status", Buffer.from("maybe"));
    router.handle(TOPIC, payload('x{machine="m"} 1\n'));
    router.handle(TOPIC, Buffer.from("x 1\n"));
    router.handle(TOPIC, payload("# TYPE x gauge\nx 1\n"));
    router.handle("floorsense/v1/acme/s1/press/m2", payload("# TYPE x counter\nx_total 1\n"));
    expect(await counter("floorsense_bridge_payloads_rejected_total")).toEqual([
      'floorsense_bridge_payloads_rejected_total{tenant="",reason="invalid_topic"} 1',
      'floorsense_bridge_payloads_rejected_total{tenant="",reason="unknown_tenant"} 1',
      'floorsense_bridge_payloads_rejected_total{tenant="acme",reason="invalid_status"} 1',
      'floorsense_bridge_payloads_rejected_total{tenant="acme",reason="identity_label"} 1',
      'floorsense_bridge_payloads_rejected_total{tenant="acme",reason="parse_error"} 1',
      'floorsense_bridge_payloads_rejected_total{tenant="acme",reason="metadata_conflict"} 1',
    ]);
    expect(store.seriesCount()).toBe(1);
    expect(await counter("floorsense_bridge_messages_total")).toEqual(["floorsense_bridge_messages_total 7"]);
  });

  it("counts dropped samples and series-limit refusals, and reports series per tenant", async () => {
    const { router, counter } = harness();
    const ts = NOW_MS / 1000;
    router.handle(
      TOPIC,
      payload(`a 1 ${ts}\nb 1 ${ts - 7200}\nc 1 ${ts + 600}\nd 1 ${ts}\ne 1 ${ts}\nf 1 ${ts}\n`),
    );
    expect(await counter("floorsense_bridge_samples_dropped_total")).toEqual([
      'floorsense_bridge_samples_dropped_total{tenant="acme",reason="too_old"} 1',
      'floorsense_bridge_samples_dropped_total{tenant="acme",reason="too_far_future"} 1',
    ]);
    expect(await counter("floorsense_bridge_series_limit_rejections_total")).toEqual([
      'floorsense_bridge_series_limit_rejections_total{tenant="acme",scope="device"} 1',
    ]);
    expect(await counter("floorsense_bridge_samples_ingested_total")).toEqual([
      'floorsense_bridge_samples_ingested_total{tenant="acme"} 5',
    ]);
    expect(await counter("floorsense_bridge_series")).toEqual(['floorsense_bridge_series{tenant="acme"} 3']);
  });

  it("removes a machine's series on offline and hands remote write every accepted sample", async () => {
    const sent: Array<{ tenant: string; samples: RemoteSample[] }> = [];
    const endpoint = {
      send: async (tenant: string, samples: RemoteSample[]) => {
        sent.push({ tenant, samples });
      },
    } as unknown as RemoteWriteEndpoint;
    const { router, store } = harness([endpoint]);
    const outcome = router.handle(TOPIC, payload(`x 2 ${NOW_MS / 1000 - 60}\ny 3\n`));
    expect(outcome).toBeInstanceOf(Promise);
    await outcome;
    expect(sent).toEqual([
      {
        tenant: "acme",
        samples: [
          {
            labels: [
              ["__name__", "x"],
              ["device", "m1"],
              ["machine", "press"],
              ["site", "s1"],
              ["tenant", "acme"],
            ],
            value: 2,
            timestampMs: NOW_MS - 60_000,
          },
          {
            labels: [
              ["__name__", "y"],
              ["device", "m1"],
              ["machine", "press"],
              ["site", "s1"],
              ["tenant", "acme"],
            ],
            value: 3,
            timestampMs: NOW_MS,
          },
        ],
      },
    ]);
    expect(store.seriesCount()).toBe(2);
    expect(router.handle("floorsense/v1/acme/s1/press/status", Buffer.from("offline\n"))).toBeUndefined();
    expect(store.seriesCount()).toBe(0);
  });

  describe("payloads that repeat their topic's last layout", () => {
    const ts = NOW_MS / 1000;
    const reading = (volts: string, joules: string, at = ts) =>
      payload(`# TYPE v gauge\nv{phase="L1"} ${volts} ${at}\n# TYPE e counter\ne_total ${joules} ${at}\n`);
    const stored = (store: SeriesStore) => {
      const device = [...store.tenant("acme")!.devices.values()][0]!;
      return { keys: [...device.keys], values: [...device.values], timestamps: [...device.timestamps] };
    };

    it("go through the template and store and send exactly what a full parse would", async () => {
      const sent: RemoteSample[][] = [];
      const endpoint = { send: async (_t: string, samples: RemoteSample[]) => void sent.push(samples) };
      const viaTemplate = harness([endpoint as unknown as RemoteWriteEndpoint]);
      await viaTemplate.router.handle(TOPIC, reading("230.5", "100"));
      await viaTemplate.router.handle(TOPIC, reading("231.75", "105", ts + 1));
      expect(await viaTemplate.counter("floorsense_bridge_payload_parses_total")).toEqual([
        'floorsense_bridge_payload_parses_total{method="template"} 1',
        'floorsense_bridge_payload_parses_total{method="full"} 1',
      ]);

      const fullOnly = harness([
        {
          send: async (_t: string, samples: RemoteSample[]) => void sent.push(samples),
        } as unknown as RemoteWriteEndpoint,
      ]);
      await fullOnly.router.handle(TOPIC, reading("231.75", "105", ts + 1));
      expect(stored(viaTemplate.store)).toEqual(stored(fullOnly.store));
      expect(stored(viaTemplate.store).values).toEqual([231.75, 105]);
      expect(sent[1]).toEqual(sent[2]);
      expect(sent[1]!.map((s) => [s.value, s.timestampMs])).toEqual([
        [231.75, NOW_MS + 1000],
        [105, NOW_MS + 1000],
      ]);
    });

    it("fall back to the full parse on a bad number, which rejects the payload with its message", async () => {
      const { router, store, counter } = harness();
      router.handle(TOPIC, reading("230.5", "100"));
      router.handle(TOPIC, reading("231", "-5"));
      expect(await counter("floorsense_bridge_payloads_rejected_total")).toContain(
        'floorsense_bridge_payloads_rejected_total{tenant="acme",reason="parse_error"} 1',
      );
      expect(await counter("floorsense_bridge_payload_parses_total")).toEqual([
        'floorsense_bridge_payload_parses_total{method="template"} 0',
        'floorsense_bridge_payload_parses_total{method="full"} 2',
      ]);
      expect(stored(store).values).toEqual([230.5, 100]);
    });

    it("parse in full again once the device's series were removed, and bring them back", async () => {
      const { router, store, counter } = harness();
      router.handle(TOPIC, reading("230.5", "100"));
      router.handle("floorsense/v1/acme/s1/press/status", Buffer.from("offline"));
      expect(store.seriesCount()).toBe(0);
      router.handle(TOPIC, reading("230.6", "101"));
      router.handle(TOPIC, reading("230.7", "102"));
      expect(stored(store).values).toEqual([230.7, 102]);
      expect(store.seriesCount()).toBe(2);
      expect(await counter("floorsense_bridge_payload_parses_total")).toEqual([
        'floorsense_bridge_payload_parses_total{method="template"} 1',
        'floorsense_bridge_payload_parses_total{method="full"} 2',
      ]);
    });

    it("get no template while a series limit refuses part of them", async () => {
      const { router, counter } = harness();
      const four = (v: number) => payload(`a ${v}\nb ${v}\nc ${v}\nd ${v}\n`);
      router.handle(TOPIC, four(1));
      router.handle(TOPIC, four(2));
      expect(await counter("floorsense_bridge_payload_parses_total")).toEqual([
        'floorsense_bridge_payload_parses_total{method="template"} 0',
        'floorsense_bridge_payload_parses_total{method="full"} 2',
      ]);
      expect(await counter("floorsense_bridge_series_limit_rejections_total")).toContain(
        'floorsense_bridge_series_limit_rejections_total{tenant="acme",scope="device"} 2',
      );
    });
  });
});
