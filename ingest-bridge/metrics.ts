import { Counter, Gauge, Registry } from "prom-client";
import { registerBuildInfo } from "../lib/build-info.js";
import type { RemoteWriteMetrics } from "./remote-write.js";
import type { DeviceIdentity } from "./topic.js";

/** A per-message count kept as a plain number and copied into its counter at scrape time. */
export interface HotCount {
  value: number;
  /** What the counter already holds. */
  reported: number;
}

/**
 * What every message updates, as plain numbers: prom-client validates and hashes the label set on
 * every inc() or set(), even through a `labels()` child, which cost more per message than liveness
 * and the store together. The counters and the gauge read these when scraped.
 */
export class HotCounts {
  readonly messages: HotCount = { value: 0, reported: 0 };
  /** Readings payloads checked against their topic's template, and those parsed in full. */
  readonly templateParses: HotCount = { value: 0, reported: 0 };
  readonly fullParses: HotCount = { value: 0, reported: 0 };
  private readonly ingested = new Map<string, HotCount>();
  /** Seconds of the device's last readings message, keyed by liveness's one identity per device. */
  readonly lastMessage = new Map<DeviceIdentity, number>();

  /** The tenant's ingested-samples count; callers may keep it, it stays the same object. */
  ingestedOf(tenant: string): HotCount {
    let count = this.ingested.get(tenant);
    if (!count) {
      count = { value: 0, reported: 0 };
      this.ingested.set(tenant, count);
    }
    return count;
  }

  ingestedEntries(): IterableIterator<[string, HotCount]> {
    return this.ingested.entries();
  }
}

function unreported(count: HotCount): number {
  const delta = count.value - count.reported;
  count.reported = count.value;
  return delta;
}

/** The bridge's own health metrics (names from the catalogue in docs/architecture.md). */
export function createBridgeMetrics(
  registry = new Registry(),
  /** Read at scrape time, so the hot path never touches the gauge. */
  seriesOf?: { tenants: readonly string[]; count(tenant: string): number },
) {
  registerBuildInfo(registry, "bridge");
  const registers = [registry];
  const deviceLabels = ["tenant", "site", "machine", "device"] as const;
  const hot = new HotCounts();
  const metrics = {
    registry,
    hot,
    messages: new Counter({
      name: "floorsense_bridge_messages_total",
      help: "MQTT messages received on the readings and status topics.",
      registers,
      collect() {
        const delta = unreported(hot.messages);
        if (delta > 0) this.inc(delta);
      },
    }),
    payloadParses: new Counter({
      name: "floorsense_bridge_payload_parses_total",
      help: "Readings payloads checked, by method: template (same bytes as the topic's last accepted payload but for the numbers) or full (the strict parser).",
      labelNames: ["method"],
      registers,
      collect() {
        const template = unreported(hot.templateParses);
        const full = unreported(hot.fullParses);
        if (template > 0) this.inc({ method: "template" }, template);
        if (full > 0) this.inc({ method: "full" }, full);
      },
    }),
    samplesIngested: new Counter({
      name: "floorsense_bridge_samples_ingested_total",
      help: "Samples of accepted payloads, per tenant.",
      labelNames: ["tenant"],
      registers,
      collect() {
        for (const [tenant, count] of hot.ingestedEntries()) {
          const delta = unreported(count);
          if (delta > 0) this.inc({ tenant }, delta);
        }
      },
    }),
    samplesDropped: new Counter({
      name: "floorsense_bridge_samples_dropped_total",
      help: "Samples kept out of the scrape store: too_old, too_far_future, out_of_order (older than the stored one).",
      labelNames: ["tenant", "reason"],
      registers,
    }),
    payloadsRejected: new Counter({
      name: "floorsense_bridge_payloads_rejected_total",
      help: "Payloads refused whole, by reason.",
      labelNames: ["tenant", "reason"],
      registers,
    }),
    series: new Gauge({
      name: "floorsense_bridge_series",
      help: "Series in the scrape store, per tenant.",
      labelNames: ["tenant"],
      registers,
      collect() {
        if (!seriesOf) return;
        for (const tenant of seriesOf.tenants) this.set({ tenant }, seriesOf.count(tenant));
      },
    }),
    seriesLimitRejections: new Counter({
      name: "floorsense_bridge_series_limit_rejections_total",
      help: "New series refused because a series limit was reached, by scope (tenant or device).",
      labelNames: ["tenant", "scope"],
      registers,
    }),
    deviceLastMessage: new Gauge({
      name: "floorsense_bridge_device_last_message_timestamp_seconds",
      help: "When the bridge last received a readings message of the device.",
      labelNames: deviceLabels,
      registers,
      collect() {
        for (const [identity, seconds] of hot.lastMessage) {
          const { tenant, site, machine, device } = identity;
          this.set({ tenant, site, machine, device }, seconds);
        }
      },
    }),
    deviceOnline: new Gauge({
      name: "floorsense_bridge_device_online",
      help: "1 while the machine's status topic says online (or nothing), 0 after offline (last will).",
      labelNames: deviceLabels,
      registers,
    }),
    mqttConnected: new Gauge({
      name: "floorsense_bridge_mqtt_connected",
      help: "1 while the bridge is connected to the MQTT broker.",
      registers,
    }),
    remoteWriteQueue: new Gauge({
      name: "floorsense_bridge_remote_write_queue_samples",
      help: "Samples waiting for a remote-write endpoint.",
      labelNames: ["endpoint"],
      registers,
    }),
    remoteWriteFailures: new Counter({
      name: "floorsense_bridge_remote_write_failures_total",
      help: "Failed remote-write requests: server_error, rate_limited and network are retried; client_error is dropped.",
      labelNames: ["endpoint", "reason"],
      registers,
    }),
    remoteWriteSamples: new Counter({
      name: "floorsense_bridge_remote_write_samples_total",
      help: "Samples an endpoint accepted (sent) or refused for good (dropped).",
      labelNames: ["endpoint", "result"],
      registers,
    }),
  };
  metrics.mqttConnected.set(0);
  for (const method of ["template", "full"]) metrics.payloadParses.inc({ method }, 0);
  return metrics;
}

export type BridgeMetrics = ReturnType<typeof createBridgeMetrics>;

type RemoteWriteFailureReason = Parameters<RemoteWriteMetrics["failure"]>[1];
const REMOTE_WRITE_FAILURE_REASONS: readonly RemoteWriteFailureReason[] = [
  "server_error",
  "rate_limited",
  "network",
  "client_error",
];

/**
 * Starts the counters at 0 for every label set known at start. A counter that appears only with
 * its first event hides that first increase from rate() and leaves alert rules and dashboards
 * with no series to read until something has already gone wrong.
 */
export function initialiseKnownSeries(
  metrics: BridgeMetrics,
  known: { tenants: readonly string[]; endpoints: readonly string[]; rejectReasons: readonly string[] },
): void {
  for (const tenant of known.tenants) {
    metrics.samplesIngested.inc({ tenant }, 0);
    for (const reason of known.rejectReasons) metrics.payloadsRejected.inc({ tenant, reason }, 0);
    for (const scope of ["tenant", "device"]) metrics.seriesLimitRejections.inc({ tenant, scope }, 0);
  }
  for (const endpoint of known.endpoints) {
    for (const reason of REMOTE_WRITE_FAILURE_REASONS)
      metrics.remoteWriteFailures.inc({ endpoint, reason }, 0);
    for (const result of ["sent", "dropped"]) metrics.remoteWriteSamples.inc({ endpoint, result }, 0);
    metrics.remoteWriteQueue.set({ endpoint }, 0);
  }
}

export function remoteWriteMetrics(metrics: BridgeMetrics): RemoteWriteMetrics {
  return {
    queueSamples: (endpoint, samples) => metrics.remoteWriteQueue.set({ endpoint }, samples),
    failure: (endpoint, reason) => metrics.remoteWriteFailures.inc({ endpoint, reason }),
    samples: (endpoint, result, count) => metrics.remoteWriteSamples.inc({ endpoint, result }, count),
  };
}
