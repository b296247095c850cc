import { describe, expect, it } from "vitest";
import { PayloadTemplates } from "../../ingest-bridge/payload-templates.js";
import { SeriesStore } from "../../ingest-bridge/series-store.js";
import type { DeviceIdentity } from "../../ingest-bridge/topic.js";
import { parseOpenMetrics } from "../../openmetrics/index.js";

const NOW_MS = 1_700_000_000_000;
const reading = (v: number, serial = "A1") =>
  Buffer.from(`# TYPE v gauge\nv{serial="${serial}"} ${v} ${NOW_MS / 1000}\n# EOF\n`);

function deviceFor(store: SeriesStore, device: string, payload: Buffer) {
  const identity: DeviceIdentity = { tenant: "acme", site: "s", machine: "m", device };
  const families = parseOpenMetrics(payload);
  store.write(identity, families, NOW_MS);
  return { identity, families, series: store.deviceWithLayout(identity, families)! };
}

describe("PayloadTemplates", () => {
  const limits = {
    maxSeriesPerTenant: 100,
    maxSeriesPerDevice: 10,
    maxSampleAgeMs: 3.6e6,
    maxSampleFutureMs: 3e5,
  };

  it("shares one template between topics whose payloads have the same shape", () => {
    const store = new SeriesStore(limits);
    const templates = new PayloadTemplates();
    const a = deviceFor(store, "d1", reading(1));
    const b = deviceFor(store, "d2", reading(2));
    const c = deviceFor(store, "d3", reading(3, "B7"));
    templates.remember("t/d1", reading(1), a.families, a.series);
    templates.remember("t/d2", reading(2), b.families, b.series);
    templates.remember("t/d3", reading(3, "B7"), c.families, c.series);
    expect(templates.shapes).toBe(2);
    expect(templates.of("t/d1")!.shared).toBe(templates.of("t/d2")!.shared);
    expect(templates.of("t/d3")!.shared).not.toBe(templates.of("t/d1")!.shared);
  });

  it("drops a topic's template once its device's series are removed or relaid", () => {
    const store = new SeriesStore(limits);
    const templates = new PayloadTemplates();
    const a = deviceFor(store, "d1", reading(1));
    templates.remember("t/d1", reading(1), a.families, a.series);
    const wider = Buffer.from(`# TYPE v gauge\nv{serial="A1"} 1\nv{serial="A2"} 2\n# EOF\n`);
    store.write(a.identity, parseOpenMetrics(wider), NOW_MS);
    expect(templates.of("t/d1")).toBeUndefined();

    const b = deviceFor(store, "d2", reading(2));
    templates.remember("t/d2", reading(2), b.families, b.series);
    expect(templates.of("t/d2")).toBeDefined();
    store.removeDevice(b.identity);
    expect(templates.of("t/d2")).toBeUndefined();
  });

  it("starts over when the shapes outgrow their byte budget, and when topics outgrow their count", () => {
    const store = new SeriesStore(limits);
    const bySize = new PayloadTemplates(150, 100);
    for (let i = 0; i < 3; i++) {
      const d = deviceFor(store, `s${i}`, reading(1, `S${i}`));
      bySize.remember(`t/s${i}`, reading(1, `S${i}`), d.families, d.series);
    }
    expect(bySize.shapes).toBe(1);
    expect(bySize.of("t/s0")).toBeUndefined();
    expect(bySize.of("t/s2")).toBeDefined();

    const byCount = new PayloadTemplates(1e6, 2);
    for (let i = 0; i < 3; i++) {
      const d = deviceFor(store, `c${i}`, reading(1));
      byCount.remember(`t/c${i}`, reading(1), d.families, d.series);
    }
    expect(byCount.of("t/c0")).toBeUndefined();
    expect(byCount.of("t/c2")).toBeDefined();
  });
});
