import { createServer, type Server } from "node:http";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseOpenMetrics } from "../../openmetrics/index.js";
import { needs } from "../support/binaries.js";
import { type Mosquitto, startMosquitto } from "../support/mosquitto.js";
import { freePort } from "../support/ports.js";
import { eventually, stopAll } from "../support/processes.js";
import { type Prometheus, startPrometheus } from "../support/prometheus.js";
import {
  ACME_TOKEN,
  acmeAuth,
  type Bridge,
  betaAuth,
  OM_ACCEPT,
  promtoolCheck,
  publisher,
  reading,
  scrape,
  startBridge,
  TEXT_ACCEPT,
} from "./helpers.js";

const VOLTAGE = "floorsense_meter_voltage_volts";

/** Prometheus 2.42 always asks for OpenMetrics first; this proxy makes it scrape text 0.0.4 for real. */
async function textOnlyProxy(target: string): Promise<{ port: number; server: Server }> {
  const port = await freePort();
  const server = createServer(async (req, res) => {
    const response = await fetch(`${target}${req.url}`, {
      headers: { Accept: TEXT_ACCEPT, Authorization: req.headers.authorization ?? "" },
    });
    res.writeHead(response.status, { "Content-Type": response.headers.get("content-type") ?? "" });
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { port, server };
}

describe.skipIf(!needs("mosquitto", "prometheus", "promtool"))("bridge scraped by a real Prometheus", () => {
  let broker: Mosquitto;
  let keep: Bridge;
  let drop: Bridge;
  let prometheus: Prometheus;
  let proxy: { port: number; server: Server };
  let pub: MqttClient;
  // Whole milliseconds: what text 0.0.4 and Prometheus keep.
  const ts = Math.floor(Date.now() / 1000) - 5 + 0.125;

  beforeAll(async () => {
    broker = await startMosquitto();
    [keep, drop] = await Promise.all([
      startBridge(broker.url, "bridge-keep"),
      startBridge(broker.url, "bridge-drop", "exposition:\n  timestamps: drop\n"),
    ]);
    proxy = await textOnlyProxy(keep.url);
    const job = (name: string, target: string, tenant: string, auth: string) => `
  - job_name: ${name}
    scrape_interval: 1s
    metrics_path: /tenants/${tenant}/metrics
    honor_labels: true
    ${auth}
    static_configs:
      - targets: ["${target}"]`;
    const host = (url: string) => url.replace("http://", "");
    prometheus = await startPrometheus({
      config: `global:
  scrape_interval: 1s
scrape_configs:${job("acme-om", host(keep.url), "acme", `authorization: { credentials: ${ACME_TOKEN} }`)}${job(
        "acme-text",
        `127.0.0.1:${proxy.port}`,
        "acme",
        `authorization: { credentials: ${ACME_TOKEN} }`,
      )}${job("acme-drop", host(drop.url), "acme", `authorization: { credentials: ${ACME_TOKEN} }`)}${job(
        "beta",
        host(keep.url),
        "beta",
        `basic_auth: { username: prom-beta, password: "beta password: s3cret" }`,
      )}
`,
    });
    pub = await publisher(broker.url);
    await pub.publishAsync("floorsense/v1/acme/plant1/press1/status", "online", { qos: 1, retain: true });
    await pub.publishAsync("floorsense/v1/acme/plant1/press1/meter1", reading(ts), { qos: 1 });
    await pub.publishAsync("floorsense/v1/acme/plant1/press2/meter1", reading(ts, 400), { qos: 1 });
    await pub.publishAsync("floorsense/v1/beta/site9/mill/meter7", reading(ts, 110, true), { qos: 1 });
  });

  afterAll(async () => {
    await pub?.endAsync();
    proxy?.server.close();
    await prometheus?.stop();
    await stopAll();
    await broker?.stop();
  });

  it("shows the published series in Prometheus with identity labels and acquisition timestamps, both formats", async () => {
    for (const job of ["acme-om", "acme-text"]) {
      const result = await eventually(
        async () => {
          const r = await prometheus.query(`timestamp(${VOLTAGE}{job="${job}",machine="press1"})`);
          // press2's reading may have reached the bridge after the scrape that brought press1's.
          const press2 = await prometheus.query(
            `floorsense_meter_energy_imported_joules_total{job="${job}",machine="press2"}`,
          );
          return r.length === 3 && press2.length === 1 ? r : undefined;
        },
        20_000,
        `3 voltage series from job ${job}`,
      );
      expect(result.map((r) => r.metric).sort((a, b) => a.phase!.localeCompare(b.phase!))).toEqual(
        ["L1", "L2", "L3"].map((phase) => ({
          instance: job === "acme-om" ? keep.url.replace("http://", "") : `127.0.0.1:${proxy.port}`,
          job,
          phase,
          tenant: "acme",
          site: "plant1",
          machine: "press1",
          device: "meter1",
        })),
      );
      expect(result.map((r) => Number(r.value[1]))).toEqual([ts, ts, ts]);
      const values = await prometheus.query(`${VOLTAGE}{job="${job}",machine="press1",phase="L2"}`);
      expect(values.map((v) => v.value[1])).toEqual(["230.1"]);
      const energy = await prometheus.query(
        `floorsense_meter_energy_imported_joules_total{job="${job}",machine="press2"}`,
      );
      expect(energy.map((v) => v.value[1])).toEqual(["400000000"]);
    }
  });

  it("takes a device's next reading through its template, and Prometheus gets its new values and times", async () => {
    const next = ts + 1;
    await pub.publishAsync("floorsense/v1/acme/plant1/press2/meter1", reading(next, 401), { qos: 1 });
    const energy = await eventually(
      async () => {
        const r = await prometheus.query(
          `timestamp(floorsense_meter_energy_imported_joules_total{job="acme-om",machine="press2"}) == ${next}`,
        );
        return r.length === 1 ? r : undefined;
      },
      20_000,
      "press2's second reading in Prometheus",
    );
    expect(energy.map((r) => r.value[1])).toEqual([String(next)]);
    const voltages = await prometheus.query(`${VOLTAGE}{job="acme-om",machine="press2"}`);
    expect(voltages.map((v) => Number(v.value[1])).sort()).toEqual([401, 401.1, 401.2]);
    const own = await (await fetch(`${keep.url}/metrics`)).text();
    expect(own).toContain('floorsense_bridge_payload_parses_total{method="template"} 1');
    expect(own).toContain('floorsense_bridge_payload_parses_total{method="full"} 3');
  });

  it("serves OpenMetrics and text 0.0.4 that promtool accepts, with the right Content-Type and gzip", async () => {
    const om = await scrape(`${keep.url}/tenants/acme/metrics`, { ...acmeAuth, Accept: OM_ACCEPT });
    expect(om.status).toBe(200);
    expect(om.headers.get("content-type")).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    expect(om.body.endsWith("# EOF\n")).toBe(true);
    expect(om.body).toContain(
      `${VOLTAGE}{phase="L1",tenant="acme",site="plant1",machine="press1",device="meter1"} 230 ${ts}\n`,
    );
    // The strict codec (conformance-tested against the official suite) is the OpenMetrics check.
    const families = parseOpenMetrics(om.body);
    expect(families.map((f) => `${f.name}:${f.type}:${f.samples.length}`)).toEqual([
      "floorsense_meter_voltage_volts:gauge:6",
      "floorsense_meter_energy_imported_joules:counter:2",
      "floorsense_device_up:gauge:2",
    ]);
    // promtool 2.42 lints with the text 0.0.4 parser: it takes OpenMetrics only without fractional
    // timestamps and counters (a `_total` sample has no HELP of its own there), so lint a tenant of
    // gauges from the bridge that drops timestamps.
    const beta = await scrape(`${drop.url}/tenants/beta/metrics`, {
      ...betaAuth,
      Accept: "application/openmetrics-text",
    });
    expect(beta.headers.get("content-type")).toBe(
      "application/openmetrics-text; version=1.0.0; charset=utf-8",
    );
    expect(beta.body.endsWith("# EOF\n")).toBe(true);
    expect(await promtoolCheck(beta.body)).toEqual({ code: 0, output: "" });

    const text = await scrape(`${keep.url}/tenants/acme/metrics`, { ...acmeAuth, Accept: TEXT_ACCEPT });
    expect(text.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(text.body).toContain(
      `${VOLTAGE}{phase="L1",tenant="acme",site="plant1",machine="press1",device="meter1"} 230 ${ts * 1000}\n`,
    );
    expect(text.body).not.toContain("# EOF");
    expect(await promtoolCheck(text.body)).toEqual({ code: 0, output: "" });

    const gz = await fetch(`${keep.url}/tenants/acme/metrics`, {
      headers: { ...acmeAuth, "Accept-Encoding": "gzip" },
    });
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(await gz.text()).toBe(text.body);
  });

  it("keeps tenants apart and answers 401 without valid credentials", async () => {
    const acme = await scrape(`${keep.url}/tenants/acme/metrics`, acmeAuth);
    expect(acme.body).not.toContain('tenant="beta"');
    const beta = await scrape(`${keep.url}/tenants/beta/metrics`, betaAuth);
    expect(beta.status).toBe(200);
    expect(beta.body).toContain('machine="mill"');
    expect(beta.body).not.toContain('tenant="acme"');

    for (const [tenant, headers] of [
      ["acme", {}],
      ["acme", betaAuth],
      ["beta", acmeAuth],
      ["acme", { Authorization: `Bearer ${ACME_TOKEN}x` }],
      ["nobody", acmeAuth],
    ] as const) {
      const denied = await scrape(`${keep.url}/tenants/${tenant}/metrics`, headers);
      expect(denied.status, `${tenant} with ${JSON.stringify(headers)}`).toBe(401);
      expect(denied.body).not.toContain("floorsense_meter");
    }
    const challenge = await fetch(`${keep.url}/tenants/beta/metrics`);
    expect(challenge.headers.get("www-authenticate")).toBe(
      'Basic realm="floorsense tenant beta", charset="UTF-8"',
    );

    // Wait until every job has scraped once (a slow machine may lag); then any series of one
    // tenant under another tenant's job would show as an extra pair.
    const leaked = await eventually(
      async () => {
        const pairs = (await prometheus.query(`count by (tenant, job) (${VOLTAGE})`))
          .map((r) => `${r.metric.job}:${r.metric.tenant}`)
          .sort();
        return pairs.length >= 4 ? pairs : undefined;
      },
      20_000,
      "every tenant job's series in Prometheus",
    );
    expect(leaked).toEqual(["acme-drop:acme", "acme-om:acme", "acme-text:acme", "beta:beta"]);
  });

  it("refuses payloads that set identity labels or fail to parse, and counts them", async () => {
    await pub.publishAsync("floorsense/v1/acme/plant1/press1/evil", `x{tenant="beta"} 1\n# EOF\n`, {
      qos: 1,
    });
    await pub.publishAsync("floorsense/v1/acme/plant1/press1/broken", "x 1\n", { qos: 1 });
    const metrics = await eventually(
      async () => {
        const body = await (await fetch(`${keep.url}/metrics`)).text();
        // The counters exist from the start at 0 (initialised per configured tenant): wait for 1.
        return body.includes('{tenant="acme",reason="parse_error"} 1') &&
          body.includes('{tenant="acme",reason="identity_label"} 1')
          ? body
          : undefined;
      },
      10_000,
      "rejections counted",
    );
    expect(metrics).toContain(
      'floorsense_bridge_payloads_rejected_total{tenant="acme",reason="identity_label"} 1',
    );
    expect(metrics).toContain(
      'floorsense_bridge_payloads_rejected_total{tenant="acme",reason="parse_error"} 1',
    );
    const beta = await scrape(`${keep.url}/tenants/beta/metrics`, betaAuth);
    expect(beta.body).not.toContain("press1");
  });

  it("makes a machine's series go stale in Prometheus when its status says offline", async () => {
    await eventually(
      async () => (await prometheus.query(`${VOLTAGE}{job="acme-drop",machine="press1"}`)).length === 3,
      20_000,
      "drop-job series",
    );
    await pub.publishAsync("floorsense/v1/acme/plant1/press1/status", "offline", { qos: 1, retain: true });
    await eventually(
      async () => {
        const body = (await scrape(`${keep.url}/tenants/acme/metrics`, acmeAuth)).body;
        return !body.includes('machine="press1"') && body.includes('machine="press2"');
      },
      10_000,
      "press1 gone from the endpoint",
    );
    // Without explicit timestamps Prometheus writes staleness markers at the next scrape.
    await eventually(
      async () => (await prometheus.query(`${VOLTAGE}{job="acme-drop",machine="press1"}`)).length === 0,
      20_000,
      "press1 stale in Prometheus",
    );
    expect((await prometheus.query(`${VOLTAGE}{job="acme-drop",machine="press2"}`)).length).toBe(3);
    const metrics = await (await fetch(`${keep.url}/metrics`)).text();
    expect(metrics).toContain(
      'floorsense_bridge_device_online{tenant="acme",site="plant1",machine="press1",device="meter1"} 0',
    );
    expect(metrics).toContain(
      'floorsense_bridge_device_online{tenant="acme",site="plant1",machine="press2",device="meter1"} 1',
    );
  });
});
