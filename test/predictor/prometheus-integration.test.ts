import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  holtWintersModel,
  predictLinearModel,
  promHoltWinters,
  promPredictLinear,
} from "../../predictor/baselines.js";
import { PrometheusClient, PrometheusQueryError } from "../../predictor/prometheus-client.js";
import { prepareSeries } from "../../predictor/series-preparation.js";
import { needs } from "../support/binaries.js";
import { type Prometheus, startPrometheus } from "../support/prometheus.js";

const MIN = 60_000;
// History ends an hour ago and starts two days before that, well inside the default retention.
const END = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
const GAUGE_START = END - 48 * 3_600_000;
const GAUGE_STEP = 15_000;

/** Deterministic noise, so a failure reproduces. */
function noise(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}

const gauge: Array<[number, number]> = [];
{
  const rand = noise(7);
  for (let t = GAUGE_START; t <= END; t += GAUGE_STEP) {
    const hours = (t - GAUGE_START) / 3_600_000;
    gauge.push([t, 1000 + 200 * Math.sin((2 * Math.PI * hours) / 24) + 3 * hours + 40 * rand()]);
  }
}

// One sample a minute at :30, with 8 minutes missing (a short gap) and 120 minutes missing (a long one).
const GAPPY_START = END - 12 * 3_600_000 + 30_000;
const SHORT_GAP_AFTER = GAPPY_START + 120 * MIN;
const LONG_GAP_AFTER = GAPPY_START + 300 * MIN;
const gappy: Array<[number, number]> = [];
for (let t = GAPPY_START; t < END; t += MIN) {
  if (t > SHORT_GAP_AFTER && t <= SHORT_GAP_AFTER + 8 * MIN) continue;
  if (t > LONG_GAP_AFTER && t <= LONG_GAP_AFTER + 120 * MIN) continue;
  gappy.push([t, (t - GAPPY_START) / MIN]);
}

function openMetrics(): string {
  const lines = ["# TYPE fs_test_gauge gauge"];
  for (const [t, v] of gauge) lines.push(`fs_test_gauge{machine="a"} ${v} ${t / 1000}`);
  lines.push("# TYPE fs_test_gappy gauge");
  for (const [t, v] of gappy) lines.push(`fs_test_gappy{machine="b"} ${v} ${t / 1000}`);
  lines.push("# EOF", "");
  return lines.join("\n");
}

describe.skipIf(!needs("prometheus", "promtool"))("predictor against a real Prometheus", () => {
  let prometheus: Prometheus;

  beforeAll(async () => {
    prometheus = await startPrometheus({
      config: "global:\n  scrape_interval: 15s\n",
      history: openMetrics(),
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
  });

  it("refuses a single query over 11 000 points, and the chunked client gets every point", async () => {
    const client = new PrometheusClient({ url: prometheus.url, maxPointsPerQuery: 11_000 });
    expect(gauge.length).toBe(11_521);
    await expect(client.queryRangeOnce("fs_test_gauge", GAUGE_START, END, GAUGE_STEP)).rejects.toThrow(
      PrometheusQueryError,
    );
    await expect(client.queryRangeOnce("fs_test_gauge", GAUGE_START, END, GAUGE_STEP)).rejects.toThrow(
      'query_range "fs_test_gauge" failed: HTTP 400 bad_data: exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
    for (const maxPoints of [10_000, 997]) {
      const chunked = new PrometheusClient({ url: prometheus.url, maxPointsPerQuery: maxPoints });
      const result = await chunked.queryRange("fs_test_gauge", GAUGE_START, END, GAUGE_STEP);
      expect(result).toHaveLength(1);
      expect(result[0]!.labels).toEqual({ __name__: "fs_test_gauge", machine: "a" });
      expect(result[0]!.timestamps).toEqual(gauge.map(([t]) => t));
      expect(result[0]!.values).toEqual(gauge.map(([, v]) => v));
    }
  });

  it("keeps long gaps missing and interpolates short ones", async () => {
    const client = new PrometheusClient({ url: prometheus.url, maxPointsPerQuery: 100 });
    const start = GAPPY_START + 30_000;
    const end = END - 30_000;
    const raw = await client.queryRange("fs_test_gappy", start, end, MIN);
    const [series] = prepareSeries(raw, {
      startMs: start,
      endMs: end,
      stepMs: MIN,
      maxGapSteps: 5,
      counter: false,
    });
    expect(series!.key).toBe('{__name__="fs_test_gappy",machine="b"}');
    // Prometheus repeats the last sample for 5 minutes (lookback), so the 8-minute hole shows as 4 missing
    // grid points (interpolated) and the 120-minute hole as 116 (kept missing).
    expect(series!.interpolated).toBe(4);
    expect(series!.missing).toBe(116);
    const index = (t: number) => (t - start) / MIN;
    const shortFirst = index(SHORT_GAP_AFTER + 5.5 * MIN);
    const before = series!.values[shortFirst - 1]!;
    const after = series!.values[shortFirst + 4]!;
    expect(before).toBe(120);
    expect(after).toBe(129);
    expect(Array.from(series!.values.slice(shortFirst, shortFirst + 4))).toEqual(
      [121.8, 123.6, 125.4, 127.2].map((v) => expect.closeTo(v, 9)),
    );
    const longFirst = index(LONG_GAP_AFTER + 5.5 * MIN);
    expect(Number.isNaN(series!.values[longFirst - 1]!)).toBe(false);
    expect(Array.from(series!.values.slice(longFirst, longFirst + 116)).every(Number.isNaN)).toBe(true);
    expect(Number.isNaN(series!.values[longFirst + 116]!)).toBe(false);
  });

  it("computes predict_linear and holt_winters as Prometheus does, on the same raw samples", async () => {
    let compared = 0;
    for (let k = 0; k < 12; k++) {
      // Off-grid evaluation times, so which samples the range holds does not hinge on a boundary.
      const t = GAUGE_START + 3_600_000 + k * 3_700_000 + 7_000;
      const inRange = gauge.filter(([ts]) => ts >= t - 10 * MIN && ts <= t);
      const [linear] = await prometheus.query("predict_linear(fs_test_gauge[10m], 3600)", t / 1000);
      const ours = promPredictLinear(
        inRange.map(([ts]) => ts),
        inRange.map(([, v]) => v),
        t,
        3600,
      );
      expect(ours).toBeCloseTo(Number(linear!.value[1]), 6);
      for (const [sf, tf] of [
        [0.3, 0.1],
        [0.8, 0.6],
      ] as const) {
        const [smoothed] = await prometheus.query(`holt_winters(fs_test_gauge[10m], ${sf}, ${tf})`, t / 1000);
        const hw = promHoltWinters(
          inRange.map(([, v]) => v),
          sf,
          tf,
        );
        expect(hw).toBeCloseTo(Number(smoothed!.value[1]), 6);
      }
      compared++;
    }
    expect(compared).toBe(12);
  });

  it("the grid baselines match Prometheus evaluated at the forecast origin", async () => {
    const client = new PrometheusClient({ url: prometheus.url });
    const start = END - 6 * 3_600_000;
    const raw = await client.queryRange("fs_test_gauge", start, END, GAUGE_STEP);
    const [series] = prepareSeries(raw, {
      startMs: start,
      endMs: END,
      stepMs: GAUGE_STEP,
      maxGapSteps: 0,
      counter: false,
    });
    const rangeSteps = 40; // 10m of 15s steps
    const linear = predictLinearModel(rangeSteps);
    const hw = holtWintersModel(rangeSteps, 0.5, 0.3);
    for (const origin of [100, 555, 1_200]) {
      const t = start + origin * GAUGE_STEP;
      const cases = [{ series: series!, origin }];
      const [ours] = await linear.predict(cases, [240]);
      const [promLinear] = await prometheus.query("predict_linear(fs_test_gauge[10m], 3600)", t / 1000);
      expect(ours![0]).toBeCloseTo(Number(promLinear!.value[1]), 6);
      const [oursHw] = await hw.predict(cases, [240]);
      const [promHw] = await prometheus.query("holt_winters(fs_test_gauge[10m], 0.5, 0.3)", t / 1000);
      expect(oursHw![0]).toBeCloseTo(Number(promHw!.value[1]), 6);
    }
  });
});
