import { execFileSync, spawn } from "node:child_process";
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
}

interface Logged {
  device: string;
  seq: number;
  timestamp: number;
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

    const writeConfig = (name: string, queueDir: string) => {
      const file = join(dir, `${name}.yaml`);
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
        poll_interval: 200ms
        timeout: 500ms
        labels: { line: "7" }
      - name: meter-9
        unit_id: 9
        profile: sdm120
        poll_interval: 1s
        timeout: 100ms
queue:
  dir: ${queueDir}
  replay_rate: 100
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
        const up = parseOpenMetrics(text).find((f) => f.name === "floorsense_device_up")!;
        received.push({
          topic,
          payload: text,
          contentType: packet.properties?.contentType,
          retain: packet.retain,
          cycle: up.samples[0]!.timestamp!,
          up: up.samples[0]!.value,
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
          return /^floorsense_exporter_mqtt_connected 0$/m.test(text) && cycles && Number(cycles[1]) >= 4
            ? text
            : undefined;
        },
        20_000,
        "mqtt_connected 0 and at least 4 queued cycles during the outage",
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
    }, 120_000);
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
        expect(await exporter.stop(10_000)).toBe(0);
      } finally {
        await locked.stop();
      }
    }, 60_000);
  },
);
