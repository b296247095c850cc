/**
 * A whole forecast round of one target with 1 000 series at a 1 m step and a 1 d season: the range
 * query over HTTP, JSON parsing, grid preparation, forecasts for every horizon and the streaming
 * anomaly detector, through TargetRunner.forecastOnce(). The first round reads the whole window
 * (the detector's warm-up, 2 066 points per series); steady rounds read the new step and two of
 * overlap from the series window cache; one round where a new series appears reads the whole window
 * again. Next to them, in the same run, what a steady round's data path cost before the cache: the
 * forecast window (1 551 points per series) read and prepared in full. For each: wall time and the
 * longest event-loop block (monitorEventLoopDelay max), against the 1 s.
 *
 * The answers come from a stand-in for Prometheus in a worker thread (so building ~50 MB of JSON
 * does not count against the round): query_range bodies shaped like Prometheus's, values printed
 * with all their digits.
 *
 *   nice -n 10 npx tsx bench/predictor-round.bench.ts
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { createLogger } from "../lib/logger.js";
import { loadBackend } from "../predictor/backend.js";
import { predictorConfigSchema, resolveTarget } from "../predictor/config.js";
import { ensembleNetwork } from "../predictor/ensemble.js";
import { servedModel } from "../predictor/forecaster.js";
import { createLstm } from "../predictor/lstm-model.js";
import { PredictorMetrics } from "../predictor/metrics.js";
import type { ModelMetadata } from "../predictor/model-store.js";
import { PrometheusClient } from "../predictor/prometheus-client.js";
import { prepareSeries } from "../predictor/series-preparation.js";
import { TargetRunner } from "../predictor/target-runner.js";

const SERIES = 1_000;
const STEP = 60_000;
const STEADY_ROUNDS = 5;
const TARGET_SECONDS = 1;
// A fixed clock on whole minutes; the stand-in's data is a function of time only.
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
// One series more appears after the steady rounds.
const APPEARS_AT = T0 + (2 * STEADY_ROUNDS + 1) * STEP;

const serverCode = `
const http = require("node:http");
const { parentPort, workerData } = require("node:worker_threads");
const { series, appearsAt } = workerData;
function value(i, t) {
  const k = t / 60000;
  return 100 + 10 * Math.sin((2 * Math.PI * k) / 1440) + (i % 7) + Math.sin(k * 12.9898 + i) * 0.5;
}
const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const p = new URLSearchParams(body);
    const step = Number(p.get("step")) * 1000;
    const start = Math.ceil((Number(p.get("start")) * 1000) / step) * step;
    const end = Number(p.get("end")) * 1000;
    const parts = [];
    for (let i = 0; i <= series; i++) {
      const from = i === series ? Math.max(start, appearsAt) : start;
      if (from > end) continue;
      const points = [];
      for (let t = from; t <= end; t += step) points.push("[" + t / 1000 + ',"' + value(i, t) + '"]');
      const machine = "m" + String(i).padStart(4, "0");
      parts.push('{"metric":{"line":"l' + (i % 12) + '","machine":"' + machine + '"},"values":[' + points.join(",") + "]}");
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end('{"status":"success","data":{"resultType":"matrix","result":[' + parts.join(",") + "]}}");
  });
});
// Rounds can be far apart; a socket closed while the client reuses it would fail a request.
server.keepAliveTimeout = 600000;
server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
`;

const worker = new Worker(serverCode, { eval: true, workerData: { series: SERIES, appearsAt: APPEARS_AT } });
const port = await new Promise<number>((resolve) => worker.once("message", resolve));
const url = `http://127.0.0.1:${port}`;

const config = predictorConfigSchema.parse({
  prometheus: { url },
  targets: [
    {
      name: "power",
      expr: "sum by (line, machine) (floorsense_meter_power_watts)",
      step: "1m",
      horizons: ["15m", "1h"],
      seasonality: ["1d"],
    },
  ],
});
const target = resolveTarget(config.targets[0]!);
// An LSTM-shaped training: window 48 + season 1 440 + 1 + 60 + 2 = 1 551 steps of forecast window.
const metadata = (served: string): ModelMetadata => ({
  format: 1,
  target: "power",
  version: 1,
  createdAt: "",
  served,
  reason: "",
  stepMs: STEP,
  horizonLabels: target.horizonLabels,
  horizonSteps: target.horizonSteps,
  lstm: { window: 48, units: 32, outputs: 2, season: 1_440 },
  backend: "wasm",
  level: 0.9,
  seriesStats: {},
  intervalWidths: { lstm: [0.1, 0.2], seasonal_naive_1d: [0.1, 0.2] },
  baselines: {
    seasonSteps: [1_440],
    seasonLabels: ["1d"],
    rangeSteps: 47,
    holtWinters: { sf: 0.3, tf: 0.1 },
  },
  backtest: [],
  trainingSeconds: 0,
  trainingWindows: 0,
  epochs: 0,
});
const FORECAST_STEPS = 1_551;
const { tf } = await loadBackend("wasm");
const shape = { window: 48, units: 32, outputs: 2, season: 1_440 };
// The service's default: an ensemble of three networks, served as one averaging network.
const ensemble = servedModel(
  metadata("lstm"),
  ensembleNetwork(
    tf,
    shape,
    [0, 1, 2].map(() => createLstm(tf, shape, 0.003)),
  ),
  tf,
);
const seasonalNaive = servedModel(metadata("seasonal_naive_1d"), undefined, undefined);

const clock = { now: T0 + 20_000 };
const client = new PrometheusClient({ url, timeoutMs: 120_000 });
const runner = new TargetRunner(target, {
  client,
  store: undefined as never,
  metrics: new PredictorMetrics(),
  logger: createLogger("predictor", "silent"),
  loadTf: () => loadBackend("cpu"),
  now: () => clock.now,
});
runner.served = ensemble;

const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();

async function measure(work: () => Promise<unknown>): Promise<{ seconds: number; blockSeconds: number }> {
  // Let the timers settle, then count only this piece of work.
  await new Promise((resolve) => setTimeout(resolve, 50));
  histogram.reset();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { seconds, blockSeconds: histogram.max / 1e9 };
}

const rows: Array<[string, { seconds: number; blockSeconds: number }]> = [];
const round = async () => {
  const count = await runner.forecastOnce();
  if (count < SERIES) throw new Error(`expected ${SERIES} series forecast, got ${count}`);
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function steadyRounds(served: string): Promise<void> {
  const steady: Array<{ seconds: number; blockSeconds: number }> = [];
  for (let i = 0; i < STEADY_ROUNDS; i++) {
    clock.now += STEP;
    steady.push(await measure(round));
  }
  rows.push([
    `steady round, ${served}: median of ${STEADY_ROUNDS}`,
    {
      seconds: median(steady.map((s) => s.seconds)),
      blockSeconds: median(steady.map((s) => s.blockSeconds)),
    },
  ]);
  rows.push([
    `steady round, ${served}: worst of ${STEADY_ROUNDS}`,
    {
      seconds: Math.max(...steady.map((s) => s.seconds)),
      blockSeconds: Math.max(...steady.map((s) => s.blockSeconds)),
    },
  ]);
}

rows.push([
  "first round, LSTM ensemble: full read (detector warm-up, 2 066 points/series), 4 000 forecast windows",
  await measure(round),
]);
await steadyRounds("LSTM ensemble");
runner.served = seasonalNaive;
await steadyRounds("seasonal naive");
clock.now = APPEARS_AT + 20_000;
rows.push(["a series appears, seasonal naive: whole window read again, in pieces", await measure(round)]);

// Before the cache: every round read and prepared the whole forecast window.
const end = Math.floor(clock.now / STEP) * STEP;
const start = end - FORECAST_STEPS * STEP;
const before = await measure(async () => {
  const raw = await client.queryRange(target.config.expr, start, end, STEP);
  const prepared = prepareSeries(raw, {
    startMs: start,
    endMs: end,
    stepMs: STEP,
    maxGapSteps: target.maxGapSteps,
    counter: false,
  });
  if (prepared.length < SERIES || prepared[0]!.values.length !== FORECAST_STEPS + 1) {
    throw new Error("unexpected window");
  }
});
await worker.terminate();

const steadyRow = rows[3]![1];
console.log(
  `\nForecast round, ${SERIES} series, 1 m step, 1 d season (forecast window ${FORECAST_STEPS + 1} points/series)`,
);
console.log("| round | wall (s) | longest event-loop block (s) | target (s) | block / target |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const [label, r] of [
  ...rows,
  ["before the cache: data path alone of a steady round (full window read + preparation)", before] as const,
]) {
  console.log(
    `| ${label} | ${r.seconds.toFixed(3)} | ${r.blockSeconds.toFixed(3)} | ${TARGET_SECONDS} | ${(r.blockSeconds / TARGET_SECONDS).toFixed(2)} |`,
  );
}
console.log(
  `\nsteady round (seasonal naive, median) / old data path alone: wall ${(steadyRow.seconds / before.seconds).toFixed(3)}, longest block ${(steadyRow.blockSeconds / before.blockSeconds).toFixed(3)}`,
);
