import type { Server } from "node:http";
import express, { type Express } from "express";
import type { Registry } from "prom-client";
import type { Logger } from "./logger.js";

export interface ServiceHttpOptions {
  /** `host:port`; port 0 picks a free one (tests). */
  listenAddress: string;
  registry: Registry;
  logger: Logger;
  /** Ready means the service does useful work now (connected, loaded); healthy only that it runs. */
  isReady: () => boolean | { ready: boolean; reason?: string };
  /** Extra routes, mounted before the built-in ones. */
  routes?: (app: Express) => void;
}

export interface ServiceHttp {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

export function parseListenAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = match ? Number.parseInt(match[3]!, 10) : Number.NaN;
  if (!match || port > 65_535) {
    throw new Error(`invalid listen address "${text}": expected host:port, e.g. 0.0.0.0:9464 or 127.0.0.1:0`);
  }
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/** The /metrics, /healthz and /readyz endpoints every floorsense service has. */
export async function startServiceHttp(options: ServiceHttpOptions): Promise<ServiceHttp> {
  const { host, port } = parseListenAddress(options.listenAddress);
  const app = express();
  app.disable("x-powered-by");
  options.routes?.(app);
  app.get("/metrics", async (_req, res) => {
    try {
      const body = await options.registry.metrics();
      res.setHeader("Content-Type", options.registry.contentType);
      res.send(body);
    } catch (error) {
      options.logger.error({ err: error }, "rendering /metrics failed");
      res.status(500).send("metrics unavailable\n");
    }
  });
  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok\n");
  });
  app.get("/readyz", (_req, res) => {
    const verdict = options.isReady();
    const { ready, reason } = typeof verdict === "boolean" ? { ready: verdict, reason: undefined } : verdict;
    res
      .status(ready ? 200 : 503)
      .type("text/plain")
      .send(ready ? "ready\n" : `not ready${reason ? `: ${reason}` : ""}\n`);
  });

  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(listening)));
    listening.once("error", reject);
  });
  const bound = server.address();
  const boundPort = typeof bound === "object" && bound ? bound.port : port;
  options.logger.info({ address: `${host}:${boundPort}` }, "http listening");
  let closing: Promise<void> | undefined;
  return {
    port: boundPort,
    address: `${host}:${boundPort}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      });
      return closing;
    },
  };
}
