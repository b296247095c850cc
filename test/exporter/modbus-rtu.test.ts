import { type ChildProcess, spawn } from "node:child_process";
import { SerialPort } from "serialport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../exporter/clock.js";
import { DeviceReader } from "../../exporter/device-reader.js";
import { createModbusTransport, type ModbusTransport } from "../../exporter/modbus-transport.js";
import { loadProfile } from "../../exporter/profile.js";
import { type RunningSimulator, startSimulator } from "../../exporter/simulator.js";
import { createLogger } from "../../lib/logger.js";
import { needs } from "../support/binaries.js";
import { freePort } from "../support/ports.js";

const sdm630 = loadProfile("sdm630");
const logger = createLogger("exporter-test", "silent");

/** A connected pair of pseudo-terminals: what a USB RS485 adapter looks like to both ends. */
async function ptyPair(): Promise<{ a: string; b: string; process: ChildProcess }> {
  const socat = spawn("socat", ["-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const paths = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socat gave no ptys: ${log}`)), 5_000);
    socat.stderr!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      const found = [...log.matchAll(/PTY is (\S+)/g)].map((m) => m[1]!);
      if (found.length === 2 && log.includes("starting data transfer loop")) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  return { a: paths[0]!, b: paths[1]!, process: socat };
}

function rtuReader(transport: ModbusTransport, unitId: number, maxRegisters: number, timeoutMs = 1_000) {
  return new DeviceReader({
    name: `unit-${unitId}`,
    unitId,
    profile: sdm630,
    limits: { maxRegisters, maxBits: 2000, maxGap: sdm630.maxGap },
    timeoutMs,
    retries: 2,
    interRequestPauseMs: 5,
    transport,
    clock: systemClock,
    logger,
  });
}

const rtuBus = (device: string) =>
  ({ type: "rtu", device, baud: 9600, parity: "none", data_bits: 8, stop_bits: 1 }) as const;

describe.skipIf(!needs("socat"))("Modbus RTU over a socat pty pair", () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  describe("against the simulator on the other end", () => {
    let transport: ModbusTransport;
    beforeAll(async () => {
      const pair = await ptyPair();
      cleanups.push(() => pair.process.kill());
      const simulator: RunningSimulator = await startSimulator(
        { profile: sdm630, seed: 11, unitId: 1 },
        { serialPath: pair.a, baudRate: 9600 },
      );
      cleanups.push(() => simulator.close());
      transport = createModbusTransport(rtuBus(pair.b));
      cleanups.push(() => transport.close());
    });

    it("reads the full SDM630 map in 5 requests at a 50-register limit", async () => {
      const device = rtuReader(transport, 1, 50);
      expect(device.requests.length).toBe(5);
      const reading = await device.read();
      expect(reading.errors).toEqual([]);
      expect(reading.values.length).toBe(68);
      const volts = reading.values.find(
        (v) => v.register.metric === "floorsense_meter_voltage_volts" && v.register.labels.phase === "L2",
      )!.value as number;
      expect(volts).toBeGreaterThan(180);
      expect(volts).toBeLessThan(240);
    });

    it("times out on a unit id nobody answers, once per cycle", async () => {
      const reading = await rtuReader(transport, 9, 80, 300).read();
      expect(reading.up).toBe(false);
      expect(reading.errors.map((e) => e.kind)).toEqual(["timeout"]);
      // The bus still works for the meter that is there.
      expect((await rtuReader(transport, 1, 80).read()).values.length).toBe(68);
    });
  });

  it("classifies a corrupted answer as a CRC error and retries it", async () => {
    const pair = await ptyPair();
    cleanups.push(() => pair.process.kill());
    const meter = new SerialPort({ path: pair.a, baudRate: 9600 });
    cleanups.push(() => new Promise((resolve) => meter.close(() => resolve(undefined))));
    let requests = 0;
    let pending = Buffer.alloc(0);
    meter.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      // Every read request is 8 bytes; answer each with 01 04 04 43 66 80 00 and a wrong CRC.
      while (pending.length >= 8) {
        pending = pending.subarray(8);
        requests++;
        meter.write(Buffer.from([0x01, 0x04, 0x04, 0x43, 0x66, 0x80, 0x00, 0x00, 0x00]));
      }
    });
    const transport = createModbusTransport(rtuBus(pair.b));
    cleanups.push(() => transport.close());
    const reading = await rtuReader(transport, 1, 2, 500).read();
    // 68 values at 2 registers per request would be 68 requests; a CRC error does not end the cycle.
    expect(reading.errors.length).toBe(68);
    expect(new Set(reading.errors.map((e) => e.kind))).toEqual(new Set(["crc"]));
    expect(reading.values).toEqual([]);
    expect(reading.up).toBe(false);
    // Each request was sent once and retried twice.
    expect(requests).toBe(68 * 3);
  }, 60_000);

  it("reads through an RTU-over-TCP gateway (socat passing RTU frames between TCP and the line)", async () => {
    const pair = await ptyPair();
    cleanups.push(() => pair.process.kill());
    const simulator = await startSimulator(
      { profile: sdm630, seed: 12, unitId: 1 },
      { serialPath: pair.a, baudRate: 9600 },
    );
    cleanups.push(() => simulator.close());
    const port = await freePort();
    // One connection, no fork: a probe connection would hold the line and take the answers.
    const gateway = spawn(
      "socat",
      ["-d", "-d", `tcp-listen:${port},bind=127.0.0.1,reuseaddr`, `file:${pair.b},raw,echo=0`],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    cleanups.push(() => gateway.kill());
    await new Promise<void>((resolve, reject) => {
      let log = "";
      const timer = setTimeout(() => reject(new Error(`socat gateway did not listen: ${log}`)), 5_000);
      gateway.stderr!.on("data", (chunk: Buffer) => {
        log += chunk.toString();
        if (/listening on/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const transport = createModbusTransport({ type: "rtu-over-tcp", host: "127.0.0.1", port });
    cleanups.push(() => transport.close());
    const reading = await rtuReader(transport, 1, 80).read();
    expect(reading.errors).toEqual([]);
    expect(reading.values.length).toBe(68);
  });

  it("names a serial port that does not exist", async () => {
    const transport = createModbusTransport(rtuBus("/dev/ttyFLOORSENSE-missing"));
    const reading = await rtuReader(transport, 1, 80).read();
    expect(reading.errors.map((e) => e.kind)).toEqual(["disconnect"]);
    expect(reading.errors[0]!.message).toMatch(/^cannot open serial port \/dev\/ttyFLOORSENSE-missing: /);
  });
});
