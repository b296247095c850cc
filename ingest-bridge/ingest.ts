import type { MetricFamily } from "../openmetrics/types.js";

/** Why a whole payload was refused; a fixed set so the metric's cardinality stays bounded. */
export const REJECT_REASONS = [
  "too_large",
  "parse_error",
  "identity_label",
  "invalid_topic",
  "unknown_tenant",
  "invalid_status",
  "metadata_conflict",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const IDENTITY_LABELS: ReadonlySet<string> = new Set(["tenant", "site", "machine", "device"]);

/** Same as IDENTITY_LABELS.has, without hashing a fresh string for every label of every sample. */
function isIdentityLabel(label: string): boolean {
  switch (label.length) {
    case 4:
      return label === "site";
    case 6:
      return label === "tenant" || label === "device";
    case 7:
      return label === "machine";
    default:
      return false;
  }
}

/** The strict codec's parser, injected so the ingest logic is testable on its own. */
export type ParsePayload = (payload: Uint8Array) => MetricFamily[];

export type PreparedPayload =
  | { ok: true; families: MetricFamily[]; samples: number }
  | { ok: false; reason: RejectReason; message: string };

/**
 * Parses one payload for the store, or refuses it whole: too large, not a valid exposition, or
 * carrying an identity label that only the topic may set. Never throws for bad input.
 */
export function preparePayload(payload: Uint8Array, maxBytes: number, parse: ParsePayload): PreparedPayload {
  if (payload.byteLength > maxBytes) {
    return {
      ok: false,
      reason: "too_large",
      message: `payload of ${payload.byteLength} bytes exceeds limits.max_payload_bytes (${maxBytes})`,
    };
  }
  let families: MetricFamily[];
  try {
    families = parse(payload);
  } catch (error) {
    const e = error as { message?: unknown; line?: unknown; column?: unknown };
    const where = typeof e.line === "number" ? `line ${e.line}, column ${String(e.column)}: ` : "";
    return { ok: false, reason: "parse_error", message: `${where}${String(e.message ?? error)}` };
  }
  let samples = 0;
  for (const family of families) {
    for (const sample of family.samples) {
      for (const label in sample.labels) {
        if (isIdentityLabel(label)) {
          return {
            ok: false,
            reason: "identity_label",
            message: `sample ${sample.name} carries label "${label}", which only the topic may set`,
          };
        }
      }
    }
    samples += family.samples.length;
  }
  return { ok: true, families, samples };
}
