/**
 * NAB on the 24 realKnownCause + realAWSCloudwatch files: first checks the scorer against the
 * published per-file results, then scores the predictor's detectors with every profile: the
 * streaming detector the service and `predictor detect` use (predictor/anomaly-detector.ts, run
 * here as is), ablations of it, and the earlier forecast-interval pipeline for reference.
 *
 *   nice -n 10 npx tsx bench/predictor-nab.bench.ts                  # ≈ 15 s
 *   nice -n 10 npx tsx bench/predictor-nab.bench.ts --sensitivity    # + one run per changed setting
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AnomalyLikelihood,
  anomalyScore,
  type DetectorSettings,
  defaultDetectorSettings,
  SeriesAnomalyDetector,
} from "../predictor/anomaly-detector.js";
import { loadBackend } from "../predictor/backend.js";
import { modelSettingsSchema } from "../predictor/config.js";
import { csvToSeries, parseTime, readCsv } from "../predictor/csv-series.js";
import { servedModel } from "../predictor/forecaster.js";
import type { ModelMetadata } from "../predictor/model-store.js";
import { trainTarget } from "../predictor/training.js";
import { datasetsDir } from "./predictor-datasets.js";
import {
  type CostMatrix,
  type FileScores,
  normaliseRaw,
  probationaryLength,
  rowValues,
  sweep,
} from "./predictor-nab-scoring.js";

const nab = join(datasetsDir(), "nab");
const profiles = JSON.parse(readFileSync(join(nab, "config", "profiles.json"), "utf8")) as Record<
  string,
  { CostMatrix: CostMatrix }
>;
const allWindows = JSON.parse(readFileSync(join(nab, "labels", "combined_windows.json"), "utf8")) as Record<
  string,
  Array<[string, string]>
>;
const files = Object.keys(allWindows)
  .filter((f) => f.startsWith("realKnownCause/") || f.startsWith("realAWSCloudwatch/"))
  .sort();
const windowsByFile = new Map(files.map((f) => [f, allWindows[f]!.length]));
console.log(
  `${files.length} files, ${[...windowsByFile.values()].reduce((a, b) => a + b, 0)} anomaly windows`,
);

// 1. The scorer's normalisation against published detectors' per-file raw scores.
const published: Record<string, string> = {
  numenta: "Numenta HTM",
  htmjava: "HTM Java",
  randomCutForest: "Random Cut Forest",
  windowedGaussian: "windowed Gaussian",
  ARTime: "ARTime",
  contextOSE: "contextOSE",
  knncad: "KNN CAD",
  relativeEntropy: "relative entropy",
};
console.log("\npublished detectors on these files (normalised from their per-file raw scores):");
console.log("| detector | standard | low FP | low FN |");
console.log("| --- | ---: | ---: | ---: |");
function publishedRaw(detector: string, profile: string): Map<string, number> {
  const text = readFileSync(join(nab, "results", detector, `${detector}_${profile}_scores.csv`), "utf8");
  const raw = new Map<string, number>();
  for (const line of text.trim().split("\n").slice(1)) {
    const cols = line.split(",");
    raw.set(cols[2]!, Number(cols[4]));
  }
  return raw;
}
for (const [detector, label] of Object.entries(published)) {
  const cells = Object.keys(profiles).map((profile) =>
    normaliseRaw(publishedRaw(detector, profile), windowsByFile, profiles[profile]!.CostMatrix).toFixed(1),
  );
  console.log(`| ${label} (${detector}) | ${cells.join(" | ")} |`);
}

// 2. The predictor's detector, causal per file: models fitted on the probationary 15 % only.
const { tf } = await loadBackend("auto");
const perFile: Array<{
  name: string;
  rows: FileScores["rows"];
  windows: number;
  raw: number[];
  n: number;
  values: number[];
}> = [];
const started = performance.now();
for (const file of files) {
  const path = join(nab, "data", file);
  const table = readCsv(path);
  const { series, rowIndex, times } = csvToSeries(table, path, "timestamp", "value", { maxGapSteps: 0 });
  const n = series.values.length;
  const split = { trainEnd: Math.floor(n * 0.1), validationEnd: Math.floor(n * 0.15), end: n };
  const outcome = await trainTarget({
    tf,
    series: [series],
    horizonSteps: [1],
    seasonSteps: [],
    seasonLabels: [],
    baselineRangeSteps: 11,
    level: 0.99,
    model: modelSettingsSchema.parse({ window: 12 }),
    split,
    skipLstm: true,
  });
  // Promotion looked at the newest part; here only the probationary part may choose: use naive.
  const metadata = {
    format: 1,
    target: file,
    version: 0,
    createdAt: "",
    served: "naive",
    reason: "",
    stepMs: series.stepMs,
    horizonLabels: ["1"],
    horizonSteps: [1],
    lstm: null,
    backend: "",
    level: 0.99,
    seriesStats: Object.fromEntries(outcome.seriesStats),
    intervalWidths: outcome.intervalWidths,
    baselines: outcome.baselines,
    backtest: [],
    trainingSeconds: 0,
    trainingWindows: 0,
    epochs: 0,
  } satisfies ModelMetadata;
  const served = servedModel(metadata, undefined, undefined);
  const forecasts = await served.model.predict(
    rowIndex.map((index) => ({ series, origin: index - 1 })),
    [1],
  );
  const half = outcome.intervalWidths.naive![0]! * served.statsOf(series).std;
  const raw = rowIndex.map((index, row) => anomalyScore(series.values[index]!, forecasts[row]![0]!, half));
  const windows = allWindows[file]!.map(([a, b]) => [parseTime(a), parseTime(b)] as [number, number]);
  const values = rowIndex.map((index) => series.values[index]!);
  perFile.push({ name: file, rows: rowValues(times, windows), windows: windows.length, raw, n, values });
}
console.log(
  `\nforecast-interval pipeline ran over ${files.length} files in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);

function likelihoodScores(raw: number[], short: number): number[] {
  const likelihood = new AnomalyLikelihood(8_640, short, 288);
  return raw.map((score) => likelihood.update(Number.isNaN(score) ? 0 : score));
}

/**
 * Reports a row only when it rises above every score of the previous 2.5 % of the file (no labels
 * used), so one episode raises one alarm: NAB charges every flagged row outside a window.
 */
function oneAlarmPerEpisode(scores: number[], n: number): number[] {
  return quiet(scores, Math.max(1, Math.floor(0.025 * n)));
}

/** A row counts only if it beats every score of the previous `rows` rows (the detector's quiet period). */
function quiet(scores: number[], rows: number): number[] {
  return scores.map((s, i) => {
    for (let k = Math.max(0, i - rows); k < i; k++) if (scores[k]! >= s) return 0;
    return s;
  });
}

/** Prints one row per variant and returns each variant's normalised standard-profile score. */
function table(rows: Array<[string, (f: (typeof perFile)[number]) => number[]]>): number[] {
  const standard: number[] = [];
  console.log("\n| detector | standard | low FP | low FN |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [label, make] of rows) {
    const set: FileScores[] = perFile.map((f) => ({
      name: f.name,
      rows: f.rows,
      windows: f.windows,
      scores: make(f),
    }));
    const cells = Object.entries(profiles).map(([profile, { CostMatrix: costs }]) => {
      const result = sweep(set, costs);
      if (profile === "standard") standard.push(result.normalised);
      return `${result.normalised.toFixed(1)} (t=${result.threshold.toFixed(3)})`;
    });
    console.log(`| ${label} | ${cells.join(" | ")} |`);
  }
  return standard;
}

console.log("\nreference: the forecast-interval pipeline (what `anomaly_score` measures)");
const reference = table([
  ["naive forecast → anomaly_score → likelihood (mean of last 10)", (f) => likelihoodScores(f.raw, 10)],
  ["same, mean of last 3", (f) => likelihoodScores(f.raw, 3)],
  ["mean of last 10, one alarm per episode", (f) => oneAlarmPerEpisode(likelihoodScores(f.raw, 10), f.n)],
  ["mean of last 3, one alarm per episode", (f) => oneAlarmPerEpisode(likelihoodScores(f.raw, 3), f.n)],
]);

/** The production detector over every file, one fresh instance per file, one value per row. */
function runDetector(settings: (rows: number) => Partial<DetectorSettings>) {
  const began = performance.now();
  const runs = perFile.map((f) => {
    const detector = new SeriesAnomalyDetector(settings(f.values.length));
    const scores: number[] = [];
    const details = f.values.map((value) => {
      scores.push(detector.update(value));
      return detector.detail;
    });
    return { scores, details };
  });
  return { runs, seconds: (performance.now() - began) / 1000 };
}

const main = runDetector(() => ({}));
const rowsTotal = perFile.reduce((n, f) => n + f.values.length, 0);
console.log(
  `\nstreaming detector (${JSON.stringify(defaultDetectorSettings)}): ${rowsTotal} rows in ${main.seconds.toFixed(1)} s`,
);
const index = new Map(perFile.map((f, i) => [f, i]));
const detailOf = (f: (typeof perFile)[number]) => main.runs[index.get(f)!]!.details;
const q = defaultDetectorSettings.quietRows;
const [detected] = table([
  [
    "**streaming detector**: out of range or new discord, quiet period",
    (f) => main.runs[index.get(f)!]!.scores,
  ],
  [
    "out of range only (5 % tolerance), quiet period",
    (f) =>
      quiet(
        detailOf(f).map((d) => (d.outOfRange ? 1 : 0)),
        q,
      ),
  ],
  [
    "new discord only, quiet period",
    (f) =>
      quiet(
        detailOf(f).map((d, i) => (i >= defaultDetectorSettings.learningRows && d.discord > d.bar ? 1 : 0)),
        q,
      ),
  ],
  ["out of range or new discord, no quiet period", (f) => detailOf(f).map((d) => d.unsuppressed)],
]);

const publishedStandard = (detector: string) =>
  normaliseRaw(publishedRaw(detector, "standard"), windowsByFile, profiles.standard!.CostMatrix);
console.log(
  `\nstandard profile, streaming detector ${detected!.toFixed(1)}: ${(detected! / publishedStandard("ARTime")).toFixed(3)}× ARTime (best published), ${(detected! / publishedStandard("numenta")).toFixed(3)}× Numenta HTM, ${(detected! / publishedStandard("randomCutForest")).toFixed(3)}× Random Cut Forest, ${(detected! / reference[3]!).toFixed(3)}× the forecast-interval pipeline`,
);

if (process.argv.includes("--sensitivity")) {
  const changes: Array<[string, (rows: number) => Partial<DetectorSettings>]> = [
    ["learning rows = NAB probationary period", (rows) => ({ learningRows: probationaryLength(rows) })],
    ["learning 300 rows", () => ({ learningRows: 300 })],
    ["discord memory 500", () => ({ discordMemory: 500 })],
    ["discord memory 2000", () => ({ discordMemory: 2_000 })],
    ["discord window 16", () => ({ discordWindow: 16 })],
    ["discord window 64", () => ({ discordWindow: 64 })],
    ["discord history 4000", () => ({ discordHistory: 4_000 })],
    ["1 neighbour", () => ({ discordNeighbours: 1 })],
    ["quiet 50 rows", () => ({ quietRows: 50 })],
    ["quiet 150 rows", () => ({ quietRows: 150 })],
    ["range tolerance 0.02", () => ({ rangeTolerance: 0.02 })],
    ["range tolerance 0.1", () => ({ rangeTolerance: 0.1 })],
    ["no discord floor", () => ({ discordFloor: 0 })],
    ["discord floor 0.04", () => ({ discordFloor: 0.04 })],
  ];
  console.log("\none setting changed at a time:");
  table(
    changes.map(([label, change]): [string, (f: (typeof perFile)[number]) => number[]] => {
      const run = runDetector(change);
      return [label, (f) => run.runs[index.get(f)!]!.scores];
    }),
  );
}
