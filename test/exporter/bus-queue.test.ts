import { describe, expect, it } from "vitest";
import { BusQueue, type PolledDevice } from "../../exporter/bus-queue.js";
import type { Clock } from "../../exporter/clock.js";
import type { DeviceReading } from "../../exporter/device-reader.js";
import { createLogger } from "../../lib/logger.js";

/** Virtual time: sleeping advances the clock at once, so schedules run without waiting. */
class FakeClock implements Clock {
  ms = 0;
  now() {
    return this.ms;
  }
  async sleep(ms: number, signal?: AbortSignal) {
    if (!signal?.aborted) this.ms += Math.max(0, ms);
  }
}

interface Poll {
  device: string;
  start: number;
  end: number;
}

/** Runs a bus of devices `[name, unit, interval, busy ms]` for 10 virtual seconds. */
async function simulate(
  devices: Array<[string, number, number, number]>,
): Promise<{ log: Poll[]; delivered: number }> {
  const clock = new FakeClock();
  const log: Poll[] = [];
  let stopped: Promise<void> | undefined;
  let delivered = 0;
  const polled: PolledDevice[] = devices.map(([name, unitId, intervalMs, busyMs]) => ({
    name,
    unitId,
    intervalMs,
    async read(): Promise<DeviceReading> {
      const start = clock.now();
      clock.ms += busyMs;
      log.push({ device: name, start, end: clock.now() });
      if (clock.now() > 10_000) stopped ??= queue.stop();
      return { device: name, startedAtMs: start, durationMs: busyMs, up: true, values: [], errors: [] };
    },
  }));
  const queue = new BusQueue({
    name: "rs485",
    devices: polled,
    switchPauseMs: 20,
    clock,
    logger: createLogger("exporter-test", "silent"),
    onReading: () => {
      delivered++;
    },
  });
  queue.start();
  while (!stopped) await new Promise((r) => setTimeout(r, 5));
  await stopped;
  return { log, delivered };
}

const maxGap = (log: Poll[], device: string) => {
  const starts = log.filter((p) => p.device === device).map((p) => p.start);
  return Math.max(...starts.slice(1).map((start, i) => start - starts[i]!));
};

describe("the bus queue", () => {
  it("polls earliest due first, one at a time, pausing when it switches slave", async () => {
    const { log, delivered } = await simulate([
      ["a", 1, 1_000, 100],
      ["dead", 2, 1_000, 300],
      ["b", 3, 500, 50],
    ]);
    // All due at 0: a (0-100), 20 ms switch pause, dead (120-420), pause, b (440-490); b is due
    // again at 500 and needs no switch pause; at 1000 a, dead and b are due, in config order.
    expect(log.slice(0, 7).map((poll) => [poll.device, poll.start])).toEqual([
      ["a", 0],
      ["dead", 120],
      ["b", 440],
      ["b", 500],
      ["a", 1020],
      ["dead", 1140],
      ["b", 1460],
    ]);
    for (let i = 1; i < log.length; i++) expect(log[i]!.start).toBeGreaterThanOrEqual(log[i - 1]!.end);
    expect(delivered).toBe(log.length);
  });

  it("lets a dead device delay the others by no more than its timeout", async () => {
    const healthy = await simulate([
      ["a", 1, 1_000, 100],
      ["b", 3, 500, 50],
    ]);
    const withDead = await simulate([
      ["a", 1, 1_000, 100],
      ["dead", 2, 1_000, 300],
      ["b", 3, 500, 50],
    ]);
    for (const device of ["a", "b"]) {
      // The dead device's poll ends at its 300 ms timeout; plus one switch pause to reach it.
      expect(maxGap(withDead.log, device) - maxGap(healthy.log, device)).toBeLessThanOrEqual(300 + 20);
    }
    // And every device is still polled at its rate on average.
    expect(withDead.log.filter((p) => p.device === "b").length).toBeGreaterThanOrEqual(10_000 / 500 - 4);
  });
});
