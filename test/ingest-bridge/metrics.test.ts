import { describe, expect, it } from "vitest";
import { REJECT_REASONS } from "../../ingest-bridge/ingest.js";
import { createBridgeMetrics, initialiseKnownSeries } from "../../ingest-bridge/metrics.js";

describe("initialiseKnownSeries", () => {
  it("exposes zero-valued counters for every configured tenant and endpoint before any event", async () => {
    const metrics = createBridgeMetrics();
    initialiseKnownSeries(metrics, {
      tenants: ["acme"],
      endpoints: ["mimir"],
      rejectReasons: REJECT_REASONS,
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('floorsense_bridge_series_limit_rejections_total{tenant="acme",scope="device"} 0');
    expect(text).toContain('floorsense_bridge_series_limit_rejections_total{tenant="acme",scope="tenant"} 0');
    expect(text).toContain('floorsense_bridge_payloads_rejected_total{tenant="acme",reason="parse_error"} 0');
    expect(text).toContain(
      'floorsense_bridge_remote_write_failures_total{endpoint="mimir",reason="network"} 0',
    );
    expect(text).toContain('floorsense_bridge_remote_write_samples_total{endpoint="mimir",result="sent"} 0');
    const rejectLines = text
      .split("\n")
      .filter((l) => l.startsWith("floorsense_bridge_payloads_rejected_total{"));
    expect(rejectLines).toHaveLength(REJECT_REASONS.length);
  });
});

describe("hot counts", () => {
  it("are copied into the counters and the last-message gauge at each scrape, never counted twice", async () => {
    const metrics = createBridgeMetrics();
    initialiseKnownSeries(metrics, {
      tenants: ["acme", "beta"],
      endpoints: [],
      rejectReasons: REJECT_REASONS,
    });
    const lines = async () =>
      (await metrics.registry.metrics())
        .split("\n")
        .filter(
          (l) =>
            l.startsWith("floorsense_bridge_messages_total ") ||
            l.startsWith("floorsense_bridge_samples_ingested_total{") ||
            l.startsWith("floorsense_bridge_device_last_message_timestamp_seconds{"),
        );
    const device = { tenant: "acme", site: "plant1", machine: "m1", device: "sdm630" };
    metrics.hot.messages.value += 3;
    metrics.hot.ingestedOf("acme").value += 108;
    metrics.hot.lastMessage.set(device, 1_700_000_000.5);
    expect(await lines()).toEqual([
      "floorsense_bridge_messages_total 3",
      'floorsense_bridge_samples_ingested_total{tenant="acme"} 108',
      'floorsense_bridge_samples_ingested_total{tenant="beta"} 0',
      'floorsense_bridge_device_last_message_timestamp_seconds{tenant="acme",site="plant1",machine="m1",device="sdm630"} 1700000000.5',
    ]);
    expect(await lines()).toEqual([
      "floorsense_bridge_messages_total 3",
      'floorsense_bridge_samples_ingested_total{tenant="acme"} 108',
      'floorsense_bridge_samples_ingested_total{tenant="beta"} 0',
      'floorsense_bridge_device_last_message_timestamp_seconds{tenant="acme",site="plant1",machine="m1",device="sdm630"} 1700000000.5',
    ]);
    metrics.hot.messages.value += 1;
    metrics.hot.ingestedOf("acme").value += 54;
    metrics.hot.lastMessage.set(device, 1_700_000_060);
    expect(await lines()).toEqual([
      "floorsense_bridge_messages_total 4",
      'floorsense_bridge_samples_ingested_total{tenant="acme"} 162',
      'floorsense_bridge_samples_ingested_total{tenant="beta"} 0',
      'floorsense_bridge_device_last_message_timestamp_seconds{tenant="acme",site="plant1",machine="m1",device="sdm630"} 1700000060',
    ]);
  });
});
