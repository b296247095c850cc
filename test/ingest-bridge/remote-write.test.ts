import { uncompress } from "snappyjs";
import { describe, expect, it } from "vitest";
import type { RemoteWriteConfig } from "../../ingest-bridge/config.js";
import { RemoteWriteEndpoint, RemoteWriteStopped } from "../../ingest-bridge/remote-write.js";
import { encodeWriteRequest, toRemoteSamples } from "../../ingest-bridge/remote-write-encoding.js";
import { createLogger } from "../../lib/logger.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("encodeWriteRequest", () => {
  it("matches a hand-computed protobuf byte vector", () => {
    const bytes = encodeWriteRequest([{ labels: [["__name__", "up"]], value: 1, timestampMs: 1000 }]);
    // WriteRequest.timeseries(1) len 30 { labels(1) len 14 { name(1) "__name__" value(2) "up" }
    //   samples(2) len 12 { value(1) double 1.0, timestamp(2) varint 1000 = e8 07 } }
    expect(hex(bytes)).toBe(
      [
        "0a1e",
        "0a0e",
        "0a08",
        Buffer.from("__name__").toString("hex"),
        "1202",
        Buffer.from("up").toString("hex"),
        "120c",
        "09000000000000f03f",
        "10e807",
      ].join(""),
    );
  });

  it("encodes multi-byte lengths and large timestamps", () => {
    const value = "x".repeat(200);
    const bytes = encodeWriteRequest([
      { labels: [["a", value]], value: -2.5, timestampMs: 1_700_000_000_123 },
    ]);
    // label: 0a 01 'a' 12 c8 01 <200 bytes> = 206 bytes → labels field 0a ce 01; sample: 09 <8> 10 <6-byte
    // varint> = 16 bytes; series 3 + 206 + 2 + 16 = 227 → e3 01. -2.5 is c004000000000000 big-endian.
    expect(hex(bytes.subarray(0, 8))).toBe("0ae3010ace010a01");
    expect(hex(bytes.subarray(-18))).toBe("1210" + "0900000000000004c0" + "10" + "fbd095ffbc31");
  });
});

describe("toRemoteSamples", () => {
  it("adds the identity labels, sorts by name and stamps samples without a timestamp", () => {
    const samples = toRemoteSamples(
      [
        {
          name: "x",
          type: "gauge",
          samples: [
            { name: "x", labels: { phase: "L1", Zone: "a" }, value: 2, timestamp: 1_700_000_000.5 },
            { name: "x", labels: {}, value: 3 },
          ],
        },
      ],
      { tenant: "t", site: "s", machine: "m", device: "d" },
      42_000,
    );
    expect(samples).toEqual([
      {
        labels: [
          ["Zone", "a"],
          ["__name__", "x"],
          ["device", "d"],
          ["machine", "m"],
          ["phase", "L1"],
          ["site", "s"],
          ["tenant", "t"],
        ],
        value: 2,
        timestampMs: 1_700_000_000_500,
      },
      {
        labels: [
          ["__name__", "x"],
          ["device", "d"],
          ["machine", "m"],
          ["site", "s"],
          ["tenant", "t"],
        ],
        value: 3,
        timestampMs: 42_000,
      },
    ]);
  });
});

const config: RemoteWriteConfig = {
  name: "test",
  url: "http://127.0.0.1:1/api/v1/write",
  headers: { "X-Extra": "1" },
  tenant_header: "X-Scope-OrgID",
  max_samples_per_send: 3,
  capacity: 10,
  min_backoff: 10,
  max_backoff: 40,
  timeout: 1000,
};
const sample = (v: number) => ({
  labels: [["__name__", "x"]] as Array<[string, string]>,
  value: v,
  timestampMs: 1000 + v,
});

function harness(statuses: Array<number | "network">, waitForAbort = false) {
  const calls: Array<{ headers: Record<string, string>; body: Uint8Array }> = [];
  const sleeps: number[] = [];
  const counters: string[] = [];
  const fetchImpl = (async (_url: string, init: RequestInit) => {
    calls.push({ headers: init.headers as Record<string, string>, body: init.body as Uint8Array });
    const status = statuses.shift() ?? 204;
    if (status === "network") throw new TypeError("fetch failed");
    return new Response(status === 204 ? null : "nope", { status });
  }) as unknown as typeof fetch;
  const endpoint = new RemoteWriteEndpoint(
    config,
    createLogger("bridge", "silent"),
    {
      queueSamples: () => {},
      failure: (_e, reason) => counters.push(`failure ${reason}`),
      samples: (_e, result, n) => counters.push(`${result} ${n}`),
    },
    fetchImpl,
    async (ms, signal) => {
      sleeps.push(ms);
      if (waitForAbort) await new Promise((resolve) => signal.addEventListener("abort", resolve));
    },
  );
  return { endpoint, calls, sleeps, counters };
}

describe("RemoteWriteEndpoint", () => {
  it("sends snappy-compressed protobuf with the remote-write headers and the tenant", async () => {
    const { endpoint, calls, counters } = harness([204]);
    await endpoint.send("acme", [sample(1)]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers).toMatchObject({
      "Content-Encoding": "snappy",
      "Content-Type": "application/x-protobuf",
      "X-Prometheus-Remote-Write-Version": "0.1.0",
      "X-Scope-OrgID": "acme",
      "X-Extra": "1",
    });
    expect(hex(uncompress(calls[0]!.body))).toBe(hex(encodeWriteRequest([sample(1)])));
    expect(counters).toEqual(["sent 1"]);
  });

  it("retries 5xx, 429 and network errors with doubling backoff up to the maximum", async () => {
    const { endpoint, calls, sleeps, counters } = harness([503, 429, "network", 500, 204]);
    await endpoint.send("acme", [sample(1)]);
    expect(calls).toHaveLength(5);
    expect(sleeps).toEqual([10, 20, 40, 40]);
    expect(counters).toEqual([
      "failure server_error",
      "failure rate_limited",
      "failure network",
      "failure server_error",
      "sent 1",
    ]);
    expect(endpoint.failing).toBe(false);
  });

  it("drops a batch the endpoint refuses with a 4xx, without retrying", async () => {
    const { endpoint, calls, counters } = harness([400]);
    await endpoint.send("acme", [sample(1), sample(2)]);
    expect(calls).toHaveLength(1);
    expect(counters).toEqual(["failure client_error", "dropped 2"]);
  });

  it("batches queued samples of one tenant up to max_samples_per_send", async () => {
    const { endpoint, calls } = harness([]);
    await Promise.all([
      endpoint.send("acme", [sample(1)]),
      endpoint.send("acme", [sample(2)]),
      endpoint.send("acme", [sample(3)]),
      endpoint.send("other", [sample(4)]),
    ]);
    // The first send starts at once; the next two share a batch; another tenant never shares one.
    expect(calls.map((c) => c.headers["X-Scope-OrgID"])).toEqual(["acme", "acme", "other"]);
    expect(hex(uncompress(calls[1]!.body))).toBe(hex(encodeWriteRequest([sample(2), sample(3)])));
  });

  it("rejects what is queued when stopped, so the messages stay unacknowledged", async () => {
    const { endpoint, calls } = harness([503], true);
    const pending = endpoint.send("acme", [sample(1)]);
    await new Promise((r) => setTimeout(r, 5));
    endpoint.stop();
    await expect(pending).rejects.toBeInstanceOf(RemoteWriteStopped);
    expect(calls).toHaveLength(1);
    await expect(endpoint.send("acme", [sample(2)])).rejects.toThrow(
      "remote write endpoint test stopped before the samples were accepted",
    );
  });
});
