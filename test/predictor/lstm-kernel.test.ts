import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBackend, type Tf } from "../../predictor/backend.js";
import { FEATURES_PER_STEP } from "../../predictor/features.js";
import { Adam, LstmKernel, parameterSizes } from "../../predictor/lstm-kernel.js";
import {
  createLstm,
  type LstmShape,
  readKernelParams,
  type TrainingArrays,
  trainLstmFused,
} from "../../predictor/lstm-model.js";
import { createMatrixOps, matrixCodeKind } from "../../predictor/lstm-simd.js";
import { type ModelMetadata, ModelStore } from "../../predictor/model-store.js";
import { gaussian, uniform } from "./synthetic.js";

function randomArrays(count: number, shape: LstmShape, seed: number): TrainingArrays {
  const normal = gaussian(seed);
  const fill = (n: number) => Float32Array.from({ length: n }, () => normal());
  return {
    xs: fill(count * shape.window * FEATURES_PER_STEP),
    gaps: fill(count * shape.outputs),
    ys: fill(count * shape.outputs),
    count,
  };
}

function randomParams(sizes: number[], scale: number, seed: number): Float32Array[] {
  const normal = gaussian(seed);
  return sizes.map((n) => Float32Array.from({ length: n }, () => scale * normal()));
}

/** Largest |a − b| relative to the largest |b|, over all parameters. */
function relativeError(a: Float32Array[], b: Float32Array[]): number {
  let diff = 0;
  let scale = 0;
  a.forEach((p, i) => {
    p.forEach((v, k) => {
      diff = Math.max(diff, Math.abs(v - b[i]![k]!));
      scale = Math.max(scale, Math.abs(b[i]![k]!));
    });
  });
  return diff / scale;
}

describe("matrix products", () => {
  it("run as WebAssembly SIMD on this Node and equal the TypeScript loops", () => {
    const simd = createMatrixOps();
    const js = createMatrixOps("js");
    expect(simd.kind).toBe("wasm-simd");
    expect(js.kind).toBe("js");
    // What the startup log line reports next to the tfjs backend.
    expect(matrixCodeKind()).toBe("wasm-simd");
    const next = uniform(7);
    const a = Float32Array.from({ length: 5 * 7 }, () => next() - 0.5);
    const b = Float32Array.from({ length: 7 * 36 }, () => next() - 0.5);
    const c = Float32Array.from({ length: 5 * 36 }, () => next() - 0.5);
    const results = [simd, js].map((ops) => {
      ops.ensure(4_000);
      ops.heap.set(a, 0);
      ops.heap.set(b, 1_000);
      // 5 rows: two pairs and an odd last row; 36 columns: two blocks of 16 and one of 4;
      // A read as [5, 7], as [7, 5] transposed, and with stride 0 (one value broadcast, as for a bias).
      ops.heap.set(c, 2_000);
      ops.mm(2_000, 0, 1_000, 5, 7, 36, 7, 1);
      const straight = ops.heap.slice(2_000, 2_000 + 5 * 36);
      ops.heap.set(c, 2_000);
      ops.mm(2_000, 0, 1_000, 5, 7, 36, 1, 5);
      const transposed = ops.heap.slice(2_000, 2_000 + 5 * 36);
      ops.heap.fill(0, 3_000, 3_000 + 5 * 36);
      ops.mm(3_000, 4, 1_000, 5, 1, 36, 0, 0);
      const broadcast = ops.heap.slice(3_000, 3_000 + 5 * 36);
      return { straight, transposed, broadcast };
    });
    let expected = c[0]!;
    for (let k = 0; k < 7; k++) expected += a[k]! * b[k * 36]!;
    expect(results[1]!.straight[0]).toBeCloseTo(expected, 6);
    // Row 4 (the odd one), column 35 (the last block of 4), A transposed: A[k·5 + 4].
    let last = c[4 * 36 + 35]!;
    for (let k = 0; k < 7; k++) last += a[k * 5 + 4]! * b[k * 36 + 35]!;
    expect(results[0]!.transposed[4 * 36 + 35]).toBeCloseTo(last, 6);
    expect(results[0]!.broadcast[3 * 36 + 20]).toBeCloseTo(a[4]! * b[20]!, 6);
    for (const key of ["straight", "transposed", "broadcast"] as const) {
      const max = Math.max(...results[0]![key].map((v, i) => Math.abs(v - results[1]![key][i]!)));
      expect(max).toBeLessThan(1e-6);
    }
  });
});

describe("gate activations", () => {
  it("in WebAssembly (tanh by exp and series) equal the TypeScript ones with Math.tanh", () => {
    const rows = 50;
    const units = 8;
    const simd = createMatrixOps();
    const js = createMatrixOps("js");
    const next = uniform(3);
    // Pre-activations from −12 to 12, a tenth of them tiny (the series branch), and exact zeros.
    const z = Float32Array.from({ length: rows * 4 * units }, (_, i) =>
      i % 10 === 0 ? (next() - 0.5) * 0.5 : i % 17 === 0 ? 0 : (next() - 0.5) * 24,
    );
    const cPrev = Float32Array.from({ length: rows * units }, () => (next() - 0.5) * 6);
    const [a, b] = [simd, js].map((ops) => {
      ops.ensure(10_000);
      ops.heap.set(z, 0);
      ops.heap.set(cPrev, 2_000);
      ops.gates(0, 2_000, 3_000, 4_000, 5_000, rows, units);
      return [0, 3_000, 4_000, 5_000].map((at, i) =>
        ops.heap.slice(at, at + (i === 0 ? rows * 4 * units : rows * units)),
      );
    });
    for (let part = 0; part < 4; part++) {
      const worst = Math.max(...a![part]!.map((v, i) => Math.abs(v - b![part]![i]!)));
      expect(worst).toBeLessThan(1e-6);
    }
    // Backwards through the same step (gates saturate at both ends of the hard sigmoid here).
    const dh = Float32Array.from({ length: rows * units }, () => next() - 0.5);
    const dc = Float32Array.from({ length: rows * units }, () => next() - 0.5);
    const [da, db] = [simd, js].map((ops) => {
      ops.heap.set(dh, 6_000);
      ops.heap.set(dc, 7_000);
      ops.gatesBackward(0, 2_000, 4_000, 6_000, 7_000, rows, units);
      return [ops.heap.slice(0, rows * 4 * units), ops.heap.slice(7_000, 7_000 + rows * units)];
    });
    for (let part = 0; part < 2; part++) {
      const worst = Math.max(...da![part]!.map((v, i) => Math.abs(v - db![part]![i]!)));
      expect(worst).toBeLessThan(1e-6);
    }
    expect(da![0]!.filter((v) => v === 0).length).toBeGreaterThan(rows * units);
    // Spot checks against Math.tanh and the hard sigmoid.
    expect(a![0]![2 * units + 1]).toBeCloseTo(Math.tanh(z[2 * units + 1]!), 6);
    expect(a![0]![3]).toBeCloseTo(Math.min(1, Math.max(0, 0.2 * z[3]! + 0.5)), 6);
  });
});

describe("fused LSTM kernel", () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await loadBackend("cpu")).tf;
  });

  for (const kind of ["auto", "js"] as const) {
    it(`has the gradient of its own loss (finite differences, ${kind} products)`, () => {
      // 4 units: WebAssembly gates; the TypeScript loops cover any count.
      const shape = { window: 4, features: 3, units: 4, outputs: 2 };
      const kernel = new LstmKernel(shape, randomParams(parameterSizes(shape), 0.8, 11), kind);
      const normal = gaussian(5);
      const n = 3;
      const xs = Float32Array.from({ length: n * 4 * 3 }, () => normal());
      const gaps = Float32Array.from({ length: n * 2 }, () => normal());
      const ys = Float32Array.from({ length: n * 2 }, () => normal());
      kernel.gradients(xs, gaps, ys, undefined, 0, n);
      const analytic = kernel.grads.map((g) => g.slice());
      const numeric = analytic.map((g) => new Float32Array(g.length));
      const eps = 1e-3;
      const base = kernel.params.map((p) => p.slice());
      base.forEach((p, i) => {
        for (let k = 0; k < p.length; k++) {
          const probe = base.map((q) => q.slice());
          probe[i]![k] = p[k]! + eps;
          kernel.setParams(probe);
          const up = kernel.loss(xs, gaps, ys, n);
          probe[i]![k] = p[k]! - eps;
          kernel.setParams(probe);
          const down = kernel.loss(xs, gaps, ys, n);
          numeric[i]![k] = (up - down) / (2 * eps);
        }
      });
      expect(relativeError(analytic, numeric)).toBeLessThan(1e-3);
      // Every parameter group takes part (no gradient silently zero).
      for (const g of analytic) expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(1e-3);
    });
  }

  for (const rows of [7, 300]) {
    it(`equals tfjs's gradients for the same weights and batch (${rows} rows${rows > 256 ? ", in two slices" : ""})`, () => {
      const shape: LstmShape = { window: 5, units: 4, outputs: 3, season: 0 };
      const model = createLstm(tf, shape, 0.01);
      const kernelShape = { window: 5, features: FEATURES_PER_STEP, units: 4, outputs: 3 };
      // Larger weights than the initialiser's, so some gates saturate in the hard sigmoid.
      const params = randomParams(parameterSizes(kernelShape), 0.7, 21);
      const tensors = params.map((p, i) => tf.tensor(p, model.getWeights()[i]!.shape));
      model.setWeights(tensors);
      for (const t of tensors) t.dispose();
      const data = randomArrays(rows, shape, 3);
      const kernel = new LstmKernel(kernelShape, readKernelParams(model, shape));
      const loss = kernel.gradients(data.xs, data.gaps, data.ys, undefined, 0, data.count);

      const x = tf.tensor3d(data.xs, [rows, 5, FEATURES_PER_STEP]);
      const g = tf.tensor2d(data.gaps, [rows, 3]);
      const y = tf.tensor2d(data.ys, [rows, 3]);
      const variables = model.trainableWeights.map((w) => w.read() as import("@tensorflow/tfjs").Variable);
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.metrics.meanAbsoluteError(y, model.apply([x, g], { training: true }) as Tensor)),
        variables,
      );
      const reference = variables.map((v) => grads[v.name]!.dataSync() as Float32Array);
      expect(loss).toBeCloseTo(value.dataSync()[0]!, 5);
      expect(relativeError(kernel.grads, reference)).toBeLessThan(1e-5);
      for (const t of [x, g, y, value, ...Object.values(grads)]) t.dispose();
      model.dispose();
    });
  }

  it("takes the same Adam steps as tfjs's fit", async () => {
    const shape: LstmShape = { window: 6, units: 4, outputs: 2, season: 0 };
    const model = createLstm(tf, shape, 0.01);
    const kernelShape = { window: 6, features: FEATURES_PER_STEP, units: 4, outputs: 2 };
    const kernel = new LstmKernel(kernelShape, readKernelParams(model, shape));
    const adam = new Adam(parameterSizes(kernelShape), 0.01);
    const data = randomArrays(16, shape, 9);
    const x = tf.tensor3d(data.xs, [16, 6, FEATURES_PER_STEP]);
    const g = tf.tensor2d(data.gaps, [16, 2]);
    const y = tf.tensor2d(data.ys, [16, 2]);
    for (let step = 0; step < 3; step++) {
      const tfLoss = await model.trainOnBatch([x, g], y);
      const loss = kernel.gradients(data.xs, data.gaps, data.ys, undefined, 0, 16);
      adam.step(kernel.params, kernel.grads);
      expect(loss).toBeCloseTo(tfLoss as number, 5);
    }
    const reference = model.getWeights().map((w) => w.dataSync() as Float32Array);
    const moved = relativeError(kernel.params, readKernelParams(createLstm(tf, shape, 0.01), shape));
    expect(moved).toBeGreaterThan(0.01);
    for (let i = 0; i < reference.length; i++) {
      const max = Math.max(...kernel.params[i]!.map((v, k) => Math.abs(v - reference[i]![k]!)));
      expect(max).toBeLessThan(1e-5);
    }
    for (const t of [x, g, y]) t.dispose();
    model.dispose();
  });

  describe("trainer", () => {
    let root: string;
    beforeAll(() => {
      root = mkdtempSync(join(tmpdir(), "floorsense-kernel-"));
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it("learns, keeps the best epoch, and its forecasts survive save and load", async () => {
      const shape: LstmShape = { window: 8, units: 6, outputs: 2, season: 0 };
      const model = createLstm(tf, shape, 0.02);
      // A learnable target: each output is a fixed mix of the last step's first two features.
      const make = (count: number, seed: number): TrainingArrays => {
        const data = randomArrays(count, shape, seed);
        for (let i = 0; i < count; i++) {
          const last = (i * shape.window + shape.window - 1) * FEATURES_PER_STEP;
          data.ys[i * 2] = 0.8 * data.xs[last]!;
          data.ys[i * 2 + 1] = 0.5 * data.xs[last + 1]! - 0.3 * data.gaps[i * 2]!;
        }
        return data;
      };
      const train = make(400, 1);
      const validation = make(100, 2);
      const epochs: Array<{ loss: number; valLoss: number | undefined }> = [];
      const batches: number[] = [];
      const result = await trainLstmFused(tf, model, train, validation, shape, {
        epochs: 12,
        batchSize: 64,
        patience: 12,
        onEpoch: (_, loss, valLoss) => epochs.push({ loss, valLoss }),
        onBatch: (batch, total) => batches.push(batch * 100 + total),
      });
      expect(result.epochs).toBe(12);
      expect(result.windows).toBe(400);
      expect(batches.slice(0, 7)).toEqual([107, 207, 307, 407, 507, 607, 707]);
      const valLosses = epochs.map((e) => e.valLoss!);
      expect(result.bestValLoss).toBe(Math.min(...valLosses));
      expect(valLosses.at(-1)!).toBeLessThan(valLosses[0]! * 0.6);
      // The model now holds the best epoch's weights: its validation loss is the best one.
      const kernelShape = { window: 8, features: FEATURES_PER_STEP, units: 6, outputs: 2 };
      const kernel = new LstmKernel(kernelShape, readKernelParams(model, shape));
      expect(kernel.loss(validation.xs, validation.gaps, validation.ys, validation.count)).toBeCloseTo(
        result.bestValLoss!,
        6,
      );

      const x = tf.tensor3d(validation.xs, [100, 8, FEATURES_PER_STEP]);
      const g = tf.tensor2d(validation.gaps, [100, 2]);
      const served = (model.predict([x, g]) as Tensor).dataSync() as Float32Array;
      const fused = kernel.predict(validation.xs, validation.gaps, 100);
      expect(Math.max(...served.map((v, i) => Math.abs(v - fused[i]!)))).toBeLessThan(1e-5);

      const store = new ModelStore(root, 2);
      const metadata: Omit<ModelMetadata, "version"> = {
        format: 1,
        target: "kernel",
        createdAt: "2026-01-01T00:00:00.000Z",
        served: "lstm",
        reason: "test",
        stepMs: 60_000,
        horizonLabels: ["1m", "2m"],
        horizonSteps: [1, 2],
        lstm: shape,
        backend: "cpu",
        level: 0.9,
        seriesStats: {},
        intervalWidths: { lstm: [1, 1] },
        baselines: { seasonSteps: [], seasonLabels: [], rangeSteps: 3, holtWinters: { sf: 0.3, tf: 0.1 } },
        backtest: [],
        trainingSeconds: 1,
        trainingWindows: 400,
        epochs: 12,
      };
      await store.save(metadata, model);
      const loaded = await store.loadLatest("kernel", tf);
      const reloaded = (loaded!.model!.predict([x, g]) as Tensor).dataSync() as Float32Array;
      expect(Array.from(reloaded)).toEqual(Array.from(served));
      for (const t of [x, g]) t.dispose();
      model.dispose();
      loaded!.model!.dispose();
    });

    it("stops after the batch where a stop is requested, and rejects a foreign model", async () => {
      const shape: LstmShape = { window: 4, units: 3, outputs: 2, season: 0 };
      const model = createLstm(tf, shape, 0.01);
      const before = readKernelParams(model, shape);
      let batches = 0;
      const result = await trainLstmFused(tf, model, randomArrays(300, shape, 4), undefined, shape, {
        epochs: 5,
        batchSize: 32,
        patience: 5,
        onBatch: () => batches++,
        shouldStop: () => batches >= 2,
      });
      expect(batches).toBe(2);
      expect(result.epochs).toBe(1);
      expect(relativeError(readKernelParams(model, shape), before)).toBeGreaterThan(0);
      await expect(
        trainLstmFused(
          tf,
          model,
          randomArrays(10, shape, 4),
          undefined,
          { ...shape, units: 5 },
          {
            epochs: 1,
            batchSize: 8,
            patience: 1,
          },
        ),
      ).rejects.toThrow("model weights [[6,12],[3,12],[12],[5,2],[2]] do not match the LSTM shape");
      model.dispose();
    });
  });
});
