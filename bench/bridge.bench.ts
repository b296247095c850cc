/**
 * The ingest bridge next to its references, measured in the same run (npm run bench:bridge):
 *
 * 1. Ingest: DEVICES SDM630-like devices (54 samples, ~7.8 KB of OpenMetrics per reading) publish
 *    CYCLES readings each at QoS 1 through a real Mosquitto, as fast as the broker takes them. The
 *    consumer holds a persistent session, so the broker queues whatever it has not yet taken: the
 *    rate is messages / (time from the first publish to the consumer's last message), and every
 *    message must arrive (no loss). Consumers: `mosquitto_sub` (the ceiling of this publisher,
 *    broker and machine), `floorsense bridge`, and `prometheus-mqtt-exporter` (mqtt2prometheus) fed
 *    the same readings as JSON, when installed.
 * 2. Render: a tenant endpoint with 100 000 and 1 000 000 series, OpenMetrics with timestamps, next
 *    to prom-client's registry.metrics() for the same series.
 * 3. Memory: resident bytes per stored series at 1 000 000 series, store vs prom-client, each in a
 *    fresh process.
 *
 * Ingest runs a warm-up round and then ROUNDS rounds (5) with all consumers in each, alternating
 * their order; ratios are per round, reported as median and range. The bridge and mqtt2prometheus
 * stay up across rounds, so the counted rounds measure them warm: the steady rate.
 *
 * Environment: DEVICES (1000), CYCLES (20), ROUNDS (5), RENDER_SERIES ("100000,1000000"), MEMORY_SERIES (1000000),
 * BRIDGE_NODE_FLAGS (extra node flags for the bridge process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"),
 * INGEST_ONLY=1 (skip render and memory).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderTenantChunks } from "../ingest-bridge/exposition.js";
import { findBinary } from "../test/support/binaries.js";
import { type Mosquitto, startMosquitto } from "../test/support/mosquitto.js";
import { freePort } from "../test/support/ports.js";
import { eventually, startProcess } from "../test/support/processes.js";
import { JSON_KEYS, SAMPLES_PER_READING } from "./bridge-payload.js";
import { deviceFamilies, fillPromClient, fillSeriesStore, SERIES_PER_DEVICE } from "./bridge-series.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DEVICES = Number(process.env.DEVICES ?? 1000);
const CYCLES = Number(process.env.CYCLES ?? 20);
const RENDER_SERIES = (process.env.RENDER_SERIES ?? "100000,1000000").split(",").map(Number);
const MEMORY_SERIES = Number(process.env.MEMORY_SERIES ?? 1_000_000);
const INFLIGHT = Number(process.env.INFLIGHT ?? 20);
const BRIDGE_NODE_FLAGS = (process.env.BRIDGE_NODE_FLAGS ?? "").split(" ").filter(Boolean);
const INGEST_ONLY = process.env.INGEST_ONLY === "1";
const ROUNDS = Number(process.env.ROUNDS ?? 5);

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.on("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(" ")} exited ${code}`)),
    );
  });
}

async function publish(url: string, devices: number, cycles: number, format: "om" | "json", prefix = "") {
  const out = await run(process.execPath, [
    "--import",
    "tsx",
    "bench/bridge-publisher.ts",
    url,
    String(devices),
    String(cycles),
    format,
    prefix,
  ]);
  return JSON.parse(out.trim().split("\n").at(-1)!) as {
    start: number;
    end: number;
    messages: number;
    bytes: number;
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of this process's finished children (the publisher, mosquitto_sub), from /proc. */
function childrenCpuSeconds(): number {
  try {
    const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return Number.NaN;
  }
}

const perMessage = (seconds: number, messages: number) => `${fmt((seconds / messages) * 1e6)} µs`;

async function metricValue(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = pattern.exec(line);
    if (match) sum += Number(match[1]);
  }
  return sum;
}

/**
 * Polls a consumer's /metrics until `count()` reaches `target` and returns when it did. Rendering
 * /metrics costs the consumer CPU (mqtt2prometheus renders every stored series), so it polls every
 * 500 ms until 95 % are in and every 20 ms for the rest: precise at the end, light meanwhile.
 */
async function until(
  count: () => Promise<number>,
  target: number,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await count().catch(() => 0);
    if (value >= target) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${value} of ${target})`);
    await new Promise((r) => setTimeout(r, value >= 0.95 * target ? 20 : 500));
  }
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function report(name: string, r: Rate & { samplesPerSecond: number }) {
  console.log(
    `  ${name.padEnd(34)} ${fmt(r.perSecond).padStart(7)} msg/s  ${fmt(r.samplesPerSecond).padStart(10)} samples/s  (${r.messages} msgs in ${fmt(r.seconds, 2)} s)`,
  );
}

interface Rate {
  messages: number;
  seconds: number;
  perSecond: number;
}

const rate = (messages: number, startMs: number, endMs: number): Rate => ({
  messages,
  seconds: (endMs - startMs) / 1000,
  perSecond: messages / ((endMs - startMs) / 1000),
});

type Measured = Rate & { samplesPerSecond: number };

/** A consumer that stays up across rounds: each round publishes and measures until it has all. */
interface Consumer {
  name: string;
  round(): Promise<Measured>;
  stop(): Promise<unknown>;
}

/** The ceiling's topics: the same length class, outside the bridge's floorsense/v1/# filter. */
const CEILING_PREFIX = "ceiling/";

async function ceilingConsumer(broker: Mosquitto): Promise<Consumer> {
  const total = DEVICES * CYCLES;
  let round = 0;
  return {
    name: "mosquitto_sub (ceiling)",
    // mosquitto_sub exits after -C messages, so each round runs a fresh one on the same session.
    async round() {
      // Payloads go to /dev/null: printing 8 KB per message into a pipe would be work the bridge
      // does not do, and would lower the ceiling.
      const sub = spawn(
        "mosquitto_sub",
        [
          ...["-h", "127.0.0.1", "-p", String(broker.port), "-V", "5", "-q", "1", "-c", "-x", "600"],
          ...["-i", "bench-ceiling", "-t", `${CEILING_PREFIX}floorsense/v1/#`, "-C", String(total)],
        ],
        { stdio: ["ignore", "ignore", "inherit"] },
      );
      const exited = new Promise<number | null>((resolve) => sub.once("exit", resolve));
      await new Promise((r) => setTimeout(r, 500));
      const brokerBefore = cpuSeconds(broker.process.child.pid);
      const childrenBefore = childrenCpuSeconds();
      const published = await publish(broker.url, DEVICES, CYCLES, "om", CEILING_PREFIX);
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 120_000))]);
      if (code !== 0)
        throw new Error(`mosquitto_sub did not receive all ${total} messages (${String(code)})`);
      const r = rate(total, published.start, Date.now());
      const measured = { ...r, samplesPerSecond: r.perSecond * SAMPLES_PER_READING };
      report(`mosquitto_sub (ceiling)`, measured);
      console.log(
        `    CPU per message: publisher + mosquitto_sub ${perMessage(childrenCpuSeconds() - childrenBefore, total)}, broker ${perMessage(cpuSeconds(broker.process.child.pid) - brokerBefore, total)}`,
      );
      if (round++ === 0) console.log(`    payload: ${published.bytes} bytes, ${SAMPLES_PER_READING} samples`);
      return measured;
    },
    stop: async () => undefined,
  };
}

/**
 * `floorsense bridge` as it runs in production: compiled, its own process, one for all rounds.
 * Readings arrive in bursts 1 ms of acquisition time apart and then pause while the other consumers
 * take their turn; with the default staleness every device would count as silent between rounds,
 * so each round would start from an empty store. Meters that keep publishing never see that.
 */
async function bridgeConsumer(broker: Mosquitto): Promise<Consumer> {
  const total = DEVICES * CYCLES;
  const dir = mkdtempSync(join(tmpdir(), "floorsense-bench-bridge-"));
  const port = await freePort();
  writeFileSync(
    join(dir, "bridge.yaml"),
    `mqtt:\n  url: ${broker.url}\n  client_id: bench-bridge\ntenants:\n  acme:\n    bearer_token: bench-token-0123456789\nlimits:\n  max_sample_age: 1d\nliveness:\n  staleness_multiple: 1000000\nweb:\n  listen_address: 127.0.0.1:${port}\nlog_level: warn\n`,
  );
  const bridge = startProcess(process.execPath, [
    ...BRIDGE_NODE_FLAGS,
    join(ROOT, "bin/floorsense.js"),
    "bridge",
    "--config",
    join(dir, "bridge.yaml"),
  ]);
  const metrics = `http://127.0.0.1:${port}/metrics`;
  await eventually(
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok,
    20_000,
    "bridge ready",
  );
  const counters = async () => ({
    messages: await metricValue(metrics, /^floorsense_bridge_messages_total (\S+)/),
    samples: await metricValue(metrics, /^floorsense_bridge_samples_ingested_total\{[^}]*\} (\S+)/),
    rejected: await metricValue(metrics, /^floorsense_bridge_payloads_rejected_total\{[^}]*\} (\S+)/),
  });
  return {
    name: "floorsense bridge",
    async round() {
      const before = await counters();
      const cpuBefore = cpuSeconds(bridge.child.pid);
      const brokerBefore = cpuSeconds(broker.process.child.pid);
      const childrenBefore = childrenCpuSeconds();
      const published = await publish(broker.url, DEVICES, CYCLES, "om");
      const end = await until(
        async () => (await metricValue(metrics, /^floorsense_bridge_messages_total (\S+)/)) - before.messages,
        total,
        180_000,
        `bridge received ${total} messages`,
      );
      const cpu = cpuSeconds(bridge.child.pid) - cpuBefore;
      const brokerCpu = cpuSeconds(broker.process.child.pid) - brokerBefore;
      const publisherCpu = childrenCpuSeconds() - childrenBefore;
      const after = await counters();
      const samples = after.samples - before.samples;
      const rejected = after.rejected - before.rejected;
      if (samples < total * SAMPLES_PER_READING || rejected !== 0) {
        throw new Error(
          `bridge lost data: ${samples} samples of ${total * SAMPLES_PER_READING}, ${rejected} rejected`,
        );
      }
      // QoS 1 is at-least-once: a redelivered message counts twice, a lost one never.
      const messages = after.messages - before.messages;
      if (messages > total) console.log(`    (bridge: ${messages - total} QoS 1 redeliveries counted twice)`);
      const r = rate(total, published.start, end);
      const measured = { ...r, samplesPerSecond: (total * SAMPLES_PER_READING) / r.seconds };
      report("floorsense bridge", measured);
      console.log(
        `    CPU per message: bridge ${perMessage(cpu, total)} (${fmt((100 * cpu) / r.seconds)} % of one core), publisher ${perMessage(publisherCpu, total)}, broker ${perMessage(brokerCpu, total)}`,
      );
      return measured;
    },
    async stop() {
      const warnings = bridge
        .output()
        .split("\n")
        .filter((line) => line.includes('"level":40') || line.includes('"level":50'));
      if (warnings.length > 0) console.log(`  bridge warnings:\n    ${warnings.slice(0, 5).join("\n    ")}`);
      await bridge.stop();
    },
  };
}

/** mqtt2prometheus (Debian prometheus-mqtt-exporter) fed the same readings as JSON, at QoS 1. */
async function mqtt2prometheusConsumer(broker: Mosquitto, binary: string): Promise<Consumer> {
  const dir = mkdtempSync(join(tmpdir(), "floorsense-bench-m2p-"));
  const port = await freePort();
  const metricsYaml = JSON_KEYS.map(
    (key) => `  - prom_name: ${key}\n    mqtt_name: ${key}\n    help: ${key}\n    type: gauge\n`,
  ).join("");
  writeFileSync(
    join(dir, "m2p.yaml"),
    `mqtt:\n  server: tcp://127.0.0.1:${broker.port}\n  topic_path: bench/json/+\n  qos: 1\n  client_id: bench-m2p\ncache:\n  timeout: 60m\nmetrics:\n${metricsYaml}`,
  );
  const exporter = startProcess(binary, [
    ...["-config", join(dir, "m2p.yaml"), "-listen-address", "127.0.0.1", "-listen-port", String(port)],
    ...["-log-level", "error"],
  ]);
  const metrics = `http://127.0.0.1:${port}/metrics`;
  await eventually(
    async () => (await fetch(metrics).catch(() => undefined))?.ok,
    20_000,
    "mqtt2prometheus up",
  );
  await new Promise((r) => setTimeout(r, 1000));
  const received = () => metricValue(metrics, /^received_messages\{[^}]*status="success"[^}]*\} (\S+)/);
  // A quarter of the cycles: it is an order of magnitude slower, and the rate is what is compared.
  const cycles = Math.max(1, Math.round(CYCLES / 4));
  const total = DEVICES * cycles;
  return {
    name: "prometheus-mqtt-exporter (JSON)",
    async round() {
      const before = await received();
      const published = await publish(broker.url, DEVICES, cycles, "json");
      const end = await until(
        async () => (await received()) - before,
        total,
        180_000,
        `mqtt2prometheus received ${total}`,
      );
      const r = rate(total, published.start, end);
      const measured = { ...r, samplesPerSecond: r.perSecond * JSON_KEYS.length };
      report("prometheus-mqtt-exporter (JSON)", measured);
      return measured;
    },
    stop: () => exporter.stop(),
  };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * ROUNDS rounds; in each, every consumer takes the same publish right after the others, in an order
 * that alternates between rounds, so load from elsewhere on this shared machine hits them alike.
 * The ratios are per round; their median and range are what the run reports.
 */
async function ingestBenchmarks() {
  const broker = await startMosquitto({
    extraConfig: ["max_queued_messages 0", "max_queued_bytes 0", `max_inflight_messages ${INFLIGHT}`],
  });
  const consumers: Consumer[] = [];
  const ratios = { ceiling: [] as number[], m2p: [] as number[] };
  try {
    consumers.push(await ceilingConsumer(broker));
    consumers.push(await bridgeConsumer(broker));
    const m2pBinary = findBinary("prometheus-mqtt-exporter");
    if (m2pBinary) consumers.push(await mqtt2prometheusConsumer(broker, m2pBinary));
    else
      console.log(
        "prometheus-mqtt-exporter not installed: skipped (apt-get install -y prometheus-mqtt-exporter)",
      );
    // Round 0 warms up: each topic's first reading takes the full parse and creates the device's
    // series, and the JIT compiles. Its ratio is printed as the cold figure, not counted.
    for (let round = 0; round <= ROUNDS; round++) {
      console.log(round === 0 ? "round 0 (warm-up, not counted)" : `round ${round} of ${ROUNDS}`);
      const order = round % 2 === 1 ? consumers : [...consumers].reverse();
      const results = new Map<string, Measured>();
      for (const consumer of order) results.set(consumer.name, await consumer.round());
      const bridge = results.get("floorsense bridge")!;
      const ceiling = results.get("mosquitto_sub (ceiling)")!;
      const m2p = results.get("prometheus-mqtt-exporter (JSON)");
      if (round > 0) {
        ratios.ceiling.push(bridge.perSecond / ceiling.perSecond);
        if (m2p) ratios.m2p.push(bridge.samplesPerSecond / m2p.samplesPerSecond);
      }
      console.log(
        `    round ${round}: bridge / ceiling ${fmt(bridge.perSecond / ceiling.perSecond, 2)}${m2p ? `, bridge / mqtt2prometheus ${fmt(bridge.samplesPerSecond / m2p.samplesPerSecond, 1)}×` : ""}`,
      );
    }
  } finally {
    for (const consumer of consumers) await consumer.stop();
    await broker.stop();
  }
  return ratios;
}

async function renderBenchmarks() {
  const rows: Array<{ series: number; bridgeSeconds: number; promClientSeconds: number; bytes: number }> = [];
  const perDevice = Array.from({ length: 64 }, (_, d) => deviceFamilies(d));
  for (const series of RENDER_SERIES) {
    const devices = Math.round(series / SERIES_PER_DEVICE);
    const store = fillSeriesStore(devices, (d) => perDevice[d % 64]!);
    const best = async (fn: () => unknown, rounds: number) => {
      let fastest = Number.POSITIVE_INFINITY;
      for (let i = 0; i < rounds; i++) {
        const t = performance.now();
        await fn();
        fastest = Math.min(fastest, performance.now() - t);
      }
      return fastest / 1000;
    };
    let bytes = 0;
    const bridgeSeconds = await best(() => {
      bytes = renderTenantChunks(store.tenant("acme"), "openmetrics", true).reduce((n, c) => n + c.length, 0);
    }, 4);
    const registry = fillPromClient(devices, (d) => perDevice[d % 64]!);
    const promClientSeconds = await best(() => registry.metrics(), 3);
    rows.push({ series: store.seriesCount(), bridgeSeconds, promClientSeconds, bytes });
    registry.clear();
  }
  return rows;
}

async function memoryBenchmarks() {
  const measure = async (kind: string) =>
    JSON.parse(
      (
        await run(process.execPath, [
          "--expose-gc",
          "--import",
          "tsx",
          "bench/bridge-memory.ts",
          kind,
          String(MEMORY_SERIES),
        ])
      ).trim(),
    ) as { series: number; rssPerSeries: number; heapPerSeries: number };
  return { store: await measure("store"), promClient: await measure("prom-client") };
}

console.log(`floorsense bridge benchmark: ${DEVICES} devices × ${CYCLES} cycles, Node ${process.version}\n`);
console.log("ingest at QoS 1 through Mosquitto (no loss: every message and sample counted)");
const ratios = await ingestBenchmarks();
const range = (xs: number[], digits: number) =>
  `median ${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)} over ${xs.length} rounds)`;
console.log(`\n  bridge / mosquitto_sub ceiling: ${range(ratios.ceiling, 2)} (target ≥ 0.7)`);
if (ratios.m2p.length > 0)
  console.log(`  bridge / mqtt2prometheus samples/s: ${range(ratios.m2p, 1)}× (target ≥ 5×)`);

if (INGEST_ONLY) process.exit(0);

console.log("\nrender a tenant endpoint (OpenMetrics, with timestamps) vs prom-client registry.metrics()");
for (const row of await renderBenchmarks()) {
  console.log(
    `  ${fmt(row.series).padStart(9)} series: bridge ${fmt(row.bridgeSeconds, 3)} s (${fmt(row.bytes / 1e6, 1)} MB), prom-client ${fmt(row.promClientSeconds, 3)} s, ${fmt(row.promClientSeconds / row.bridgeSeconds, 1)}× faster (target ≥ 3×)`,
  );
}

const memory = await memoryBenchmarks();
console.log(`\nresident memory per stored series at ${fmt(MEMORY_SERIES)} series (fresh process each)`);
console.log(
  `  bridge store: ${fmt(memory.store.rssPerSeries)} B RSS (${fmt(memory.store.heapPerSeries)} B heap+external)`,
);
console.log(
  `  prom-client:  ${fmt(memory.promClient.rssPerSeries)} B RSS (${fmt(memory.promClient.heapPerSeries)} B heap+external)`,
);
console.log(`  ratio: ${fmt(memory.store.rssPerSeries / memory.promClient.rssPerSeries, 2)} (target < 1)`);
