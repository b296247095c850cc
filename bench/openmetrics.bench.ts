/**
 * OpenMetrics codec throughput next to prom-client's own exposition of the same series.
 *
 *   npm run bench:openmetrics            (DEVICES=1000 SECONDS=1.5 ROUNDS=2 by default)
 *
 * The series: DEVICES SDM630-like meters, 54 samples each (the catalogue's meter gauges per phase,
 * two energy counters with _created, read errors by kind, a read-duration histogram, device_up),
 * all in one exposition with a `device` label, as a scrape of the bridge would look. prom-client
 * holds them in a Registry (gauges, counters, a histogram); we hold them as MetricFamily[].
 * Parsing has no prom-client counterpart, so it is shown next to JSON.parse of the same families
 * (a native parser over equivalent data) as a yardstick: for the bridge's case (one 54-sample
 * payload per device, as UTF-8 bytes) and for the whole exposition.
 */
import { Counter, Gauge, Histogram, Registry, type RegistryContentType } from "prom-client";
import {
  type Labels,
  type MetricFamily,
  parseOpenMetrics,
  type Sample,
  serializeOpenMetrics,
  serializePrometheusText,
} from "../openmetrics/index.js";
import { PayloadTemplate } from "../openmetrics/payload-template.js";
import { SAMPLES_PER_READING, sdm630Reading } from "./bridge-payload.js";

const DEVICES = Number(process.env.DEVICES ?? 1000);
const SECONDS = Number(process.env.SECONDS ?? 1.5);
const ROUNDS = Number(process.env.ROUNDS ?? 2);

const PHASES = ["L1", "L2", "L3"];
const PAIRS = ["L1-L2", "L2-L3", "L3-L1"];
const KINDS = ["timeout", "crc", "exception", "disconnect", "other"];
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25];
const PER_PHASE_GAUGES: Array<[string, string, string[]]> = [
  ["floorsense_meter_voltage_volts", "phase", PHASES],
  ["floorsense_meter_line_voltage_volts", "phases", PAIRS],
  ["floorsense_meter_current_amperes", "phase", PHASES],
  ["floorsense_meter_power_watts", "phase", PHASES],
  ["floorsense_meter_apparent_power_voltamperes", "phase", PHASES],
  ["floorsense_meter_reactive_power_voltamperes_reactive", "phase", PHASES],
  ["floorsense_meter_power_factor_ratio", "phase", PHASES],
  ["floorsense_meter_voltage_thd_ratio", "phase", PHASES],
  ["floorsense_meter_current_thd_ratio", "phase", PHASES],
];
const SINGLE_GAUGES = [
  "floorsense_meter_system_power_watts",
  "floorsense_meter_frequency_hertz",
  "floorsense_device_up",
];
const COUNTERS = ["floorsense_meter_energy_imported_joules", "floorsense_meter_energy_exported_joules"];
const CREATED = 1_699_990_000;

/** A deterministic pseudo-random reading, so both sides hold identical values. */
function reading(device: number, i: number): number {
  return Math.round(((device * 7919 + i * 104729) % 100000) * 0.37 * 1000) / 1000;
}

function deviceName(d: number): string {
  return `dev-${String(d).padStart(4, "0")}`;
}

/**
 * Builds the families for `devices`, each sample carrying `device` unless `withDevice` is false,
 * and the acquisition `timestamp` when given (as the exporter's MQTT payloads do).
 */
function buildFamilies(devices: number[], withDevice: boolean, timestamp?: number): MetricFamily[] {
  const base = (d: number): Labels => (withDevice ? { device: deviceName(d) } : {});
  const families: MetricFamily[] = [];
  for (const [name, label, values] of PER_PHASE_GAUGES) {
    const samples: Sample[] = [];
    for (const d of devices) {
      values.forEach((v, i) => {
        samples.push({ name, labels: { ...base(d), [label]: v }, value: reading(d, i) });
      });
    }
    families.push({ name, type: "gauge", help: `${name} per phase.`, samples });
  }
  for (const name of SINGLE_GAUGES) {
    families.push({
      name,
      type: "gauge",
      help: `${name}.`,
      samples: devices.map((d) => ({ name, labels: base(d), value: reading(d, 9) })),
    });
  }
  for (const name of COUNTERS) {
    const samples: Sample[] = [];
    for (const d of devices) {
      samples.push({ name: `${name}_total`, labels: base(d), value: reading(d, 11) * 3600 });
      samples.push({ name: `${name}_created`, labels: base(d), value: CREATED });
    }
    families.push({ name, type: "counter", help: `${name}.`, samples });
  }
  const errors = "floorsense_device_read_errors";
  const errorSamples: Sample[] = [];
  for (const d of devices) {
    for (const kind of KINDS) {
      errorSamples.push({ name: `${errors}_total`, labels: { ...base(d), kind }, value: d % 7 });
      errorSamples.push({ name: `${errors}_created`, labels: { ...base(d), kind }, value: CREATED });
    }
  }
  families.push({ name: errors, type: "counter", help: "Failed reads by kind.", samples: errorSamples });
  const h = "floorsense_device_read_duration_seconds";
  const hSamples: Sample[] = [];
  for (const d of devices) {
    const labels = base(d);
    let cumulative = 0;
    for (const le of BUCKETS) {
      cumulative += d % 3;
      hSamples.push({ name: `${h}_bucket`, labels: { ...labels, le: String(le) }, value: cumulative });
    }
    hSamples.push({ name: `${h}_bucket`, labels: { ...labels, le: "+Inf" }, value: cumulative });
    hSamples.push({ name: `${h}_sum`, labels, value: cumulative * 0.01 });
    hSamples.push({ name: `${h}_count`, labels, value: cumulative });
    hSamples.push({ name: `${h}_created`, labels, value: CREATED });
  }
  families.push({ name: h, type: "histogram", help: "Time to read the device.", samples: hSamples });
  if (timestamp !== undefined) {
    for (const family of families) for (const sample of family.samples) sample.timestamp = timestamp;
  }
  return families;
}

/** The same series in prom-client (it writes no _created samples, so it has fewer sample lines). */
function buildRegistry(devices: number[], openMetrics: boolean): Registry<RegistryContentType> {
  const registry = new Registry<RegistryContentType>();
  if (openMetrics) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  for (const [name, label, values] of PER_PHASE_GAUGES) {
    const g = new Gauge({
      name,
      help: `${name} per phase.`,
      labelNames: ["device", label],
      registers: [registry],
    });
    for (const d of devices)
      values.forEach((v, i) => {
        g.set({ device: deviceName(d), [label]: v }, reading(d, i));
      });
  }
  for (const name of SINGLE_GAUGES) {
    const g = new Gauge({ name, help: `${name}.`, labelNames: ["device"], registers: [registry] });
    for (const d of devices) g.set({ device: deviceName(d) }, reading(d, 9));
  }
  for (const name of COUNTERS) {
    const c = new Counter({
      name: `${name}_total`,
      help: `${name}.`,
      labelNames: ["device"],
      registers: [registry],
    });
    for (const d of devices) c.inc({ device: deviceName(d) }, reading(d, 11) * 3600);
  }
  const errors = new Counter({
    name: "floorsense_device_read_errors_total",
    help: "Failed reads by kind.",
    labelNames: ["device", "kind"],
    registers: [registry],
  });
  for (const d of devices) for (const kind of KINDS) errors.inc({ device: deviceName(d), kind }, d % 7);
  const h = new Histogram({
    name: "floorsense_device_read_duration_seconds",
    help: "Time to read the device.",
    labelNames: ["device"],
    buckets: BUCKETS,
    registers: [registry],
  });
  for (const d of devices)
    for (let i = 0; i < (d % 3) * BUCKETS.length; i++) h.observe({ device: deviceName(d) }, 0.004);
  return registry;
}

interface Measurement {
  opsPerSecond: number;
  samplesPerSecond: number;
  mbPerSecond: number;
}

/**
 * Runs `fn` repeatedly for SECONDS after a short warm-up; each call handles `samples` samples and
 * `bytes` bytes. Rates are per CPU-second of this process (process.cpuUsage), not wall time: the
 * machine is shared, and other processes' load would otherwise swing the figures.
 */
async function measure(fn: () => unknown, samples: number, bytes: number): Promise<Measurement> {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await fn();
  let ops = 0;
  const cpuStart = process.cpuUsage();
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    await fn();
    ops++;
  }
  const cpu = process.cpuUsage(cpuStart);
  const seconds = (cpu.user + cpu.system) / 1e6;
  return {
    opsPerSecond: ops / seconds,
    samplesPerSecond: (ops * samples) / seconds,
    mbPerSecond: (ops * bytes) / seconds / 1e6,
  };
}

const sampleLines = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });

/** Alternates the two sides ROUNDS times and keeps each side's best round (the least disturbed by other load). */
async function pair(
  ours: () => unknown,
  oursSize: [number, number],
  ref: () => unknown,
  refSize: [number, number],
): Promise<[Measurement, Measurement]> {
  let best: [Measurement, Measurement] | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const a = await measure(ours, ...oursSize);
    const b = await measure(ref, ...refSize);
    best = best
      ? [
          a.samplesPerSecond > best[0].samplesPerSecond ? a : best[0],
          b.samplesPerSecond > best[1].samplesPerSecond ? b : best[1],
        ]
      : [a, b];
  }
  return best!;
}

async function main(): Promise<void> {
  const devices = Array.from({ length: DEVICES }, (_, i) => i);
  const bytes = (s: string) => Buffer.byteLength(s);
  console.log(
    `OpenMetrics codec benchmark: ${DEVICES} devices, best of ${ROUNDS} rounds of ${SECONDS}s per measurement, Node ${process.version}`,
  );

  // The bridge's case first, before the large structures below make every garbage collection dearer.
  const payloadFamilies = devices.map((d) => buildFamilies([d], false, 1_700_000_000.123 + d / 1000));
  const payloadSamples = payloadFamilies.reduce(
    (n, fs) => n + fs.reduce((m, f) => m + f.samples.length, 0),
    0,
  );
  const payloads = payloadFamilies.map((fs) => Buffer.from(serializeOpenMetrics(fs)));
  const payloadBytes = payloads.reduce((n, p) => n + p.length, 0);
  const payloadJson = payloadFamilies.map((fs) => Buffer.from(JSON.stringify(fs)));
  const payloadJsonBytes = payloadJson.reduce((n, p) => n + p.length, 0);
  const rows: Array<[string, Measurement, Measurement, string]> = [];
  const [parsePayloads, jsonPayloads] = await pair(
    () => {
      for (const p of payloads) parseOpenMetrics(p);
    },
    [payloadSamples, payloadBytes],
    () => {
      for (const p of payloadJson) JSON.parse(p.toString("utf8"));
    },
    [payloadSamples, payloadJsonBytes],
  );
  rows.push([
    "parse per-device payloads (bytes)",
    parsePayloads,
    jsonPayloads,
    "JSON.parse of the same payloads as JSON",
  ]);
  payloadFamilies.length = 0;

  // The bridge's fast path: a device's next reading differs from its last one only in numbers.
  const readings = Array.from({ length: 200 }, (_, i) =>
    Buffer.from(sdm630Reading(1_700_000_000.125 + i, i)),
  );
  const readingBytes = readings.reduce((n, r) => n + r.length, 0);
  const readingSamples = readings.length * SAMPLES_PER_READING;
  const template = PayloadTemplate.build(readings[0]!, parseOpenMetrics(readings[0]!));
  if (!template) throw new Error("the bridge's bench payload must get a template");
  const values = new Float64Array(template.samples);
  const stamps = new Float64Array(template.samples);
  for (const r of readings)
    if (!template.match(r, values, stamps)) throw new Error("every bench reading must match the template");
  const [matched, parsed] = await pair(
    () => {
      for (const r of readings) template.match(r, values, stamps);
    },
    [readingSamples, readingBytes],
    () => {
      for (const r of readings) parseOpenMetrics(r);
    },
    [readingSamples, readingBytes],
  );
  rows.push(["template match (bridge payloads)", matched, parsed, "parseOpenMetrics of the same payloads"]);
  const perPayload = (m: Measurement) => (1e6 / m.opsPerSecond / readings.length).toFixed(1);
  console.log(
    `bridge payloads (${fmt(readingBytes / readings.length)} B, ${SAMPLES_PER_READING} samples): template match ${perPayload(matched)} µs, full parse ${perPayload(parsed)} µs per payload (CPU time)`,
  );

  const families = buildFamilies(devices, true);
  const ourSamples = families.reduce((n, f) => n + f.samples.length, 0);
  const omText = serializeOpenMetrics(families);
  const textText = serializePrometheusText(families);
  const promText = buildRegistry(devices, false);
  const promOm = buildRegistry(devices, true);
  const promTextOut = await promText.metrics();
  const promOmOut = await promOm.metrics();
  // prom-client's OpenMetrics output must itself pass the strict parser, or the comparison is moot.
  parseOpenMetrics(promOmOut);
  const promSamples = sampleLines(promTextOut);
  const json = JSON.stringify(families);

  console.log(
    `one exposition of all devices: ours ${fmt(ourSamples)} samples (prom-client: ${fmt(promSamples)}: no _created, no histogram without observations), ` +
      `ours OpenMetrics ${fmt(bytes(omText))} B, ours text ${fmt(bytes(textText))} B, ` +
      `prom-client text ${fmt(bytes(promTextOut))} B, prom-client OpenMetrics ${fmt(bytes(promOmOut))} B`,
  );
  console.log(
    `per-device payloads: ${fmt(payloadSamples / DEVICES)} samples with timestamps, ${fmt(payloadBytes / DEVICES)} B each`,
  );

  const [ourOm, theirOm] = await pair(
    () => serializeOpenMetrics(families),
    [ourSamples, bytes(omText)],
    () => promOm.metrics(),
    [promSamples, bytes(promOmOut)],
  );
  rows.push(["serialize OpenMetrics", ourOm, theirOm, "prom-client registry.metrics() (OpenMetrics)"]);
  const [ourText, theirText] = await pair(
    () => serializePrometheusText(families),
    [ourSamples, bytes(textText)],
    () => promText.metrics(),
    [promSamples, bytes(promTextOut)],
  );
  rows.push(["serialize text 0.0.4", ourText, theirText, "prom-client registry.metrics() (text 0.0.4)"]);
  const [parseBig, jsonParse] = await pair(
    () => parseOpenMetrics(omText),
    [ourSamples, bytes(omText)],
    () => JSON.parse(json),
    [ourSamples, bytes(json)],
  );
  rows.push([
    "parse one exposition (string)",
    parseBig,
    jsonParse,
    "JSON.parse of the same families as JSON",
  ]);

  console.log("");
  console.log(
    `${"operation".padEnd(36)} ${"ours samples/s".padStart(15)} ${"ours MB/s".padStart(10)} ${"ref samples/s".padStart(15)} ${"ref MB/s".padStart(10)} ${"ratio".padStart(7)}  reference`,
  );
  for (const [name, ours, ref, refName] of rows) {
    const ratio = `${(ours.samplesPerSecond / ref.samplesPerSecond).toFixed(2)}x`;
    console.log(
      `${name.padEnd(36)} ${fmt(ours.samplesPerSecond).padStart(15)} ${fmt(ours.mbPerSecond, 1).padStart(10)} ` +
        `${fmt(ref.samplesPerSecond).padStart(15)} ${fmt(ref.mbPerSecond, 1).padStart(10)} ${ratio.padStart(7)}  ${refName}`,
    );
  }
  console.log(
    `\nper-device payloads parsed: ${fmt(parsePayloads.opsPerSecond * DEVICES)} payloads per CPU-second`,
  );
  console.log(
    "rates are per CPU-second; ratio = ours / reference in samples per second (higher is better for ours)",
  );
}

await main();
