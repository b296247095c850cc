import type { Labels, MetricFamily, Sample } from "../openmetrics/types.js";
import type { DeviceReading } from "./device-reader.js";
import { READ_ERROR_KINDS, type ReadErrorKind } from "./modbus-transport.js";
import type { Profile } from "./profile.js";

/** Read errors of one device since the exporter started: the counter in every payload. */
export type ErrorTotals = Record<ReadErrorKind, number>;

export function emptyErrorTotals(): ErrorTotals {
  return { timeout: 0, crc: 0, exception: 0, disconnect: 0, other: 0 };
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

  for (const error of reading.errors) errorTotals[error.kind]++;
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
      help: "Failed reads of this device since the exporter started, by kind.",
      samples: READ_ERROR_KINDS.map((kind) => ({
        name: "floorsense_device_read_errors_total",
        labels: { ...constantLabels, kind },
        value: errorTotals[kind],
        timestamp: at,
      })),
    },
  ];
  return [...[...families.values()].filter((family) => family.samples.length > 0), ...health];
}
