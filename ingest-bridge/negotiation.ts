import type { ExpositionFormat } from "./exposition.js";

export interface Negotiated {
  format: ExpositionFormat;
  contentType: string;
}

const TEXT: Negotiated = { format: "text", contentType: "text/plain; version=0.0.4; charset=utf-8" };
const OPENMETRICS_1: Negotiated = {
  format: "openmetrics",
  contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};
const OPENMETRICS_0: Negotiated = {
  format: "openmetrics",
  contentType: "application/openmetrics-text; version=0.0.1; charset=utf-8",
};

interface AcceptEntry {
  type: string;
  params: Map<string, string>;
  q: number;
  order: number;
}

function parseAccept(header: string): AcceptEntry[] {
  const entries: AcceptEntry[] = [];
  header.split(",").forEach((part, order) => {
    const [media, ...rawParams] = part.split(";");
    const type = media!.trim().toLowerCase();
    if (!type) return;
    const params = new Map<string, string>();
    let q = 1;
    for (const raw of rawParams) {
      const eq = raw.indexOf("=");
      if (eq < 0) continue;
      const key = raw.slice(0, eq).trim().toLowerCase();
      const value = raw
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1");
      if (key === "q") {
        const parsed = Number(value);
        q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
      } else params.set(key, value);
    }
    entries.push({ type, params, q, order });
  });
  // Highest quality first; ties keep the order the client wrote them in.
  return entries.filter((e) => e.q > 0).sort((a, b) => b.q - a.q || a.order - b.order);
}

/**
 * Picks the exposition format as Prometheus' client libraries do: the first acceptable entry by
 * q-value that is OpenMetrics (version 1.0.0, 0.0.1 or unspecified) or text/plain (0.0.4 or
 * unspecified) wins; anything else, or no Accept header, gets text 0.0.4.
 */
export function negotiateFormat(accept: string | undefined): Negotiated {
  if (!accept) return TEXT;
  for (const entry of parseAccept(accept)) {
    const version = entry.params.get("version");
    if (entry.type === "application/openmetrics-text") {
      if (version === "1.0.0") return OPENMETRICS_1;
      if (version === "0.0.1") return OPENMETRICS_0;
      if (version === undefined) return OPENMETRICS_1;
    }
    if (entry.type === "text/plain" && (version === undefined || version === "0.0.4")) return TEXT;
  }
  return TEXT;
}

/** True when Accept-Encoding allows gzip (`gzip` or `*` with a non-zero q, and gzip not refused). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  let gzip: number | undefined;
  let any: number | undefined;
  for (const part of acceptEncoding.split(",")) {
    const [name, ...params] = part.split(";");
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split("=");
      if (key?.trim().toLowerCase() === "q") q = Number(value?.trim());
    }
    const coding = name!.trim().toLowerCase();
    if (coding === "gzip" || coding === "x-gzip") gzip = Number.isFinite(q) ? q : 0;
    else if (coding === "*") any = Number.isFinite(q) ? q : 0;
  }
  return (gzip ?? any ?? 0) > 0;
}
