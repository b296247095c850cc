import { compress } from "snappyjs";
import { encodeWriteRequest } from "../../ingest-bridge/remote-write-encoding.js";

export interface WrittenSample {
  /** Every label, `__name__` included. */
  labels: Record<string, string>;
  value: number;
  /** Defaults to now. */
  timestampMs?: number;
}

/**
 * Sends samples to a Prometheus started with `--web.enable-remote-write-receiver`, in the same
 * remote write 1.0 encoding the bridge sends. Tests use it to put a forced condition into a real
 * Prometheus when producing it for real would take too long.
 */
export async function remoteWrite(url: string, samples: WrittenSample[]): Promise<void> {
  const now = Date.now();
  const body = compress(
    encodeWriteRequest(
      samples.map((s) => ({
        labels: Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        value: s.value,
        timestampMs: s.timestampMs ?? now,
      })),
    ),
  );
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "Content-Encoding": "snappy",
      "Content-Type": "application/x-protobuf",
      "X-Prometheus-Remote-Write-Version": "0.1.0",
    },
    body,
  });
  if (!response.ok) throw new Error(`remote write to ${url}: ${response.status} ${await response.text()}`);
}
