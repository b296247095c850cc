import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrometheusClient, PrometheusQueryError } from "../../predictor/prometheus-client.js";
import { needs } from "../support/binaries.js";
import { freePort } from "../support/ports.js";
import { type Prometheus, startPrometheus } from "../support/prometheus.js";

// Two hours of one gauge at 15 s, ending an hour ago.
const END = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
const START = END - 2 * 3_600_000;
const STEP = 60_000;

function history(): string {
  const lines = ["# TYPE fs_auth_gauge gauge"];
  for (let t = START; t <= END; t += 15_000)
    lines.push(`fs_auth_gauge{machine="a"} ${(t - START) / 1000} ${t / 1000}`);
  lines.push("# EOF", "");
  return lines.join("\n");
}

/**
 * A gateway like the ones in front of Mimir: refuses requests without the expected tenant and
 * credentials the way they do (401, plain-text body), forwards the rest to the real Prometheus.
 */
async function startGateway(
  upstream: string,
  expected: { tenant: string; authorization: string },
): Promise<{ url: string; seen: IncomingHttpHeaders[]; close(): Promise<void> }> {
  const seen: IncomingHttpHeaders[] = [];
  const target = new URL(upstream);
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    const refuse = (message: string) => {
      res.writeHead(401, { "content-type": "text/plain" });
      res.end(`${message}\n`);
    };
    if (req.headers["x-scope-orgid"] !== expected.tenant) return refuse("no org id");
    if (req.headers.authorization === undefined) return refuse("missing credentials");
    if (req.headers.authorization !== expected.authorization) return refuse("invalid credentials");
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: { "content-type": req.headers["content-type"] ?? "", accept: "application/json" },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", (error) => {
      res.writeHead(502);
      res.end(error.message);
    });
    req.pipe(forward);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.skipIf(!needs("prometheus", "promtool"))("Prometheus client auth and tenant header", () => {
  let prometheus: Prometheus;
  const gateways: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    prometheus = await startPrometheus({ config: "global:\n  scrape_interval: 15s\n", history: history() });
  });

  afterAll(async () => {
    for (const gateway of gateways) await gateway.close();
    await prometheus?.stop();
  });

  async function gateway(authorization: string) {
    const started = await startGateway(prometheus.url, { tenant: "acme", authorization });
    gateways.push(started);
    return started;
  }

  it("sends the bearer token and X-Scope-OrgID on every chunk and gets Prometheus' data back", async () => {
    const gw = await gateway("Bearer s3cret");
    // 121 points in chunks of 50: three requests.
    const options = { maxPointsPerQuery: 50 };
    const viaGateway = await new PrometheusClient({
      url: gw.url,
      auth: { type: "bearer", token: "s3cret" },
      tenant: "acme",
      ...options,
    }).queryRange("fs_auth_gauge", START, END, STEP);
    const direct = await new PrometheusClient({ url: prometheus.url, ...options }).queryRange(
      "fs_auth_gauge",
      START,
      END,
      STEP,
    );
    expect(viaGateway).toHaveLength(1);
    expect(viaGateway[0]!.labels).toEqual({ __name__: "fs_auth_gauge", machine: "a" });
    expect(viaGateway[0]!.timestamps).toHaveLength(121);
    expect(viaGateway[0]!.values.at(-1)).toBe(7200);
    expect(viaGateway).toEqual(direct);
    expect(gw.seen).toHaveLength(3);
    for (const headers of gw.seen) {
      expect(headers.authorization).toBe("Bearer s3cret");
      expect(headers["x-scope-orgid"]).toBe("acme");
    }
  });

  it("sends basic auth as username:password in base64", async () => {
    const gw = await gateway("Basic cmVhZGVyOnBhNTU=");
    const series = await new PrometheusClient({
      url: gw.url,
      auth: { type: "basic", username: "reader", password: "pa55" },
      tenant: "acme",
    }).queryRange("fs_auth_gauge", END - 10 * STEP, END, STEP);
    expect(series[0]!.values).toEqual([6600, 6660, 6720, 6780, 6840, 6900, 6960, 7020, 7080, 7140, 7200]);
    expect(gw.seen.map((h) => h.authorization)).toEqual(["Basic cmVhZGVyOnBhNTU="]);
  });

  it("fails with a clear error when the credential is wrong or missing or the tenant is missing", async () => {
    const gw = await gateway("Bearer s3cret");
    const query = (options: Partial<ConstructorParameters<typeof PrometheusClient>[0]>) =>
      new PrometheusClient({ url: gw.url, ...options }).queryRange("fs_auth_gauge", START, END, STEP);
    const hint = "(credentials or tenant refused: check prometheus.auth and prometheus.tenant)";
    const wrong = query({ auth: { type: "bearer", token: "wrong" }, tenant: "acme" });
    await expect(wrong).rejects.toThrow(PrometheusQueryError);
    await expect(wrong).rejects.toThrow(
      `query_range "fs_auth_gauge" failed: HTTP 401 ${hint}: invalid credentials`,
    );
    await expect(
      query({ auth: { type: "basic", username: "reader", password: "s3cret" }, tenant: "acme" }),
    ).rejects.toThrow(`query_range "fs_auth_gauge" failed: HTTP 401 ${hint}: invalid credentials`);
    await expect(query({ tenant: "acme" })).rejects.toThrow(
      `query_range "fs_auth_gauge" failed: HTTP 401 ${hint}: missing credentials`,
    );
    await expect(query({ auth: { type: "bearer", token: "s3cret" } })).rejects.toThrow(
      `query_range "fs_auth_gauge" failed: HTTP 401 ${hint}: no org id`,
    );
  });
});
