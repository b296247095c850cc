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
}

export interface TrainResult {
  epochs: number;
  bestValLoss: number | undefined;
  windows: number;
}

/**
 * Trains with early stopping on the validation windows and keeps the best epoch's weights.
 * tfjs yields to the event loop between batches, so /metrics and the forecast loop keep running.
 */
export async function trainLstm(
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
      const output = this.tf.tidy(() => {
        const input = this.tf.tensor3d(xs.subarray(0, valid.length * stride), [
          valid.length,
          this.shape.window,
          FEATURES_PER_STEP,
        ]);
        const gapInput = this.tf.tensor2d(gaps.subarray(0, valid.length * H), [valid.length, H]);
        return this.model.predict([input, gapInput]) as Tensor;
      });
      const data = (await output.data()) as Float32Array;
      output.dispose();
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
}
