/**
 * ETTh1 accuracy: the predictor's global LSTM against the best baseline per column, horizon 24 h.
 * Split as in the literature: train rows [0, 8640), validation [8640, 11520), test [11520, 14400).
 * The dataset (CC BY-ND) is only read; nothing derived from it is written to disk.
 *
 *   nice -n 10 npx tsx bench/predictor-ett.bench.ts [--epochs N] [--window W] [--units U] [--windows MAX]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadBackend } from "../predictor/backend.js";
import { modelSettingsSchema } from "../predictor/config.js";
import { csvToSeries, readCsv } from "../predictor/csv-series.js";
import type { GridSeries } from "../predictor/series-preparation.js";
import { trainTarget } from "../predictor/training.js";
import { datasetsDir } from "./predictor-datasets.js";

const { values: args } = parseArgs({
  options: {
    epochs: { type: "string", default: "12" },
    window: { type: "string", default: "48" },
    units: { type: "string", default: "32" },
    windows: { type: "string", default: "16000" },
    batch: { type: "string", default: "256" },
    backend: { type: "string", default: "auto" },
  },
});

const file = join(datasetsDir(), "ett", "ETT-small", "ETTh1.csv");
const table = readCsv(file);
const columns = table.header.filter((h) => h !== "date");
const series: GridSeries[] = columns.map((column) => {
  const { series: s } = csvToSeries(table, file, "date", column, { maxGapSteps: 0 });
  // Only the standard 20 months; the rest of the file is never looked at.
  return { ...s, key: column, labels: { column }, values: s.values.slice(0, 14_400) };
});
const horizonSteps = Array.from({ length: 24 }, (_, i) => i + 1);
const { tf, backend } = await loadBackend(args.backend as "auto");
const settings = modelSettingsSchema.parse({
  window: Number(args.window),
  units: Number(args.units),
  epochs: Number(args.epochs),
  batch_size: Number(args.batch),
  learning_rate: 0.003,
  patience: 3,
  max_training_windows: Number(args.windows),
});
console.log(`ETTh1 ${columns.length} columns, backend ${backend}, LSTM ${JSON.stringify(settings)}`);

// Per column and model: sum of absolute errors over every test origin and horizon 1..24.
const errors = new Map<string, Map<string, { sum: number; n: number }>>();
const started = performance.now();
const outcome = await trainTarget({
  tf,
  series,
  horizonSteps,
  seasonSteps: [24, 168],
  seasonLabels: ["1d", "1w"],
  baselineRangeSteps: 23,
  level: 0.9,
  model: settings,
  split: { trainEnd: 8_640, validationEnd: 11_520, end: 14_400 },
  stride: 1,
  onEpoch: (epoch, epochs, loss, valLoss) =>
    console.log(
      `epoch ${epoch}/${epochs} loss ${loss.toFixed(4)} val ${valLoss?.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
    ),
  onTestForecasts: (model, cases, forecasts) => {
    cases.forEach((c, i) => {
      const perModel = errors.get(c.series.key) ?? new Map();
      errors.set(c.series.key, perModel);
      const acc = perModel.get(model) ?? { sum: 0, n: 0 };
      perModel.set(model, acc);
      horizonSteps.forEach((h, k) => {
        const actual = c.series.values[c.origin + h]!;
        const f = forecasts[i]![k]!;
        if (Number.isNaN(actual) || Number.isNaN(f)) return;
        acc.sum += Math.abs(actual - f);
        acc.n++;
      });
    });
  },
});
const seconds = (performance.now() - started) / 1000;

console.log(`\ntrained ${outcome.epochs} epochs on ${outcome.windows} windows in ${seconds.toFixed(0)} s\n`);
console.log("| column | LSTM MAE | best baseline | baseline MAE | LSTM / baseline |");
console.log("| --- | ---: | --- | ---: | ---: |");
const ratios: number[] = [];
for (const column of columns) {
  const perModel = errors.get(column)!;
  const mae = (model: string) => perModel.get(model)!.sum / perModel.get(model)!.n;
  const baselines = [...perModel.keys()].filter((m) => m !== "lstm");
  const best = baselines.reduce((a, b) => (mae(b) < mae(a) ? b : a));
  const ratio = mae("lstm") / mae(best);
  ratios.push(ratio);
  console.log(
    `| ${column} | ${mae("lstm").toFixed(4)} | ${best} | ${mae(best).toFixed(4)} | ${ratio.toFixed(3)} |`,
  );
}
const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
console.log(
  `\nmean LSTM/best-baseline MAE ratio ${mean.toFixed(3)} (${((1 - mean) * 100).toFixed(1)} % below; target ≥ 10 %)`,
);
console.log("\nall models, every column pooled (MASE vs in-sample seasonal naive 1d):");
for (const r of [...outcome.reports].sort((a, b) => a.overall.mase - b.overall.mase)) {
  console.log(
    `  ${r.model.padEnd(18)} MAE ${r.overall.mae.toFixed(4)}  MASE ${r.overall.mase.toFixed(4)}  coverage ${r.overall.coverage.toFixed(3)}`,
  );
}
console.log(`served: ${outcome.decision.served} (${outcome.decision.reason})`);
