import type { Logger } from "../lib/logger.js";
import { type ParsePayload, preparePayload, type RejectReason } from "./ingest.js";
import type { Liveness } from "./liveness.js";
import type { BridgeMetrics, HotCount } from "./metrics.js";
import { PayloadTemplates, type TopicTemplate } from "./payload-templates.js";
import type { RemoteWriteEndpoint } from "./remote-write.js";
import { remoteLabelsOf, toRemoteSamples, toRemoteSamplesBySlot } from "./remote-write-encoding.js";
import type { SeriesStore, WriteResult } from "./series-store.js";
import { type DeviceIdentity, parseTopic } from "./topic.js";

export interface RouterOptions {
  store: SeriesStore;
  liveness: Liveness;
  metrics: BridgeMetrics;
  logger: Logger;
  parse: ParsePayload;
  maxPayloadBytes: number;
  maxSampleFutureMs: number;
  /** Tenants with credentials in the config; messages for any other tenant are refused. */
  tenants: ReadonlySet<string>;
  remoteWrite: RemoteWriteEndpoint[];
  now: () => number;
}

/** How often one topic's rejections for one reason are logged; the counter counts every one. */
const REJECTION_LOG_INTERVAL_MS = 60_000;

/**
 * Handles one MQTT message: status topics feed liveness, readings go through the strict codec into
 * the store and, when configured, to remote write. Returns a promise only when the message's
 * acknowledgement must wait (for remote-write endpoints); otherwise it has been handed on on return.
 */
export class MessageRouter {
  private readonly lastLogged = new Map<string, number>();
  /** Devices publish on the same topics over and over: parse each once. */
  private readonly topics = new Map<string, ReturnType<typeof parseTopic>>();
  private readonly ingested = new Map<string, HotCount>();
  private readonly templates = new PayloadTemplates();

  constructor(private readonly options: RouterOptions) {}

  handle(topic: string, payload: Uint8Array): undefined | Promise<unknown> {
    const { metrics, store, liveness } = this.options;
    metrics.hot.messages.value++;
    let parsed = this.topics.get(topic);
    if (parsed === undefined) {
      parsed = parseTopic(topic);
      if (this.topics.size >= 100_000) this.topics.clear();
      this.topics.set(topic, parsed);
    }
    if (parsed.kind === "invalid") return this.reject("", "invalid_topic", topic, parsed.reason);
    const tenant = parsed.kind === "status" ? parsed.tenant : parsed.identity.tenant;
    if (!this.options.tenants.has(tenant)) {
      // The tenant label stays empty: names no config declared must not create series here.
      return this.reject("", "unknown_tenant", topic, `tenant ${tenant} is not in the bridge's config`);
    }
    if (parsed.kind === "status") {
      const text = Buffer.from(payload).toString("utf8").trim();
      if (text !== "online" && text !== "offline") {
        return this.reject(
          tenant,
          "invalid_status",
          topic,
          `status must be online or offline, got ${JSON.stringify(text.slice(0, 40))}`,
        );
      }
      liveness.status(tenant, parsed.site, parsed.machine, text === "online");
      return undefined;
    }
    const { identity } = parsed;
    const now = this.options.now();
    if (payload.byteLength <= this.options.maxPayloadBytes) {
      const template = this.templates.of(topic);
      if (template !== undefined) {
        const { shared } = template;
        if (shared.template.match(payload, shared.values, shared.timestamps)) {
          metrics.hot.templateParses.value++;
          return this.ingestBySlot(identity, template, now);
        }
      }
    }
    metrics.hot.fullParses.value++;
    const prepared = preparePayload(payload, this.options.maxPayloadBytes, this.options.parse);
    if (!prepared.ok) return this.reject(tenant, prepared.reason, topic, prepared.message);
    const result = store.write(identity, prepared.families, now);
    if (result.conflict !== undefined)
      return this.reject(tenant, "metadata_conflict", topic, result.conflict);
    this.count(identity, result, prepared.samples);
    let newest = Number.NaN;
    for (const family of prepared.families) {
      for (const sample of family.samples) {
        const ts = sample.timestamp;
        if (ts !== undefined && !(ts <= newest)) newest = ts;
      }
    }
    liveness.message(identity, now, newest);
    if (result.refused === undefined) {
      const device = store.deviceWithLayout(identity, prepared.families);
      if (device !== undefined) {
        const remoteLabels =
          this.options.remoteWrite.length > 0 ? remoteLabelsOf(prepared.families, identity) : undefined;
        this.templates.remember(topic, payload, prepared.families, device, remoteLabels);
      }
    }

    if (this.options.remoteWrite.length === 0) return undefined;
    const samples = toRemoteSamples(prepared.families, identity, now, {
      skip: result.refused,
      maxTimestampMs: now + this.options.maxSampleFutureMs,
    });
    return Promise.all(this.options.remoteWrite.map((endpoint) => endpoint.send(tenant, samples)));
  }

  /** A payload that matched its topic's template: every sample goes to its known slot. */
  private ingestBySlot(
    identity: DeviceIdentity,
    template: TopicTemplate,
    now: number,
  ): undefined | Promise<unknown> {
    const { values, timestamps } = template.shared;
    const result = this.options.store.writeValues(template.device, values, timestamps, now);
    this.count(identity, result, values.length);
    let newest = Number.NaN;
    for (let i = 0; i < timestamps.length; i++) {
      const ts = timestamps[i]!;
      if (!Number.isNaN(ts) && !(ts <= newest)) newest = ts;
    }
    this.options.liveness.message(identity, now, newest);

    if (this.options.remoteWrite.length === 0) return undefined;
    const samples = toRemoteSamplesBySlot(
      template.remoteLabels!,
      values,
      timestamps,
      now,
      now + this.options.maxSampleFutureMs,
    );
    return Promise.all(this.options.remoteWrite.map((endpoint) => endpoint.send(identity.tenant, samples)));
  }

  /** The device's series leave the store (offline or silent). */
  forget(identity: DeviceIdentity, why: "offline" | "silent"): void {
    const removed = this.options.store.removeDevice(identity);
    if (removed > 0) this.options.logger.info({ ...identity, why, series: removed }, "device series removed");
  }

  private count(identity: DeviceIdentity, result: WriteResult, samples: number): void {
    const { metrics } = this.options;
    const { tenant } = identity;
    const refused = result.limitedByTenant + result.limitedByDevice;
    let ingested = this.ingested.get(tenant);
    if (!ingested) {
      ingested = metrics.hot.ingestedOf(tenant);
      this.ingested.set(tenant, ingested);
    }
    ingested.value += samples - refused;
    if (result.tooOld > 0) metrics.samplesDropped.inc({ tenant, reason: "too_old" }, result.tooOld);
    if (result.tooFarFuture > 0)
      metrics.samplesDropped.inc({ tenant, reason: "too_far_future" }, result.tooFarFuture);
    if (result.olderThanStored > 0) {
      metrics.samplesDropped.inc({ tenant, reason: "out_of_order" }, result.olderThanStored);
    }
    for (const [scope, n] of [
      ["tenant", result.limitedByTenant],
      ["device", result.limitedByDevice],
    ] as const) {
      if (n === 0) continue;
      metrics.seriesLimitRejections.inc({ tenant, scope }, n);
      this.logOnce(`${identity.site}/${identity.machine}/${identity.device}`, `limit_${scope}`, () =>
        this.options.logger.warn(
          { ...identity, scope, refused: n },
          `series limit per ${scope} reached; new series refused`,
        ),
      );
    }
  }

  private reject(tenant: string, reason: RejectReason, topic: string, message: string): undefined {
    this.options.metrics.payloadsRejected.inc({ tenant, reason });
    this.logOnce(topic, reason, () =>
      this.options.logger.warn({ topic, reason, detail: message }, "payload rejected"),
    );
    return undefined;
  }

  private logOnce(subject: string, reason: string, log: () => void): void {
    const key = `${reason} ${subject}`;
    const now = this.options.now();
    const last = this.lastLogged.get(key);
    if (last !== undefined && now - last < REJECTION_LOG_INTERVAL_MS) return;
    if (this.lastLogged.size > 10_000) this.lastLogged.clear();
    this.lastLogged.set(key, now);
    log();
  }
}
