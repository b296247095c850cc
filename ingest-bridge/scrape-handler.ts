import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { Logger } from "../lib/logger.js";
import type { TenantCredentials } from "./config.js";
import { renderTenantChunks } from "./exposition.js";
import { acceptsGzip, negotiateFormat } from "./negotiation.js";
import type { SeriesStore } from "./series-store.js";
import { authorized, challenge } from "./tenant-auth.js";

const gzipAsync = promisify(gzip);

export interface ScrapeHandlerOptions {
  store: SeriesStore;
  credentials: ReadonlyMap<string, TenantCredentials>;
  withTimestamps: boolean;
  logger: Logger;
}

/**
 * `GET /tenants/{tenant}/metrics`: the tenant's series for the one Prometheus job that holds its
 * credentials. Unknown tenants get the same 401 as wrong credentials, so the endpoint does not
 * tell which tenants exist.
 */
export function createScrapeHandler(options: ScrapeHandlerOptions) {
  return async (tenant: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const credentials = options.credentials.get(tenant);
    if (!authorized(credentials, req.headers.authorization)) {
      res.writeHead(401, {
        "WWW-Authenticate": challenge(credentials, tenant),
        "Content-Type": "text/plain; charset=utf-8",
      });
      res.end("401 Unauthorized: this endpoint needs the tenant's bearer token or basic-auth credentials\n");
      return;
    }
    const negotiated = negotiateFormat(req.headers.accept);
    const chunks = renderTenantChunks(
      options.store.tenant(tenant),
      negotiated.format,
      options.withTimestamps,
    );
    const headers: Record<string, string> = {
      "Content-Type": negotiated.contentType,
      Vary: "Accept, Accept-Encoding",
    };
    let body: Buffer | Buffer[] = chunks;
    if (acceptsGzip(req.headers["accept-encoding"])) {
      headers["Content-Encoding"] = "gzip";
      body = await gzipAsync(Buffer.concat(chunks), { level: 1 });
    }
    const length = Array.isArray(body) ? body.reduce((n, c) => n + c.length, 0) : body.length;
    headers["Content-Length"] = String(length);
    res.writeHead(200, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    if (Array.isArray(body)) {
      for (const chunk of body) res.write(chunk);
      res.end();
    } else res.end(body);
  };
}
