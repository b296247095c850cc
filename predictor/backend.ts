import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Logger } from "../lib/logger.js";
import { matrixCodeKind } from "./lstm-simd.js";

export type Tf = typeof import("@tensorflow/tfjs");
export type BackendChoice = "auto" | "node" | "wasm" | "cpu";

export interface LoadedBackend {
  tf: Tf;
  backend: string;
}

let loaded: Promise<LoadedBackend> | undefined;

/** Silences tfjs's one-time console banner ("looks like you are running in Node.js") while it loads. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const { log, warn } = console;
  console.log = () => {};
  console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

/**
 * Loads TensorFlow.js once per process: tfjs-node when it is installed (native, fastest), else
 * the WebAssembly backend (its .wasm files read from node_modules, no network), else pure JS.
 */
export function loadBackend(choice: BackendChoice = "auto", logger?: Logger): Promise<LoadedBackend> {
  loaded ??= quietly(() => pickBackend(choice)).then((result) => {
    // tfjs builds, serves and saves the network; the fused kernel trains it and runs its forecasts.
    logger?.info({ backend: result.backend, lstmKernel: matrixCodeKind() }, "tensorflow.js backend");
    return result;
  });
  return loaded;
}

async function pickBackend(choice: BackendChoice): Promise<LoadedBackend> {
  if (choice === "auto" || choice === "node") {
    try {
      // A variable name keeps bundlers and tsc from insisting the optional package exists.
      const nodePackage = "@tensorflow/tfjs-node";
      const tf = (await import(nodePackage)) as Tf;
      await tf.ready();
      return { tf, backend: tf.getBackend() };
    } catch (error) {
      if (choice === "node")
        throw new Error(`backend "node" requested but @tensorflow/tfjs-node fails: ${error}`);
    }
  }
  const tf = await import("@tensorflow/tfjs");
  if (choice === "auto" || choice === "wasm") {
    try {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      const require = createRequire(import.meta.url);
      const dist = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist/");
      wasm.setWasmPaths(dist);
      if (await tf.setBackend("wasm")) {
        await tf.ready();
        return { tf, backend: "wasm" };
      }
    } catch (error) {
      if (choice === "wasm") throw new Error(`backend "wasm" requested but it fails to start: ${error}`);
    }
  }
  await tf.setBackend("cpu");
  await tf.ready();
  // The pure-JS backend prints an install hint on first use; the log line above already says which backend runs.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  return { tf, backend: "cpu" };
}
