import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusQueue, type PolledDevice } from "../../exporter/bus-queue.js";
import { systemClock } from "../../exporter/clock.js";
import { DeviceReader, type DeviceReading } from "../../exporter/device-reader.js";
import { createModbusTransport, type ModbusTransport } from "../../exporter/modbus-transport.js";
import { loadProfile } from "../../exporter/profile.js";
import { type RunningSimulator, startSimulator } from "../../exporter/simulator.js";
import { createLogger } from "../../lib/logger.js";
import { freePort } from "../support/ports.js";
import { eventually } from "../support/processes.js";

const sdm630 = loadProfile("sdm630");
const logger = createLogger("exporter-test", "silent");
const tcpBus = (port: number) => ({ type: "tcp", host: "127.0.0.1", port }) as const;

function reader(
  transport: ModbusTransport,
  unitId: number,
  overrides: { timeoutMs?: number; maxRegisters?: number } = {},
) {
  return new DeviceReader({
    name: `unit-${unitId}`,
    unitId,
    profile: sdm630,
    limits: { maxRegisters: overrides.maxRegisters ?? 80, maxBits: 2000, maxGap: sdm630.maxGap },
    timeoutMs: overrides.timeoutMs ?? 1_000,
    retries: 1,
    interRequestPauseMs: 0,
    transport,
    clock: systemClock,
    logger,
  });
}

const readValue = (reading: DeviceReading, metric: string, labels: Record<string, string> = {}) =>
  reading.values.find(
    (v) => v.register.metric === metric && JSON.stringify(v.register.labels) === JSON.stringify(labels),
  )?.value as number;

describe("Modbus TCP against the simulator", () => {
  const simulators: RunningSimulator[] = [];
  const transports: ModbusTransport[] = [];
  let port = 0;
  let strictPort = 0;

  beforeAll(async () => {
    port = await freePort();
    simulators.push(
      await startSimulator({ profile: sdm630, seed: 42, unitId: 1 }, { host: "127.0.0.1", port }),
    );
    strictPort = await freePort();
    simulators.push(
      await startSimulator(
        { profile: sdm630, seed: 42, unitId: 1, strictAddresses: true },
        { host: "127.0.0.1", port: strictPort },
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await Promise.all(simulators.map((s) => s.close()));
  });

  const transport = (p: number) => {
    const t = createModbusTransport(tcpBus(p));
    transports.push(t);
    return t;
  };

  it("reads the whole SDM630 map in 4 requests with plausible values", async () => {
    const device = reader(transport(port), 1);
    expect(device.requests.length).toBe(4);
    const reading = await device.read();
    expect(reading.errors).toEqual([]);
    expect(reading.up).toBe(true);
    expect(reading.values.length).toBe(68);
    for (const phase of ["L1", "L2", "L3"]) {
      const volts = readValue(reading, "floorsense_meter_voltage_volts", { phase });
      expect(volts).toBeGreaterThan(180);
      expect(volts).toBeLessThan(240);
    }
    const frequency = readValue(reading, "floorsense_meter_frequency_hertz");
    expect(Math.abs(frequency - 50)).toBeLessThan(0.1);
    const thd = readValue(reading, "floorsense_meter_voltage_thd_ratio", { phase: "L1" });
    expect(thd).toBeGreaterThan(0.01);
    expect(thd).toBeLessThan(0.05);
    // Per-phase power adds up to the system power the meter reports (float32 rounding aside).
    const phases = ["L1", "L2", "L3"].map((phase) =>
      readValue(reading, "floorsense_meter_power_watts", { phase }),
    );
    expect(phases[0]! + phases[1]! + phases[2]!).toBeCloseTo(
      readValue(reading, "floorsense_meter_system_power_watts"),
      -1,
    );
    const stamps = new Set(reading.values.map((v) => v.timestampMs));
    expect(stamps.size).toBeGreaterThanOrEqual(1);
    for (const stamp of stamps) expect(stamp).toBeGreaterThanOrEqual(reading.startedAtMs);
  });

  it("energy counters integrate the power and only go up", async () => {
    const device = reader(transport(port), 1);
    const first = await device.read();
    await new Promise((r) => setTimeout(r, 1_200));
    const second = await device.read();
    const e1 = readValue(first, "floorsense_meter_energy_imported_joules_total");
    const e2 = readValue(second, "floorsense_meter_energy_imported_joules_total");
    const power = readValue(second, "floorsense_meter_system_power_watts");
    const elapsed = (second.startedAtMs - first.startedAtMs) / 1000;
    expect(e2).toBeGreaterThan(e1);
    // float32 keeps about 7 digits: at ~2e10 J a step is ~2 kJ, so compare loosely.
    expect(e2 - e1).toBeGreaterThan(0.3 * power * elapsed);
    expect(e2 - e1).toBeLessThan(3 * power * elapsed + 4096);
  });

  it("splits merged reads a strict device refuses with exception 02 and keeps every value", async () => {
    const device = reader(transport(strictPort), 1);
    const first = await device.read();
    expect(first.errors).toEqual([]);
    expect(first.values.length).toBe(68);
    expect(device.requests.length).toBeGreaterThan(4);
    const learned = device.requests.length;
    const second = await device.read();
    expect(second.values.length).toBe(68);
    expect(device.requests.length).toBe(learned);
  });

  it("reports the exception code a device answers with", async () => {
    const busyPort = await freePort();
    simulators.push(
      await startSimulator(
        { profile: sdm630, seed: 42, unitId: 1, faultRate: 1 },
        { host: "127.0.0.1", port: busyPort },
      ),
    );
    const reading = await reader(transport(busyPort), 1).read();
    expect(reading.values).toEqual([]);
    expect(reading.up).toBe(true);
    expect(reading.errors.length).toBe(4);
    expect(reading.errors.map((e) => [e.kind, e.code])).toEqual(Array(4).fill(["exception", 6]));
  });

  it("keeps polling a live device when another one on the bus never answers", async () => {
    const t = transport(port);
    const readings: DeviceReading[] = [];
    const intervalMs = 200;
    const timeoutMs = 300;
    // The simulator shares this process (and a loaded CI machine) with the bus loop, so a poll can
    // be held up by a stall of about a second: every single poll is allowed that much. The medians
    // are not, since a stall hits a few polls while a dead device that costs more than its timeout
    // (a retry, one timeout per request) slows every cycle.
    const slackMs = 1_000;
    const devices: PolledDevice[] = [
      Object.assign(reader(t, 1), { intervalMs }),
      Object.assign(reader(t, 7, { timeoutMs }), { intervalMs }),
    ];
    const queue = new BusQueue({
      name: "tcp",
      devices,
      switchPauseMs: 0,
      clock: systemClock,
      logger,
      onReading: (reading) => {
        readings.push(reading);
      },
    });
    queue.start();
    const count = (device: string) => readings.filter((r) => r.device === device).length;
    try {
      // Stop after enough readings of each, however long a slow machine takes to make them.
      await eventually(
        () => count("unit-1") >= 8 && count("unit-7") >= 8,
        20_000,
        "8 live and 8 dead readings",
      );
    } finally {
      await queue.stop();
    }

    const live = readings.filter((r) => r.device === "unit-1");
    const dead = readings.filter((r) => r.device === "unit-7");
    expect(live.length).toBeGreaterThanOrEqual(8);
    expect(dead.length).toBeGreaterThanOrEqual(8);
    expect(live.every((r) => r.up && r.values.length === 68)).toBe(true);
    expect(dead.every((r) => !r.up && r.values.length === 0)).toBe(true);
    // A dead device costs one timeout per cycle, not one per request.
    expect(dead.every((r) => r.errors.length === 1 && r.errors[0]!.kind === "timeout")).toBe(true);
    // It waits for its timeout, and not much longer.
    const deadMs = dead.map((r) => r.durationMs);
    expect(
      deadMs.every((ms) => ms >= timeoutMs - 20 && ms < timeoutMs + slackMs),
      `${deadMs}`,
    ).toBe(true);
    const median = [...deadMs].sort((a, b) => a - b)[Math.floor(deadMs.length / 2)]!;
    expect(median, `${deadMs}`).toBeLessThan(timeoutMs + 300);
    // The live device waits at most the dead one's timeout beyond its own interval (plus a stall).
    const gaps = live.slice(1).map((r, i) => r.startedAtMs - live[i]!.startedAtMs);
    expect(
      gaps.every((gap) => gap < intervalMs + timeoutMs + slackMs + 500),
      `${gaps}`,
    ).toBe(true);
    const medianGap = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)]!;
    expect(medianGap, `${gaps}`).toBeLessThan(intervalMs + timeoutMs + 300);
    // Polls never overlap on the bus.
    const ordered = [...readings].sort((a, b) => a.startedAtMs - b.startedAtMs);
    for (let i = 1; i < ordered.length; i++) {
      expect(ordered[i]!.startedAtMs).toBeGreaterThanOrEqual(
        ordered[i - 1]!.startedAtMs + ordered[i - 1]!.durationMs,
      );
    }
  });

  it("reports a refused connection as a disconnect and reconnects when the device is back", async () => {
    const deadPort = await freePort();
    const t = transport(deadPort);
    const device = reader(t, 1);
    const down = await device.read();
    expect(down.up).toBe(false);
    expect(down.errors.map((e) => e.kind)).toEqual(["disconnect"]);
    expect(down.errors[0]!.message).toMatch(new RegExp(`^cannot open tcp 127\\.0\\.0\\.1:${deadPort}: `));
    const late = await startSimulator(
      { profile: sdm630, seed: 1, unitId: 1 },
      { host: "127.0.0.1", port: deadPort },
    );
    simulators.push(late);
    const up = await device.read();
    expect(up.up).toBe(true);
    expect(up.values.length).toBe(68);
  });
});
