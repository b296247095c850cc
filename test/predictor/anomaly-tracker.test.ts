import { describe, expect, it } from "vitest";
import { SeriesAnomalyDetector } from "../../predictor/anomaly-detector.js";
import { AnomalyAlarmTracker } from "../../predictor/anomaly-tracker.js";
import type { GridSeries } from "../../predictor/series-preparation.js";
import { uniform } from "./synthetic.js";

const START = Date.UTC(2026, 0, 1);
const STEP = 300_000;

function periodic(rows: number, seed: number): number[] {
  const noise = uniform(seed);
  return Array.from({ length: rows }, (_, i) => Math.sin((2 * Math.PI * i) / 40) + 0.004 * (noise() - 0.5));
}

/** Rows [from, to) of a series as one round's range query would return them. */
function round(key: string, values: number[], from: number, to: number): GridSeries {
  return {
    key,
    labels: { machine: key },
    startMs: START + from * STEP,
    stepMs: STEP,
    values: Float64Array.from(values.slice(from, to)),
    interpolated: 0,
    missing: 0,
  };
}

describe("AnomalyAlarmTracker", () => {
  const values = periodic(3_000, 3);
  values[2_500] = 1.5;
  const detector = new SeriesAnomalyDetector();
  const onePass = values.map((v) => detector.update(v));

  it("feeds every point once across overlapping rounds: the scores of one pass", () => {
    const tracker = new AnomalyAlarmTracker();
    const rounds: Array<[number, number]> = [
      [0, 1_000],
      [900, 1_500],
      [1_400, 2_501],
      [2_450, 2_530],
      [2_500, 3_000],
    ];
    const seen = rounds.map(([from, to]) => tracker.observe([round("m1", values, from, to)]));
    expect(seen.map((alarms) => alarms.map((a) => [a.key, a.atMs, a.score]))).toEqual(
      rounds.map(([, to]) => [["m1", START + (to - 1) * STEP, onePass[to - 1]!]]),
    );
    expect(seen[2]![0]!.score).toBe(1);
    expect(seen[2]![0]!.labels).toEqual({ machine: "m1" });
  });

  it("leaves trailing missing points for a later round and skips inner gaps", () => {
    const tracker = new AnomalyAlarmTracker();
    const gappy = [...values];
    gappy[1_000] = Number.NaN;
    const first = round("m1", gappy, 0, 1_003);
    first.values[1_001] = Number.NaN;
    first.values[1_002] = Number.NaN;
    expect(tracker.observe([first])[0]!.atMs).toBe(START + 999 * STEP);
    // Row 1000 is still missing (a gap now, skipped); rows 1001–1002 arrived late and are fed.
    const second = tracker.observe([round("m1", gappy, 990, 1_003)]);
    const reference = new SeriesAnomalyDetector();
    const expected = gappy.slice(0, 1_003).map((v) => reference.update(v));
    expect(second[0]!.atMs).toBe(START + 1_002 * STEP);
    expect(second[0]!.score).toBe(expected[1_002]);
  });

  it("forgets a series missing from a round; it relearns when it returns", () => {
    const tracker = new AnomalyAlarmTracker();
    const other = periodic(3_000, 5);
    tracker.observe([round("m1", values, 0, 2_000), round("m2", other, 0, 2_000)]);
    tracker.observe([round("m1", values, 1_990, 2_400)]);
    const back = tracker.observe([round("m1", values, 2_390, 2_501), round("m2", values, 2_490, 2_501)]);
    expect(back.map((a) => [a.key, a.score])).toEqual([
      ["m1", 1],
      ["m2", 0],
    ]);
  });

  it("reports the highest score a round fed, so an alarm before the round's last value is kept", () => {
    const tracker = new AnomalyAlarmTracker();
    tracker.observe([round("m1", values, 0, 2_400)]);
    // The spike (row 2500) is followed by 20 more rows in the same round; then a round with no new value.
    const spikeRound = tracker.observe([round("m1", values, 2_390, 2_521)]);
    const empty = round("m1", values, 2_511, 2_521);
    const idle = tracker.observe([empty]);
    const next = tracker.observe([round("m1", values, 2_511, 2_523)]);
    expect(onePass[2_500]).toBe(1);
    expect(onePass[2_520]).toBe(0);
    expect(spikeRound.map((a) => [a.atMs, a.score, a.peak])).toEqual([[START + 2_520 * STEP, 0, 1]]);
    expect(idle.map((a) => [a.atMs, a.score, a.peak])).toEqual([[START + 2_520 * STEP, 0, 1]]);
    expect(next.map((a) => [a.atMs, a.score, a.peak])).toEqual([
      [START + 2_522 * STEP, onePass[2_522], Math.max(onePass[2_521]!, onePass[2_522]!)],
    ]);
    expect(Math.max(onePass[2_521]!, onePass[2_522]!)).toBeLessThan(1);
  });

  it("asks for enough history to alarm on the first round", () => {
    expect(new AnomalyAlarmTracker().warmupSteps).toBe(2_065);
    expect(new AnomalyAlarmTracker({ learningRows: 5_000 }).warmupSteps).toBe(5_001);
  });
});
