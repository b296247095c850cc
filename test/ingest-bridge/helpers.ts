import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { CLI_ENTRY } from "../support/cli.js";
import { freePort } from "../support/ports.js";
import { eventually, type RunningProcess, startProcess } from "../support/processes.js";

export const ACME_TOKEN = "acme-token-0123456789abcdef";
export const BETA_USER = "prom-beta";
export const BETA_PASSWORD = "beta password: s3cret";

export const OM_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
export const TEXT_ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1";

export const acmeAuth = { Authorization: `Bearer ${ACME_TOKEN}` };
export const betaAuth = {
  Authorization: `Basic ${Buffer.from(`${BETA_USER}:${BETA_PASSWORD}`).toString("base64")}`,
};

export interface Bridge {
  url: string;
  process: RunningProcess;
  configFile: string;
}

/**
 * The YAML a test bridge runs with; `extra` is appended (remote_write, exposition, ...). Silence
 * is tested in liveness.test.ts; here it would only get in the way: a device whose test readings
 * are one second apart would be declared silent a few seconds later, in the middle of a suite.
 */
export function bridgeYaml(mqttUrl: string, listen: string, clientId: string, extra = ""): string {
  return `mqtt:
  url: ${mqttUrl}
  client_id: ${clientId}
  session_expiry: 10m
liveness:
  staleness_multiple: 1000
  default_poll_interval: 60s
  sweep_interval: 200ms
tenants:
  acme:
    bearer_token: ${ACME_TOKEN}
  beta:
    basic:
      username: ${BETA_USER}
      password: "${BETA_PASSWORD}"
web:
  listen_address: ${listen}
log_level: info
${extra}`;
}

/** Runs `floorsense bridge` from dist/ as a user would, and waits until it is ready. */
export async function startBridge(
  mqttUrl: string,
  clientId: string,
  extra = "",
  port?: number,
): Promise<Bridge> {
  const listenPort = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "floorsense-bridge-"));
  const configFile = join(dir, "bridge.yaml");
  writeFileSync(configFile, bridgeYaml(mqttUrl, `127.0.0.1:${listenPort}`, clientId, extra));
  const process = startProcess(globalThis.process.execPath, [CLI_ENTRY, "bridge", "--config", configFile]);
  const url = `http://127.0.0.1:${listenPort}`;
  await eventually(
    async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok,
    15_000,
    `bridge ready on ${url}\n${process.output()}`,
  );
  return { url, process, configFile };
}

export async function publisher(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    protocolVersion: 5,
    clientId: `test-pub-${Math.random().toString(16).slice(2)}`,
  });
}

/** An SDM630-like reading: voltages, energy (a counter, unless `gaugesOnly`), device health. */
export function reading(ts: number, base = 230, gaugesOnly = false): string {
  const lines = [
    "# TYPE floorsense_meter_voltage_volts gauge",
    "# UNIT floorsense_meter_voltage_volts volts",
    "# HELP floorsense_meter_voltage_volts Line to neutral voltage.",
    ...["L1", "L2", "L3"].map(
      (p, i) => `floorsense_meter_voltage_volts{phase="${p}"} ${base + i / 10} ${ts}`,
    ),
    ...(gaugesOnly
      ? []
      : [
          "# TYPE floorsense_meter_energy_imported_joules counter",
          "# UNIT floorsense_meter_energy_imported_joules joules",
          "# HELP floorsense_meter_energy_imported_joules Imported active energy.",
          `floorsense_meter_energy_imported_joules_total ${base * 1e6} ${ts}`,
        ]),
    "# TYPE floorsense_device_up gauge",
    "# HELP floorsense_device_up Whether the last read of the device worked.",
    `floorsense_device_up 1 ${ts}`,
    "# EOF",
    "",
  ];
  return lines.join("\n");
}

export async function scrape(url: string, headers: Record<string, string>) {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** `promtool check metrics` on a body; resolves with its exit code and output. */
export function promtoolCheck(body: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile("promtool", ["check", "metrics"], (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
    child.stdin!.end(body);
  });
}
