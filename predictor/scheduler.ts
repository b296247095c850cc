import { Cron } from "croner";

/** Time and timers, injectable so schedules are testable without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock; timers are unref'd so a pending schedule never keeps the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    timer.unref?.();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

// setTimeout cannot wait longer than 2^31-1 ms (~24.8 days); longer waits are taken in steps.
const MAX_TIMER_MS = 2_147_483_647;

export type RunOutcome = "ran" | "failed" | "skipped";

export interface ScheduledJobOptions {
  /** Cron expression (5 or 6 fields), evaluated in `timezone` (default: the process's local time). */
  schedule: string;
  run: () => Promise<void>;
  clock?: Clock;
  timezone?: string;
  onError?: (error: unknown) => void;
  /** A fire time came while the previous run was still going: it is skipped, never queued. */
  onSkipped?: () => void;
}

/** Runs a job on a cron schedule; runs never overlap, and an error never escapes the timer. */
export class ScheduledJob {
  private readonly cron: Cron;
  private readonly clock: Clock;
  private timer: unknown;
  private active: Promise<RunOutcome> | undefined;
  private stopped = true;
  private nextAt: number | undefined;

  constructor(private readonly options: ScheduledJobOptions) {
    this.cron = new Cron(options.schedule, { paused: true, timezone: options.timezone });
    this.clock = options.clock ?? systemClock;
  }

  get running(): boolean {
    return this.active !== undefined;
  }

  /** The next fire time (ms), or undefined when stopped or the schedule has no future run. */
  get nextRunAt(): number | undefined {
    return this.stopped ? undefined : this.nextAt;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    const next = this.cron.nextRun(new Date(this.clock.now()));
    this.nextAt = next?.getTime();
    if (this.nextAt === undefined) return;
    this.wait(this.nextAt);
  }

  private wait(at: number): void {
    const delay = Math.max(0, at - this.clock.now());
    this.timer = this.clock.setTimeout(
      () => {
        if (this.stopped) return;
        if (this.clock.now() < at) {
          this.wait(at);
          return;
        }
        void this.runNow();
        this.arm();
      },
      Math.min(delay, MAX_TIMER_MS),
    );
  }

  /** Runs the job now unless it is already running (then "skipped"). */
  runNow(): Promise<RunOutcome> {
    if (this.active) {
      this.options.onSkipped?.();
      return Promise.resolve("skipped");
    }
    const run = (async (): Promise<RunOutcome> => {
      try {
        await this.options.run();
        return "ran";
      } catch (error) {
        this.options.onError?.(error);
        return "failed";
      } finally {
        this.active = undefined;
      }
    })();
    this.active = run;
    return run;
  }

  /** Stops firing and waits for a run in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.active;
  }
}

/**
 * Calls `tick` every `intervalMs`, measured from the end of the previous tick, so ticks never
 * overlap however slow one is; errors go to `onError` and the loop carries on.
 */
export class IntervalLoop {
  private timer: unknown;
  private stopped = true;
  private current: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly tick: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  start(immediately = true): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (immediately) this.fire();
    else this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => this.fire(), this.intervalMs);
  }

  private fire(): void {
    if (this.stopped) return;
    this.current = this.tick()
      .catch((error: unknown) => this.onError(error))
      .finally(() => {
        this.current = undefined;
        this.schedule();
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    await this.current;
  }
}
