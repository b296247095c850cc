/**
 * Training throughput of the predictor's LSTM shape (windows/s): the fused trainer the predictor
 * uses (lstm-kernel.ts, WebAssembly SIMD products), the same kernel with plain TypeScript products,
 * and tfjs-layers' fit() on the wasm and cpu backends, next to PyTorch CPU (Debian python3-torch)
 * with 1 and 2 threads, same shape, same run; where the time goes in each; and the time to
 * forecast 1 000 series for every horizon.
 *
 *   nice -n 10 npx tsx bench/predictor-speed.bench.ts   (FLOORSENSE_PYTHON selects the python with torch)
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { ensembleNetwork } from "../predictor/ensemble.js";
import { FEATURES_PER_STEP } from "../predictor/features.js";
import { forecastAll, servedModel } from "../predictor/forecaster.js";
import { Adam, LstmKernel, parameterSizes } from "../predictor/lstm-kernel.js";
import { createLstm, readKernelParams, trainLstmFused } from "../predictor/lstm-model.js";
import { createMatrixOps } from "../predictor/lstm-simd.js";
import type { ModelMetadata } from "../predictor/model-store.js";
import type { GridSeries } from "../predictor/series-preparation.js";

const WINDOW = 48;
const UNITS = 32;
const OUTPUTS = 24;
const SAMPLES = 2_048;
/**
 * Timed epochs per configuration; the best counts. The machine's two cores are shared with other
 * jobs, and the best of a few epochs is the one least disturbed by them.
 */
const EPOCHS = Number(process.env.BENCH_EPOCHS ?? 3);

setWasmPaths(
  join(
    dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/package.json")),
    "dist/",
  ),
);

async function tfjsThroughput(backend: string, batch: number, epochs = EPOCHS): Promise<number> {
  await tf.setBackend(backend);
  await tf.ready();
  const model = createLstm(tf, { window: WINDOW, units: UNITS, outputs: OUTPUTS, season: 0 }, 0.003);
  const x = tf.randomNormal([SAMPLES, WINDOW, FEATURES_PER_STEP]);
  const g = tf.randomNormal([SAMPLES, OUTPUTS]);
  const y = tf.randomNormal([SAMPLES, OUTPUTS]);
  // One warm-up batch, so kernel set-up is not counted.
  await model.fit([x.slice(0, batch), g.slice(0, batch)], y.slice(0, batch), {
    epochs: 1,
    batchSize: batch,
    verbose: 0,
  });
  let best = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const started = performance.now();
    await model.fit([x, g], y, { epochs: 1, batchSize: batch, verbose: 0, shuffle: true });
    best = Math.max(best, SAMPLES / ((performance.now() - started) / 1000));
  }
  model.dispose();
  x.dispose();
  g.dispose();
  y.dispose();
  return best;
}

const SHAPE = { window: WINDOW, units: UNITS, outputs: OUTPUTS, season: 0 };
const KERNEL_SHAPE = { window: WINDOW, features: FEATURES_PER_STEP, units: UNITS, outputs: OUTPUTS };

function randomArrays(count: number) {
  const normal = () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  const fill = (n: number) => Float32Array.from({ length: n }, normal);
  return {
    xs: fill(count * WINDOW * FEATURES_PER_STEP),
    gaps: fill(count * OUTPUTS),
    ys: fill(count * OUTPUTS),
    count,
  };
}

/** The production path: trainLstmFused on a tfjs model (weights read from and written back to it). */
async function fusedThroughput(batch: number): Promise<number> {
  await tf.setBackend("wasm");
  const model = createLstm(tf, SHAPE, 0.003);
  const data = randomArrays(SAMPLES);
  const options = { epochs: 1, batchSize: batch, patience: 1 };
  await trainLstmFused(tf, model, { ...randomArrays(batch) }, undefined, SHAPE, options);
  let best = 0;
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const started = performance.now();
    await trainLstmFused(tf, model, data, undefined, SHAPE, options);
    best = Math.max(best, SAMPLES / ((performance.now() - started) / 1000));
  }
  model.dispose();
  return best;
}

/** The same kernel with its matrix products as plain TypeScript loops: what SIMD adds. */
function fusedJsThroughput(batch: number): number {
  const kernel = new LstmKernel(KERNEL_SHAPE, readKernelParams(createLstm(tf, SHAPE, 0.003), SHAPE), "js");
  const adam = new Adam(parameterSizes(KERNEL_SHAPE), 0.003);
  const data = randomArrays(SAMPLES);
  kernel.gradients(data.xs, data.gaps, data.ys, undefined, 0, batch);
  // One epoch: the TypeScript loops are slow enough to be steady.
  const started = performance.now();
  for (let from = 0; from < SAMPLES; from += batch) {
    kernel.gradients(data.xs, data.gaps, data.ys, undefined, from, Math.min(SAMPLES, from + batch));
    adam.step(kernel.params, kernel.grads);
  }
  return SAMPLES / ((performance.now() - started) / 1000);
}

function torchThroughput(batch: number, threads: number): number | undefined {
  const python = process.env.FLOORSENSE_PYTHON ?? "/usr/bin/python3";
  const script = `
import time, torch
torch.set_num_threads(${threads})
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(${FEATURES_PER_STEP}, ${UNITS}, batch_first=True)
        self.head = torch.nn.Linear(${UNITS} + ${OUTPUTS}, ${OUTPUTS})
    def forward(self, x, g):
        out, _ = self.lstm(x)
        return self.head(torch.cat([out[:, -1, :], g], dim=1))
m = M()
opt = torch.optim.Adam(m.parameters(), lr=0.003)
x = torch.randn(${SAMPLES}, ${WINDOW}, ${FEATURES_PER_STEP})
g = torch.randn(${SAMPLES}, ${OUTPUTS})
y = torch.randn(${SAMPLES}, ${OUTPUTS})
def epoch():
    perm = torch.randperm(${SAMPLES})
    for i in range(0, ${SAMPLES}, ${batch}):
        idx = perm[i:i + ${batch}]
        opt.zero_grad()
        loss = (m(x[idx], g[idx]) - y[idx]).abs().mean()
        loss.backward()
        opt.step()
epoch()
best = 0
for _ in range(${EPOCHS}):
    t = time.perf_counter()
    epoch()
    best = max(best, ${SAMPLES} / (time.perf_counter() - t))
print(best)
`;
  try {
    return Number(execFileSync(python, ["-c", script], { encoding: "utf8", timeout: 300_000 }).trim());
  } catch (error) {
    console.log(`PyTorch unavailable (${python}): ${(error as Error).message.split("\n")[0]}`);
    return undefined;
  }
}

const torchVersion = (() => {
  try {
    const python = process.env.FLOORSENSE_PYTHON ?? "/usr/bin/python3";
    return execFileSync(python, ["-c", "import torch; print(torch.__version__)"], {
      encoding: "utf8",
    }).trim();
  } catch {
    return "unavailable";
  }
})();
console.log(
  `LSTM shape: window ${WINDOW} × ${FEATURES_PER_STEP} features, ${UNITS} units, ${OUTPUTS} outputs, Adam, MAE; ${SAMPLES} windows per epoch, best of ${EPOCHS} epochs; PyTorch ${torchVersion}; load average ${os.loadavg()[0]!.toFixed(1)}\n`,
);
console.log(
  "| batch | fused (wasm SIMD) | fused (JS loops) | tfjs wasm | tfjs cpu | PyTorch 1 thread | PyTorch 2 threads | fused / PyTorch 1 thread | fused / PyTorch 2 threads | fused / tfjs wasm | tfjs wasm / PyTorch 1 thread |",
);
console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "–" : v.toFixed(0));
const ratio = (a: number, b: number | undefined) => (b ? (a / b).toFixed(2) : "–");
for (const batch of [64, 256, 1_024]) {
  // Interleaved, so a change in the machine's load hits every column alike.
  const fused = await fusedThroughput(batch);
  const torch1 = torchThroughput(batch, 1);
  const fusedJs = fusedJsThroughput(batch);
  const wasm = await tfjsThroughput("wasm", batch);
  const torch2 = torchThroughput(batch, 2);
  const cpu = batch === 64 ? await tfjsThroughput("cpu", batch, 1) : Number.NaN;
  console.log(
    `| ${batch} | ${fmt(fused)} | ${fmt(fusedJs)} | ${fmt(wasm)} | ${fmt(cpu)} | ${fmt(torch1)} | ${fmt(torch2)} | ${ratio(fused, torch1)} | ${ratio(fused, torch2)} | ${ratio(fused, wasm)} | ${ratio(wasm, torch1)} |`,
  );
}

// Where the time goes, batch 256.
{
  const batch = 256;
  const reps = 8;
  const data = randomArrays(batch);
  const kernel = new LstmKernel(KERNEL_SHAPE, readKernelParams(createLstm(tf, SHAPE, 0.003), SHAPE));
  const adam = new Adam(parameterSizes(KERNEL_SHAPE), 0.003);
  // The fastest of several runs: the least disturbed by other jobs on the machine.
  const time = (fn: () => void) => {
    fn();
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < reps; r++) {
      const started = performance.now();
      fn();
      best = Math.min(best, performance.now() - started);
    }
    return best;
  };
  const step = time(() => {
    kernel.gradients(data.xs, data.gaps, data.ys, undefined, 0, batch);
    adam.step(kernel.params, kernel.grads);
  });
  const forward = time(() => kernel.loss(data.xs, data.gaps, data.ys, batch, batch));
  const adamOnly = time(() => adam.step(kernel.params, kernel.grads));
  // The kernel's parts alone, same sizes and calls, on their own memory.
  const ops = createMatrixOps();
  const G = 4 * UNITS;
  const rows = WINDOW * batch;
  const z = 0;
  const x = z + rows * G;
  const h = x + rows * FEATURES_PER_STEP;
  const c = h + rows * UNITS;
  const w = c + rows * UNITS;
  const r = w + FEATURES_PER_STEP * G;
  const out = r + UNITS * G;
  ops.ensure(out + batch * G + G);
  ops.heap.fill(0.01);
  const forwardProducts = time(() => {
    ops.mm(z, x, w, rows, FEATURES_PER_STEP, G, FEATURES_PER_STEP, 1);
    for (let t = 1; t < WINDOW; t++) ops.mm(z + t * batch * G, h, r, batch, UNITS, G, UNITS, 1);
  });
  const backwardProducts = time(() => {
    for (let t = 1; t < WINDOW; t++) {
      ops.mm(out, h, z + t * batch * G, UNITS, batch, G, 1, UNITS);
      ops.mm(out, z + t * batch * G, r, batch, G, UNITS, G, 1);
    }
    ops.mm(out, x, z, FEATURES_PER_STEP, rows, G, 1, FEATURES_PER_STEP);
  });
  const gates = time(() => {
    for (let t = 0; t < WINDOW; t++) ops.gates(z + t * batch * G, c, c, c, h, batch, UNITS);
  });
  const gatesBackward = time(() => {
    for (let t = 0; t < WINDOW; t++) ops.gatesBackward(z + t * batch * G, c, c, h, out, batch, UNITS);
  });
  const macs = rows * (FEATURES_PER_STEP * G) * 2 + (WINDOW - 1) * batch * UNITS * G * 3;
  console.log(`\nFused trainer, batch ${batch}, ms per batch (${kernel.matrixCode}):`);
  console.log("| part | ms | share |");
  console.log("| --- | ---: | ---: |");
  const share = (ms: number) => `${((100 * ms) / step).toFixed(0)} %`;
  const rest = step - forwardProducts - backwardProducts - gates - gatesBackward - adamOnly;
  const row = (label: string, ms: number) => console.log(`| ${label} | ${ms.toFixed(1)} | ${share(ms)} |`);
  row("whole step (forward, backward, Adam)", step);
  row("forward pass alone", forward);
  row("matrix products, forward (input projection + recurrent)", forwardProducts);
  row("matrix products, backward (recurrent kernel, state, input kernel)", backwardProducts);
  row("gates forward (hard sigmoid, tanh, cell)", gates);
  row("gates backward", gatesBackward);
  row("Adam", adamOnly);
  row("the rest: head, loss, gathering the batch, bias, transposes (TypeScript)", rest);
  console.log(
    `Matrix products: ${(macs / 1e6).toFixed(1)} M multiply-adds per batch, ${(macs / ((forwardProducts + backwardProducts) / 1000) / 1e9).toFixed(1)} G/s.`,
  );

  await tf.setBackend("wasm");
  const model = createLstm(tf, SHAPE, 0.003);
  const xt = tf.tensor3d(data.xs, [batch, WINDOW, FEATURES_PER_STEP]);
  const gt = tf.tensor2d(data.gaps, [batch, OUTPUTS]);
  const yt = tf.tensor2d(data.ys, [batch, OUTPUTS]);
  await model.trainOnBatch([xt, gt], yt);
  const started = performance.now();
  const profile = await tf.profile(async () => {
    await model.trainOnBatch([xt, gt], yt);
  });
  const wall = performance.now() - started;
  const kernelMs = profile.kernels.reduce((sum, k) => sum + (Number(k.kernelTimeMs) || 0), 0);
  const byName = new Map<string, number>();
  for (const k of profile.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + 1);
  const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 8);
  console.log(
    `\ntfjs wasm, one trainOnBatch of ${batch}: ${profile.kernels.length} kernel calls, ${wall.toFixed(0)} ms wall (profiled), ${kernelMs.toFixed(0)} ms inside kernels; most frequent: ${top.map(([n, c]) => `${n} ×${c}`).join(", ")}`,
  );
  for (const t of [xt, gt, yt]) t.dispose();
  model.dispose();
}

// Inference alone (what the forecast loop does), per call size: tfjs predict() and the fused forward pass.
await tf.setBackend("wasm");
{
  const model = createLstm(tf, SHAPE, 0.003);
  const kernel = new LstmKernel(KERNEL_SHAPE, readKernelParams(model, SHAPE));
  console.log(
    "\n| windows per call | tfjs wasm predict() windows/s | ms per call | fused forward windows/s | ms per call |",
  );
  console.log("| ---: | ---: | ---: | ---: | ---: |");
  for (const batch of [128, 512, 2_048]) {
    const data = randomArrays(batch);
    const x = tf.tensor3d(data.xs, [batch, WINDOW, FEATURES_PER_STEP]);
    const g = tf.tensor2d(data.gaps, [batch, OUTPUTS]);
    (model.predict([x, g]) as tf.Tensor).dispose();
    let started = performance.now();
    const out = model.predict([x, g]) as tf.Tensor;
    await out.data();
    const ms = performance.now() - started;
    out.dispose();
    x.dispose();
    g.dispose();
    kernel.predict(data.xs, data.gaps, batch);
    started = performance.now();
    kernel.predict(data.xs, data.gaps, batch);
    const fusedMs = performance.now() - started;
    console.log(
      `| ${batch} | ${((batch / ms) * 1000).toFixed(0)} | ${ms.toFixed(0)} | ${((batch / fusedMs) * 1000).toFixed(0)} | ${fusedMs.toFixed(1)} |`,
    );
  }
  model.dispose();
}

// Two threads: each trains on half of every batch, as data-parallel training would, without the
// gradient exchange (so an upper bound); the same work on one thread next to it.
{
  const tsx = pathToFileURL(
    join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/esm/api/index.mjs"),
  ).href;
  const kernelUrl = new URL("../predictor/lstm-kernel.ts", import.meta.url).href;
  const source = `
const { parentPort, workerData } = require("node:worker_threads");
import(${JSON.stringify(tsx)}).then(async (tsx) => {
  const { Adam, LstmKernel, parameterSizes } = await tsx.tsImport(${JSON.stringify(kernelUrl)}, ${JSON.stringify(kernelUrl)});
  const { shape, windows, batch } = workerData;
  const sizes = parameterSizes(shape);
  const kernel = new LstmKernel(shape, sizes.map((n) => Float32Array.from({ length: n }, () => (Math.random() - 0.5) * 0.3)));
  const adam = new Adam(sizes, 0.003);
  const random = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
  const xs = random(windows * shape.window * shape.features);
  const gaps = random(windows * shape.outputs);
  const ys = random(windows * shape.outputs);
  const epoch = () => {
    for (let from = 0; from < windows; from += batch) {
      kernel.gradients(xs, gaps, ys, undefined, from, Math.min(windows, from + batch));
      adam.step(kernel.params, kernel.grads);
    }
  };
  epoch();
  parentPort.on("message", () => {
    const started = performance.now();
    epoch();
    parentPort.postMessage(performance.now() - started);
  });
  parentPort.postMessage("ready");
});`;
  const parallel = async (threads: number, batch: number): Promise<number> => {
    const workers = Array.from(
      { length: threads },
      () =>
        new Worker(source, {
          eval: true,
          workerData: { shape: KERNEL_SHAPE, windows: SAMPLES / threads, batch: batch / threads },
        }),
    );
    const next = (w: Worker) => new Promise<unknown>((resolve) => w.once("message", resolve));
    await Promise.all(workers.map(next));
    let best = 0;
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      const done = workers.map(next);
      for (const w of workers) w.postMessage("go");
      const ms = Math.max(...((await Promise.all(done)) as number[]));
      best = Math.max(best, SAMPLES / (ms / 1000));
    }
    await Promise.all(workers.map((w) => w.terminate()));
    return best;
  };
  console.log("\n| batch | fused, 1 thread | fused, 2 threads (upper bound) | 2 threads / 1 thread |");
  console.log("| ---: | ---: | ---: | ---: |");
  for (const batch of [64, 256, 1_024]) {
    const one = await parallel(1, batch);
    const two = await parallel(2, batch);
    console.log(`| ${batch} | ${one.toFixed(0)} | ${two.toFixed(0)} | ${(two / one).toFixed(2)} |`);
  }
}

// Forecasting: 1 000 series, horizons 15m/1h/24h at 15m steps, served LSTM and served baseline.
await tf.setBackend("wasm");
const horizonSteps = [1, 4, 96];
const series: GridSeries[] = Array.from({ length: 1_000 }, (_, i) => ({
  key: `m${i}`,
  labels: { machine: `m${i}` },
  startMs: 0,
  stepMs: 900_000,
  values: Float64Array.from({ length: 400 }, (_, k) => 100 + 10 * Math.sin((2 * Math.PI * k) / 96) + (i % 7)),
  interpolated: 0,
  missing: 0,
}));
const metadata = (served: string, season: number): ModelMetadata => ({
  format: 1,
  target: "bench",
  version: 1,
  createdAt: "",
  served,
  reason: "",
  stepMs: 900_000,
  horizonLabels: ["15m", "1h", "24h"],
  horizonSteps,
  lstm: { window: WINDOW, units: UNITS, outputs: 3, season },
  backend: "wasm",
  level: 0.9,
  seriesStats: {},
  intervalWidths: { lstm: [0.1, 0.2, 0.3], seasonal_naive_1d: [0.1, 0.2, 0.3] },
  baselines: { seasonSteps: [96], seasonLabels: ["1d"], rangeSteps: 47, holtWinters: { sf: 0.3, tf: 0.1 } },
  backtest: [],
  trainingSeconds: 0,
  trainingWindows: 0,
  epochs: 0,
});
const forecastShape = { window: WINDOW, units: UNITS, outputs: 3, season: 96 };
const network = createLstm(tf, forecastShape, 0.003);
// The service's default: an ensemble of three networks, served as one averaging network.
const ensemble = ensembleNetwork(
  tf,
  forecastShape,
  [0, 1, 2].map(() => createLstm(tf, forecastShape, 0.003)),
);
console.log(
  "\n| forecast round, 1 000 series × 3 horizons (+ anomaly scores) | first round (s) | next round (s) | steady state (s) |",
);
console.log("| --- | ---: | ---: | ---: |");
const nextStep = series.map((s) => ({ ...s, values: Float64Array.from([...s.values, s.values.at(-96)!]) }));
for (const [label, served] of [
  ["LSTM, one network", servedModel(metadata("lstm", 96), network, tf)],
  ["LSTM, ensemble of 3 (default)", servedModel(metadata("lstm", 96), ensemble, tf)],
  ["seasonal naive", servedModel(metadata("seasonal_naive_1d", 96), undefined, undefined)],
] as const) {
  let started = performance.now();
  const first = await forecastAll(served, series);
  const cold = (performance.now() - started) / 1000;
  started = performance.now();
  const next = await forecastAll(served, nextStep);
  const warm = (performance.now() - started) / 1000;
  if (first.length !== 1_000 || next.length !== 1_000) throw new Error("expected 1000 forecasts");
  // Steady state: every older forecast is cached, one new window per series.
  started = performance.now();
  await served.model.predict(
    nextStep.map((s) => ({ series: s, origin: s.values.length - 1 })),
    horizonSteps,
  );
  const steady = (performance.now() - started) / 1000;
  console.log(`| ${label} | ${cold.toFixed(3)} | ${warm.toFixed(3)} | ${steady.toFixed(3)} |`);
}
