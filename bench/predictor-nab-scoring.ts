/**
 * NAB scoring (Lavin & Ahmad 2015, numenta/NAB's sweeper): anomaly windows, the scaled sigmoid
 * that rewards early detections and penalises false positives by their distance past a window,
 * a probationary period that is not scored, one threshold per profile across the corpus, and the
 * normalisation 100·(raw − null)/(perfect − null).
 */

export interface CostMatrix {
  tpWeight: number;
  fnWeight: number;
  fpWeight: number;
  tnWeight: number;
}

export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition > 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

/** NAB scores nothing in the first 15 % of a file (at most 750 rows). */
export function probationaryLength(rows: number): number {
  return Math.min(Math.floor(0.15 * rows), 0.15 * 5000);
}

/** One scored row: where it lies relative to the windows, and what a detection there is worth (unweighted). */
export interface RowValue {
  /** Window index in the file, or -1 outside windows. */
  window: number;
  /** Scaled sigmoid value a detection here would get, before the profile's weights. */
  unweighted: number;
  probationary: boolean;
}

/** Positions of every row of one file relative to its windows (times in ms). */
export function rowValues(times: number[], windows: Array<[number, number]>): RowValue[] {
  const out: RowValue[] = [];
  const probation = probationaryLength(times.length);
  const pending = [...windows];
  let current: { right: number; width: number; index: number } | undefined;
  let previous: { right: number; width: number } | undefined;
  let windowIndex = -1;
  for (let i = 0; i < times.length; i++) {
    const t = times[i]!;
    if (!current && pending.length > 0 && t === pending[0]![0]) {
      const [, end] = pending.shift()!;
      const right = times.indexOf(end);
      if (right < 0) throw new Error(`window end ${new Date(end).toISOString()} is not a row time`);
      windowIndex++;
      current = { right, width: right - i + 1, index: windowIndex };
    }
    let unweighted: number;
    if (current) unweighted = scaledSigmoid(-(current.right - i + 1) / current.width);
    else if (!previous) unweighted = -1;
    else unweighted = scaledSigmoid(Math.abs(previous.right - i) / (previous.width - 1));
    out.push({ window: current ? current.index : -1, unweighted, probationary: i < probation });
    if (current && i === current.right) {
      previous = { right: current.right, width: current.width };
      current = undefined;
    }
  }
  if (pending.length > 0) throw new Error(`${pending.length} windows start at no row time`);
  return out;
}

export interface FileScores {
  name: string;
  rows: RowValue[];
  windows: number;
  scores: number[];
}

export interface SweepResult {
  threshold: number;
  raw: number;
  normalised: number;
  perfect: number;
  null: number;
}

/**
 * Finds the single threshold that maximises the corpus' raw score for a profile, as NAB's
 * optimiser does, and normalises it. A window counts once, with its best (earliest) detection;
 * every detection outside windows costs its weighted value.
 */
export function sweep(files: FileScores[], costs: CostMatrix): SweepResult {
  const maxTp = scaledSigmoid(-1);
  const totalWindows = files.reduce((n, f) => n + f.windows, 0);
  const nullScore = -costs.fnWeight * totalWindows;
  const perfect = costs.tpWeight * totalWindows;
  const points: Array<{ score: number; file: number; row: number }> = [];
  files.forEach((f, file) => {
    f.scores.forEach((score, row) => {
      if (!f.rows[row]!.probationary && Number.isFinite(score)) points.push({ score, file, row });
    });
  });
  points.sort((a, b) => b.score - a.score);
  const bestTp = files.map((f) => new Float64Array(f.windows).fill(Number.NaN));
  let raw = nullScore;
  let best = { threshold: Number.POSITIVE_INFINITY, raw };
  for (let i = 0; i < points.length; ) {
    const threshold = points[i]!.score;
    // All rows with the same score become detections together.
    for (; i < points.length && points[i]!.score === threshold; i++) {
      const { file, row } = points[i]!;
      const value = files[file]!.rows[row]!;
      if (value.window < 0) {
        raw += value.unweighted * costs.fpWeight;
        continue;
      }
      const weighted = (value.unweighted * costs.tpWeight) / maxTp;
      const before = bestTp[file]![value.window]!;
      if (Number.isNaN(before)) {
        raw += costs.fnWeight + weighted;
        bestTp[file]![value.window] = weighted;
      } else if (weighted > before) {
        raw += weighted - before;
        bestTp[file]![value.window] = weighted;
      }
    }
    if (raw > best.raw) best = { threshold, raw };
  }
  return {
    threshold: best.threshold,
    raw: best.raw,
    normalised: (100 * (best.raw - nullScore)) / (perfect - nullScore),
    perfect,
    null: nullScore,
  };
}

/** Normalised score of a published detector from its per-file raw scores (NAB's results/*_scores.csv). */
export function normaliseRaw(
  rawByFile: Map<string, number>,
  windowsByFile: Map<string, number>,
  costs: CostMatrix,
): number {
  let raw = 0;
  let windows = 0;
  for (const [file, count] of windowsByFile) {
    const score = rawByFile.get(file);
    if (score === undefined) throw new Error(`no published score for ${file}`);
    raw += score;
    windows += count;
  }
  const nullScore = -costs.fnWeight * windows;
  return (100 * (raw - nullScore)) / (costs.tpWeight * windows - nullScore);
}
