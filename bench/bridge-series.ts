/** The same SDM630-like series for the bridge's store and for prom-client, device by device. */
import { Counter, Gauge, Registry } from "prom-client";
import { SeriesStore } from "../ingest-bridge/series-store.js";
import { parseOpenMetrics } from "../openmetrics/index.js";
import type { MetricFamily } from "../openmetrics/types.js";
import { SAMPLES_PER_READING, sdm630Reading } from "./bridge-payload.js";

export const SERIES_PER_DEVICE = SAMPLES_PER_READING;
const TS = Math.floor(Date.now() / 1000) - 10 + 0.125;

export function deviceFamilies(d: number): MetricFamily[] {
  return parseOpenMetrics(sdm630Reading(TS, d));
}

/** A prom-client registry with one metric per family, labelled like the bridge's exposition. */
export function fillPromClient(devices: number, familiesOf: (d: number) => MetricFamily[]): Registry {
  const registry = new Registry();
  const metrics = new Map<string, Gauge | Counter>();
  for (let d = 0; d < devices; d++) {
    const identity = { tenant: "acme", site: "plant1", machine: `m${d}`, device: "sdm630" };
    for (const family of familiesOf(d)) {
      for (const sample of family.samples) {
        let metric = metrics.get(sample.name);
        if (!metric) {
          const options = {
            name: sample.name,
            help: family.help ?? sample.name,
            labelNames: [...Object.keys(sample.labels), "tenant", "site", "machine", "device"],
            registers: [registry],
          };
          metric = family.type === "counter" ? new Counter(options) : new Gauge(options);
          metrics.set(sample.name, metric);
        }
        const labels = { ...sample.labels, ...identity };
        if (metric instanceof Counter) metric.inc(labels, sample.value);
        else metric.set(labels, sample.value);
      }
    }
  }
  return registry;
}

/** The bridge's store holding the same series as `fillPromClient`, with no limit in the way. */
export function fillSeriesStore(devices: number, familiesOf: (d: number) => MetricFamily[]): SeriesStore {
  const store = new SeriesStore({
    maxSeriesPerTenant: 1e9,
    maxSeriesPerDevice: 1e6,
    maxSampleAgeMs: Number.MAX_SAFE_INTEGER,
    maxSampleFutureMs: Number.MAX_SAFE_INTEGER,
  });
  const now = Date.now();
  for (let d = 0; d < devices; d++) {
    store.write({ tenant: "acme", site: "plant1", machine: `m${d}`, device: "sdm630" }, familiesOf(d), now);
  }
  return store;
}
