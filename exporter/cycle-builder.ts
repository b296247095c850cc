import type { Labels, MetricFamily, Sample } from "../openmetrics/types.js";
import type { DeviceReading } from "./device-reader.js";
import { READ_ERROR_KINDS, type ReadErrorKind } from "./modbus-transport.js";
import type { Profile } from "./profile.js";

/**
 * Exception codes a meter itself answers with (01 illegal function, 02 illegal data address,
 * 03 illegal data value, 04 device failure, 06 busy). Their series are in every payload from the
 * first cycle, so increase() sees the first one; other codes appear when they first happen.
 */
export const EXCEPTION_CODES: readonly number[] = [1, 2, 3, 4, 6];

/**
 * Read errors of one device since the exporter started: the counter in every payload. Exceptions
 * are counted per code ("" when the code is unknown), the other kinds as a whole.
 */
export interface ErrorTotals {
  kinds: Record<Exclude<ReadErrorKind, "exception">, number>;
  exceptions: Map<string, number>;
}

export function emptyErrorTotals(): ErrorTotals {
  return {
    kinds: { timeout: 0, crc: 0, disconnect: 0, other: 0 },
    exceptions: new Map(EXCEPTION_CODES.map((code) => [String(code), 0])),
  };
}

function countError(totals: ErrorTotals, error: { kind: ReadErrorKind; code?: number }): void {
  if (error.kind !== "exception") totals.kinds[error.kind]++;
  else {
    const code = error.code === undefined ? "" : String(error.code);
    totals.exceptions.set(code, (totals.exceptions.get(code) ?? 0) + 1);
  }
}

/**
 * The error counter's samples: every kind, exceptions split by code. Every sample has both labels
 * (`code=""`, which Prometheus treats as absent, for the other kinds) so `sum by (kind)` and
 * `sum by (code)` work alike on all of them.
 */
function errorSamples(totals: ErrorTotals, constantLabels: Labels, at: number): Sample[] {
  const sample = (kind: ReadErrorKind, code: string, value: number): Sample => ({
    name: "floorsense_device_read_errors_total",
    labels: { ...constantLabels, kind, code },
    value,
    timestamp: at,
  });
  const codes = [...totals.exceptions.keys()].sort((a, b) => Number(a) - Number(b));
  return READ_ERROR_KINDS.flatMap((kind) =>
    kind === "exception"
      ? codes.map((code) => sample(kind, code, totals.exceptions.get(code)!))
      : [sample(kind, "", totals.kinds[kind])],
  );
}

/**
 * One device's poll cycle as OpenMetrics families: the values that were read, each stamped with
 * the time its response arrived, and the device's health. A value that failed is absent, never
 * repeated from an earlier cycle; `floorsense_device_up` and the error counters say why.
 * `errorTotals` is updated in place with this cycle's errors.
 */
export function buildCycle(
  reading: DeviceReading,
  profile: Profile,
  constantLabels: Labels,
  errorTotals: ErrorTotals,
): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  for (const metric of profile.metrics.values()) {
    const family: MetricFamily = { name: metric.family, type: metric.type, help: metric.help, samples: [] };
    if (metric.unit) family.unit = metric.unit;
    families.set(metric.name, family);
  }
  for (const { register, value, timestampMs } of reading.values) {
    const family = families.get(register.metric)!;
    const labels: Labels = { ...constantLabels, ...register.labels };
    const timestamp = timestampMs / 1000;
    let sample: Sample;
    if (typeof value === "string") {
      sample = {
        name: register.metric,
        labels: { ...labels, [register.label!]: value },
        value: 1,
        timestamp,
      };
    } else {
      // OpenMetrics forbids NaN and negative counters; a meter sending one has not given a reading.
      const invalid = !Number.isFinite(value) || (family.type === "counter" && value < 0);
      if (invalid) {
        reading.errors.push({ kind: "other", message: `${register.metric}: invalid value ${value}` });
        continue;
      }
      sample = { name: register.metric, labels, value, timestamp };
    }
    family.samples.push(sample);
  }

  for (const error of reading.errors) countError(errorTotals, error);
  const at = reading.startedAtMs / 1000;
  const health: MetricFamily[] = [
    {
      name: "floorsense_device_up",
      type: "gauge",
      help: "1 when the device answered this poll cycle, 0 when it timed out or the link was down.",
      samples: [
        {
          name: "floorsense_device_up",
          labels: { ...constantLabels },
          value: reading.up ? 1 : 0,
          timestamp: at,
        },
      ],
    },
    {
      name: "floorsense_device_read_duration_seconds",
      type: "gauge",
      unit: "seconds",
      help: "Time the poll cycle of this device took on the bus.",
      samples: [
        {
          name: "floorsense_device_read_duration_seconds",
          labels: { ...constantLabels },
          value: reading.durationMs / 1000,
          timestamp: at,
        },
      ],
    },
    {
      name: "floorsense_device_read_errors",
      type: "counter",
      help: "Failed reads of this device since the exporter started, by kind and Modbus exception code.",
      samples: errorSamples(errorTotals, constantLabels, at),
    },
  ];
  return [...[...families.values()].filter((family) => family.samples.length > 0), ...health];
}
