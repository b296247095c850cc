import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./binaries.js";
import { freePort } from "./ports.js";
import { eventually, type RunningProcess, startProcess } from "./processes.js";

export interface PrometheusOptions {
  /** prometheus.yml content (YAML text). */
  config: string;
  /** Extra flags, e.g. `--web.enable-remote-write-receiver`. */
  flags?: string[];
  /** Extra files written next to the config (rule files), name → content. */
  files?: Record<string, string>;
  /** History to load before start (an OpenMetrics exposition with timestamps), as backfilled blocks. */
  history?: string;
}

export interface Prometheus {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly process: RunningProcess;
  /** Runs an instant query and returns the `data.result` vector. */
  query(
    expr: string,
    time?: number,
  ): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

/** Starts the real Debian Prometheus on a free loopback port with its data in a temporary folder. */
export async function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  const binary = findBinary("prometheus");
  if (!binary) throw new Error("prometheus is not installed (apt-get install -y prometheus)");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "floorsense-prometheus-"));
  writeFileSync(join(dir, "prometheus.yml"), options.config);
  for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), content);
  if (options.history !== undefined) {
    mkdirSync(join(dir, "data"), { recursive: true });
    writeFileSync(join(dir, "history.om"), options.history);
    execFileSync(
      "promtool",
      ["tsdb", "create-blocks-from", "openmetrics", join(dir, "history.om"), join(dir, "data")],
      {
        stdio: "pipe",
      },
    );
  }
  const process = startProcess(binary, [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
    ...(options.flags ?? []),
  ]);
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok,
    20_000,
    `prometheus ready on ${url}\n${process.output()}`,
  );
  return {
    url,
    port,
    dir,
    process,
    async query(expr, time) {
      const params = new URLSearchParams({ query: expr });
      if (time !== undefined) params.set("time", String(time));
      const response = await fetch(`${url}/api/v1/query?${params}`);
      const body = (await response.json()) as { status: string; error?: string; data: { result: never[] } };
      if (body.status !== "success") throw new Error(`query ${expr} failed: ${body.error}`);
      return body.data.result;
    },
    async stop() {
      await process.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
