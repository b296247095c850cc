export type Labels = Record<string, string>;

/** One series of a range query: timestamps in milliseconds, values as numbers (NaN kept). */
export interface RangeSeries {
  labels: Labels;
  timestamps: number[];
  values: number[];
}

export type PrometheusAuth =
  | { type: "bearer"; token: string }
  | { type: "basic"; username: string; password: string };

export interface PrometheusClientOptions {
  url: string;
  auth?: PrometheusAuth;
  /** X-Scope-OrgID for Mimir / Cortex. */
  tenant?: string;
  timeoutMs?: number;
  /** Points per series per request; Prometheus refuses more than 11 000. */
  maxPointsPerQuery?: number;
  fetch?: typeof fetch;
}

/** A failed query; the message always carries the PromQL so the log line is enough to reproduce it. */
export class PrometheusQueryError extends Error {
  constructor(
    readonly expr: string,
    message: string,
    readonly status?: number,
  ) {
    super(`query_range ${JSON.stringify(expr)} failed: ${message}`);
    this.name = "PrometheusQueryError";
  }
}

export function parseSampleValue(text: string): number {
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Stable identity of a series: its labels sorted, in PromQL selector syntax. */
export function seriesKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((name) => `${name}=${JSON.stringify(labels[name])}`).join(",")}}`;
}

/** Splits [start, end] on the step grid into pieces of at most `maxPoints` evaluation points each. */
export function planChunks(
  startMs: number,
  endMs: number,
  stepMs: number,
  maxPoints: number,
): Array<{ startMs: number; endMs: number }> {
  const first = Math.ceil(startMs / stepMs) * stepMs;
  const chunks: Array<{ startMs: number; endMs: number }> = [];
  for (let from = first; from <= endMs; from += maxPoints * stepMs) {
    chunks.push({ startMs: from, endMs: Math.min(endMs, from + (maxPoints - 1) * stepMs) });
  }
  return chunks;
}

interface QueryRangeBody {
  status: "success" | "error";
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Labels; values: Array<[number, string]> }> };
}

export class PrometheusClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly maxPoints: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: PrometheusClientOptions) {
    this.base = options.url.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxPoints = options.maxPointsPerQuery ?? 10_000;
    this.fetchImpl = options.fetch ?? fetch;
    this.headers = { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" };
    if (options.tenant) this.headers["X-Scope-OrgID"] = options.tenant;
    if (options.auth?.type === "bearer") this.headers.Authorization = `Bearer ${options.auth.token}`;
    if (options.auth?.type === "basic") {
      const token = Buffer.from(`${options.auth.username}:${options.auth.password}`).toString("base64");
      this.headers.Authorization = `Basic ${token}`;
    }
  }

  /**
   * Runs a range query, split into chunks the server accepts, and merges the pieces per series.
   * Points come back on the grid start + k·step (start rounded up to a multiple of step).
   */
  async queryRange(expr: string, startMs: number, endMs: number, stepMs: number): Promise<RangeSeries[]> {
    const merged = new Map<string, RangeSeries>();
    for (const chunk of planChunks(startMs, endMs, stepMs, this.maxPoints)) {
      for (const piece of await this.queryRangeOnce(expr, chunk.startMs, chunk.endMs, stepMs)) {
        const key = seriesKey(piece.labels);
        const existing = merged.get(key);
        if (!existing) {
          merged.set(key, piece);
          continue;
        }
        // Chunks do not overlap, so appending keeps the points sorted.
        for (let i = 0; i < piece.timestamps.length; i++) {
          if (piece.timestamps[i]! > (existing.timestamps.at(-1) ?? Number.NEGATIVE_INFINITY)) {
            existing.timestamps.push(piece.timestamps[i]!);
            existing.values.push(piece.values[i]!);
          }
        }
      }
    }
    return [...merged.values()];
  }

  /** One request, no chunking: callers normally want queryRange. */
  async queryRangeOnce(expr: string, startMs: number, endMs: number, stepMs: number): Promise<RangeSeries[]> {
    const body = new URLSearchParams({
      query: expr,
      start: String(startMs / 1000),
      end: String(endMs / 1000),
      step: String(stepMs / 1000),
    });
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.base}/api/v1/query_range`, {
        method: "POST",
        headers: this.headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new PrometheusQueryError(expr, `${this.base} unreachable: ${(error as Error).message}`);
    }
    const text = await response.text();
    // Gateways in front of Mimir or Prometheus refuse with a bare text body; say what to look at.
    const refused =
      response.status === 401 || response.status === 403
        ? " (credentials or tenant refused: check prometheus.auth and prometheus.tenant)"
        : "";
    let parsed: QueryRangeBody;
    try {
      parsed = JSON.parse(text) as QueryRangeBody;
    } catch {
      throw new PrometheusQueryError(
        expr,
        `HTTP ${response.status}${refused}: ${text.trim().slice(0, 200)}`,
        response.status,
      );
    }
    if (parsed.status !== "success" || !parsed.data) {
      throw new PrometheusQueryError(
        expr,
        `HTTP ${response.status} ${parsed.errorType ?? "error"}${refused}: ${parsed.error ?? "no data"}`,
        response.status,
      );
    }
    if (parsed.data.resultType !== "matrix") {
      throw new PrometheusQueryError(expr, `expected a matrix result, got ${parsed.data.resultType}`);
    }
    return parsed.data.result.map((series) => ({
      labels: series.metric,
      timestamps: series.values.map(([t]) => Math.round(t * 1000)),
      values: series.values.map(([, v]) => parseSampleValue(v)),
    }));
  }
}
