import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Logger } from "../lib/logger.js";
import { OPENMETRICS_CONTENT_TYPE } from "../openmetrics/index.js";
import type { ExporterConfig } from "./config.js";
import type { ConnectFailureReason, ExporterMetrics } from "./metrics.js";
import type { StoreAndForward } from "./store-and-forward.js";

export function readingsTopic(identity: ExporterConfig["identity"], device: string): string {
  return `floorsense/v1/${identity.tenant}/${identity.site}/${identity.machine}/${device}`;
}

export function statusTopic(identity: ExporterConfig["identity"]): string {
  return `floorsense/v1/${identity.tenant}/${identity.site}/${identity.machine}/status`;
}

/** CONNACK codes that refuse the login: MQTT 5 134/135, MQTT 3.1.1 4/5. */
const REFUSED_LOGIN: Record<4 | 5, number[]> = { 5: [134, 135], 4: [4, 5] };
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);

/** Sorts an error the MQTT client reports while connecting into the reasons the metric counts. */
export function classifyConnectError(
  error: { message?: string; code?: unknown },
  protocolVersion: 4 | 5,
): ConnectFailureReason {
  const message = error.message ?? "";
  if (
    (typeof error.code === "number" && REFUSED_LOGIN[protocolVersion].includes(error.code)) ||
    /not authori[sz]ed|bad user ?name or password/i.test(message)
  )
    return "not_authorized";
  if (error.code === "ETIMEDOUT" || /connack timeout/i.test(message)) return "timeout";
  if (typeof error.code === "string" && UNREACHABLE.has(error.code)) return "unreachable";
  return "other";
}

/** In-flight publishes: enough to keep a link busy, few enough that a reconnect resends little. */
const WINDOW = 16;

export interface PublisherOptions {
  mqtt: ExporterConfig["mqtt"];
  identity: ExporterConfig["identity"];
  queue: StoreAndForward;
  replayRate: number;
  metrics: ExporterMetrics;
  logger: Logger;
}

/**
 * Drains the store-and-forward queue into the broker, oldest first, at most `replayRate` cycles a
 * second. A cycle leaves the queue only when its PUBACK arrives, so a broker outage or a restart
 * costs nothing but a delay; at worst a cycle is delivered twice, which QoS 1 allows.
 */
export class MqttPublisher {
  private client: MqttClient | undefined;
  private connected = false;
  private connectedAtMs = 0;
  private cursor = 0;
  private readonly inflight = new Set<number>();
  private lastPublishMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastError = "";
  private stopped = false;

  constructor(private readonly options: PublisherOptions) {}

  get isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    const { mqtt: config, identity, logger } = this.options;
    const status = statusTopic(identity);
    const clientOptions: IClientOptions = {
      protocolVersion: config.protocol_version,
      clientId:
        config.client_id ?? `floorsense-exporter-${identity.tenant}-${identity.site}-${identity.machine}`,
      clean: true,
      keepalive: Math.round(config.keepalive / 1000),
      connectTimeout: config.connect_timeout,
      reconnectPeriod: config.reconnect_period,
      reconnectOnConnackError: true,
      will: { topic: status, payload: Buffer.from("offline"), qos: 1, retain: true },
    };
    if (config.username !== undefined) clientOptions.username = config.username;
    if (config.password !== undefined) clientOptions.password = config.password;
    if (config.tls) {
      if (config.tls.ca) clientOptions.ca = readFileSync(config.tls.ca);
      if (config.tls.cert) clientOptions.cert = readFileSync(config.tls.cert);
      if (config.tls.key) clientOptions.key = readFileSync(config.tls.key);
      clientOptions.rejectUnauthorized = config.tls.reject_unauthorized;
    }
    const client = mqtt.connect(config.url, clientOptions);
    this.client = client;
    client.on("connect", () => {
      this.connected = true;
      this.connectedAtMs = Date.now();
      this.lastError = "";
      this.options.metrics.mqttConnected.set(1);
      logger.info({ url: config.url }, "connected to the broker");
      client.publish(status, "online", { qos: 1, retain: true });
      this.pump();
    });
    client.on("close", () => {
      if (this.connected)
        logger.warn({ url: config.url }, "broker connection lost, cycles wait in the queue");
      this.connected = false;
      this.options.metrics.mqttConnected.set(0);
    });
    client.on("error", (error) => {
      // Every failed attempt is counted; errors of a live connection end in "close" and are not attempts.
      const reason = classifyConnectError(
        error as { message?: string; code?: unknown },
        config.protocol_version,
      );
      if (!this.connected) this.options.metrics.mqttConnectFailures.inc({ reason });
      // Repeated failures while the broker is away are one condition: log it once.
      const message = error.message;
      if (message === this.lastError) return;
      this.lastError = message;
      logger.error(
        { url: config.url, err: message, reason },
        reason === "not_authorized" ? "the broker rejected the credentials" : "broker connection failed",
      );
    });
  }

  /** A cycle was appended: publish it if the link and the rate allow. */
  notify(): void {
    this.pump();
  }

  private pump(): void {
    try {
      this.send();
    } catch (error) {
      // A queue that cannot be read must not take the MQTT client's event handlers down with it.
      this.options.logger.error({ err: error }, "reading the queue failed, retrying on the next cycle");
    }
  }

  private send(): void {
    const client = this.client;
    if (!client || !this.connected || this.timer) return;
    const { queue, replayRate, mqtt: config, metrics } = this.options;
    const spacing = 1000 / replayRate;
    while (this.inflight.size < WINDOW) {
      const wait = this.lastPublishMs + spacing - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        this.timer.unref();
        return;
      }
      const [next] = queue.peek(this.cursor, 1 + this.inflight.size).filter((c) => !this.inflight.has(c.seq));
      if (!next) return;
      this.cursor = next.seq;
      this.inflight.add(next.seq);
      this.lastPublishMs = Date.now();
      const waited = next.enqueuedAtMs < this.connectedAtMs;
      client.publish(
        next.topic,
        next.payload,
        config.protocol_version === 5
          ? { qos: config.qos as 1 | 2, properties: { contentType: OPENMETRICS_CONTENT_TYPE } }
          : { qos: config.qos as 1 | 2 },
        (error) => {
          this.inflight.delete(next.seq);
          if (error) {
            // Not acknowledged: send it again once the link is back.
            this.cursor = Math.min(this.cursor, next.seq - 1);
            return;
          }
          queue.ack(next.seq);
          if (waited) metrics.replayedCycles.inc();
          this.updateDepth();
          this.pump();
        },
      );
    }
  }

  updateDepth(): void {
    const depth = this.options.queue.depth;
    this.options.metrics.queueCycles.set(depth.cycles);
    this.options.metrics.queueBytes.set(depth.bytes);
  }

  /** Waits up to `flushMs` for the queue to drain, publishes `offline` and disconnects. */
  async stop(flushMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const deadline = Date.now() + flushMs;
    while (this.connected && this.options.queue.depth.cycles > 0 && Date.now() < deadline) {
      this.pump();
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    if (!client) return;
    if (this.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        client.publish(statusTopic(this.options.identity), "offline", { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => client.end(!this.connected, {}, () => resolve()));
    this.connected = false;
    this.options.metrics.mqttConnected.set(0);
  }
}
