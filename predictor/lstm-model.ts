import type { LayersModel, Tensor } from "@tensorflow/tfjs";
import type { Tf } from "./backend.js";
import {
  FEATURES_PER_STEP,
  referenceValue,
  type SeriesStats,
  writeReferenceGaps,
  writeTargets,
  writeWindow,
} from "./features.js";
import type { ForecastCase, ForecastModel } from "./forecast-model.js";
import { Adam, type KernelShape, LstmKernel, parameterSizes } from "./lstm-kernel.js";

export interface LstmShape {
  window: number;
  units: number;
  outputs: number;
  /** Season (steps) of the difference input and the output reference; 0 = none. */
  season: number;
}

/**
 * One LSTM layer over the window, its last state joined with the per-horizon reference gaps, and
 * a linear head with one output per horizon (direct multi-horizon forecast).
 */
export function createLstm(tf: Tf, shape: LstmShape, learningRate: number): LayersModel {
  const sequence = tf.input({ shape: [shape.window, FEATURES_PER_STEP], name: "window" });
  const gaps = tf.input({ shape: [shape.outputs], name: "reference_gaps" });
  const state = tf.layers
    .lstm({
      units: shape.units,
      // Orthogonal init is slow in tfjs for larger matrices and buys nothing at this size.
      recurrentInitializer: "glorotUniform",
    })
    .apply(sequence) as import("@tensorflow/tfjs").SymbolicTensor;
  const joined = tf.layers.concatenate().apply([state, gaps]) as import("@tensorflow/tfjs").SymbolicTensor;
  const output = tf.layers
    .dense({ units: shape.outputs })
    .apply(joined) as import("@tensorflow/tfjs").SymbolicTensor;
  const model = tf.model({ inputs: [sequence, gaps], outputs: output });
  compileLstm(tf, model, learningRate);
  return model;
}

export function compileLstm(tf: Tf, model: LayersModel, learningRate: number): void {
  // Absolute error: the backtest ranks by MAE/MASE, and it shrugs off the odd spike.
  model.compile({ optimizer: tf.train.adam(learningRate), loss: "meanAbsoluteError" });
}

export type StatsLookup = (c: ForecastCase) => SeriesStats;

/** Inputs and targets for every case whose window and horizons are complete. */
export function buildTrainingArrays(
  cases: ForecastCase[],
  shape: LstmShape,
  horizonSteps: number[],
  statsOf: StatsLookup,
): TrainingArrays {
  const { window, season } = shape;
  const H = horizonSteps.length;
  const xs = new Float32Array(cases.length * window * FEATURES_PER_STEP);
  const gaps = new Float32Array(cases.length * H);
  const ys = new Float32Array(cases.length * H);
  let count = 0;
  for (const c of cases) {
    const stats = statsOf(c);
    if (!writeWindow(c, window, season, stats, xs, count * window * FEATURES_PER_STEP)) continue;
    if (!writeTargets(c.series, c.origin, horizonSteps, season, stats, ys, count * H)) continue;
    if (!writeReferenceGaps(c.series, c.origin, horizonSteps, season, stats, gaps, count * H)) continue;
    count++;
  }
  return {
    xs: xs.subarray(0, count * window * FEATURES_PER_STEP),
    gaps: gaps.subarray(0, count * H),
    ys: ys.subarray(0, count * H),
    count,
  };
}

export interface TrainingArrays {
  xs: Float32Array;
  gaps: Float32Array;
  ys: Float32Array;
  count: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  patience: number;
  onEpoch?: (epoch: number, loss: number, valLoss: number | undefined) => void;
  onBatch?: (batch: number, batches: number) => void;
  /** Checked between batches: a shutdown stops training early. */
  shouldStop?: () => boolean;
  /**
   * "fused" (default): the network's own forward/backward pass on Float32Arrays with WebAssembly
   * SIMD products (lstm-kernel.ts), several times faster than tfjs-layers and equal to it within
   * float32 rounding; the trained weights are written back into the tfjs model. "tfjs": model.fit().
   */
  trainer?: "fused" | "tfjs";
  /** Adam's learning rate for the fused trainer; default: the one the model was compiled with. */
  learningRate?: number;
}

export interface TrainResult {
  epochs: number;
  bestValLoss: number | undefined;
  windows: number;
}

/**
 * Trains with early stopping on the validation windows and keeps the best epoch's weights, which
 * end up in `model`. Yields to the event loop between batches, so /metrics, the forecast loop and
 * a stop request keep running.
 */
export async function trainLstm(
  tf: Tf,
  model: LayersModel,
  train: TrainingArrays,
  validation: TrainingArrays | undefined,
  shape: LstmShape,
  options: TrainOptions,
): Promise<TrainResult> {
  if (options.trainer === "tfjs") return trainLstmTfjs(tf, model, train, validation, shape, options);
  return trainLstmFused(tf, model, train, validation, shape, options);
}

function kernelShape(shape: LstmShape): KernelShape {
  return { window: shape.window, features: FEATURES_PER_STEP, units: shape.units, outputs: shape.outputs };
}

/** The model's weights as Float32Arrays in LstmKernel's layout, after checking it is createLstm's network. */
export function readKernelParams(model: LayersModel, shape: LstmShape): Float32Array[] {
  const G = 4 * shape.units;
  const H = shape.outputs;
  const expected = [[FEATURES_PER_STEP, G], [shape.units, G], [G], [shape.units + H, H], [H]];
  const weights = model.getWeights();
  const actual = weights.map((w) => w.shape);
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(
      `model weights ${JSON.stringify(actual)} do not match the LSTM shape ${JSON.stringify(expected)}`,
    );
  }
  return weights.map((w) => Float32Array.from(w.dataSync() as Float32Array));
}

/** Writes LstmKernel-layout parameters into the model (same shapes as readKernelParams checked). */
export function writeKernelParams(tf: Tf, model: LayersModel, params: Float32Array[]): void {
  const tensors = model.getWeights().map((w, i) => tf.tensor(params[i]!, w.shape, "float32"));
  try {
    model.setWeights(tensors);
  } finally {
    for (const t of tensors) t.dispose();
  }
}

function compiledLearningRate(model: LayersModel): number {
  const config = (
    model.optimizer as { getConfig?: () => { learningRate?: unknown } } | undefined
  )?.getConfig?.();
  const rate = config?.learningRate;
  if (typeof rate !== "number")
    throw new Error("the model is not compiled with a learning rate; pass learningRate");
  return rate;
}

/** The same training as trainLstmTfjs (shuffled batches, Adam, MAE, early stopping) on the fused kernel. */
export async function trainLstmFused(
  tf: Tf,
  model: LayersModel,
  train: TrainingArrays,
  validation: TrainingArrays | undefined,
  shape: LstmShape,
  options: TrainOptions,
): Promise<TrainResult> {
  if (train.count === 0) throw new Error("no complete training windows (series too short or too gappy)");
  const kernel = new LstmKernel(kernelShape(shape), readKernelParams(model, shape));
  const adam = new Adam(parameterSizes(kernel.shape), options.learningRate ?? compiledLearningRate(model));
  const order = Int32Array.from({ length: train.count }, (_, i) => i);
  const batches = Math.ceil(train.count / options.batchSize);
  let best: Float32Array[] | undefined;
  let bestLoss = Number.POSITIVE_INFINITY;
  let sinceBest = 0;
  let epochsRun = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    // Fisher–Yates, as fit(shuffle: true) does every epoch.
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    let lossSum = 0;
    let seen = 0;
    let stop = false;
    for (let batch = 0; batch < batches; batch++) {
      const from = batch * options.batchSize;
      const to = Math.min(train.count, from + options.batchSize);
      lossSum += kernel.gradients(train.xs, train.gaps, train.ys, order, from, to) * (to - from);
      seen += to - from;
      adam.step(kernel.params, kernel.grads);
      options.onBatch?.(batch + 1, batches);
      await new Promise((resolve) => setImmediate(resolve));
      if (options.shouldStop?.()) {
        stop = true;
        break;
      }
    }
    epochsRun = epoch + 1;
    const loss = lossSum / seen;
    const valLoss = validation?.count
      ? kernel.loss(validation.xs, validation.gaps, validation.ys, validation.count)
      : undefined;
    options.onEpoch?.(epochsRun, loss, valLoss);
    const watched = valLoss ?? loss;
    if (watched < bestLoss) {
      bestLoss = watched;
      sinceBest = 0;
      best = kernel.params.map((p) => p.slice());
    } else if (++sinceBest >= options.patience) {
      break;
    }
    if (stop) break;
  }
  writeKernelParams(tf, model, best ?? kernel.params);
  return {
    epochs: epochsRun,
    bestValLoss: Number.isFinite(bestLoss) ? bestLoss : undefined,
    windows: train.count,
  };
}

/**
 * The same training with tfjs-layers' model.fit(): the reference the fused trainer is tested and
 * benchmarked against. tfjs yields to the event loop between batches.
 */
export async function trainLstmTfjs(
  tf: Tf,
  model: LayersModel,
  train: TrainingArrays,
  validation: TrainingArrays | undefined,
  shape: LstmShape,
  options: TrainOptions,
): Promise<TrainResult> {
  if (train.count === 0) throw new Error("no complete training windows (series too short or too gappy)");
  const x = tf.tensor3d(train.xs, [train.count, shape.window, FEATURES_PER_STEP]);
  const g = tf.tensor2d(train.gaps, [train.count, shape.outputs]);
  const vg = validation?.count ? tf.tensor2d(validation.gaps, [validation.count, shape.outputs]) : undefined;
  const y = tf.tensor2d(train.ys, [train.count, shape.outputs]);
  const vx = validation?.count
    ? tf.tensor3d(validation.xs, [validation.count, shape.window, FEATURES_PER_STEP])
    : undefined;
  const vy = validation?.count ? tf.tensor2d(validation.ys, [validation.count, shape.outputs]) : undefined;
  let best: Tensor[] | undefined;
  let bestLoss = Number.POSITIVE_INFINITY;
  let sinceBest = 0;
  let epochsRun = 0;
  const batches = Math.ceil(train.count / options.batchSize);
  try {
    await model.fit([x, g], y, {
      epochs: options.epochs,
      batchSize: options.batchSize,
      shuffle: true,
      verbose: 0,
      validationData: vx && vy && vg ? [[vx, vg], vy] : undefined,
      yieldEvery: "batch",
      callbacks: {
        onBatchEnd: async (batch) => {
          options.onBatch?.(batch + 1, batches);
          if (options.shouldStop?.()) model.stopTraining = true;
        },
        onEpochEnd: async (epoch, logs) => {
          epochsRun = epoch + 1;
          const loss = logs?.loss ?? Number.NaN;
          const valLoss = logs?.val_loss;
          options.onEpoch?.(epoch + 1, loss, valLoss);
          const watched = valLoss ?? loss;
          if (watched < bestLoss) {
            bestLoss = watched;
            sinceBest = 0;
            for (const t of best ?? []) t.dispose();
            best = model.getWeights().map((w) => w.clone());
          } else if (++sinceBest >= options.patience) {
            model.stopTraining = true;
          }
        },
      },
    });
    if (best) model.setWeights(best);
  } finally {
    for (const t of best ?? []) t.dispose();
    for (const t of [x, g, y, vx, vg, vy]) t?.dispose();
  }
  return {
    epochs: epochsRun,
    bestValLoss: Number.isFinite(bestLoss) ? bestLoss : undefined,
    windows: train.count,
  };
}

/** The trained network as a ForecastModel: forecasts are the reference value + predicted correction × scale. */
export class LstmForecaster implements ForecastModel {
  readonly name = "lstm";
  /**
   * The fused forward pass, several times faster than tfjs's predict(): one kernel for createLstm's
   * network, one per member for an ensemble (whose output is their mean); null for another layout.
   */
  private kernels: LstmKernel[] | null | undefined;

  constructor(
    private readonly tf: Tf,
    readonly model: LayersModel,
    readonly shape: LstmShape,
    private readonly statsOf: StatsLookup,
    private readonly batchSize = 256,
  ) {}

  async predict(cases: ForecastCase[], horizonSteps: number[]): Promise<Float64Array[]> {
    if (horizonSteps.length !== this.shape.outputs) {
      throw new Error(`model has ${this.shape.outputs} outputs, asked for ${horizonSteps.length} horizons`);
    }
    const results = cases.map(() => new Float64Array(horizonSteps.length).fill(Number.NaN));
    const stride = this.shape.window * FEATURES_PER_STEP;
    const kernels = this.fusedKernels();
    for (let from = 0; from < cases.length; from += this.batchSize) {
      const slice = cases.slice(from, from + this.batchSize);
      const xs = new Float32Array(slice.length * stride);
      const H = horizonSteps.length;
      const gaps = new Float32Array(slice.length * H);
      const valid: number[] = [];
      const stats: SeriesStats[] = [];
      for (let i = 0; i < slice.length; i++) {
        const c = slice[i]!;
        const s = this.statsOf(c);
        if (
          writeWindow(c, this.shape.window, this.shape.season, s, xs, valid.length * stride) &&
          writeReferenceGaps(c.series, c.origin, horizonSteps, this.shape.season, s, gaps, valid.length * H)
        ) {
          valid.push(from + i);
          stats.push(s);
        }
      }
      if (valid.length === 0) continue;
      const data = kernels
        ? meanOfPredictions(kernels, xs, gaps, valid.length)
        : await this.predictWithTfjs(xs, gaps, valid.length, H);
      // Let /metrics and the forecast loop in between batches.
      await new Promise((resolve) => setImmediate(resolve));
      valid.forEach((caseIndex, row) => {
        const c = cases[caseIndex]!;
        for (let h = 0; h < horizonSteps.length; h++) {
          const reference = referenceValue(c.series, c.origin, horizonSteps[h]!, this.shape.season);
          results[caseIndex]![h] = reference + data[row * horizonSteps.length + h]! * stats[row]!.std;
        }
      });
    }
    return results;
  }

  /** The kernels with the model's current weights (re-read every call: cheap, and never stale). */
  private fusedKernels(): LstmKernel[] | null {
    if (this.kernels === null) return null;
    let params: Float32Array[][];
    try {
      params = [readKernelParams(this.model, this.shape)];
    } catch {
      const members = ensembleMemberParams(this.model, this.shape);
      if (members === undefined) {
        this.kernels = null;
        return null;
      }
      params = members;
    }
    let kernels = this.kernels;
    if (kernels?.length !== params.length) {
      kernels = params.map(() => new LstmKernel(kernelShape(this.shape)));
      this.kernels = kernels;
    }
    for (let i = 0; i < params.length; i++) kernels[i]!.setParams(params[i]!);
    return kernels;
  }

  private async predictWithTfjs(xs: Float32Array, gaps: Float32Array, count: number, H: number) {
    const output = this.tf.tidy(() => {
      const input = this.tf.tensor3d(xs.subarray(0, count * this.shape.window * FEATURES_PER_STEP), [
        count,
        this.shape.window,
        FEATURES_PER_STEP,
      ]);
      const gapInput = this.tf.tensor2d(gaps.subarray(0, count * H), [count, H]);
      return this.model.predict([input, gapInput]) as Tensor;
    });
    const data = (await output.data()) as Float32Array;
    output.dispose();
    return data;
  }
}

function meanOfPredictions(kernels: LstmKernel[], xs: Float32Array, gaps: Float32Array, count: number) {
  if (kernels.length === 1) return kernels[0]!.predict(xs, gaps, count);
  const sum = new Float64Array(kernels[0]!.predict(xs, gaps, count));
  for (let k = 1; k < kernels.length; k++) {
    const out = kernels[k]!.predict(xs, gaps, count);
    for (let i = 0; i < sum.length; i++) sum[i]! += out[i]!;
  }
  return sum.map((v) => v / kernels.length);
}

interface GraphLayer {
  getClassName(): string;
  getWeights(): Tensor[];
  inboundNodes: Array<{ inboundLayers: GraphLayer[] }>;
}

/**
 * The members of an ensembleNetwork, in LstmKernel layout: each Dense head is followed back
 * through its concatenation to the LSTM it belongs to, so the pairs do not depend on layer order.
 * Undefined for any other layout.
 */
export function ensembleMemberParams(model: LayersModel, shape: LstmShape): Float32Array[][] | undefined {
  const layers = model.layers as unknown as GraphLayer[];
  if (!layers.some((layer) => layer.getClassName() === "Average")) return undefined;
  const members: Float32Array[][] = [];
  try {
    for (const head of layers.filter((layer) => layer.getClassName() === "Dense")) {
      const joined = head.inboundNodes[0]?.inboundLayers[0];
      const lstm = joined?.inboundNodes[0]?.inboundLayers.find((l) => l.getClassName() === "LSTM");
      if (joined?.getClassName() !== "Concatenate" || !lstm) return undefined;
      const weights = [...lstm.getWeights(), ...head.getWeights()];
      const G = 4 * shape.units;
      const H = shape.outputs;
      const expected = [[FEATURES_PER_STEP, G], [shape.units, G], [G], [shape.units + H, H], [H]];
      if (JSON.stringify(weights.map((w) => w.shape)) !== JSON.stringify(expected)) return undefined;
      members.push(weights.map((w) => Float32Array.from(w.dataSync() as Float32Array)));
    }
  } catch {
    return undefined;
  }
  return members.length >= 2 ? members : undefined;
}
