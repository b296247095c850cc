import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Logger } from "../lib/logger.js";
import type { BridgeConfig } from "./config.js";

export interface ConsumerOptions {
  config: BridgeConfig["mqtt"];
  logger: Logger;
  /** Returns once the message is handed on, or a promise that settles when it is. */
  onMessage(topic: string, payload: Buffer): undefined | Promise<unknown>;
  onConnection(connected: boolean): void;
}

/** Liveness comes from retained messages, which shared subscriptions never deliver. */
export const STATUS_FILTER = "floorsense/v1/+/+/+/status";

/** PUBACK reason code "unspecified error": the broker drops the message instead of redelivering. */
const UNSPECIFIED_ERROR = 0x80;

/**
 * MQTT 5 subscriber with a persistent session: the broker keeps QoS 1 messages while the bridge is
 * away, and a message is acknowledged only after `onMessage` handed it on, so a crash before that
 * leads to redelivery instead of loss. MQTT.js handles one message at a time while its
 * acknowledgement is pending, which also keeps acknowledgements in arrival order as MQTT requires.
 */
export class MqttConsumer {
  private client?: MqttClient;
  private stopping = false;
  private inFlight: Promise<unknown> = Promise.resolve();
  private connected = false;

  constructor(private readonly options: ConsumerOptions) {}

  get isConnected(): boolean {
    return this.connected;
  }

  subscriptions(): string[] {
    const { topic_filter, shared_group } = this.options.config;
    if (!shared_group) return [topic_filter];
    return [`$share/${shared_group}/${topic_filter}`, STATUS_FILTER];
  }

  start(): void {
    const { config, logger } = this.options;
    const clientOptions: IClientOptions = {
      protocolVersion: config.protocol_version,
      clientId: config.client_id,
      clean: false,
      properties:
        config.protocol_version === 5
          ? { sessionExpiryInterval: Math.round(config.session_expiry / 1000) }
          : undefined,
      keepalive: Math.max(1, Math.round(config.keepalive / 1000)),
      reconnectPeriod: config.reconnect_period,
      resubscribe: false,
      username: config.username,
      password:
        config.password ??
        (config.password_file ? readFileSync(config.password_file, "utf8").trim() : undefined),
      customHandleAcks: (topic, message, _packet, done) => this.onPublish(topic, message, done),
    };
    if (config.tls) {
      clientOptions.ca = config.tls.ca_file ? readFileSync(config.tls.ca_file) : undefined;
      clientOptions.cert = config.tls.cert_file ? readFileSync(config.tls.cert_file) : undefined;
      clientOptions.key = config.tls.key_file ? readFileSync(config.tls.key_file) : undefined;
      clientOptions.rejectUnauthorized = !config.tls.insecure_skip_verify;
    }
    const client = mqtt.connect(config.url, clientOptions);
    this.client = client;
    client.on("connect", (connack) => {
      this.setConnected(true);
      logger.info({ url: config.url, sessionPresent: connack.sessionPresent }, "mqtt connected");
      client.subscribe(this.subscriptions(), { qos: 1 }, (error, granted) => {
        if (error) logger.error({ err: error }, "mqtt subscribe failed");
        for (const grant of granted ?? []) {
          if (grant.qos > 1)
            logger.error({ topic: grant.topic, code: grant.qos }, "broker refused the subscription");
        }
      });
    });
    // QoS 0 messages (a status published without QoS, or a downgraded reading) bypass the ack
    // handler; QoS 1 messages are also emitted here, after their handler, and must not count twice.
    if (config.protocol_version === 4) {
      // MQTT.js applies customHandleAcks to MQTT 5 only. With 3.1.1 the PUBACK follows the
      // callback of handleMessage, so the same rule holds: acknowledged only once handed on.
      // 3.1.1 has no negative PUBACK; after a failed handoff the connection is dropped instead,
      // and the broker redelivers the unacknowledged message into the persistent session.
      client.handleMessage = (packet, callback) => {
        if (packet.cmd !== "publish") return callback();
        this.onPublish(packet.topic, packet.payload as Buffer, (code) => {
          if (code === 0) callback();
          else client.stream.destroy();
        });
      };
    }
    client.on("message", (topic, payload, packet) => {
      if (packet.qos !== 0 || this.stopping || config.protocol_version === 4) return;
      try {
        void this.options
          .onMessage(topic, payload)
          ?.catch((error: unknown) => logger.error({ err: error, topic }, "message handling failed"));
      } catch (error) {
        logger.error({ err: error, topic }, "message handling failed");
      }
    });
    client.on("close", () => this.setConnected(false));
    client.on("offline", () => this.setConnected(false));
    client.on("error", (error) => logger.warn({ err: error, url: config.url }, "mqtt error"));
  }

  private setConnected(connected: boolean): void {
    if (this.connected !== connected && !connected && !this.stopping) {
      this.options.logger.warn({ url: this.options.config.url }, "mqtt connection lost; reconnecting");
    }
    this.connected = connected;
    this.options.onConnection(connected);
  }

  private onPublish(
    topic: string,
    message: Buffer,
    done: (error: Error | number, code?: number) => void,
  ): void {
    // Not acknowledged: the broker keeps it in the session and delivers it to the next run.
    if (this.stopping) return;
    let result: undefined | Promise<unknown>;
    try {
      result = this.options.onMessage(topic, message);
    } catch (error) {
      this.options.logger.error({ err: error, topic }, "message handling failed");
      done(UNSPECIFIED_ERROR);
      return;
    }
    if (result === undefined) {
      done(0);
      return;
    }
    this.inFlight = result.then(
      () => done(0),
      (error: unknown) => {
        if (this.stopping) return;
        this.options.logger.error({ err: error, topic }, "message handling failed");
        done(UNSPECIFIED_ERROR);
      },
    );
  }

  /** Stops taking messages: later ones stay unacknowledged in the broker's session. */
  pause(): void {
    this.stopping = true;
  }

  /** Settles when the message being handed on has been acknowledged (or given up). */
  drained(): Promise<unknown> {
    return this.inFlight.catch(() => undefined);
  }

  /** Disconnects after the acknowledgements already queued are written. */
  async close(): Promise<void> {
    this.stopping = true;
    const client = this.client;
    if (!client) return;
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    this.connected = false;
    this.options.onConnection(false);
  }
}
