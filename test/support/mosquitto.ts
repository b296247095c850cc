import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./binaries.js";
import { freePort, waitForPort } from "./ports.js";
import { type RunningProcess, startProcess } from "./processes.js";

export interface MosquittoOptions {
  /** Mosquitto-format password file; without it anonymous clients are allowed. */
  passwordFile?: string;
  aclFile?: string;
  /** Extra lines for mosquitto.conf. */
  extraConfig?: string[];
  /** Reuse a port (to restart a broker where clients expect it). */
  port?: number;
  /** Keep sessions across restarts. */
  persistenceDir?: string;
}

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  readonly process: RunningProcess;
  stop(): Promise<void>;
}

/** Starts the real Debian Mosquitto on a free loopback port with a config written for the test. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const binary = findBinary("mosquitto");
  if (!binary) throw new Error("mosquitto is not installed (apt-get install -y mosquitto)");
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "floorsense-mosquitto-"));
  const lines = [
    `listener ${port} 127.0.0.1`,
    options.passwordFile ? `password_file ${options.passwordFile}` : "allow_anonymous true",
    options.passwordFile ? "allow_anonymous false" : "",
    options.aclFile ? `acl_file ${options.aclFile}` : "",
    options.persistenceDir ? "persistence true" : "persistence false",
    options.persistenceDir ? `persistence_location ${options.persistenceDir}/` : "",
    "max_queued_messages 100000",
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    ...(options.extraConfig ?? []),
  ].filter(Boolean);
  // Mosquitto started as root drops to its own user and could not write a mkdtemp folder,
  // silently keeping no sessions; open the folder up so persistence really happens.
  if (options.persistenceDir) chmodSync(options.persistenceDir, 0o777);
  const configFile = join(dir, "mosquitto.conf");
  writeFileSync(configFile, `${lines.join("\n")}\n`);
  const process = startProcess(binary, ["-c", configFile]);
  try {
    await waitForPort(port, 10_000);
  } catch (error) {
    await process.stop();
    throw new Error(`mosquitto did not start: ${String(error)}\n${process.output()}`);
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    process,
    async stop() {
      await process.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
