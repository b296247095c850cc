import { DiscordDistance } from "./anomaly-discord.js";
import { RunningRange, SlidingMax } from "./anomaly-running-stats.js";

/**
 * How far the actual value lies from the forecast made for it, in half-widths of the interval made
 * for it: 0 on the forecast, 1 on the interval's edge, above 1 outside. Alert rules use `> 1`.
 */
export function anomalyScore(actual: number, forecast: number, halfWidth: number): number {
  if (Number.isNaN(actual) || Number.isNaN(forecast) || !(halfWidth > 0)) return Number.NaN;
  return Math.abs(actual - forecast) / halfWidth;
}

/**
 * How unusual the recent scores of a stream are against its own score history: the normal tail
 * probability of the mean of the last `shortLength` scores under a normal fit of the last
 * `historyLength` ones, reported as 1 − tail on a log scale (0.5 ≈ tail 1e-5, 1 ≈ 1e-10), so a
 * single threshold works for quiet and noisy series alike and very rare values stay distinct.
 */
export class AnomalyLikelihood {
  private readonly history: number[] = [];
  private readonly recent: number[] = [];
  private sum = 0;
  private sumSq = 0;
  private recentSum = 0;

  constructor(
    private readonly historyLength = 8_640,
    private readonly shortLength = 10,
    private readonly warmup = 288,
  ) {}

  update(score: number): number {
    if (Number.isNaN(score)) return 0;
    this.recent.push(score);
    this.recentSum += score;
    if (this.recent.length > this.shortLength) this.recentSum -= this.recent.shift()!;
    let likelihood = 0;
    const n = this.history.length;
    if (n >= this.warmup) {
      const mean = this.sum / n;
      const std = Math.sqrt(Math.max(0, this.sumSq / n - mean * mean)) || 1e-6;
      const z = (this.recentSum / this.recent.length - mean) / std;
      likelihood = Math.min(1, -Math.log10(normalTail(z)) / 10);
    }
    this.history.push(score);
    this.sum += score;
    this.sumSq += score * score;
    if (this.history.length > this.historyLength) {
      const old = this.history.shift()!;
      this.sum -= old;
      this.sumSq -= old * old;
    }
    return likelihood;
  }
}

/** P(Z > z) for a standard normal Z, with relative accuracy kept far into the tail (A&S 7.1.26 on erfc). */
export function normalTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc =
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
    t *
    Math.exp(-x * x);
  return z >= 0 ? 0.5 * erfc : 1 - 0.5 * erfc;
}

/** Standard normal CDF. */
export function normalCdf(z: number): number {
  return 1 - normalTail(z);
}

export interface DetectorSettings {
  /** Rows that only teach the detector the stream's range and shapes; they always score 0. */
  learningRows: number;
  /** A value this far (share of the learned range) outside the range seen so far raises an alarm. */
  rangeTolerance: number;
  /** Length of the stretch compared with the stream's past (rows). */
  discordWindow: number;
  /** How far back nearest stretches are searched (rows). */
  discordHistory: number;
  /** How many nearest stretches are averaged. */
  discordNeighbours: number;
  /** A discord raises an alarm when it exceeds every discord of this many previous rows… */
  discordMemory: number;
  /** …and this share of the range (stretches closer than that to a past one are not new shapes, whatever float noise says). */
  discordFloor: number;
  /** After a score, lower or equal scores within this many rows are reported as 0 (one alarm per episode). */
  quietRows: number;
}

/**
 * Settings chosen on NAB's 24 realKnownCause + realAWSCloudwatch files (see docs/benchmarks.md,
 * which lists everything tried: the figure there is optimistic for that reason). Rows, not time:
 * at a 5-minute step the window is 2.7 h, the history a week, the memory 3.5 days.
 */
export const defaultDetectorSettings: DetectorSettings = {
  learningRows: 600,
  rangeTolerance: 0.05,
  discordWindow: 32,
  discordHistory: 2_000,
  discordNeighbours: 3,
  discordMemory: 1_000,
  discordFloor: 0.01,
  quietRows: 100,
};

/** Settings that are shares of the range; every other setting counts rows. */
const FRACTIONS = new Set(["rangeTolerance", "discordFloor"]);

/** Why the latest row scored what it did. */
export interface DetectorDetail {
  /** The value left the learned range by more than the tolerance. */
  outOfRange: boolean;
  /** Discord of the latest stretch, in shares of the learned range. */
  discord: number;
  /** What the discord had to exceed: the largest of the previous `discordMemory` rows, at least `discordFloor`. */
  bar: number;
  /** Score before the quiet period was applied. */
  unsuppressed: number;
}

/**
 * Streaming anomaly detector for one series, fed one value per step (no labels, no look-ahead:
 * the score of row t depends on rows ≤ t only). Score 1 means an alarm: the value left the range
 * learned so far, or the latest stretch of values is further from everything in the recent history
 * than any stretch of the last `discordMemory` rows was (a shape the series has not made lately).
 * Below 1 it is the latest discord as a share of that bar. After a score, the next
 * `quietRows` rows are reported as 0 unless they score higher, so one episode raises one alarm.
 */
export class SeriesAnomalyDetector {
  readonly settings: DetectorSettings;
  private readonly range = new RunningRange();
  private readonly discord: DiscordDistance;
  private readonly recentDiscords: SlidingMax;
  private readonly recentScores: SlidingMax;
  private rows = 0;
  private latest: DetectorDetail = { outOfRange: false, discord: 0, bar: 0, unsuppressed: 0 };

  constructor(settings: Partial<DetectorSettings> = {}) {
    this.settings = { ...defaultDetectorSettings, ...settings };
    const s = this.settings;
    for (const [name, value] of Object.entries(s)) {
      if (!(Number.isFinite(value) && value >= 0))
        throw new Error(`anomaly detector setting ${name} must be a finite number ≥ 0, got ${value}`);
      if (!FRACTIONS.has(name) && !Number.isInteger(value))
        throw new Error(`anomaly detector setting ${name} is a number of rows, got ${value}`);
    }
    this.discord = new DiscordDistance(s.discordWindow, s.discordHistory, s.discordNeighbours);
    this.recentDiscords = new SlidingMax(s.discordMemory);
    this.recentScores = new SlidingMax(s.quietRows);
  }

  /** Scores the next value; NaN (a missing row) scores NaN and leaves the state untouched. */
  update(value: number): number {
    if (!Number.isFinite(value)) return Number.NaN;
    const s = this.settings;
    const learning = this.rows++ < s.learningRows;
    const tolerance = s.rangeTolerance * this.range.span;
    const outOfRange =
      !learning && (value > this.range.max + tolerance || value < this.range.min - tolerance);
    this.range.observe(value);
    const discord = this.discord.update(value) / this.range.span;
    const bar = Math.max(s.discordFloor, this.recentDiscords.max);
    this.recentDiscords.push(discord);
    let unsuppressed = 0;
    if (!learning) unsuppressed = outOfRange || discord > bar ? 1 : discord / bar;
    const score = unsuppressed > this.recentScores.max ? unsuppressed : 0;
    this.recentScores.push(unsuppressed);
    this.latest = { outOfRange, discord, bar, unsuppressed };
    return score;
  }

  /** Why the latest row scored what it did. */
  get detail(): DetectorDetail {
    return this.latest;
  }
}
