import { parentPort, workerData } from "node:worker_threads";
import type { io } from "@tensorflow/tfjs";
import { type BackendChoice, loadBackend } from "./backend.js";
import type { TrainingInput } from "./training.js";
import { trainTarget } from "./training.js";

/** What crosses the thread boundary: plain data only (no tf, no callbacks). */
export type WorkerTrainingInput = Omit<
  TrainingInput,
  "tf" | "onEpoch" | "onBatch" | "shouldStop" | "onTestForecasts"
> & { backend: BackendChoice };

export type WorkerMessage =
  | { type: "epoch"; epoch: number; epochs: number; loss: number; valLoss: number | undefined }
  | { type: "backend"; backend: string }
  | { type: "done"; result: WorkerTrainingResult }
  | { type: "error"; message: string; stack?: string };

export interface WorkerTrainingResult {
  reports: Awaited<ReturnType<typeof trainTarget>>["reports"];
  decision: Awaited<ReturnType<typeof trainTarget>>["decision"];
  shape?: Awaited<ReturnType<typeof trainTarget>>["shape"];
  seriesStats: Array<[string, { mean: number; std: number }]>;
  intervalWidths: Record<string, number[]>;
  baselines: Awaited<ReturnType<typeof trainTarget>>["baselines"];
  windows: number;
  epochs: number;
  history?: Awaited<ReturnType<typeof trainTarget>>["history"];
  backend: string;
  artifacts?: { modelTopology: object; weightSpecs: io.WeightsManifestEntry[]; weightData: ArrayBuffer };
}

let stopRequested = false;

async function run(input: WorkerTrainingInput): Promise<void> {
  const port = parentPort!;
  port.on("message", (message: { type: string }) => {
    if (message.type === "stop") stopRequested = true;
  });
  const { tf, backend } = await loadBackend(input.backend);
  port.postMessage({ type: "backend", backend } satisfies WorkerMessage);
  const outcome = await trainTarget({
    ...input,
    tf,
    shouldStop: () => stopRequested,
    onEpoch: (epoch, epochs, loss, valLoss) =>
      port.postMessage({ type: "epoch", epoch, epochs, loss, valLoss } satisfies WorkerMessage),
  });
  let artifacts: WorkerTrainingResult["artifacts"];
  if (outcome.lstm) {
    await outcome.lstm.model.save(
      tf.io.withSaveHandler(async (saved) => {
        const data = saved.weightData;
        const weightData = (Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data) as ArrayBuffer;
        artifacts = {
          modelTopology: saved.modelTopology as object,
          weightSpecs: saved.weightSpecs ?? [],
          weightData,
        };
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
      }),
    );
  }
  const result: WorkerTrainingResult = {
    reports: outcome.reports,
    decision: outcome.decision,
    shape: outcome.shape,
    seriesStats: [...outcome.seriesStats],
    intervalWidths: outcome.intervalWidths,
    baselines: outcome.baselines,
    windows: outcome.windows,
    epochs: outcome.epochs,
    history: outcome.history,
    backend,
    artifacts,
  };
  port.postMessage({ type: "done", result } satisfies WorkerMessage, artifacts ? [artifacts.weightData] : []);
}

if (parentPort && workerData?.floorsenseTraining) {
  run(workerData.input as WorkerTrainingInput).catch((error: Error) => {
    parentPort!.postMessage({
      type: "error",
      message: error.message,
      stack: error.stack,
    } satisfies WorkerMessage);
  });
}
