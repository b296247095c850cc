import { type DetectorSettings, defaultDetectorSettings, SeriesAnomalyDetector } from "./anomaly-detector.js";
import type { Labels } from "./prometheus-client.js";
import type { GridSeries } from "./series-preparation.js";

export interface SeriesAlarm {
  key: string;
  labels: Labels;
  /** Time of the latest value the detector has scored. */
  atMs: number;
  /** Its score (1 = alarm; see SeriesAnomalyDetector). */
  score: number;
  /**
   * The highest score among the values this call fed (the previous call's figure when it fed none):
   * an alarm on a value that is not the latest of a round must not go unseen.
   */
  peak: number;
}

interface TrackedSeries {
  detector: SeriesAnomalyDetector;
  labels: Labels;
  lastMs: number;
  score: number;
  peak: number;
}

/**
 * One streaming anomaly detector per series of a target, kept across forecast rounds. Each round's
 * range query overlaps the previous one; every grid point is fed exactly once, in time order, so
 * the scores are those of one pass over the series however the rounds cut it. Points after the
 * latest present value are left for a later round (they may still arrive); a gap before it is
 * skipped for good. A series missing from a round is forgotten (it relearns if it returns).
 */
export class AnomalyAlarmTracker {
  private readonly tracked = new Map<string, TrackedSeries>();
  private readonly settings: DetectorSettings;

  constructor(settings: Partial<DetectorSettings> = {}) {
    this.settings = { ...defaultDetectorSettings, ...settings };
  }

  /** Steps of history a first round should bring so that alarms are possible at once. */
  get warmupSteps(): number {
    const s = this.settings;
    return Math.max(s.learningRows, s.discordHistory + 2 * s.discordWindow, s.discordMemory) + 1;
  }

  /** Feeds one round: every series, then forgets the series the round did not bring. */
  observe(series: GridSeries[]): SeriesAlarm[] {
    const alarms: SeriesAlarm[] = [];
    for (const s of series) {
      const alarm = this.observeSeries(s);
      if (alarm) alarms.push(alarm);
    }
    this.retain(series.map((s) => s.key));
    return alarms;
  }

  /**
   * Feeds one series of a round (observe() in pieces, so a caller can yield between series: a
   * first round feeds thousands of values per series); call retain() with the round's keys after.
   */
  observeSeries(s: GridSeries): SeriesAlarm | undefined {
    let state = this.tracked.get(s.key);
    if (!state) {
      state = {
        detector: new SeriesAnomalyDetector(this.settings),
        labels: s.labels,
        lastMs: Number.NEGATIVE_INFINITY,
        score: Number.NaN,
        peak: Number.NaN,
      };
      this.tracked.set(s.key, state);
    }
    state.labels = s.labels;
    let last = s.values.length - 1;
    while (last >= 0 && Number.isNaN(s.values[last]!)) last--;
    const first = Math.max(0, Math.floor((state.lastMs - s.startMs) / s.stepMs) + 1);
    let peak = Number.NaN;
    for (let i = first; i <= last; i++) {
      const value = s.values[i]!;
      if (Number.isFinite(value)) {
        state.score = state.detector.update(value);
        if (!(state.score <= peak)) peak = state.score;
      }
      state.lastMs = s.startMs + i * s.stepMs;
    }
    if (!Number.isNaN(peak)) state.peak = peak;
    if (!Number.isFinite(state.lastMs)) return undefined;
    return { key: s.key, labels: state.labels, atMs: state.lastMs, score: state.score, peak: state.peak };
  }

  /** Forgets every series not among `keys` (it relearns if it returns). */
  retain(keys: Iterable<string>): void {
    const present = new Set(keys);
    for (const key of this.tracked.keys()) if (!present.has(key)) this.tracked.delete(key);
  }
}
