import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface ManagedProcessSpec {
  /** Short name shown in front of every output line, e.g. `bridge`. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves when the process is ready to be depended on (port open, /readyz 200). */
  ready?: () => Promise<boolean>;
  readyTimeoutMs?: number;
}

export interface SupervisorOptions {
  /** Where prefixed output lines go; the stack command passes stdout. */
  write: (line: string) => void;
  /** Milliseconds between SIGTERM and SIGKILL on stop. */
  graceMs?: number;
}

interface Running {
  spec: ManagedProcessSpec;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/**
 * Starts processes in order, each after the one before is ready, and stops them in reverse
 * order. One child dying unexpectedly is reported through `onUnexpectedExit` so the stack can
 * shut the rest down instead of running half a pipeline.
 */
export class ProcessSupervisor {
  private readonly running: Running[] = [];
  private stopping: Promise<void> | undefined;
  onUnexpectedExit: (name: string, code: number | null) => void = () => {};

  constructor(private readonly options: SupervisorOptions) {}

  async start(spec: ManagedProcessSpec): Promise<void> {
    if (this.stopping) throw new Error(`not starting ${spec.name}: the stack is stopping`);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: a Ctrl-C in the terminal reaches only the stack, which then stops
      // the children one by one, in order, instead of every process at once.
      detached: true,
    });
    const pad = spec.name.padEnd(12);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream)
        createInterface({ input: stream }).on("line", (line) => this.options.write(`${pad}| ${line}`));
    }
    const exited = new Promise<number | null>((resolve) => {
      child.once("exit", (code) => resolve(code));
      child.once("error", (error) => {
        this.options.write(`${pad}| failed to start: ${error.message}`);
        resolve(null);
      });
    });
    const entry: Running = { spec, child, exited };
    this.running.push(entry);
    void exited.then((code) => {
      if (!this.stopping) this.onUnexpectedExit(spec.name, code);
    });
    if (spec.ready) await this.waitReady(entry);
  }

  private async waitReady(entry: Running): Promise<void> {
    const deadline = Date.now() + (entry.spec.readyTimeoutMs ?? 30_000);
    let exitedEarly = false;
    void entry.exited.then(() => {
      exitedEarly = true;
    });
    while (Date.now() < deadline) {
      if (exitedEarly)
        throw new Error(`${entry.spec.name} exited before it was ready (see its output above)`);
      if (await entry.spec.ready!().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${entry.spec.name} was not ready after ${entry.spec.readyTimeoutMs ?? 30_000} ms`);
  }

  /** Sends a signal to one managed process (tests force faults this way: SIGKILL, SIGSTOP). */
  signal(name: string, signal: NodeJS.Signals): void {
    const entry = this.running.find((r) => r.spec.name === name);
    if (!entry) throw new Error(`no managed process named ${name}`);
    entry.child.kill(signal);
  }

  /** Stops every process, last started first; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const entry of [...this.running].reverse()) {
        const { child, exited } = entry;
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), this.options.graceMs ?? 10_000);
          await exited;
          clearTimeout(timer);
        }
      }
    })();
    return this.stopping;
  }
}

/** A readiness check for an HTTP endpoint that answers 200 when ready. */
export function httpReady(url: string): () => Promise<boolean> {
  return async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  };
}
