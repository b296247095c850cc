import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadProfile } from "../../exporter/profile.js";
import { type RunningSimulator, startSimulator } from "../../exporter/simulator.js";
import { parseOpenMetrics } from "../../openmetrics/index.js";
import { needs } from "../support/binaries.js";
import { CLI_ENTRY } from "../support/cli.js";
import { type Mosquitto, startMosquitto } from "../support/mosquitto.js";
import { freePort } from "../support/ports.js";
import { eventually, type RunningProcess, startProcess, stopAll } from "../support/processes.js";

const CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PREFIX = "floorsense/v1/acme/plant-1/press-7";

interface Received {
  topic: string;
  payload: string;
  contentType: string | undefined;
  retain: boolean;
  /** The cycle's identity: the timestamp of its floorsense_device_up sample. */
  cycle: number;
  /** The value of that floorsense_device_up sample: 1 when the device answered. */
  up: number;
  /** Samples in the payload, and the SHA-1 of its bytes. */
  samples: number;
  sha1: string;
  /** When the subscriber got it (ms, this process's clock). */
  arrivedAtMs: number;
}

interface Logged {
  device: string;
  seq: number;
  timestamp: number;
  samples: number;
  sha1: string;
}

const cycleKey = (r: Received) => `${r.topic}@${r.cycle}`;
const loggedKey = (c: Logged) => `${PREFIX}/${c.device}@${c.timestamp}`;

/**
 * Sample-level accounting: every payload received is a cycle some run logged, byte for byte (same
 * hash, same number of samples), and every logged cycle was received. `unloggedAllowed` is for runs
 * killed with SIGKILL: one may die between queueing a cycle and logging it, and that cycle is still
 * delivered. Returns the samples published, counted once per cycle.
 */
function expectEverySample(received: Received[], logged: Logged[], unloggedAllowed = 0): number {
  const byKey = new Map(logged.map((c) => [loggedKey(c), c]));
  const unlogged = new Set(received.filter((r) => !byKey.has(cycleKey(r))).map(cycleKey));
  expect(unlogged.size).toBeLessThanOrEqual(unloggedAllowed);
  const changed = received
    .filter((r) => byKey.has(cycleKey(r)))
    .filter((r) => {
      const c = byKey.get(cycleKey(r))!;
      return c.sha1 !== r.sha1 || c.samples !== r.samples;
    })
    .map((r) => ({ key: cycleKey(r), samples: r.samples, sha1: r.sha1, logged: byKey.get(cycleKey(r)) }));
  expect(changed).toEqual([]);
  const got = new Set(received.map((r) => r.sha1));
  expect(logged.filter((c) => !got.has(c.sha1))).toEqual([]);
  const once = new Map(received.filter((r) => byKey.has(cycleKey(r))).map((r) => [cycleKey(r), r.samples]));
  const samples = [...once.values()].reduce((a, b) => a + b, 0);
  expect(samples).toBe(logged.reduce((n, c) => n + c.samples, 0));
  return samples;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Cycles an exporter process wrote to its queue (logged only after the fsync). */
function loggedCycles(process: RunningProcess): Logged[] {
  return process
    .output()
    .split("\n")
    .filter((line) => line.includes('"cycle queued"'))
    .map((line) => JSON.parse(line) as Logged);
}

function exposition(cmd: string[], stdin: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("close", (code) => resolve({ code, out }));
    child.stdin.end(stdin);
  });
}

/** Waits until every logged cycle arrived; on timeout says which ones did not. */
async function allDelivered(
  received: Received[],
  logged: () => Logged[],
  runs: RunningProcess[],
  timeoutMs: number,
) {
  const missing = () => {
    const got = new Set(received.map((r) => `${r.topic}@${r.cycle}`));
    return logged().filter((c) => !got.has(`${PREFIX}/${c.device}@${c.timestamp}`));
  };
  try {
    await eventually(() => missing().length === 0, timeoutMs, "delivery");
  } catch {
    const tail = runs.map((run) =>
      run
        .output()
        .split("\n")
        .filter((l) => !l.includes("cycle queued"))
        .slice(-15)
        .join("\n"),
    );
    throw new Error(
      `${missing().length} of ${logged().length} logged cycles never arrived (received ${received.length}): ` +
        `${JSON.stringify(missing().slice(0, 5))}\n${tail.join("\n---\n")}`,
    );
  }
}

describe.skipIf(!needs("mosquitto", "mosquitto_passwd", "promtool"))(
  "the exporter publishing to a real Mosquitto",
  () => {
    let simulator: RunningSimulator;
    let broker: Mosquitto;
    let brokerPort: number;
    let persistence: string;
    let subscriber: MqttClient;
    const received: Received[] = [];
    const status: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), "floorsense-exporter-e2e-"));

    const restartBroker = async () => {
      broker = await startMosquitto({ port: brokerPort, persistenceDir: persistence });
    };

    const writeConfig = (
      name: string,
      queueDir: string,
      options: { replayRate?: number; meter1Poll?: string; meter9?: boolean } = {},
    ) => {
      const file = join(dir, `${name}.yaml`);
      const meter9 = `      - name: meter-9
        unit_id: 9
        profile: sdm120
        poll_interval: 1s
        timeout: 100ms
`;
      writeFileSync(
        file,
        `identity: { tenant: acme, site: plant-1, machine: press-7 }
mqtt:
  url: mqtt://127.0.0.1:${brokerPort}
  client_id: exporter-${name}
  reconnect_period: 200ms
  connect_timeout: 1s
buses:
  - name: sim
    type: tcp
    host: 127.0.0.1
    port: ${simulatorPort}
    devices:
      - name: meter-1
        unit_id: 1
        profile: sdm630
        poll_interval: ${options.meter1Poll ?? "200ms"}
        timeout: 500ms
        labels: { line: "7" }
${options.meter9 === false ? "" : meter9}queue:
  dir: ${queueDir}
  replay_rate: ${options.replayRate ?? 100}
web:
  listen_address: 127.0.0.1:0
log_level: debug
`,
      );
      return file;
    };
    let simulatorPort = 0;

    const startExporter = (config: string) =>
      startProcess(process.execPath, [CLI_ENTRY, "exporter", "--config", config]);
    const metricsPort = async (exporter: RunningProcess) =>
      eventually(
        () => {
          const line = exporter
            .output()
            .split("\n")
            .find((l) => l.includes('"http listening"'));
          return line
            ? Number((JSON.parse(line) as { address: string }).address.split(":").pop())
            : undefined;
        },
        15_000,
        `exporter http\n${exporter.output()}`,
      );

    beforeAll(async () => {
      simulatorPort = await freePort();
      simulator = await startSimulator(
        { profile: loadProfile("sdm630"), seed: 7, unitId: 1 },
        { host: "127.0.0.1", port: simulatorPort },
      );
      brokerPort = await freePort();
      persistence = mkdtempSync(join(tmpdir(), "floorsense-mosquitto-data-"));
      // Started as root, mosquitto drops to its own user; without this it cannot save the sessions.
      chmodSync(persistence, 0o777);
      await restartBroker();
      subscriber = mqtt.connect(`mqtt://127.0.0.1:${brokerPort}`, {
        clientId: "floorsense-test-subscriber",
        clean: false,
        protocolVersion: 5,
        reconnectPeriod: 100,
        properties: { sessionExpiryInterval: 3600 },
      });
      subscriber.on("message", (topic, payload, packet) => {
        if (topic.endsWith("/status")) {
          status.push(`${payload.toString()}${packet.retain ? " (retained)" : ""}`);
          return;
        }
        const text = payload.toString("utf8");
        const families = parseOpenMetrics(text);
        const up = families.find((f) => f.name === "floorsense_device_up")!;
        received.push({
          topic,
          payload: text,
          contentType: packet.properties?.contentType,
          retain: packet.retain,
          cycle: up.samples[0]!.timestamp!,
          up: up.samples[0]!.value,
          samples: families.reduce((n, f) => n + f.samples.length, 0),
          sha1: createHash("sha1").update(payload).digest("hex"),
          arrivedAtMs: Date.now(),
        });
      });
      await new Promise<void>((resolve, reject) =>
        subscriber.once("connect", () =>
          subscriber.subscribe(`${PREFIX}/#`, { qos: 1 }, (error) => (error ? reject(error) : resolve())),
        ),
      );
    });

    afterAll(async () => {
      subscriber?.end(true);
      await stopAll();
      await broker?.stop();
      await simulator?.close();
    });

    it("publishes one OpenMetrics exposition per device per cycle that lint and promtool accept", async () => {
      const exporter = startExporter(writeConfig("basic", join(dir, "queue-basic")));
      await eventually(
        () => received.filter((r) => r.topic === `${PREFIX}/meter-1`).length >= 3,
        20_000,
        "3 cycles",
      );
      await eventually(
        () => received.some((r) => r.topic === `${PREFIX}/meter-9`),
        20_000,
        "a dead-device cycle",
      );
      expect(status).toContain("online");

      // The first cycles are the coldest (connection set-up, JIT) and, on a loaded machine, may miss
      // meter-1's 500 ms timeout: check a cycle in which the device answered. One must arrive, and it
      // must carry every value of the map.
      const live = await eventually(
        () => received.find((r) => r.topic === `${PREFIX}/meter-1` && r.up === 1),
        20_000,
        "a meter-1 cycle with the device up",
      );
      expect(live.contentType).toBe(CONTENT_TYPE);
      expect(live.retain).toBe(false);
      const families = parseOpenMetrics(live.payload);
      const byName = new Map(families.map((f) => [f.name, f]));
      expect(byName.get("floorsense_meter_voltage_volts")!.samples.map((s) => s.labels)).toEqual([
        { line: "7", phase: "L1" },
        { line: "7", phase: "L2" },
        { line: "7", phase: "L3" },
      ]);
      expect(byName.get("floorsense_meter_energy_imported_joules")).toMatchObject({
        type: "counter",
        unit: "joules",
      });
      expect(byName.get("floorsense_device_up")!.samples[0]!.value).toBe(1);
      const samples = families.flatMap((f) => f.samples);
      expect(samples.every((s) => s.timestamp !== undefined && Math.abs(s.timestamp - live.cycle) < 5)).toBe(
        true,
      );
      expect(samples.filter((s) => s.name.startsWith("floorsense_meter_")).length).toBe(68);

      // The dead device: up 0, a counted timeout, and no meter values at all (absent, not zero).
      const dead = parseOpenMetrics(received.find((r) => r.topic === `${PREFIX}/meter-9`)!.payload);
      expect(dead.filter((f) => f.name.startsWith("floorsense_meter_"))).toEqual([]);
      expect(dead.find((f) => f.name === "floorsense_device_up")!.samples[0]!.value).toBe(0);
      const errors = dead.find((f) => f.name === "floorsense_device_read_errors")!.samples;
      expect(errors.find((s) => s.labels.kind === "timeout")!.value).toBeGreaterThanOrEqual(1);

      const lint = await exposition([process.execPath, CLI_ENTRY, "openmetrics", "lint", "-"], live.payload);
      expect(lint).toEqual({ code: 0, out: expect.stringMatching(/ok/) });
      const text = await exposition(
        [process.execPath, CLI_ENTRY, "openmetrics", "convert", "--to", "text"],
        live.payload,
      );
      expect(text.code).toBe(0);
      const promtool = await exposition(["promtool", "check", "metrics"], text.out);
      expect(promtool).toEqual({ code: 0, out: "" });

      const port = await metricsPort(exporter);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^floorsense_exporter_build_info\{/m);
      expect(metrics).toMatch(/^floorsense_exporter_mqtt_connected 1$/m);
      expect(metrics).toMatch(
        /^floorsense_exporter_poll_cycles_total\{device="meter-1",result="ok"\} [1-9]/m,
      );
      expect(metrics).toMatch(
        /^floorsense_exporter_poll_cycles_total\{device="meter-9",result="failed"\} [1-9]/m,
      );
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

      const before = status.length;
      expect(await exporter.stop(10_000)).toBe(0);
      await eventually(() => status.slice(before).includes("offline"), 5_000, "offline on shutdown");
      // Everything the exporter queued was delivered before it exited.
      const got = new Set(received.map((r) => `${r.topic}@${r.cycle}`));
      const missing = loggedCycles(exporter).filter((c) => !got.has(`${PREFIX}/${c.device}@${c.timestamp}`));
      expect(missing).toEqual([]);
    }, 60_000);

    it("keeps every cycle across a broker outage and replays them in order with their timestamps", async () => {
      received.length = 0;
      const exporter = startExporter(writeConfig("outage", join(dir, "queue-outage")));
      const port = await metricsPort(exporter);
      await eventually(() => received.length >= 3, 20_000, "cycles before the outage");

      await broker.stop();
      // The exporter notices the lost link and keeps queueing: wait for both rather than a fixed time.
      const during = await eventually(
        async () => {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          const cycles = /^floorsense_exporter_queue_cycles (\d+)$/m.exec(text);
          const refused = /^floorsense_exporter_mqtt_connect_failures_total\{reason="unreachable"\} [1-9]/m;
          return /^floorsense_exporter_mqtt_connected 0$/m.test(text) &&
            cycles &&
            Number(cycles[1]) >= 4 &&
            refused.test(text)
            ? text
            : undefined;
        },
        20_000,
        "mqtt_connected 0, a failed reconnection and at least 4 queued cycles during the outage",
      );
      // A broker that is down is not a rejected login.
      expect(during).toMatch(
        /^floorsense_exporter_mqtt_connect_failures_total\{reason="not_authorized"\} 0$/m,
      );
      expect(during).toMatch(/^floorsense_exporter_mqtt_connected 0$/m);
      const depth = Number(/^floorsense_exporter_queue_cycles (\d+)$/m.exec(during)![1]);
      expect(depth).toBeGreaterThanOrEqual(4);

      await restartBroker();
      const logged = () => loggedCycles(exporter);
      await allDelivered(received, logged, [exporter], 20_000);
      const replayed = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(
        Number(/^floorsense_exporter_replayed_cycles_total (\d+)$/m.exec(replayed)![1]),
      ).toBeGreaterThanOrEqual(depth);
      expect(replayed).toMatch(/^floorsense_exporter_mqtt_connected 1$/m);
      expect(await exporter.stop(10_000)).toBe(0);

      for (const device of ["meter-1", "meter-9"]) {
        const cycles = received.filter((r) => r.topic === `${PREFIX}/${device}`).map((r) => r.cycle);
        const distinct = [...new Set(cycles)];
        // In order, no cycle missing between the first and the last one the exporter logged.
        expect(distinct).toEqual([...distinct].sort((a, b) => a - b));
        const expected = logged()
          .filter((c) => c.device === device)
          .map((c) => c.timestamp);
        expect(expected.filter((t) => !distinct.includes(t))).toEqual([]);
        expect(cycles.length - distinct.length).toBeLessThanOrEqual(16);
      }
      // Every sample published before, during and after the outage arrived, unchanged.
      expect(expectEverySample(received, logged())).toBeGreaterThan(0);
      const after = await (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined))?.text();
      expect(after).toBeUndefined();
      const replayedLine = exporter
        .output()
        .split("\n")
        .filter((l) => l.includes('"connected to the broker"'));
      expect(replayedLine.length).toBe(2);
    }, 90_000);

    it("loses nothing when the exporter is killed with SIGKILL during an outage", async () => {
      received.length = 0;
      const config = writeConfig("killed", join(dir, "queue-killed"));
      const runs: RunningProcess[] = [startExporter(config)];
      await eventually(() => received.length >= 3, 20_000, "cycles before the outage");
      await broker.stop();
      let random = 4242;
      for (let round = 0; round < 3; round++) {
        random = (random * 1103515245 + 12345) % 2 ** 31;
        await new Promise((r) => setTimeout(r, 600 + (random % 900)));
        const victim = runs[runs.length - 1]!;
        victim.child.kill("SIGKILL");
        await victim.exited;
        runs.push(startExporter(config));
        await eventually(() => runs[runs.length - 1]!.output().includes('"queue opened"'), 15_000, "restart");
      }
      await new Promise((r) => setTimeout(r, 800));
      await restartBroker();

      const logged = () => runs.flatMap((run) => loggedCycles(run));
      await allDelivered(received, logged, runs, 30_000);
      expect(await runs[runs.length - 1]!.stop(10_000)).toBe(0);

      const all = logged();
      expect(all.length).toBeGreaterThan(15);
      // Restarts recovered the queue: later runs found cycles waiting.
      const recovered = runs
        .slice(1)
        .map(
          (run) =>
            run
              .output()
              .split("\n")
              .find((l) => l.includes('"queue opened"'))!,
        )
        .map((line) => (JSON.parse(line) as { waiting: number }).waiting);
      expect(recovered.every((n) => n > 0)).toBe(true);
      // Duplicates carry the identical exposition: timestamps and values unchanged.
      const byCycle = new Map<string, string>();
      let duplicates = 0;
      for (const r of received) {
        const key = `${r.topic}@${r.cycle}`;
        const seen = byCycle.get(key);
        if (seen !== undefined) {
          duplicates++;
          expect(r.payload).toBe(seen);
        } else byCycle.set(key, r.payload);
      }
      expect(duplicates).toBeLessThanOrEqual(16 * runs.length);
      // Sample by sample: what the runs logged arrived byte for byte; a killed run may have queued one
      // cycle it had no time to log.
      expect(expectEverySample(received, all, runs.length - 1)).toBeGreaterThan(15 * 9);
    }, 120_000);
    it("replays a backlog no faster than replay_rate", async () => {
      received.length = 0;
      // One device, 2 cycles a second, replayed at 5 a second: the backlog drains at 3 a second net.
      const rate = 5;
      const spacingMs = 1000 / rate;
      const exporter = startExporter(
        writeConfig("paced", join(dir, "queue-paced"), {
          replayRate: rate,
          meter1Poll: "500ms",
          meter9: false,
        }),
      );
      const port = await metricsPort(exporter);
      await eventually(() => received.length >= 2, 20_000, "cycles before the outage");
      await broker.stop();
      await eventually(
        async () => {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          const cycles = /^floorsense_exporter_queue_cycles (\d+)$/m.exec(text);
          return cycles && Number(cycles[1]) >= 15;
        },
        30_000,
        "15 cycles queued during the outage",
      );
      const backAtMs = Date.now();
      await restartBroker();
      const logged = () => loggedCycles(exporter);
      await allDelivered(received, logged, [exporter], 30_000);
      expect(await exporter.stop(10_000)).toBe(0);
      expectEverySample(received, logged());

      // The backlog: cycles read before the broker came back, arriving after it did, in arrival order.
      const firstArrival = new Map<string, number>();
      for (const r of received)
        if (!firstArrival.has(cycleKey(r))) firstArrival.set(cycleKey(r), r.arrivedAtMs);
      const backlog = received
        .filter((r) => r.cycle * 1000 < backAtMs && firstArrival.get(cycleKey(r)) === r.arrivedAtMs)
        .filter((r) => r.arrivedAtMs >= backAtMs)
        .map((r) => r.arrivedAtMs)
        .sort((a, b) => a - b);
      expect(backlog.length).toBeGreaterThanOrEqual(15);
      const gaps = backlog.slice(1).map((t, i) => t - backlog[i]!);
      // Sent at most one every 200 ms. Arrival times carry the subscriber's own delays (one
      // reconnecting after the broker restart gets the first cycles in a burst), so the median gap
      // and the whole span are checked, with 25% slack; unpaced, the backlog would arrive within
      // a few tens of milliseconds.
      expect(median(gaps)).toBeGreaterThanOrEqual(0.75 * spacingMs);
      expect(backlog.at(-1)! - backlog[0]!).toBeGreaterThanOrEqual(0.75 * spacingMs * (backlog.length - 1));
    }, 120_000);

    it("publishes a retained online at connect and offline as its last will when killed", async () => {
      received.length = 0;
      const exporter = startExporter(writeConfig("will", join(dir, "queue-will")));
      // A cycle from this exporter arrived, so its `online`, published before any cycle, is retained.
      await eventually(() => received.length >= 1, 20_000, "a cycle from the exporter");
      const watch = async (clientId: string) => {
        const seen: string[] = [];
        const client = mqtt.connect(`mqtt://127.0.0.1:${brokerPort}`, {
          clientId,
          clean: true,
          protocolVersion: 5,
          reconnectPeriod: 0,
        });
        client.on("message", (_topic, payload, packet) =>
          seen.push(`${payload.toString()}${packet.retain ? " (retained)" : ""}`),
        );
        await new Promise<void>((resolve, reject) => {
          client.once("error", reject);
          client.once("connect", () =>
            client.subscribe(`${PREFIX}/status`, { qos: 1 }, (error) => (error ? reject(error) : resolve())),
          );
        });
        return { seen, client };
      };
      const late = await watch("floorsense-test-status-late");
      try {
        await eventually(() => late.seen.length >= 1, 10_000, "the retained status");
        expect(late.seen).toEqual(["online (retained)"]);

        exporter.child.kill("SIGKILL");
        await exporter.exited;
        // No clean disconnect: only the broker, through the will, can say the exporter is gone.
        await eventually(() => late.seen.length >= 2, 10_000, `the last will, got ${late.seen}`);
        expect(late.seen).toEqual(["online (retained)", "offline"]);
        const next = await watch("floorsense-test-status-next");
        try {
          await eventually(() => next.seen.length >= 1, 10_000, "the retained will");
          expect(next.seen).toEqual(["offline (retained)"]);
        } finally {
          next.client.end(true);
        }
      } finally {
        late.client.end(true);
      }
    }, 60_000);

    it("says once that the broker rejected the credentials and keeps the cycles", async () => {
      const secrets = mkdtempSync(join(tmpdir(), "floorsense-mosquitto-auth-"));
      chmodSync(secrets, 0o755);
      const passwordFile = join(secrets, "passwd");
      execFileSync("mosquitto_passwd", ["-b", "-c", passwordFile, "press-7", "right-password"]);
      chmodSync(passwordFile, 0o644);
      // Notices make the broker log every refused CONNECT, which counts the exporter's attempts.
      const locked = await startMosquitto({ passwordFile, extraConfig: ["log_type notice"] });
      const refusals = () => locked.process.output().split("disconnected, not authorised").length - 1;
      try {
        const file = writeConfig("auth", join(dir, "queue-auth"));
        writeFileSync(
          file,
          readFileSync(file, "utf8")
            .replace(`mqtt://127.0.0.1:${brokerPort}`, locked.url)
            .replace(
              "  reconnect_period: 200ms",
              "  reconnect_period: 200ms\n  username: press-7\n  password: wrong",
            ),
        );
        const exporter = startExporter(file);
        const port = await metricsPort(exporter);
        await eventually(
          () => loggedCycles(exporter).length >= 5 && refusals() >= 10,
          20_000,
          "cycles queued and 10 connection attempts refused",
        );
        // The publisher logs a failure when its message changes, not on every retry. On a loaded
        // machine an attempt can instead hit the 1 s connect timeout, a different message, after which
        // the next refusal is new again: so the rejection may be logged more than once, but never twice
        // in a row, and far less often than the broker refused the exporter.
        const failures = exporter
          .output()
          .split("\n")
          .filter((line) =>
            /"msg":"(the broker rejected the credentials|broker connection failed)"/.test(line),
          )
          .map((line) => JSON.parse(line) as { msg: string; err: string });
        const attempts = refusals();
        const rejections = failures.filter((f) => f.msg === "the broker rejected the credentials");
        expect(rejections.length).toBeGreaterThanOrEqual(1);
        for (const rejection of rejections) {
          expect(rejection.err).toMatch(/Bad User Name or Password|Not authori[sz]ed/i);
        }
        for (let i = 1; i < failures.length; i++) expect(failures[i]!.err).not.toBe(failures[i - 1]!.err);
        expect(rejections.length).toBeLessThanOrEqual(Math.max(3, Math.floor(attempts / 3)));
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(metrics).toMatch(/^floorsense_exporter_mqtt_connected 0$/m);
        expect(Number(/^floorsense_exporter_queue_cycles (\d+)$/m.exec(metrics)![1])).toBeGreaterThanOrEqual(
          5,
        );
        // Each refused attempt is counted, where the log says it once: at least once per log line.
        const notAuthorized = Number(
          /^floorsense_exporter_mqtt_connect_failures_total\{reason="not_authorized"\} (\d+)$/m.exec(
            metrics,
          )![1],
        );
        expect(notAuthorized).toBeGreaterThanOrEqual(Math.max(1, rejections.length));
        expect(await exporter.stop(10_000)).toBe(0);
      } finally {
        await locked.stop();
      }
    }, 60_000);
  },
);
