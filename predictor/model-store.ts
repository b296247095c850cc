import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { io, LayersModel } from "@tensorflow/tfjs";
import type { Tf } from "./backend.js";
import type { ModelReport } from "./backtest.js";
import type { BaselineSettings } from "./baselines.js";
import type { BlendSettings } from "./blend.js";
import type { SeriesStats } from "./features.js";
import type { LstmShape } from "./lstm-model.js";
import type { HistoryShortfall } from "./short-history.js";

/** Everything the forecast loop needs besides the weights, and the evidence for the choice made. */
export interface ModelMetadata {
  format: 1;
  target: string;
  version: number;
  createdAt: string;
  /** "lstm", "lstm_blend" or the baseline served instead. */
  served: string;
  /** Per-series LSTM/baseline weights, present when "lstm_blend" is served. */
  blend?: BlendSettings;
  reason: string;
  /** The target's PromQL and counter setting at training; absent in versions saved before they were recorded. */
  expr?: string;
  counter?: boolean;
  stepMs: number;
  horizonLabels: string[];
  horizonSteps: number[];
  /** Shape of the saved LSTM; null when no network was saved with this version. */
  lstm: LstmShape | null;
  backend: string;
  level: number;
  seriesStats: Record<string, SeriesStats>;
  intervalWidths: Record<string, number[]>;
  baselines: BaselineSettings;
  backtest: ModelReport[];
  trainingSeconds: number;
  trainingWindows: number;
  epochs: number;
  /** Present when the history was too short for the LSTM: this version serves a baseline meanwhile. */
  history?: HistoryShortfall;
}

export interface StoredModel {
  metadata: ModelMetadata;
  model?: LayersModel;
  dir: string;
}

const VERSION_DIR = /^v(\d{6,})$/;

export interface LoadOptions {
  /** Why a version must not be served (e.g. it was trained for another configuration); undefined accepts it. */
  reject?: (metadata: ModelMetadata) => string | undefined;
  onReject?: (dir: string, reason: string) => void;
  /** Only versions newer than this one are looked at. */
  newerThan?: number;
}

/**
 * Models on disk: <root>/<target>/v000001/{model.json,weights.bin,metadata.json}. A version is
 * written into a temporary folder and renamed into place, so a crash never leaves a half model
 * where the loader looks; the newest `keep` versions stay.
 */
export class ModelStore {
  constructor(
    readonly root: string,
    readonly keep: number,
  ) {}

  private targetDir(target: string): string {
    return join(this.root, target);
  }

  async versions(target: string): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.targetDir(target));
    } catch {
      return [];
    }
    return names
      .map((name) => VERSION_DIR.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  /** The highest version number on disk (a directory listing, nothing read), or undefined. */
  async newestVersion(target: string): Promise<number | undefined> {
    return (await this.versions(target)).at(-1);
  }

  async save(metadata: Omit<ModelMetadata, "version">, model?: LayersModel): Promise<ModelMetadata> {
    const dir = this.targetDir(metadata.target);
    await mkdir(dir, { recursive: true });
    const version = ((await this.versions(metadata.target)).at(-1) ?? 0) + 1;
    const full: ModelMetadata = { ...metadata, version };
    const temporary = join(dir, `.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
    await mkdir(temporary);
    try {
      if (model) await model.save(fileSaveHandler(temporary));
      await writeFile(join(temporary, "metadata.json"), `${JSON.stringify(full, null, 2)}\n`);
      await rename(temporary, join(dir, `v${String(version).padStart(6, "0")}`));
    } catch (error) {
      await rm(temporary, { recursive: true, force: true });
      throw error;
    }
    await this.prune(metadata.target);
    return full;
  }

  private async prune(target: string): Promise<void> {
    const versions = await this.versions(target);
    for (const version of versions.slice(0, Math.max(0, versions.length - this.keep))) {
      await rm(join(this.targetDir(target), `v${String(version).padStart(6, "0")}`), {
        recursive: true,
        force: true,
      });
    }
  }

  /**
   * The newest version that loads and is not rejected; broken ones are skipped and reported through
   * `onSkip`, rejected ones through `options.onReject` (their network is not even read).
   */
  async loadLatest(
    target: string,
    tf: Tf,
    onSkip?: (dir: string, error: unknown) => void,
    options: LoadOptions = {},
  ): Promise<StoredModel | undefined> {
    for (const version of (await this.versions(target)).reverse()) {
      if (options.newerThan !== undefined && version <= options.newerThan) break;
      const dir = join(this.targetDir(target), `v${String(version).padStart(6, "0")}`);
      try {
        const metadata = JSON.parse(await readFile(join(dir, "metadata.json"), "utf8")) as ModelMetadata;
        const rejected = options.reject?.(metadata);
        if (rejected !== undefined) {
          options.onReject?.(dir, rejected);
          continue;
        }
        const model = metadata.lstm ? await loadLayersModelFromDir(tf, dir) : undefined;
        return { metadata, model, dir };
      } catch (error) {
        onSkip?.(dir, error);
      }
    }
    return undefined;
  }
}

/** tfjs's own on-disk layout (model.json + weights.bin), written without tfjs-node. */
function fileSaveHandler(dir: string): io.IOHandler {
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      const weights = artifacts.weightData
        ? Buffer.concat(
            (Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData]).map((b) =>
              Buffer.from(b),
            ),
          )
        : Buffer.alloc(0);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        trainingConfig: artifacts.trainingConfig,
        weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(join(dir, "weights.bin"), weights);
      await writeFile(join(dir, "model.json"), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
}

export async function loadLayersModelFromDir(tf: Tf, dir: string): Promise<LayersModel> {
  const modelJson = JSON.parse(await readFile(join(dir, "model.json"), "utf8")) as {
    modelTopology: object;
    weightsManifest: Array<{ paths: string[]; weights: io.WeightsManifestEntry[] }>;
  };
  const buffers = await Promise.all(
    modelJson.weightsManifest.flatMap((group) => group.paths.map((p) => readFile(join(dir, p)))),
  );
  const joined = Buffer.concat(buffers);
  const weightData = joined.buffer.slice(
    joined.byteOffset,
    joined.byteOffset + joined.byteLength,
  ) as ArrayBuffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
      weightData,
    }),
  );
}
