/**
 * Training throughput of the predictor's LSTM shape (windows/s) on TensorFlow.js wasm and cpu,
 * next to PyTorch CPU (Debian python3-torch) with the same shape in the same run; and the time to
 * forecast 1 000 series for every horizon.
 *
 *   nice -n 10 npx tsx bench/predictor-speed.bench.ts   (FLOORSENSE_PYTHON selects the python with torch)
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { FEATURES_PER_STEP } from "../predictor/features.js";
import { forecastAll, servedModel } from "../predictor/forecaster.js";
import { createLstm } from "../predictor/lstm-model.js";
import type { ModelMetadata } from "../predictor/model-store.js";
import type { GridSeries } from "../predictor/series-preparation.js";

const WINDOW = 48;
const UNITS = 32;
const OUTPUTS = 24;
const SAMPLES = 2_048;

setWasmPaths(
  join(
    dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/package.json")),
    "dist/",
  ),
);

async function tfjsThroughput(backend: string, batch: number): Promise<number> {
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
  const started = performance.now();
  await model.fit([x, g], y, { epochs: 1, batchSize: batch, verbose: 0, shuffle: true });
  const seconds = (performance.now() - started) / 1000;
  model.dispose();
  x.dispose();
  g.dispose();
  y.dispose();
  return SAMPLES / seconds;
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
t = time.perf_counter()
epoch()
print(${SAMPLES} / (time.perf_counter() - t))
`;
  try {
    return Number(execFileSync(python, ["-c", script], { encoding: "utf8", timeout: 300_000 }).trim());
  } catch (error) {
    console.log(`PyTorch unavailable (${python}): ${(error as Error).message.split("\n")[0]}`);
    return undefined;
  }
}

console.log(
  `LSTM shape: window ${WINDOW} × ${FEATURES_PER_STEP} features, ${UNITS} units, ${OUTPUTS} outputs, Adam, MAE; ${SAMPLES} windows per epoch\n`,
);
console.log(
  "| batch | tfjs wasm | tfjs cpu | PyTorch CPU 1 thread | PyTorch CPU 2 threads | wasm / PyTorch 1 thread |",
);
console.log("| ---: | ---: | ---: | ---: | ---: | ---: |");
for (const batch of [64, 256, 1_024]) {
  const wasm = await tfjsThroughput("wasm", batch);
  const cpu = batch === 64 ? await tfjsThroughput("cpu", batch) : Number.NaN;
  const torch1 = torchThroughput(batch, 1);
  const torch2 = torchThroughput(batch, 2);
  const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "–" : v.toFixed(0));
  console.log(
    `| ${batch} | ${fmt(wasm)} | ${fmt(cpu)} | ${fmt(torch1)} | ${fmt(torch2)} | ${torch1 ? (wasm / torch1).toFixed(2) : "–"} |`,
  );
}

// Inference alone (what the forecast loop does), per predict() call size.
await tf.setBackend("wasm");
{
  const model = createLstm(tf, { window: WINDOW, units: UNITS, outputs: OUTPUTS, season: 0 }, 0.003);
  console.log("\n| predict() batch | tfjs wasm inference windows/s | ms per call |");
  console.log("| ---: | ---: | ---: |");
  for (const batch of [128, 512, 2_048]) {
    const x = tf.randomNormal([batch, WINDOW, FEATURES_PER_STEP]);
    const g = tf.randomNormal([batch, OUTPUTS]);
    (model.predict([x, g]) as tf.Tensor).dispose();
    const started = performance.now();
    const out = model.predict([x, g]) as tf.Tensor;
    await out.data();
    const ms = performance.now() - started;
    out.dispose();
    x.dispose();
    g.dispose();
    console.log(`| ${batch} | ${((batch / ms) * 1000).toFixed(0)} | ${ms.toFixed(0)} |`);
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
const network = createLstm(tf, { window: WINDOW, units: UNITS, outputs: 3, season: 96 }, 0.003);
console.log(
  "\n| forecast round, 1 000 series × 3 horizons (+ anomaly scores) | first round (s) | next round (s) | steady state (s) |",
);
console.log("| --- | ---: | ---: | ---: |");
const nextStep = series.map((s) => ({ ...s, values: Float64Array.from([...s.values, s.values.at(-96)!]) }));
for (const [label, served] of [
  ["LSTM (wasm)", servedModel(metadata("lstm", 96), network, tf)],
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
