import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  anomalyScore,
  defaultDetectorSettings,
  normalTail,
  SeriesAnomalyDetector,
} from "../../predictor/anomaly-detector.js";
import { DiscordDistance } from "../../predictor/anomaly-discord.js";
import { RunningRange, SlidingMax } from "../../predictor/anomaly-running-stats.js";
import { uniform } from "./synthetic.js";

const PERIOD = 40;
const CHANGE = 2_500;

/**
 * A sine of amplitude 1 and period 40 rows with uniform noise of ±0.002. Stretches one period apart
 * differ by the noise only: a discord of at most 0.004 / 2 (range 2) = 0.002, a fifth of the floor.
 */
function periodic(rows: number, seed = 7): number[] {
  const noise = uniform(seed);
  return Array.from(
    { length: rows },
    (_, i) => Math.sin((2 * Math.PI * i) / PERIOD) + 0.004 * (noise() - 0.5),
  );
}

function scoresOf(values: number[], settings = {}): { scores: number[]; detector: SeriesAnomalyDetector } {
  const detector = new SeriesAnomalyDetector(settings);
  return { scores: values.map((v) => detector.update(v)), detector };
}

function firstAlarm(scores: number[]): number {
  return scores.indexOf(1);
}

/** The discord of row i by measuring every earlier stretch in reach, summed in DiscordDistance's order. */
function exhaustiveDiscord(values: number[], i: number, w: number, history: number, k: number): number {
  if (i < 2 * w) return 0;
  const distances: number[] = [];
  for (let back = w; back <= Math.min(i - w + 1, w + history); back++) {
    let d = 0;
    for (let m = 0; m < w; m++) d += (values[i - m]! - values[i - back - m]!) ** 2;
    distances.push(d);
  }
  const nearest = distances.sort((a, b) => a - b).slice(0, k);
  return nearest.reduce((sum, d) => sum + Math.sqrt(d), 0) / nearest.length / Math.sqrt(w);
}

describe("anomalyScore", () => {
  it("is the distance from the forecast in interval half-widths", () => {
    expect(anomalyScore(12, 10, 4)).toBe(0.5);
    expect(anomalyScore(6, 10, 4)).toBe(1);
    expect(anomalyScore(10, 10, 0)).toBeNaN();
    expect(anomalyScore(Number.NaN, 10, 4)).toBeNaN();
  });

  it("normalTail gives the normal tail probability", () => {
    expect(normalTail(0)).toBeCloseTo(0.5, 7);
    expect(normalTail(1.959964)).toBeCloseTo(0.025, 6);
    expect(normalTail(-1.959964)).toBeCloseTo(0.975, 6);
  });
});

describe("DiscordDistance", () => {
  it("is the distance of the latest stretch to its nearest earlier one, per value", () => {
    const discord = new DiscordDistance(2, 10, 1);
    // Rows 0–3 fill two windows; row 4 ends [1, 0], which rows 1–2 repeat exactly.
    expect([0, 1, 0, 1, 0].map((v) => discord.update(v))).toEqual([0, 0, 0, 0, 0]);
    // [0, 5]: nearest are [0, 1] (rows 2–3 and 0–1), distance √16 = 4, per √2 values.
    expect(discord.update(5)).toBeCloseTo(4 / Math.SQRT2, 12);
  });

  it("averages the nearest neighbours and forgets stretches older than the history", () => {
    const two = new DiscordDistance(1, 10, 2);
    for (const v of [0, 0, 3]) two.update(v);
    // [6]: earlier stretches [0], [0] (row 2 is [3], distance 3); the two nearest are 3 and 6.
    expect(two.update(6)).toBe(4.5);
    const short = new DiscordDistance(1, 1, 1);
    for (const v of [9, 0, 0]) short.update(v);
    // With a window of 1 the search reaches history + 1 = 2 rows back: row 0's 9 is too old.
    expect(short.update(9)).toBe(9);
  });

  it("equals an exhaustive search of the k nearest stretches on every row (property)", () => {
    // Small integers make ties common; the seeded bound must still admit every tied stretch.
    const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ min: -1e3, max: 1e3, noNaN: true }));
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 4 }),
        (values, window, history, neighbours) => {
          const discord = new DiscordDistance(window, history, neighbours);
          values.forEach((_, i) => {
            expect(discord.update(values[i]!)).toBe(
              exhaustiveDiscord(values, i, window, history, neighbours),
            );
          });
        },
      ),
      { numRuns: 400 },
    );
  });

  it("rejects a window, history or neighbour count below 1", () => {
    expect(() => new DiscordDistance(0, 10, 1)).toThrow(
      "discord window 0, history 10, neighbours 1 must all be ≥ 1",
    );
  });
});

describe("running statistics", () => {
  it("SlidingMax keeps the largest of the last n values", () => {
    const max = new SlidingMax(3);
    expect(max.max).toBe(Number.NEGATIVE_INFINITY);
    const seen: number[] = [];
    for (const v of [5, 1, 2, 3, 0, 0, 0, 7]) {
      max.push(v);
      seen.push(max.max);
    }
    expect(seen).toEqual([5, 5, 5, 3, 3, 3, 0, 7]);
  });

  it("RunningRange widens and never narrows", () => {
    const range = new RunningRange();
    for (const v of [3, 1, 2]) range.observe(v);
    expect([range.min, range.max, range.span]).toEqual([1, 3, 2]);
    const flat = new RunningRange();
    flat.observe(100);
    expect(flat.span).toBe(100 * 1e-9);
  });
});

describe("SeriesAnomalyDetector", () => {
  it("scores 0 while learning", () => {
    const values = periodic(1_000).map((v, i) => (i === 300 ? 50 : v));
    const { scores } = scoresOf(values);
    expect(scores.slice(0, defaultDetectorSettings.learningRows).every((s) => s === 0)).toBe(true);
  });

  it("keeps a stationary periodic series with small noise below the alarm", () => {
    const { scores } = scoresOf(periodic(4_000));
    expect(scores.every((s) => s >= 0 && s <= 0.2)).toBe(true);
  });

  it("raises one alarm at a spike and stays quiet for the quiet period", () => {
    const values = periodic(4_000);
    values[CHANGE] = 1.5; // above the learned maximum by 25 % of the range; the tolerance is 5 %
    const detector = new SeriesAnomalyDetector();
    const scores = values.map((v, i) => {
      const score = detector.update(v);
      if (i === CHANGE) expect(detector.detail.outOfRange).toBe(true);
      return score;
    });
    expect(firstAlarm(scores)).toBe(CHANGE);
    expect(scores.slice(CHANGE + 1, CHANGE + defaultDetectorSettings.quietRows).every((s) => s === 0)).toBe(
      true,
    );
    expect(scores.slice(CHANGE + 1).every((s) => s < 1)).toBe(true);
  });

  it("raises an alarm at the first row of a level shift that stays inside the learned range", () => {
    // At row 2500 the sine is at 0; it continues at 70 % amplitude, 0.3 lower: the row is −0.3,
    // a stretch distance of 0.3/√32 per value against a noise-only history.
    const values = periodic(4_000).map((v, i) => (i < CHANGE ? v : 0.7 * v - 0.3));
    const detector = new SeriesAnomalyDetector();
    const scores = values.map((v, i) => {
      const score = detector.update(v);
      if (i === CHANGE) expect(detector.detail.outOfRange).toBe(false);
      return score;
    });
    expect(firstAlarm(scores)).toBe(CHANGE);
    expect(Math.max(...values.slice(CHANGE))).toBeLessThan(1);
  });

  it("raises an alarm within a few rows of a variance change", () => {
    const noise = uniform(99);
    const values = periodic(4_000).map((v, i) => (i < CHANGE ? v : 0.7 * v + 0.6 * (noise() - 0.5)));
    const detector = new SeriesAnomalyDetector();
    let outOfRange = false;
    const scores = values.map((v) => {
      const score = detector.update(v);
      outOfRange ||= detector.detail.outOfRange;
      return score;
    });
    const first = firstAlarm(scores);
    expect(first).toBeGreaterThanOrEqual(CHANGE);
    expect(first).toBeLessThanOrEqual(CHANGE + 5);
    expect(outOfRange).toBe(false);
  });

  it("alarms when a constant series changes at all", () => {
    const values = Array.from({ length: 800 }, (_, i) => (i < 700 ? 20 : 20.001));
    expect(firstAlarm(scoresOf(values).scores)).toBe(700);
  });

  it("is causal: appending rows never changes earlier scores", () => {
    const past = periodic(3_000);
    const { scores: alone } = scoresOf(past);
    const future = Array.from({ length: 500 }, (_, i) => (i % 2 === 0 ? 40 : -40));
    const { scores: extended } = scoresOf([...past, ...future]);
    expect(extended.slice(0, past.length)).toEqual(alone);
    expect(firstAlarm(extended)).toBe(past.length);
  });

  it("is causal for any series and split (property)", () => {
    const settings = {
      learningRows: 5,
      discordWindow: 3,
      discordHistory: 20,
      discordMemory: 10,
      quietRows: 4,
    };
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 120 }),
        fc.nat(),
        (values, cut) => {
          const at = cut % values.length;
          const whole = scoresOf(values, settings).scores;
          const prefix = scoresOf(values.slice(0, at), settings).scores;
          expect(whole.slice(0, at)).toEqual(prefix);
          expect(whole.every((s) => s >= 0 && s <= 1)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("skips missing values without disturbing the others", () => {
    const values = periodic(1_200);
    values[1_000] = 3;
    const { scores: clean } = scoresOf(values);
    const withGaps = [...values.slice(0, 900), Number.NaN, ...values.slice(900)];
    const { scores: gapped } = scoresOf(withGaps);
    expect(gapped[900]).toBeNaN();
    expect([...gapped.slice(0, 900), ...gapped.slice(901)]).toEqual(clean);
    expect(firstAlarm(clean)).toBe(1_000);
  });

  it("rejects a negative or non-finite setting, naming it", () => {
    expect(() => new SeriesAnomalyDetector({ quietRows: -1 })).toThrow(
      "anomaly detector setting quietRows must be a finite number ≥ 0, got -1",
    );
    expect(() => new SeriesAnomalyDetector({ discordFloor: Number.NaN })).toThrow(
      "anomaly detector setting discordFloor must be a finite number ≥ 0, got NaN",
    );
    expect(() => new SeriesAnomalyDetector({ discordWindow: 2.5 })).toThrow(
      "anomaly detector setting discordWindow is a number of rows, got 2.5",
    );
    expect(new SeriesAnomalyDetector({ discordFloor: 0.5 }).settings.discordFloor).toBe(0.5);
  });
});
