import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_PORTS } from "../../stack/stack-files.js";
import { needs } from "../support/binaries.js";
import { CLI_ENTRY, REPO_ROOT, runCli } from "../support/cli.js";
import { freePort } from "../support/ports.js";
import { eventually } from "../support/processes.js";

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

// `npm start` runs `floorsense stack` with its defaults: the embedded broker (MQTT 5), two
// simulated meters with their exporters, the bridge, Prometheus. This drives it as a user would:
// a spawned process, its printed addresses, data in Prometheus, Ctrl-C.
describe.skipIf(!needs("prometheus"))("floorsense stack (npm start)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "floorsense-stack-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("rejects a bad interval with a usage error", async () => {
    const result = await runCli(["stack", "--interval", "5 seconds", "--data-dir", dataDir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      '--interval: invalid duration "5 seconds": expected a Prometheus duration such as 500ms, 15s, 5m, 1h30m',
    );
  });

  it("runs the stack on the embedded broker, prints where to look, and stops cleanly on SIGINT", async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        CLI_ENTRY,
        "stack",
        "--data-dir",
        dataDir,
        "--interval",
        "1s",
        "--no-predictor",
        "--prometheus-port",
        String(port),
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await eventually(
        () => output.includes("floorsense is running. Where to look:"),
        60_000,
        `the stack\n${output}`,
      );
      expect(output).toContain(`Prometheus UI         http://127.0.0.1:${port}`);
      expect(output).toMatch(
        /Try in Prometheus: tenant_site_machine:floorsense_meter_system_power_watts:sum/,
      );
      const edge = readFileSync(join(dataDir, "edge-press1.yaml"), "utf8");
      // MQTT 5 on the embedded broker too (content type and properties pass through it).
      expect(edge).not.toContain("protocol_version");

      const query = encodeURIComponent(
        'count by (machine) (floorsense_meter_system_power_watts{tenant="demo",site="plant1"})',
      );
      const machines = await eventually(
        async () => {
          const body = (await (
            await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${query}`)
          ).json()) as {
            data: { result: Array<{ metric: { machine: string } }> };
          };
          return body.data.result.length === 2
            ? body.data.result.map((r) => r.metric.machine).sort()
            : undefined;
        },
        45_000,
        `both machines in Prometheus\n${output.slice(-3000)}`,
      );
      expect(machines).toEqual(["press1", "press2"]);
    } finally {
      child.kill("SIGINT");
    }
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 30_000))]);
    expect(code).toBe(0);
    expect(output).toContain("stopping the stack (SIGINT)...");
    expect(output).not.toContain("second signal");
    // Nothing is left behind: every part's port is closed once the command has exited.
    const ports = { ...DEFAULT_PORTS, prometheus: port };
    for (const [part, partPort] of [
      ["broker", ports.mqtt],
      ["simulator", ports.simulators[0]!],
      ["exporter", ports.exporters[0]!],
      ["bridge", ports.bridge],
      ["prometheus", ports.prometheus],
    ] as const) {
      expect(await accepts(partPort), `${part} on port ${partPort}`).toBe(false);
    }
  }, 150_000);
});
