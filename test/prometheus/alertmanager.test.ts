import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { needs } from "../support/binaries.js";
import { freePort } from "../support/ports.js";
import { eventually, type RunningProcess, startProcess } from "../support/processes.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

interface Notification {
  path: string;
  receiver: string;
  status: string;
  alerts: Array<{ labels: Record<string, string> }>;
}

describe.skipIf(!needs("prometheus-alertmanager"))("alertmanager.yml in the real Alertmanager", () => {
  const dir = mkdtempSync(join(tmpdir(), "floorsense-alertmanager-"));
  const received: Notification[] = [];
  let webhook: Server;
  let alertmanager: RunningProcess;
  let url: string;

  beforeAll(async () => {
    webhook = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => {
        body += chunk;
      });
      request.on("end", () => {
        received.push({ path: request.url ?? "", ...(JSON.parse(body) as Omit<Notification, "path">) });
        response.end("ok");
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve));
    const hookPort = (webhook.address() as AddressInfo).port;
    // The committed config with only the webhook's host pointed at this test.
    const config = readFileSync(join(root, "prometheus", "alertmanager.yml"), "utf8").replaceAll(
      "http://webhook:8080/",
      `http://127.0.0.1:${hookPort}/`,
    );
    writeFileSync(join(dir, "alertmanager.yml"), config);
    const port = await freePort();
    alertmanager = startProcess("prometheus-alertmanager", [
      `--config.file=${join(dir, "alertmanager.yml")}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      "--log.level=warn",
    ]);
    url = `http://127.0.0.1:${port}`;
    await eventually(
      async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok,
      15_000,
      `alertmanager ready\n${alertmanager.output()}`,
    );
  });

  afterAll(async () => {
    await alertmanager?.stop();
    await new Promise((resolve) => webhook?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("pages a critical alert through the webhook and inhibits the forecast once the peak is measured", async () => {
    const site = { tenant: "demo", site: "plant1", severity: "critical" };
    const response = await fetch(`${url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        { labels: { alertname: "FloorsensePeakAboveContract", ...site } },
        { labels: { alertname: "FloorsenseForecastPeakAboveContract", ...site } },
        { labels: { alertname: "FloorsenseForecastPeakAboveContract", ...site, site: "plant2" } },
      ]),
    });
    expect(response.status).toBe(200);
    // The pager route waits 10 s to group; both groups are flushed by then.
    await eventually(async () => received.length >= 2, 25_000, "two notifications on the pager webhook");
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const sent = received
      .map((n) => [
        n.path,
        n.receiver,
        n.status,
        n.alerts.map((a) => `${a.labels.alertname} ${a.labels.site}`).join(),
      ])
      .sort();
    expect(sent).toEqual([
      ["/alerts/pager", "pager", "firing", "FloorsenseForecastPeakAboveContract plant2"],
      ["/alerts/pager", "pager", "firing", "FloorsensePeakAboveContract plant1"],
    ]);
  }, 40_000);
});
