import { createServer } from "node:net";

// Ports from bind(0) come out of the kernel's ephemeral range, which every outgoing
// connection (scrapes, MQTT clients, HTTP probes) also draws from. A port released by
// freePort could be taken as a client's source port before the test's server binds it,
// which is what made Alertmanager in the end-to-end test exit with "address in use".
// So hand out ports below the ephemeral range (Linux default 32768–60999), one slice per
// vitest worker so two workers never pick the same one, and never the same one twice.
const RANGE_START = 20_000;
const RANGE_END = 32_000;
const SLICES = 8;
const sliceSize = Math.floor((RANGE_END - RANGE_START) / SLICES);
const worker = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? 1);
const sliceStart = RANGE_START + ((Number.isInteger(worker) ? worker : 1) % SLICES) * sliceSize;
let cursor = Math.floor(Math.random() * sliceSize);
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free loopback TCP port outside the ephemeral range, not handed out before by this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < sliceSize; attempt++) {
    const port = sliceStart + (cursor++ % sliceSize);
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port in ${sliceStart}-${sliceStart + sliceSize - 1}`);
}

/** Resolves once something accepts TCP connections on the port, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10_000, host = "127.0.0.1"): Promise<void> {
  const { connect } = await import("node:net");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host);
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
