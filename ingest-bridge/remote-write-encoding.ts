import type { Labels, MetricFamily } from "../openmetrics/types.js";
import type { DeviceIdentity } from "./topic.js";

/** One sample as remote write carries it: labels sorted by name, `__name__` included. */
export interface RemoteSample {
  labels: Array<[string, string]>;
  value: number;
  timestampMs: number;
}

/**
 * The samples of one payload for remote write, with the identity labels of the topic. Samples without
 * a timestamp get `nowMs`; `skip[i]` (samples numbered across families) leaves one out.
 */
export function toRemoteSamples(
  families: MetricFamily[],
  identity: DeviceIdentity,
  nowMs: number,
  options: { skip?: Uint8Array; maxTimestampMs?: number } = {},
): RemoteSample[] {
  const out: RemoteSample[] = [];
  const newest = options.maxTimestampMs ?? Number.POSITIVE_INFINITY;
  let index = 0;
  for (const family of families) {
    for (const sample of family.samples) {
      if (options.skip?.[index++]) continue;
      const timestampMs = sample.timestamp === undefined ? nowMs : Math.round(sample.timestamp * 1000);
      if (timestampMs > newest || timestampMs < 0) continue;
      out.push({
        labels: sortedLabels(sample.name, sample.labels, identity),
        value: sample.value,
        timestampMs,
      });
    }
  }
  return out;
}

/** The remote-write label set of every sample of a payload, in order. */
export function remoteLabelsOf(families: MetricFamily[], identity: DeviceIdentity): RemoteSample["labels"][] {
  const out: RemoteSample["labels"][] = [];
  for (const family of families) {
    for (const sample of family.samples) out.push(sortedLabels(sample.name, sample.labels, identity));
  }
  return out;
}

/**
 * The samples of a payload read by position (see PayloadTemplate): `labels[i]` from `remoteLabelsOf`,
 * value and timestamp (seconds, NaN for none: `nowMs`) from the arrays. Same rules as toRemoteSamples.
 */
export function toRemoteSamplesBySlot(
  labels: RemoteSample["labels"][],
  values: Float64Array,
  timestamps: Float64Array,
  nowMs: number,
  maxTimestampMs: number,
): RemoteSample[] {
  const out: RemoteSample[] = [];
  for (let i = 0; i < labels.length; i++) {
    const ts = timestamps[i]!;
    const timestampMs = Number.isNaN(ts) ? nowMs : Math.round(ts * 1000);
    if (timestampMs > maxTimestampMs || timestampMs < 0) continue;
    out.push({ labels: labels[i]!, value: values[i]!, timestampMs });
  }
  return out;
}

function sortedLabels(name: string, labels: Labels, identity: DeviceIdentity): Array<[string, string]> {
  const pairs: Array<[string, string]> = [
    ["__name__", name],
    ["tenant", identity.tenant],
    ["site", identity.site],
    ["machine", identity.machine],
    ["device", identity.device],
  ];
  for (const label in labels) pairs.push([label, labels[label]!]);
  // Byte order, as Prometheus compares label names (they are ASCII, so code units are bytes).
  return pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeVarint(buffer: Uint8Array, offset: number, value: number): number {
  while (value >= 128) {
    buffer[offset++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buffer[offset++] = value;
  return offset;
}

// Field tags: (field number << 3) | wire type; 2 = length-delimited, 1 = 64-bit, 0 = varint.
const TAG_TIMESERIES = 0x0a; // WriteRequest.timeseries = 1
const TAG_LABELS = 0x0a; // TimeSeries.labels = 1
const TAG_SAMPLES = 0x12; // TimeSeries.samples = 2
const TAG_LABEL_NAME = 0x0a; // Label.name = 1
const TAG_LABEL_VALUE = 0x12; // Label.value = 2
const TAG_SAMPLE_VALUE = 0x09; // Sample.value = 1 (double)
const TAG_SAMPLE_TIMESTAMP = 0x10; // Sample.timestamp = 2 (int64)

/**
 * Prometheus remote write 1.0 `WriteRequest` in protobuf, one TimeSeries per sample. Written by hand:
 * four message types do not justify a protobuf runtime, and two passes (sizes, then bytes) avoid copies.
 */
export function encodeWriteRequest(samples: RemoteSample[]): Uint8Array {
  const encoder = new TextEncoder();
  const encoded = samples.map((sample) => {
    const labels = sample.labels.map(([name, value]) => {
      const n = encoder.encode(name);
      const v = encoder.encode(value);
      const size = 1 + varintSize(n.length) + n.length + 1 + varintSize(v.length) + v.length;
      return { n, v, size };
    });
    if (sample.timestampMs < 0 || !Number.isSafeInteger(sample.timestampMs)) {
      throw new Error(`remote write needs a non-negative millisecond timestamp, got ${sample.timestampMs}`);
    }
    const sampleSize = 1 + 8 + 1 + varintSize(sample.timestampMs);
    let seriesSize = 0;
    for (const label of labels) seriesSize += 1 + varintSize(label.size) + label.size;
    seriesSize += 1 + varintSize(sampleSize) + sampleSize;
    return { labels, sampleSize, seriesSize, sample };
  });
  let total = 0;
  for (const e of encoded) total += 1 + varintSize(e.seriesSize) + e.seriesSize;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let o = 0;
  for (const e of encoded) {
    out[o++] = TAG_TIMESERIES;
    o = writeVarint(out, o, e.seriesSize);
    for (const label of e.labels) {
      out[o++] = TAG_LABELS;
      o = writeVarint(out, o, label.size);
      out[o++] = TAG_LABEL_NAME;
      o = writeVarint(out, o, label.n.length);
      out.set(label.n, o);
      o += label.n.length;
      out[o++] = TAG_LABEL_VALUE;
      o = writeVarint(out, o, label.v.length);
      out.set(label.v, o);
      o += label.v.length;
    }
    out[o++] = TAG_SAMPLES;
    o = writeVarint(out, o, e.sampleSize);
    out[o++] = TAG_SAMPLE_VALUE;
    view.setFloat64(o, e.sample.value, true);
    o += 8;
    out[o++] = TAG_SAMPLE_TIMESTAMP;
    o = writeVarint(out, o, e.sample.timestampMs);
  }
  return out;
}
