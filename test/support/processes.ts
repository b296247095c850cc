import { type ChildProcess, spawn } from "node:child_process";

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote so far, stdout and stderr interleaved. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

const running = new Set<RunningProcess>();

/** Spawns a long-running program for a test and tracks it so `stopAll` can clean up. */
export function startProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): RunningProcess {
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const append = (chunk: Buffer) => {
    log += chunk.toString("utf8");
    if (log.length > 1_000_000) log = log.slice(-500_000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<number | null>((resolve) => {
    // 'exit' can come before the last output is read; 'close' comes after, unless a grandchild
    // still holds the pipes, so it is given a moment rather than awaited.
    child.once("exit", (code) => {
      const timer = setTimeout(() => resolve(code), 1_000);
      child.once("close", () => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    child.once("error", (error) => {
      log += `\nspawn error: ${error.message}`;
      resolve(null);
    });
  });
  const handle: RunningProcess = {
    child,
    exited,
    output: () => log,
    async stop(graceMs = 5_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(handle);
      return child.exitCode;
    },
  };
  running.add(handle);
  return handle;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
