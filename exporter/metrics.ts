import { Counter, Gauge, Registry } from "prom-client";
import { registerBuildInfo } from "../lib/build-info.js";

/** The exporter's own health on /metrics, named as docs/architecture.md's catalogue lists them. */
export interface ExporterMetrics {
  registry: Registry;
  pollCycles: Counter<"device" | "result">;
  queueCycles: Gauge;
  queueBytes: Gauge;
  replayedCycles: Counter;
  droppedCycles: Counter<"reason">;
  mqttConnected: Gauge;
  mqttConnectFailures: Counter<"reason">;
}

/** Why a connection attempt failed: a rejected login must not look like a broker that is down. */
export const CONNECT_FAILURE_REASONS = ["not_authorized", "unreachable", "timeout", "other"] as const;
export type ConnectFailureReason = (typeof CONNECT_FAILURE_REASONS)[number];

export function createExporterMetrics(): ExporterMetrics {
  const registry = new Registry();
  registerBuildInfo(registry, "exporter");
  const metrics: ExporterMetrics = {
    registry,
    pollCycles: new Counter({
      name: "floorsense_exporter_poll_cycles_total",
      help: "Poll cycles per device by result: ok (every value read), partial (some values missing), failed (device down).",
      labelNames: ["device", "result"],
      registers: [registry],
    }),
    queueCycles: new Gauge({
      name: "floorsense_exporter_queue_cycles",
      help: "Cycles in the on-disk queue waiting for the broker's acknowledgement.",
      registers: [registry],
    }),
    queueBytes: new Gauge({
      name: "floorsense_exporter_queue_bytes",
      help: "Bytes of the cycles in the on-disk queue.",
      registers: [registry],
    }),
    replayedCycles: new Counter({
      name: "floorsense_exporter_replayed_cycles_total",
      help: "Cycles published after waiting out a broker outage or an exporter restart in the queue.",
      registers: [registry],
    }),
    droppedCycles: new Counter({
      name: "floorsense_exporter_dropped_cycles_total",
      help: "Cycles the queue dropped: size (over max_bytes), age (over max_age), corrupt (torn record after a crash).",
      labelNames: ["reason"],
      registers: [registry],
    }),
    mqttConnected: new Gauge({
      name: "floorsense_exporter_mqtt_connected",
      help: "1 while the exporter is connected to the MQTT broker.",
      registers: [registry],
    }),
    mqttConnectFailures: new Counter({
      name: "floorsense_exporter_mqtt_connect_failures_total",
      help: "Failed attempts to connect to the MQTT broker by reason: not_authorized (credentials rejected), unreachable (refused, no route, unknown host), timeout (no CONNACK in time), other.",
      labelNames: ["reason"],
      registers: [registry],
    }),
  };
  for (const reason of ["size", "age", "corrupt"]) metrics.droppedCycles.inc({ reason }, 0);
  for (const reason of CONNECT_FAILURE_REASONS) metrics.mqttConnectFailures.inc({ reason }, 0);
  metrics.mqttConnected.set(0);
  return metrics;
}
