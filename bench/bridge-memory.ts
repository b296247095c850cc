/**
 * Child process of the bridge benchmark: resident memory per stored series, for the bridge's store
 * or for prom-client holding the same series, in a fresh process so nothing else is counted.
 *
 *   node --expose-gc --import tsx bench/bridge-memory.ts store|prom-client SERIES
 */
import { deviceFamilies, fillPromClient, fillSeriesStore, SERIES_PER_DEVICE } from "./bridge-series.js";

const [kind, seriesText] = process.argv.slice(2);
const devices = Math.round(Number(seriesText) / SERIES_PER_DEVICE);
const gc = (globalThis as { gc?: () => void }).gc!;

// Payloads are parsed before the baseline so that only the stored series are measured.
const perDevice = Array.from({ length: 64 }, (_, d) => deviceFamilies(d));
gc();
const before = process.memoryUsage();
let keep: unknown;
if (kind === "store") {
  keep = fillSeriesStore(devices, (d) => perDevice[d % 64]!);
} else {
  keep = fillPromClient(devices, (d) => perDevice[d % 64]!);
}
gc();
gc();
const after = process.memoryUsage();
const series = devices * SERIES_PER_DEVICE;
console.log(
  JSON.stringify({
    kind,
    series,
    rssPerSeries: (after.rss - before.rss) / series,
    heapPerSeries: (after.heapUsed + after.external - before.heapUsed - before.external) / series,
    kept: keep !== undefined,
  }),
);
