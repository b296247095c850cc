import { type Labels, type PrometheusClient, type RangeSeries, seriesKey } from "./prometheus-client.js";
import { counterToRate, fillShortGaps, type GridSeries } from "./series-preparation.js";

export interface SeriesWindowOptions {
  expr: string;
  stepMs: number;
  maxGapSteps: number;
  counter: boolean;
  /**
   * Steps before the previous end that are read again: samples that arrive late (scrape delay,
   * rule evaluation) still count, as in the detector's "+2 steps".
   */
  overlapSteps?: number;
  /**
   * Points (series × steps) one response may hold while a long span is read. JSON.parse and point
   * conversion block the event loop in one piece per response, about 0.1 s per 100 000 points here.
   */
  pointsPerResponse?: number;
}

/** One series' raw values on the window's grid, before counter conversion and gap filling. */
interface CachedSeries {
  key: string;
  labels: Labels;
  /** The query's values on the grid, NaN where absent or not finite (as alignToGrid places them). */
  values: Float64Array;
  /** 1 where the query returned a point: a window whose points are all NaN still lists its series. */
  present: Uint8Array;
}

interface CachedWindow {
  startMs: number;
  /** Last grid point read. */
  lastMs: number;
  series: Map<string, CachedSeries>;
}

/** Grid of a range query over [startMs, endMs], as prepareSeries() lays it out. */
function gridOf(startMs: number, endMs: number, stepMs: number): { startMs: number; length: number } {
  const gridStart = Math.ceil(startMs / stepMs) * stepMs;
  return { startMs: gridStart, length: Math.max(0, Math.floor((endMs - gridStart) / stepMs) + 1) };
}

/**
 * The latest window of every series of one expression, kept between forecast rounds so that a round
 * reads from Prometheus only the steps since the previous one (plus a little overlap) instead of
 * the whole window. read() returns exactly what prepareSeries() makes of a range query over the
 * same window: the cache holds the raw grid values and prepares them each round, so counter
 * conversion and gap filling see the same window edges as a full read.
 *
 * A full read happens on the first round, when the window reaches further back than the cached one,
 * when the clock went backwards, and when an incremental read brings a series the cache does not
 * know (its older points may have been backfilled). A series is dropped once its window has no
 * point left. A failed read leaves the cache as it was; the next round reads the missing span.
 */
export class SeriesWindowCache {
  private window: CachedWindow | undefined;
  private readonly overlapSteps: number;
  private readonly pointsPerResponse: number;

  constructor(
    private readonly client: Pick<PrometheusClient, "queryRange">,
    private readonly options: SeriesWindowOptions,
  ) {
    this.overlapSteps = options.overlapSteps ?? 2;
    this.pointsPerResponse = options.pointsPerResponse ?? 100_000;
  }

  /** The series of the range [startMs, endMs] on the step grid, gaps handled as prepareSeries() does. */
  async read(startMs: number, endMs: number): Promise<GridSeries[]> {
    const { stepMs } = this.options;
    const grid = gridOf(startMs, endMs, stepMs);
    const lastMs = grid.startMs + (grid.length - 1) * stepMs;
    const cached = this.window;
    let next: CachedWindow | undefined;
    if (cached && grid.startMs >= cached.startMs && lastMs >= cached.lastMs) {
      const fromMs = Math.max(grid.startMs, cached.lastMs - this.overlapSteps * stepMs);
      next = await this.readSpan(grid.startMs, lastMs, fromMs, cached);
    }
    next ??= await this.readSpan(grid.startMs, lastMs, grid.startMs, undefined);
    if (!next) throw new Error("unreachable: a full read knows every series it brings");
    this.window = next;
    return [...next.series.values()].map((s) => this.prepare(s, grid.startMs));
  }

  /**
   * The window [startMs, lastMs]: points before fromMs from `cached`, the rest from Prometheus,
   * in responses of bounded size. Undefined when the response brings a series `cached` lacks.
   */
  private async readSpan(
    startMs: number,
    lastMs: number,
    fromMs: number,
    cached: CachedWindow | undefined,
  ): Promise<CachedWindow | undefined> {
    const { stepMs } = this.options;
    const length = gridOf(startMs, lastMs, stepMs).length;
    const series = new Map<string, CachedSeries>();
    const kept = (fromMs - startMs) / stepMs;
    if (cached && kept > 0) {
      const shift = (startMs - cached.startMs) / stepMs;
      for (const old of cached.series.values()) {
        const s = emptySeries(old.key, old.labels, length);
        s.values.set(old.values.subarray(shift, shift + kept));
        s.present.set(old.present.subarray(shift, shift + kept));
        series.set(old.key, s);
      }
    }
    // Until a response says how many series there are, a short piece finds out.
    const known = this.window?.series.size;
    let stepsPerResponse = known ? this.stepsFor(known) : 10;
    for (let pieceStart = fromMs, pieceLast: number; pieceStart <= lastMs; pieceStart = pieceLast + stepMs) {
      pieceLast = Math.min(lastMs, pieceStart + (stepsPerResponse - 1) * stepMs);
      const raw = await this.client.queryRange(this.options.expr, pieceStart, pieceLast, stepMs);
      for (const r of raw) {
        const key = seriesKey(r.labels);
        let s = series.get(key);
        if (!s) {
          if (kept > 0) return undefined;
          s = emptySeries(key, r.labels, length);
          series.set(key, s);
        }
        place(r, s, startMs, stepMs);
      }
      stepsPerResponse = this.stepsFor(series.size);
    }
    for (const [key, s] of series) if (s.present.indexOf(1) === -1) series.delete(key);
    return { startMs, lastMs, series };
  }

  private stepsFor(seriesCount: number): number {
    return Math.max(1, Math.floor(this.pointsPerResponse / Math.max(1, seriesCount)));
  }

  private prepare(s: CachedSeries, startMs: number): GridSeries {
    const { stepMs, counter, maxGapSteps } = this.options;
    const values = counter ? counterToRate(s.values, stepMs / 1000) : s.values;
    const filled = fillShortGaps(values, maxGapSteps);
    let missing = 0;
    for (const value of filled.values) if (Number.isNaN(value)) missing++;
    return {
      key: s.key,
      labels: s.labels,
      startMs,
      stepMs,
      values: filled.values,
      interpolated: filled.interpolated,
      missing,
    };
  }
}

function emptySeries(key: string, labels: Labels, length: number): CachedSeries {
  return { key, labels, values: new Float64Array(length).fill(Number.NaN), present: new Uint8Array(length) };
}

/** Puts a response's points on the window grid with alignToGrid()'s rule (within 1 ms of a grid point). */
function place(r: RangeSeries, s: CachedSeries, startMs: number, stepMs: number): void {
  for (let i = 0; i < r.timestamps.length; i++) {
    const offset = (r.timestamps[i]! - startMs) / stepMs;
    const index = Math.round(offset);
    if (index < 0 || index >= s.values.length || Math.abs(offset - index) * stepMs > 1) continue;
    const value = r.values[i]!;
    s.values[index] = Number.isFinite(value) ? value : Number.NaN;
    s.present[index] = 1;
  }
}
