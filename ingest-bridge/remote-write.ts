import { compress } from "snappyjs";
import { VERSION } from "../lib/build-info.js";
import type { Logger } from "../lib/logger.js";
import type { RemoteWriteConfig } from "./config.js";
import { encodeWriteRequest, type RemoteSample } from "./remote-write-encoding.js";

export interface RemoteWriteMetrics {
  queueSamples(endpoint: string, samples: number): void;
  failure(endpoint: string, reason: "server_error" | "rate_limited" | "network" | "client_error"): void;
  samples(endpoint: string, result: "sent" | "dropped", count: number): void;
}

interface Pending {
  tenant: string;
  samples: RemoteSample[];
  resolve: () => void;
  reject: (error: Error) => void;
}

export class RemoteWriteStopped extends Error {
  constructor(endpoint: string) {
    super(`remote write endpoint ${endpoint} stopped before the samples were accepted`);
    this.name = "RemoteWriteStopped";
  }
}

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

const defaultSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

/**
 * One remote-write endpoint: a bounded queue of samples, sent in batches of one tenant each (the
 * tenant header names it), retried with exponential backoff on 5xx, 429 and network errors until
 * accepted. A 4xx other than 429 means the endpoint will never take the batch: it is counted as
 * dropped. `send` resolves once the endpoint accepted (or definitively refused) the samples, which
 * is when the MQTT message may be acknowledged.
 */
export class RemoteWriteEndpoint {
  private readonly queue: Pending[] = [];
  private queuedSamples = 0;
  private readonly spaceWaiters: Array<() => void> = [];
  private running = false;
  private readonly abort = new AbortController();
  private consecutiveFailures = 0;

  constructor(
    private readonly config: RemoteWriteConfig,
    private readonly logger: Logger,
    private readonly metrics: RemoteWriteMetrics,
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly sleep: Sleep = defaultSleep,
  ) {}

  get name(): string {
    return this.config.name;
  }

  /** True while the last attempt failed: readiness reports it. */
  get failing(): boolean {
    return this.consecutiveFailures > 0;
  }

  async send(tenant: string, samples: RemoteSample[]): Promise<void> {
    if (samples.length === 0) return;
    // A full queue holds the caller back, and through it the broker: nothing is dropped for space.
    while (this.queuedSamples > 0 && this.queuedSamples + samples.length > this.config.capacity) {
      if (this.abort.signal.aborted) throw new RemoteWriteStopped(this.name);
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    if (this.abort.signal.aborted) throw new RemoteWriteStopped(this.name);
    const done = new Promise<void>((resolve, reject) =>
      this.queue.push({ tenant, samples, resolve, reject }),
    );
    this.queuedSamples += samples.length;
    this.metrics.queueSamples(this.name, this.queuedSamples);
    if (!this.running) void this.run();
    return done;
  }

  /** Stops retrying; whatever is still queued is rejected so its messages stay unacknowledged. */
  stop(): void {
    this.abort.abort();
    for (const pending of this.queue.splice(0)) pending.reject(new RemoteWriteStopped(this.name));
    this.queuedSamples = 0;
    this.metrics.queueSamples(this.name, 0);
    for (const wake of this.spaceWaiters.splice(0)) wake();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.abort.signal.aborted) {
        const batch = this.takeBatch();
        const count = batch.reduce((n, p) => n + p.samples.length, 0);
        const outcome = await this.deliver(
          batch[0]!.tenant,
          batch.flatMap((p) => p.samples),
        );
        if (outcome === "stopped") {
          for (const pending of batch) pending.reject(new RemoteWriteStopped(this.name));
          continue;
        }
        this.metrics.samples(this.name, outcome, count);
        this.queuedSamples -= count;
        this.metrics.queueSamples(this.name, this.queuedSamples);
        for (const pending of batch) pending.resolve();
        for (const wake of this.spaceWaiters.splice(0)) wake();
      }
    } finally {
      this.running = false;
    }
  }

  private takeBatch(): Pending[] {
    const batch: Pending[] = [this.queue.shift()!];
    let size = batch[0]!.samples.length;
    while (
      this.queue.length > 0 &&
      this.queue[0]!.tenant === batch[0]!.tenant &&
      size + this.queue[0]!.samples.length <= this.config.max_samples_per_send
    ) {
      const next = this.queue.shift()!;
      size += next.samples.length;
      batch.push(next);
    }
    return batch;
  }

  private headers(tenant: string): Record<string, string> {
    const headers: Record<string, string> = {
      ...this.config.headers,
      "Content-Encoding": "snappy",
      "Content-Type": "application/x-protobuf",
      "User-Agent": `floorsense-bridge/${VERSION}`,
      "X-Prometheus-Remote-Write-Version": "0.1.0",
    };
    if (this.config.tenant_header) headers[this.config.tenant_header] = tenant;
    if (this.config.bearer_token) headers.Authorization = `Bearer ${this.config.bearer_token}`;
    if (this.config.basic) {
      const password = this.config.basic.password ?? "";
      headers.Authorization = `Basic ${Buffer.from(`${this.config.basic.username}:${password}`).toString("base64")}`;
    }
    return headers;
  }

  private async deliver(tenant: string, samples: RemoteSample[]): Promise<"sent" | "dropped" | "stopped"> {
    const body = compress(encodeWriteRequest(samples));
    let backoff = this.config.min_backoff;
    for (;;) {
      if (this.abort.signal.aborted) return "stopped";
      let retryReason: "server_error" | "rate_limited" | "network";
      let detail: string;
      try {
        const response = await this.fetchImpl(this.config.url, {
          method: "POST",
          headers: this.headers(tenant),
          body,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.config.timeout)]),
        });
        const text = response.ok ? "" : (await response.text().catch(() => "")).slice(0, 300);
        if (response.ok) {
          if (this.consecutiveFailures > 0)
            this.logger.info({ endpoint: this.name }, "remote write recovered");
          this.consecutiveFailures = 0;
          return "sent";
        }
        if (response.status !== 429 && response.status < 500) {
          this.metrics.failure(this.name, "client_error");
          this.logger.error(
            { endpoint: this.name, tenant, status: response.status, body: text, samples: samples.length },
            "remote write refused the batch; dropping it (retrying cannot help)",
          );
          return "dropped";
        }
        retryReason = response.status === 429 ? "rate_limited" : "server_error";
        detail = `HTTP ${response.status} ${text}`;
      } catch (error) {
        if (this.abort.signal.aborted) return "stopped";
        retryReason = "network";
        detail = String((error as Error).cause ?? error);
      }
      this.metrics.failure(this.name, retryReason);
      if (this.consecutiveFailures++ === 0) {
        this.logger.warn(
          { endpoint: this.name, tenant, reason: retryReason, detail },
          "remote write failed; retrying with backoff",
        );
      }
      await this.sleep(backoff, this.abort.signal);
      backoff = Math.min(backoff * 2, this.config.max_backoff);
    }
  }
}
