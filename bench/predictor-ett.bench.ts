/**
 * ETTh1 accuracy of what the predictor serves, against the best baseline per column, horizon 24 h.
 * Split as in the literature: train rows [0, 8640), validation [8640, 11520), test [11520, 14400).
 * The dataset (CC BY-ND) is only read; nothing derived from it is written to disk.
 *
 * The service's own path: trainTarget (what the training worker runs: LSTM, baselines, blend chosen
 * on validation, intervals calibrated on validation, backtest, promotion), the metadata the service
 * saves (trainingMetadata), and servedModel() rebuilding the served forecaster from it, whose test
 * forecasts are then scored per column. `--runs N` repeats the whole training N times.
 *
 *   nice -n 10 npx tsx bench/predictor-ett.bench.ts [--runs N] [--ensemble N] [--epochs N] [--window W] [--units U] [--windows MAX]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadBackend } from "../predictor/backend.js";
import { casesFor, originsBetween } from "../predictor/backtest.js";
import { baselineModels } from "../predictor/baselines.js";
import type { BlendChoice } from "../predictor/blend.js";
import { modelSettingsSchema } from "../predictor/config.js";
import { csvToSeries, readCsv } from "../predictor/csv-series.js";
import { differenceLag } from "../predictor/features.js";
import type { ForecastCase } from "../predictor/forecast-model.js";
import { servedModel } from "../predictor/forecaster.js";
import type { GridSeries } from "../predictor/series-preparation.js";
import { trainingMetadata } from "../predictor/target-runner.js";
import { trainTarget } from "../predictor/training.js";
import { datasetsDir } from "./predictor-datasets.js";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "1" },
    // Unset: the service's own defaults (predictor/config.ts), so the figure is what it serves.
    epochs: { type: "string" },
    window: { type: "string" },
    units: { type: "string" },
    windows: { type: "string" },
    batch: { type: "string" },
    patience: { type: "string" },
    ensemble: { type: "string" },
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
const split = { trainEnd: 8_640, validationEnd: 11_520, end: 14_400 };
const level = 0.9;
const { tf, backend } = await loadBackend(args.backend as "auto");
const given = (text: string | undefined) => (text === undefined ? undefined : Number(text));
const settings = modelSettingsSchema.parse({
  window: given(args.window),
  units: given(args.units),
  epochs: given(args.epochs),
  batch_size: given(args.batch),
  patience: given(args.patience),
  max_training_windows: given(args.windows),
  ensemble: given(args.ensemble),
});
console.log(`ETTh1 ${columns.length} columns, backend ${backend}, LSTM ${JSON.stringify(settings)}`);

// Every test origin whose 24 targets lie in the test months (the training uses the same minimum origin).
const minOrigin = settings.window - 1 + differenceLag(24);
const testCases = casesFor(series, () => originsBetween(split.validationEnd, split.end, 24, minOrigin, 1));

/** Mean absolute error per column over every case and horizon 1..24, and the 90 % interval coverage. */
function scoreByColumn(
  forecasts: Float64Array[],
  half?: (c: ForecastCase, k: number) => number,
  cases: ForecastCase[] = testCases,
) {
  const acc = new Map<string, { sum: number; n: number; inside: number }>();
  cases.forEach((c, i) => {
    const a = acc.get(c.series.key) ?? { sum: 0, n: 0, inside: 0 };
    acc.set(c.series.key, a);
    horizonSteps.forEach((h, k) => {
      const actual = c.series.values[c.origin + h]!;
      const f = forecasts[i]![k]!;
      if (Number.isNaN(actual) || Number.isNaN(f)) return;
      a.sum += Math.abs(actual - f);
      a.n++;
      if (half && Math.abs(actual - f) <= half(c, k)) a.inside++;
    });
  });
  return new Map([...acc].map(([column, a]) => [column, { mae: a.sum / a.n, coverage: a.inside / a.n }]));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const summary: string[] = [];
for (let run = 1; run <= Number(args.runs); run++) {
  const started = performance.now();
  let lstmTest: { cases: ForecastCase[]; forecasts: Float64Array[] } | undefined;
  const outcome = await trainTarget({
    tf,
    series,
    horizonSteps,
    seasonSteps: [24, 168],
    seasonLabels: ["1d", "1w"],
    baselineRangeSteps: 23,
    level,
    model: settings,
    split,
    stride: 1,
    onTestForecasts: (model, cases, forecasts) => {
      if (model === "lstm") lstmTest = { cases, forecasts };
    },
    onEpoch: (epoch, epochs, loss, valLoss) =>
      console.log(
        `run ${run} epoch ${epoch}/${epochs} loss ${loss.toFixed(4)} val ${valLoss?.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
      ),
  });
  const seconds = (performance.now() - started) / 1000;
  const metadata = {
    ...trainingMetadata(
      {
        target: "etth1",
        createdAt: new Date().toISOString(),
        stepMs: series[0]!.stepMs,
        horizonLabels: horizonSteps.map((h) => `${h}h`),
        horizonSteps,
        level,
        backend,
        trainingSeconds: seconds,
      },
      outcome,
    ),
    version: 0,
  };
  // The interval the forecast loop publishes: the series' own widths where it has them.
  const served = servedModel(metadata, outcome.lstm?.model, tf);
  const report = outcome.reports.find((r) => r.model === metadata.served)!;
  const widthsOf = (s: GridSeries) =>
    report.seriesIntervalWidths?.[s.key] ?? metadata.intervalWidths[metadata.served]!;
  const servedForecasts = await served.model.predict(testCases, horizonSteps);
  const servedScore = scoreByColumn(
    servedForecasts,
    (c, k) => widthsOf(c.series)[k]! * served.statsOf(c.series).std,
  );
  const lstmScore = lstmTest ? scoreByColumn(lstmTest.forecasts, undefined, lstmTest.cases) : undefined;
  const baselines = new Map<string, Map<string, { mae: number }>>();
  for (const baseline of baselineModels(outcome.baselines)) {
    baselines.set(baseline.name, scoreByColumn(await baseline.predict(testCases, horizonSteps)));
  }
  // The served forecasts, rebuilt from the saved metadata, must equal what the backtest scored.
  let pooledSum = 0;
  let pooledN = 0;
  testCases.forEach((c, i) => {
    horizonSteps.forEach((h, k) => {
      const actual = c.series.values[c.origin + h]!;
      const f = servedForecasts[i]![k]!;
      if (Number.isNaN(actual) || Number.isNaN(f)) return;
      pooledSum += Math.abs(actual - f);
      pooledN++;
    });
  });

  console.log(
    `\nrun ${run}: ${outcome.epochs} epochs on ${outcome.windows} windows, ${seconds.toFixed(0)} s; served: ${metadata.served} (${metadata.reason})`,
  );
  console.log(
    `served model rebuilt from metadata: pooled test MAE ${(pooledSum / pooledN).toFixed(6)} on ${pooledN} pairs, backtest report ${report.overall.mae.toFixed(6)} on ${report.overall.count}`,
  );
  if (pooledN !== report.overall.count || Math.abs(pooledSum / pooledN - report.overall.mae) > 1e-9) {
    throw new Error("the served model does not forecast what the backtest scored");
  }
  console.log(
    "\n| column | best baseline (test) | baseline MAE | LSTM MAE | LSTM / baseline | blend (validation) | served MAE | served / baseline | served 90 % coverage |",
  );
  console.log("| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
  const ratios = { lstm: [] as number[], served: [] as number[] };
  for (const column of columns) {
    const [best, base] = [...baselines].reduce<[string, number]>(
      (winner, [name, score]) => {
        const mae = score.get(column)!.mae;
        return mae < winner[1] ? [name, mae] : winner;
      },
      ["", Number.POSITIVE_INFINITY],
    );
    const lstm = lstmScore?.get(column)?.mae ?? Number.NaN;
    const s = servedScore.get(column)!;
    const choice: BlendChoice | undefined = metadata.blend
      ? (metadata.blend.perSeries[column] ?? metadata.blend.pooled)
      : undefined;
    ratios.lstm.push(lstm / base);
    ratios.served.push(s.mae / base);
    console.log(
      `| ${column} | ${best} | ${base.toFixed(4)} | ${lstm.toFixed(4)} | ${(lstm / base).toFixed(3)} | ${choice ? `${choice.baseline}, ${choice.weight.toFixed(1)}` : "–"} | ${s.mae.toFixed(4)} | ${(s.mae / base).toFixed(3)} | ${s.coverage.toFixed(3)} |`,
    );
  }
  const line = (what: string, xs: number[]) =>
    `${what} / best-baseline MAE ratio ${mean(xs).toFixed(3)} (${((1 - mean(xs)) * 100).toFixed(1)} % below; target ≥ 10 %)`;
  console.log(`\nmean ${line("LSTM alone", ratios.lstm)}`);
  console.log(`mean ${line(`served (${metadata.served})`, ratios.served)}`);
  console.log("\nall models, every column pooled (MASE vs in-sample seasonal naive 1d):");
  for (const r of [...outcome.reports].sort((a, b) => a.overall.mase - b.overall.mase)) {
    console.log(
      `  ${r.model.padEnd(18)} MAE ${r.overall.mae.toFixed(4)}  MASE ${r.overall.mase.toFixed(4)}  coverage ${r.overall.coverage.toFixed(3)}`,
    );
  }
  summary.push(
    `run ${run}: served ${metadata.served} ${((1 - mean(ratios.served)) * 100).toFixed(1)} % below the best baseline (LSTM alone ${((1 - mean(ratios.lstm)) * 100).toFixed(1)} %), ${seconds.toFixed(0)} s`,
  );
  outcome.lstm?.model.dispose();
}
console.log(`\n${summary.join("\n")}`);
