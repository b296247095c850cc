import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IntervalLoop, ScheduledJob } from "../../predictor/scheduler.js";

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

describe("ScheduledJob (fake timers)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fires on the cron schedule", async () => {
    const runs: number[] = [];
    const job = new ScheduledJob({
      schedule: "*/10 * * * *",
      timezone: "UTC",
      run: async () => {
        runs.push(Date.now());
      },
    });
    job.start();
    expect(job.nextRunAt).toBe(T0 + 10 * 60_000);
    await vi.advanceTimersByTimeAsync(9 * 60_000);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(31 * 60_000);
    expect(runs).toEqual([10, 20, 30, 40].map((m) => T0 + m * 60_000));
    await job.stop();
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(runs).toHaveLength(4);
    expect(job.nextRunAt).toBeUndefined();
  });

  it("never overlaps: a fire time during a run is skipped, and the next one runs", async () => {
    let release: () => void = () => {};
    let started = 0;
    let skipped = 0;
    const job = new ScheduledJob({
      schedule: "*/5 * * * *",
      timezone: "UTC",
      run: () => {
        started++;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      onSkipped: () => skipped++,
    });
    job.start();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect([started, skipped, job.running]).toEqual([1, 0, true]);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect([started, skipped]).toEqual([1, 2]);
    release();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect([started, skipped]).toEqual([2, 2]);
    release();
    await job.stop();
  });

  it("counts a failed run and keeps going", async () => {
    const errors: string[] = [];
    let calls = 0;
    const job = new ScheduledJob({
      schedule: "0 * * * *",
      timezone: "UTC",
      run: async () => {
        calls++;
        if (calls === 1) throw new Error("prometheus down");
      },
      onError: (error) => errors.push((error as Error).message),
    });
    job.start();
    await vi.advanceTimersByTimeAsync(2 * 3_600_000);
    expect(calls).toBe(2);
    expect(errors).toEqual(["prometheus down"]);
    await expect(job.runNow()).resolves.toBe("ran");
    await job.stop();
  });

  it("waits schedules longer than a timer can hold", async () => {
    let calls = 0;
    const job = new ScheduledJob({
      schedule: "0 0 1 3 *",
      timezone: "UTC",
      run: async () => {
        calls++;
      },
    });
    job.start();
    expect(job.nextRunAt).toBe(Date.UTC(2026, 2, 1));
    await vi.advanceTimersByTimeAsync(Date.UTC(2026, 2, 1) - T0 - 1_000);
    expect(calls).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toBe(1);
    await job.stop();
  });
});

describe("IntervalLoop (fake timers)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("measures the interval from the end of the previous tick and survives errors", async () => {
    const ticks: number[] = [];
    const errors: unknown[] = [];
    const loop = new IntervalLoop(
      1_000,
      async () => {
        ticks.push(Date.now() - T0);
        await new Promise((r) => setTimeout(r, 500));
        if (ticks.length === 2) throw new Error("query failed");
      },
      (error) => errors.push(error),
    );
    loop.start();
    await vi.advanceTimersByTimeAsync(4_600);
    expect(ticks).toEqual([0, 1_500, 3_000, 4_500]);
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    await loop.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ticks).toHaveLength(4);
  });
});
