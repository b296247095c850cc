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
