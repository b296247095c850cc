/**
 * The predictor's network (one LSTM layer, its last state joined with the reference gaps, a linear
 * head, mean absolute error) trained without tfjs: forward pass, backward pass through time, Adam.
 *
 * Why: tfjs-layers runs an LSTM as ~140 small kernel calls per time step (forward and backward),
 * each with tape bookkeeping and a tensor allocation, so most of a training step is overhead
 * rather than arithmetic. Here a batch is one forward pass (the input projection of every step as
 * one product, then per step one recurrent product and one fused gate pass) and one backward pass,
 * all in one block of memory with no allocation per step. The products and gate passes run as
 * WebAssembly SIMD (lstm-simd.ts); the rest (head, loss, gathering rows) is TypeScript.
 *
 * The parameters are laid out exactly as tfjs's LSTM and Dense layers keep them, in the order of
 * `model.getWeights()`: LSTM kernel [features, 4·units], recurrent kernel [units, 4·units], bias
 * [4·units] (gates i, f, c, o), head kernel [units + outputs, outputs], head bias [outputs]. The
 * activations are tfjs's defaults (hard sigmoid for the gates, tanh for cell and output), so the
 * trained weights go straight back into the tfjs model that serves and saves.
 */

import { createMatrixOps, type MatrixOps } from "./lstm-simd.js";

export interface KernelShape {
  window: number;
  features: number;
  units: number;
  outputs: number;
}

/** Parameter sizes in tfjs `getWeights()` order. */
export function parameterSizes(shape: KernelShape): number[] {
  const G = 4 * shape.units;
  return [
    shape.features * G,
    shape.units * G,
    G,
    (shape.units + shape.outputs) * shape.outputs,
    shape.outputs,
  ];
}

/** Rows per forward/backward slice of a batch: 48 steps × 256 rows of gates are 6 MB. */
const SLICE_ROWS = 256;

/** Float offsets of the per-batch buffers in the heap. */
interface BatchBuffers {
  /** Inputs of the batch, time-major [window, batch, features], so each step is one block. */
  x: number;
  /** Gate pre-activations, then activations, then (backward) their gradients: [window, batch, 4·units]. */
  z: number;
  c: number;
  tanhC: number;
  h: number;
  /** Head input (last state ‖ reference gaps) per row. */
  headIn: number;
  out: number;
  dOut: number;
  dh: number;
  dc: number;
  /** Stays zero: the cell state before the first step. */
  zeros: number;
}

/** Hands out consecutive ranges of the heap; take(n) returns where n floats start. */
function allocator(start: number): (n: number) => number {
  let next = start;
  return (n) => {
    const at = next;
    next += n;
    return at;
  };
}

export class LstmKernel {
  private readonly ops: MatrixOps;
  private readonly sizes: number[];
  /** Float offsets into the heap: parameters, then their gradients, then the batch buffers. */
  private readonly paramAt: number[];
  private readonly gradAt: number[];
  private readonly one: number;
  /** The recurrent kernel transposed, [4·units, units], for dh = dz·Rᵀ as a row-blocked product. */
  private readonly recurrentT: number;
  private capacity = 0;
  private buffers: BatchBuffers = {
    x: 0,
    z: 0,
    c: 0,
    tanhC: 0,
    h: 0,
    headIn: 0,
    out: 0,
    dOut: 0,
    dh: 0,
    dc: 0,
    zeros: 0,
  };

  constructor(
    readonly shape: KernelShape,
    params?: Float32Array[],
    ops: MatrixOps | "auto" | "js" = "auto",
  ) {
    this.ops = typeof ops === "string" ? createMatrixOps(ops) : ops;
    const sizes = parameterSizes(shape);
    this.sizes = sizes;
    const take = allocator(0);
    this.paramAt = sizes.map(take);
    this.gradAt = sizes.map(take);
    this.one = take(1);
    this.recurrentT = take(4 * shape.units * shape.units);
    const at = take(0);
    this.ops.ensure(at);
    this.ops.heap[this.one] = 1;
    if (params) this.setParams(params);
  }

  /** Which matrix code runs: "wasm-simd" or "js". */
  get matrixCode(): string {
    return this.ops.kind;
  }

  /** Views of the parameters in tfjs getWeights() order (valid until the next call that grows the buffers). */
  get params(): Float32Array[] {
    return this.sizes.map((n, i) => this.ops.heap.subarray(this.paramAt[i]!, this.paramAt[i]! + n));
  }

  /** Views of the last computed gradients, same order and validity as `params`. */
  get grads(): Float32Array[] {
    return this.sizes.map((n, i) => this.ops.heap.subarray(this.gradAt[i]!, this.gradAt[i]! + n));
  }

  setParams(params: ArrayLike<number>[]): void {
    const sizes = this.sizes;
    if (params.length !== sizes.length || params.some((p, i) => p.length !== sizes[i])) {
      throw new Error(
        `LSTM kernel expects parameters of sizes ${sizes.join(", ")}, got ${params.map((p) => p.length).join(", ")}`,
      );
    }
    for (let i = 0; i < params.length; i++) this.ops.heap.set(params[i]!, this.paramAt[i]!);
  }

  private reserve(batch: number): void {
    if (batch <= this.capacity) return;
    const { window: T, features: F, units: U, outputs: H } = this.shape;
    const G = 4 * U;
    const take = allocator(this.recurrentT + 4 * this.shape.units * this.shape.units);
    this.buffers = {
      x: take(T * batch * F),
      z: take(T * batch * G),
      c: take(T * batch * U),
      tanhC: take(T * batch * U),
      h: take(T * batch * U),
      headIn: take(batch * (U + H)),
      out: take(batch * H),
      dOut: take(batch * H),
      dh: take(batch * U),
      dc: take(batch * U),
      zeros: take(batch * U),
    };
    this.ops.ensure(take(0));
    this.capacity = batch;
  }

  /**
   * Runs the network on rows `rows[from..to)` of xs/gaps (row-major [n, window, features] and
   * [n, outputs]) and leaves everything the backward pass needs in the buffers. Returns the batch size.
   */
  private forward(
    xs: Float32Array,
    gaps: Float32Array,
    rows: ArrayLike<number> | undefined,
    from: number,
    to: number,
  ): number {
    const B = to - from;
    this.reserve(B);
    const { ops } = this;
    const { window: T, features: F, units: U, outputs: H } = this.shape;
    const G = 4 * U;
    const I = U + H;
    const [W, R, bias, Wd, bd] = this.paramAt as [number, number, number, number, number];
    const { x, z, c, tanhC, h, headIn, out, zeros } = this.buffers;
    const m = ops.heap;
    const stride = T * F;
    for (let b = 0; b < B; b++) {
      const row = rows ? rows[from + b]! : from + b;
      const src = row * stride;
      for (let t = 0; t < T; t++) {
        const dst = x + (t * B + b) * F;
        const at = src + t * F;
        for (let f = 0; f < F; f++) m[dst + f] = xs[at + f]!;
      }
      const gapAt = row * H;
      const inAt = headIn + b * I + U;
      for (let k = 0; k < H; k++) m[inAt + k] = gaps[gapAt + k]!;
    }
    // Input projection of every step at once: z = bias + x·W over [window·batch] rows.
    const rowsTotal = T * B;
    m.fill(0, z, z + rowsTotal * G);
    ops.mm(z, this.one, bias, rowsTotal, 1, G, 0, 0);
    ops.mm(z, x, W, rowsTotal, F, G, F, 1);
    for (let t = 0; t < T; t++) {
      const zt = z + t * B * G;
      const st = t * B * U;
      // z_t += h_{t-1}·R
      if (t > 0) ops.mm(zt, h + st - B * U, R, B, U, G, U, 1);
      const cPrev = t > 0 ? c + st - B * U : zeros;
      ops.gates(zt, cPrev, c + st, tanhC + st, h + st, B, U);
    }
    const last = h + (T - 1) * B * U;
    for (let b = 0; b < B; b++) {
      const inAt = headIn + b * I;
      for (let k = 0; k < U; k++) m[inAt + k] = m[last + b * U + k]!;
      const o = out + b * H;
      for (let j = 0; j < H; j++) m[o + j] = m[bd + j]!;
      for (let k = 0; k < I; k++) {
        const a = m[inAt + k]!;
        const wk = Wd + k * H;
        for (let j = 0; j < H; j++) m[o + j] += a * m[wk + j]!;
      }
    }
    return B;
  }

  /** Forecasts (the head's outputs) of rows [0, count) of xs/gaps into `result` ([count, outputs]). */
  predict(
    xs: Float32Array,
    gaps: Float32Array,
    count: number,
    result?: Float32Array,
    chunk = 256,
  ): Float32Array {
    const H = this.shape.outputs;
    const output = result ?? new Float32Array(count * H);
    for (let from = 0; from < count; from += chunk) {
      const to = Math.min(count, from + chunk);
      this.forward(xs, gaps, undefined, from, to);
      output.set(this.ops.heap.subarray(this.buffers.out, this.buffers.out + (to - from) * H), from * H);
    }
    return output;
  }

  /** Mean absolute error of rows [0, count) against ys, in chunks. */
  loss(xs: Float32Array, gaps: Float32Array, ys: Float32Array, count: number, chunk = 256): number {
    const H = this.shape.outputs;
    let sum = 0;
    for (let from = 0; from < count; from += chunk) {
      const to = Math.min(count, from + chunk);
      const B = this.forward(xs, gaps, undefined, from, to);
      const m = this.ops.heap;
      for (let i = 0; i < B * H; i++) sum += Math.abs(m[this.buffers.out + i]! - ys[from * H + i]!);
    }
    return count > 0 ? sum / (count * H) : Number.NaN;
  }

  /**
   * Loss of the batch rows[from..to) (mean over rows and outputs of |forecast − target|, as
   * tfjs's meanAbsoluteError and fit() compute it) and its gradient in `grads`.
   */
  gradients(
    xs: Float32Array,
    gaps: Float32Array,
    ys: Float32Array,
    rows: ArrayLike<number> | undefined,
    from: number,
    to: number,
  ): number {
    const { units: U, outputs: H } = this.shape;
    const G = 4 * U;
    const m = this.ops.heap;
    const R = this.paramAt[1]!;
    m.fill(0, this.gradAt[0]!, this.one);
    const RT = this.recurrentT;
    for (let k = 0; k < U; k++) {
      for (let j = 0; j < G; j++) m[RT + j * U + k] = m[R + k * G + j]!;
    }
    // Large batches in slices: the gradient is a sum over rows, and a slice's buffers stay in cache.
    const scale = 1 / ((to - from) * H);
    let sum = 0;
    for (let at = from; at < to; at += SLICE_ROWS) {
      sum += this.accumulate(xs, gaps, ys, rows, at, Math.min(to, at + SLICE_ROWS), scale);
    }
    return sum * scale;
  }

  /** Adds the gradient of scale·Σ|forecast − target| over rows[from..to) to `grads`; returns Σ|…|. */
  private accumulate(
    xs: Float32Array,
    gaps: Float32Array,
    ys: Float32Array,
    rows: ArrayLike<number> | undefined,
    from: number,
    to: number,
    scale: number,
  ): number {
    const B = this.forward(xs, gaps, rows, from, to);
    const { ops } = this;
    const m = ops.heap;
    const { window: T, features: F, units: U, outputs: H } = this.shape;
    const G = 4 * U;
    const I = U + H;
    const Wd = this.paramAt[3]!;
    const [dW, dR, dBias, dWd, dbd] = this.gradAt as [number, number, number, number, number];
    const { x, z, c, tanhC, h, headIn, dOut, dh, dc, zeros, out } = this.buffers;
    const RT = this.recurrentT;

    let sum = 0;
    for (let b = 0; b < B; b++) {
      const row = rows ? rows[from + b]! : from + b;
      for (let j = 0; j < H; j++) {
        const d = m[out + b * H + j]! - ys[row * H + j]!;
        sum += Math.abs(d);
        // tfjs differentiates |d| as step(d, −1): +1 above zero, −1 at and below.
        m[dOut + b * H + j] = d > 0 ? scale : -scale;
      }
    }

    // Head: dWd = headInᵀ·dOut, dbd = Σ dOut, dh_T = dOut·Wd[:U]ᵀ.
    for (let b = 0; b < B; b++) {
      const o = dOut + b * H;
      const inAt = headIn + b * I;
      for (let j = 0; j < H; j++) m[dbd + j] += m[o + j]!;
      for (let k = 0; k < I; k++) {
        const a = m[inAt + k]!;
        const wk = k * H;
        let s = 0;
        for (let j = 0; j < H; j++) {
          const d = m[o + j]!;
          m[dWd + wk + j] += a * d;
          s += d * m[Wd + wk + j]!;
        }
        if (k < U) m[dh + b * U + k] = s;
      }
    }

    m.fill(0, dc, dc + B * U);
    for (let t = T - 1; t >= 0; t--) {
      const zt = z + t * B * G;
      const st = t * B * U;
      // Gate gradients, written over the gate activations of this step (no longer needed).
      ops.gatesBackward(zt, t > 0 ? c + st - B * U : zeros, tanhC + st, dh, dc, B, U);
      if (t === 0) break;
      const hp = h + st - B * U;
      // dR += h_{t-1}ᵀ·dz_t;  dh_{t-1} = dz_t·Rᵀ
      ops.mm(dR, hp, zt, U, B, G, 1, U);
      m.fill(0, dh, dh + B * U);
      ops.mm(dh, zt, RT, B, G, U, G, 1);
    }
    // Input kernel and bias over every step at once: dW = xᵀ·dz, dBias = Σ dz.
    const rowsTotal = T * B;
    ops.mm(dW, x, z, F, rowsTotal, G, 1, F);
    ops.mm(dBias, this.one, z, 1, rowsTotal, G, 0, 0);
    return sum;
  }
}

/** Adam exactly as tfjs's AdamOptimizer applies it (ε = 1e-7, tfjs's float32 epsilon). */
export class Adam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly settings: { learningRate: number; beta1: number; beta2: number; epsilon: number };
  private accBeta1: number;
  private accBeta2: number;

  constructor(sizes: number[], learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7) {
    this.m = sizes.map((n) => new Float32Array(n));
    this.v = sizes.map((n) => new Float32Array(n));
    this.settings = { learningRate, beta1, beta2, epsilon };
    this.accBeta1 = beta1;
    this.accBeta2 = beta2;
  }

  step(params: Float32Array[], grads: Float32Array[]): void {
    const { beta1, beta2, epsilon, learningRate } = this.settings;
    const c1 = 1 - this.accBeta1;
    const c2 = 1 - this.accBeta2;
    for (let p = 0; p < params.length; p++) {
      const value = params[p]!;
      const g = grads[p]!;
      const m = this.m[p]!;
      const v = this.v[p]!;
      for (let i = 0; i < value.length; i++) {
        const gi = g[i]!;
        const mi = beta1 * m[i]! + (1 - beta1) * gi;
        const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        value[i] = value[i]! - (learningRate * (mi / c1)) / (Math.sqrt(vi / c2) + epsilon);
      }
    }
    this.accBeta1 *= beta1;
    this.accBeta2 *= beta2;
  }
}
