import type { LayersModel, Tensor } from "@tensorflow/tfjs";
import type { Tf } from "./backend.js";
import {
  FEATURES_PER_STEP,
  referenceValue,
  type SeriesStats,
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

/** One LSTM layer and a linear head with one output per horizon (direct multi-horizon forecast). */
export function createLstm(tf: Tf, shape: LstmShape, learningRate: number): LayersModel {
  const model = tf.sequential();
  model.add(
    tf.layers.lstm({
      units: shape.units,
      inputShape: [shape.window, FEATURES_PER_STEP],
      // Orthogonal init is slow in tfjs for larger matrices and buys nothing at this size.
      recurrentInitializer: "glorotUniform",
    }),
  );
  model.add(tf.layers.dense({ units: shape.outputs }));
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
): { xs: Float32Array; ys: Float32Array; count: number } {
  const { window, season } = shape;
  const xs = new Float32Array(cases.length * window * FEATURES_PER_STEP);
  const ys = new Float32Array(cases.length * horizonSteps.length);
  let count = 0;
  for (const c of cases) {
    const stats = statsOf(c);
    if (!writeWindow(c, window, season, stats, xs, count * window * FEATURES_PER_STEP)) continue;
    if (!writeTargets(c.series, c.origin, horizonSteps, season, stats, ys, count * horizonSteps.length))
      continue;
    count++;
  }
  return {
    xs: xs.subarray(0, count * window * FEATURES_PER_STEP),
    ys: ys.subarray(0, count * horizonSteps.length),
    count,
  };
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
  train: { xs: Float32Array; ys: Float32Array; count: number },
  validation: { xs: Float32Array; ys: Float32Array; count: number } | undefined,
  shape: LstmShape,
  options: TrainOptions,
): Promise<TrainResult> {
  if (train.count === 0) throw new Error("no complete training windows (series too short or too gappy)");
  const x = tf.tensor3d(train.xs, [train.count, shape.window, FEATURES_PER_STEP]);
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
    await model.fit(x, y, {
      epochs: options.epochs,
      batchSize: options.batchSize,
      shuffle: true,
      verbose: 0,
      validationData: vx && vy ? [vx, vy] : undefined,
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
    for (const t of [x, y, vx, vy]) t?.dispose();
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
    private readonly batchSize = 512,
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
      const valid: number[] = [];
      const stats: SeriesStats[] = [];
      for (let i = 0; i < slice.length; i++) {
        const s = this.statsOf(slice[i]!);
        if (writeWindow(slice[i]!, this.shape.window, this.shape.season, s, xs, valid.length * stride)) {
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
        return this.model.predict(input) as Tensor;
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
