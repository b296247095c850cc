import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { WorkerMessage, WorkerTrainingInput, WorkerTrainingResult } from "./training-worker.js";

export interface TrainingThread {
  result: Promise<WorkerTrainingResult>;
  /**
   * Terminates the worker at once and rejects the result ("training interrupted by shutdown"):
   * waiting for the current batch, the ensemble, the blend choice and the backtest would only
   * produce a result nobody keeps.
   */
  stop(): void;
}

/**
 * Trains in a worker thread so the event loop serving /metrics and the forecast loop never waits
 * for TensorFlow.js (its first batch alone can take most of a second).
 */
export function trainInThread(
  input: WorkerTrainingInput,
  onMessage?: (message: WorkerMessage) => void,
): TrainingThread {
  const here = fileURLToPath(import.meta.url);
  // Compiled: the .js next to this file. From TypeScript sources (tests), run the .ts through tsx.
  const fromSource = here.endsWith(".ts");
  const options = { workerData: { floorsenseTraining: true, input } };
  let worker: Worker;
  if (fromSource) {
    // tsx is a dev dependency: only the test runner takes this path.
    const tsxDir = dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
    const tsx = pathToFileURL(join(tsxDir, "dist/esm/api/index.mjs")).href;
    const entry = new URL("./training-worker.ts", import.meta.url).href;
    const boot = `import(${JSON.stringify(tsx)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}));`;
    worker = new Worker(boot, { ...options, eval: true });
  } else {
    worker = new Worker(new URL("./training-worker.js", import.meta.url), options);
  }
  let settled = false;
  let interrupt = () => {};
  const result = new Promise<WorkerTrainingResult>((resolve, reject) => {
    interrupt = () => {
      if (settled) return;
      settled = true;
      reject(new Error("training interrupted by shutdown"));
      void worker.terminate();
    };
    worker.on("message", (message: WorkerMessage) => {
      onMessage?.(message);
      if (message.type === "done") {
        settled = true;
        resolve(message.result);
        void worker.terminate();
      } else if (message.type === "error") {
        settled = true;
        reject(new Error(message.message));
        void worker.terminate();
      }
    });
    worker.once("error", (error) => {
      settled = true;
      reject(error);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`training worker exited with code ${code} before finishing`));
    });
  });
  return { result, stop: () => interrupt() };
}
