import { describe, expect, it } from "vitest";
import { renderTenant } from "../../ingest-bridge/exposition.js";
import { SeriesStore, type StoreLimits } from "../../ingest-bridge/series-store.js";
import type { MetricFamily } from "../../openmetrics/types.js";

const NOW_MS = 1_700_000_000_000;
const NOW = NOW_MS / 1000;
const limits: StoreLimits = {
  maxSeriesPerTenant: 100,
  maxSeriesPerDevice: 10,
  maxSampleAgeMs: 3_600_000,
  maxSampleFutureMs: 300_000,
};
const dev = (device: string, tenant = "acme", machine = "press") => ({ tenant, site: "s1", machine, device });

function voltage(values: number[], ts = NOW, phases = ["L1", "L2", "L3"]): MetricFamily {
  return {
    name: "floorsense_meter_voltage_volts",
    type: "gauge",
    help: "Line to neutral voltage.",
    unit: "volts",
    samples: phases.map((phase, i) => ({
      name: "floorsense_meter_voltage_volts",
      labels: { phase },
      value: values[i]!,
      timestamp: ts,
    })),
  };
}

const up = (value: number, ts = NOW): MetricFamily => ({
  name: "floorsense_device_up",
  type: "gauge",
  samples: [{ name: "floorsense_device_up", labels: {}, value, timestamp: ts }],
});

describe("SeriesStore", () => {
  it("keeps the latest value and timestamp per series and renders them grouped by family", () => {
    const store = new SeriesStore(limits);
    store.write(dev("m1"), [voltage([230, 231, 232]), up(1)], NOW_MS);
    store.write(dev("m2"), [voltage([229, 228, 227]), up(1)], NOW_MS);
    store.write(dev("m1"), [voltage([240, 241, 242], NOW + 10), up(0, NOW + 10)], NOW_MS);
    expect(store.seriesCount("acme")).toBe(8);
    const id = (d: string) => `tenant="acme",site="s1",machine="press",device="${d}"`;
    expect(renderTenant(store.tenant("acme"), "openmetrics", true)).toBe(
      [
        "# TYPE floorsense_meter_voltage_volts gauge",
        "# UNIT floorsense_meter_voltage_volts volts",
        "# HELP floorsense_meter_voltage_volts Line to neutral voltage.",
        `floorsense_meter_voltage_volts{phase="L1",${id("m1")}} 240 1700000010`,
        `floorsense_meter_voltage_volts{phase="L2",${id("m1")}} 241 1700000010`,
        `floorsense_meter_voltage_volts{phase="L3",${id("m1")}} 242 1700000010`,
        `floorsense_meter_voltage_volts{phase="L1",${id("m2")}} 229 1700000000`,
        `floorsense_meter_voltage_volts{phase="L2",${id("m2")}} 228 1700000000`,
        `floorsense_meter_voltage_volts{phase="L3",${id("m2")}} 227 1700000000`,
        "# TYPE floorsense_device_up gauge",
        `floorsense_device_up{${id("m1")}} 0 1700000010`,
        `floorsense_device_up{${id("m2")}} 1 1700000000`,
        "# EOF",
        "",
      ].join("\n"),
    );
    expect(renderTenant(store.tenant("acme"), "text", false)).toBe(
      [
        "# HELP floorsense_meter_voltage_volts Line to neutral voltage.",
        "# TYPE floorsense_meter_voltage_volts gauge",
        `floorsense_meter_voltage_volts{phase="L1",${id("m1")}} 240`,
        `floorsense_meter_voltage_volts{phase="L2",${id("m1")}} 241`,
        `floorsense_meter_voltage_volts{phase="L3",${id("m1")}} 242`,
        `floorsense_meter_voltage_volts{phase="L1",${id("m2")}} 229`,
        `floorsense_meter_voltage_volts{phase="L2",${id("m2")}} 228`,
        `floorsense_meter_voltage_volts{phase="L3",${id("m2")}} 227`,
        "# TYPE floorsense_device_up gauge",
        `floorsense_device_up{${id("m1")}} 0`,
        `floorsense_device_up{${id("m2")}} 1`,
        "",
      ].join("\n"),
    );
  });

  it("renders text 0.0.4 timestamps in milliseconds and counters by their sample name, without _created", () => {
    const store = new SeriesStore(limits);
    store.write(
      dev("m1"),
      [
        {
          name: "floorsense_meter_energy_imported_joules",
          type: "counter",
          unit: "joules",
          help: 'kWh "times" 3.6e6\\',
          samples: [
            {
              name: "floorsense_meter_energy_imported_joules_total",
              labels: {},
              value: 1.5e9,
              timestamp: NOW + 0.25,
            },
            {
              name: "floorsense_meter_energy_imported_joules_created",
              labels: {},
              value: 1_600_000_000,
              timestamp: NOW + 0.25,
            },
          ],
        },
      ],
      NOW_MS,
    );
    const id = 'tenant="acme",site="s1",machine="press",device="m1"';
    expect(renderTenant(store.tenant("acme"), "text", true)).toBe(
      [
        '# HELP floorsense_meter_energy_imported_joules_total kWh "times" 3.6e6\\\\',
        "# TYPE floorsense_meter_energy_imported_joules_total counter",
        `floorsense_meter_energy_imported_joules_total{${id}} 1500000000 1700000000250`,
        "",
      ].join("\n"),
    );
    expect(renderTenant(store.tenant("acme"), "openmetrics", true)).toContain(
      '# HELP floorsense_meter_energy_imported_joules kWh \\"times\\" 3.6e6\\\\\n' +
        `floorsense_meter_energy_imported_joules_total{${id}} 1500000000 1700000000.25\n` +
        `floorsense_meter_energy_imported_joules_created{${id}} 1600000000 1700000000.25\n`,
    );
  });

  it("writes special values as OpenMetrics spells them", () => {
    const store = new SeriesStore(limits);
    store.write(
      dev("m1"),
      [voltage([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])],
      NOW_MS,
    );
    const lines = renderTenant(store.tenant("acme"), "openmetrics", false).split("\n");
    expect(lines.slice(3, 6).map((l) => l.split(" ")[1])).toEqual(["NaN", "+Inf", "-Inf"]);
  });

  it("adds new series of a family next to the old ones and keeps both", () => {
    const store = new SeriesStore(limits);
    store.write(dev("m1"), [voltage([1, 2], NOW, ["L1", "L2"]), up(1)], NOW_MS);
    store.write(dev("m1"), [voltage([3, 4], NOW + 1, ["L3", "L1"]), up(1, NOW + 1)], NOW_MS);
    const text = renderTenant(store.tenant("acme"), "openmetrics", false);
    expect(text.split("\n").filter((l) => !l.startsWith("#"))).toEqual([
      'floorsense_meter_voltage_volts{phase="L1",tenant="acme",site="s1",machine="press",device="m1"} 4',
      'floorsense_meter_voltage_volts{phase="L2",tenant="acme",site="s1",machine="press",device="m1"} 2',
      'floorsense_meter_voltage_volts{phase="L3",tenant="acme",site="s1",machine="press",device="m1"} 3',
      'floorsense_device_up{tenant="acme",site="s1",machine="press",device="m1"} 1',
      "",
    ]);
    expect(store.seriesCount()).toBe(4);
  });

  it("drops samples outside the age bounds and never goes back in time", () => {
    const store = new SeriesStore(limits);
    const first = store.write(dev("m1"), [voltage([1, 2, 3], NOW - 3601)], NOW_MS);
    expect(first).toMatchObject({ stored: 0, tooOld: 3 });
    const future = store.write(dev("m1"), [voltage([1, 2, 3], NOW + 301)], NOW_MS);
    expect(future).toMatchObject({ stored: 0, tooFarFuture: 3 });
    expect(store.write(dev("m1"), [voltage([1, 2, 3], NOW)], NOW_MS)).toMatchObject({ stored: 3 });
    const replay = store.write(dev("m1"), [voltage([9, 9, 9], NOW - 60)], NOW_MS);
    expect(replay).toMatchObject({ stored: 0, olderThanStored: 3 });
    expect(renderTenant(store.tenant("acme"), "text", false)).toContain(
      'phase="L1",tenant="acme",site="s1",machine="press",device="m1"} 1\n',
    );
  });

  it("caps a device at its series limit and leaves other devices alone", () => {
    const store = new SeriesStore({ ...limits, maxSeriesPerDevice: 4 });
    const many = (n: number): MetricFamily => ({
      name: "noisy",
      type: "gauge",
      samples: Array.from({ length: n }, (_, i) => ({
        name: "noisy",
        labels: { id: String(i) },
        value: 1,
        timestamp: NOW,
      })),
    });
    const result = store.write(dev("m1"), [many(6)], NOW_MS);
    expect(result).toMatchObject({ stored: 4, limitedByDevice: 2 });
    expect([...result.refused!]).toEqual([0, 0, 0, 0, 1, 1]);
    expect(store.write(dev("m2"), [voltage([1, 2, 3])], NOW_MS)).toMatchObject({
      stored: 3,
      limitedByDevice: 0,
    });
    expect(store.seriesCount("acme")).toBe(7);
  });

  it("caps a tenant at its series limit without touching other tenants", () => {
    const store = new SeriesStore({ ...limits, maxSeriesPerTenant: 4 });
    store.write(dev("m1"), [voltage([1, 2, 3])], NOW_MS);
    expect(store.write(dev("m2"), [voltage([1, 2, 3])], NOW_MS)).toMatchObject({
      stored: 1,
      limitedByTenant: 2,
    });
    expect(store.write(dev("m1", "other"), [voltage([1, 2, 3])], NOW_MS)).toMatchObject({ stored: 3 });
    expect(store.seriesCount("acme")).toBe(4);
    expect(store.seriesCount("other")).toBe(3);
  });

  it("refuses a payload whose family type conflicts with the tenant's, writing nothing", () => {
    const store = new SeriesStore(limits);
    store.write(dev("m1"), [up(1)], NOW_MS);
    const result = store.write(dev("m2"), [voltage([1, 2, 3]), { ...up(1), type: "counter" }], NOW_MS);
    expect(result.conflict).toBe(
      "family floorsense_device_up is counter here but gauge in other payloads of tenant acme",
    );
    expect(store.seriesCount("acme")).toBe(1);
  });

  it("removes a device's series and its families when it was the last member", () => {
    const store = new SeriesStore(limits);
    store.write(dev("m1"), [voltage([1, 2, 3]), up(1)], NOW_MS);
    store.write(dev("m2"), [up(1)], NOW_MS);
    expect(store.removeDevice(dev("m1"))).toBe(4);
    expect(store.seriesCount("acme")).toBe(1);
    expect(renderTenant(store.tenant("acme"), "openmetrics", false)).toBe(
      '# TYPE floorsense_device_up gauge\nfloorsense_device_up{tenant="acme",site="s1",machine="press",device="m2"} 1\n# EOF\n',
    );
    expect(store.removeDevice(dev("m2"))).toBe(1);
    expect(renderTenant(store.tenant("acme"), "openmetrics", false)).toBe("# EOF\n");
  });
});

describe("SeriesStore keys", () => {
  it("treats one label set written in another order as the same series", () => {
    const store = new SeriesStore(limits);
    const family = (labels: Record<string, string>, value: number): MetricFamily => ({
      name: "x",
      type: "gauge",
      samples: [{ name: "x", labels, value }],
    });
    store.write(dev("m1"), [family({ a: "1", b: "2" }, 1)], NOW_MS);
    store.write(dev("m1"), [family({ b: "2", a: "1" }, 2)], NOW_MS);
    expect(store.seriesCount()).toBe(1);
    expect(renderTenant(store.tenant("acme"), "text", false)).toContain('x{a="1",b="2",tenant="acme"');
  });

  it("keeps values that differ only in escaping apart", () => {
    const store = new SeriesStore(limits);
    const family = (v1: string, v2: string): MetricFamily => ({
      name: "x",
      type: "gauge",
      samples: [
        { name: "x", labels: { a: v1 }, value: 1 },
        { name: "x", labels: { a: v2 }, value: 2 },
      ],
    });
    // The escaped form of a\ is a\\\\, which the unescaped value a\\\\ must not match.
    store.write(dev("m1"), [family("a\\", "a\\\\")], NOW_MS);
    store.write(dev("m1"), [family("a\\", "a\\\\")], NOW_MS);
    expect(store.seriesCount()).toBe(2);
    const text = renderTenant(store.tenant("acme"), "text", false);
    expect(text).toContain('x{a="a\\\\",tenant="acme",site="s1",machine="press",device="m1"} 1\n');
    expect(text).toContain('x{a="a\\\\\\\\",tenant="acme",site="s1",machine="press",device="m1"} 2\n');
  });
});
