import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrometheusClient, type RangeSeries } from "../../predictor/prometheus-client.js";
import { type GridSeries, prepareSeries } from "../../predictor/series-preparation.js";
import { SeriesWindowCache, type SeriesWindowOptions } from "../../predictor/series-window-cache.js";
import { needs } from "../support/binaries.js";
import { type Prometheus, startPrometheus } from "../support/prometheus.js";

const STEP = 60_000;

/** A value per series and grid time: a number (NaN included) is a point, undefined none. */
type Source = Record<string, (t: number) => number | undefined>;

/** Answers range queries from `source` the way Prometheus does: series without points are left out. */
function fakeClient(source: Source) {
  const queries: Array<{ start: number; end: number }> = [];
  let failNext = false;
  return {
    queries,
    failOnce() {
      failNext = true;
    },
    async queryRange(_expr: string, startMs: number, endMs: number, stepMs: number): Promise<RangeSeries[]> {
      queries.push({ start: startMs, end: endMs });
      if (failNext) {
        failNext = false;
        throw new Error("connection refused");
      }
      const out: RangeSeries[] = [];
      for (const [machine, value] of Object.entries(source)) {
        const series: RangeSeries = { labels: { machine }, timestamps: [], values: [] };
        for (let t = Math.ceil(startMs / stepMs) * stepMs; t <= endMs; t += stepMs) {
          const v = value(t);
          if (v === undefined) continue;
          series.timestamps.push(t);
          series.values.push(v);
        }
        if (series.timestamps.length > 0) out.push(series);
      }
      return out;
    },
  };
}

const options = (overrides: Partial<SeriesWindowOptions> = {}): SeriesWindowOptions => ({
  expr: "x",
  stepMs: STEP,
  maxGapSteps: 3,
  counter: false,
  ...overrides,
});

function byKey(series: GridSeries[]): GridSeries[] {
  return [...series].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

async function fullRead(
  client: { queryRange: PrometheusClient["queryRange"] },
  o: SeriesWindowOptions,
  startMs: number,
  endMs: number,
): Promise<GridSeries[]> {
  const raw = await client.queryRange(o.expr, startMs, endMs, o.stepMs);
  return prepareSeries(raw, { startMs, endMs, ...o });
}

describe("SeriesWindowCache", () => {
  const steady: Source = { a: (t) => t / STEP, b: (t) => 2 * (t / STEP) };
  const T0 = 1_000 * STEP;

  it("reads the whole window once, then the new steps with two of overlap", async () => {
    const client = fakeClient(steady);
    const cache = new SeriesWindowCache(client, options({ pointsPerResponse: 100 }));
    const first = await cache.read(T0 - 120 * STEP, T0);
    // 10 points to count the series, then 100 / 2 series = 50 steps per response.
    expect(client.queries).toEqual([
      { start: T0 - 120 * STEP, end: T0 - 111 * STEP },
      { start: T0 - 110 * STEP, end: T0 - 61 * STEP },
      { start: T0 - 60 * STEP, end: T0 - 11 * STEP },
      { start: T0 - 10 * STEP, end: T0 },
    ]);
    expect(first.map((s) => [s.key, s.startMs, s.values.length, s.values[0], s.values[120]])).toEqual([
      ['{machine="a"}', T0 - 120 * STEP, 121, 880, 1_000],
      ['{machine="b"}', T0 - 120 * STEP, 121, 1_760, 2_000],
    ]);
    client.queries.length = 0;
    const next = await cache.read(T0 - 119 * STEP, T0 + STEP);
    expect(client.queries).toEqual([{ start: T0 - 2 * STEP, end: T0 + STEP }]);
    expect(next).toEqual(await fullRead(client, options(), T0 - 119 * STEP, T0 + STEP));
  });

  it("keeps its window when a read fails; the next round reads the steps it missed", async () => {
    const client = fakeClient(steady);
    const cache = new SeriesWindowCache(client, options());
    await cache.read(T0 - 60 * STEP, T0);
    client.failOnce();
    await expect(cache.read(T0 - 59 * STEP, T0 + STEP)).rejects.toThrow("connection refused");
    client.queries.length = 0;
    const next = await cache.read(T0 - 58 * STEP, T0 + 2 * STEP);
    expect(client.queries).toEqual([{ start: T0 - 2 * STEP, end: T0 + 2 * STEP }]);
    expect(next).toEqual(await fullRead(client, options(), T0 - 58 * STEP, T0 + 2 * STEP));
  });

  it("reads the whole window again when a series appears, and drops one whose window is empty", async () => {
    const appearsAt = T0 + 2 * STEP;
    const endsAt = T0 - 50 * STEP;
    const source: Source = {
      a: (t) => t / STEP,
      // Backfilled: its older points exist, although the previous round did not see them.
      late: (t) => (t <= T0 || t >= appearsAt ? 5 : undefined),
      gone: (t) => (t <= endsAt ? 7 : undefined),
    };
    const visible: Source = { a: source.a!, gone: source.gone! };
    const client = fakeClient(visible);
    const cache = new SeriesWindowCache(client, options());
    expect((await cache.read(T0 - 60 * STEP, T0)).map((s) => s.key)).toEqual([
      '{machine="a"}',
      '{machine="gone"}',
    ]);
    // Ten steps on, "gone" has no point left in the window.
    client.queries.length = 0;
    expect((await cache.read(T0 - 50 * STEP, T0 + STEP)).map((s) => s.key)).toEqual([
      '{machine="a"}',
      '{machine="gone"}',
    ]);
    expect((await cache.read(T0 - 49 * STEP, T0 + STEP)).map((s) => s.key)).toEqual(['{machine="a"}']);
    expect(client.queries).toEqual([
      { start: T0 - 2 * STEP, end: T0 + STEP },
      { start: T0 - STEP, end: T0 + STEP },
    ]);
    Object.assign(visible, { late: source.late });
    client.queries.length = 0;
    const appeared = await cache.read(T0 - 48 * STEP, appearsAt);
    expect(client.queries).toEqual([
      { start: T0 - STEP, end: appearsAt },
      { start: T0 - 48 * STEP, end: T0 + 2 * STEP },
    ]);
    expect(byKey(appeared)).toEqual(byKey(await fullRead(client, options(), T0 - 48 * STEP, appearsAt)));
    expect(appeared.find((s) => s.key === '{machine="late"}')!.values[0]).toBe(5);
  });

  it("reads the whole window when it reaches further back than the cached one or the clock went back", async () => {
    const client = fakeClient(steady);
    const cache = new SeriesWindowCache(client, options());
    await cache.read(T0 - 20 * STEP, T0);
    client.queries.length = 0;
    // A served model that needs a longer window.
    await cache.read(T0 - 30 * STEP, T0 + STEP);
    await cache.read(T0 - 40 * STEP, T0 - STEP);
    expect(client.queries).toEqual([
      { start: T0 - 30 * STEP, end: T0 + STEP },
      { start: T0 - 40 * STEP, end: T0 - STEP },
    ]);
  });

  it("equals a full read round after round through gaps, NaN samples and counter resets", async () => {
    // Deterministic pseudo-random gaps: runs of 1 to 6 missing points, some NaN samples.
    const hash = (t: number, seed: number) =>
      Math.abs(Math.sin((t / STEP) * 12.9898 + seed) * 43_758.5453) % 1;
    const gappy = (seed: number) => (t: number) => {
      const r = hash(Math.floor(t / STEP / 4) * STEP, seed);
      if (r < 0.2) return undefined;
      if (r > 0.97) return Number.NaN;
      return 100 + 10 * Math.sin(t / STEP / 7) + hash(t, seed);
    };
    // A counter that resets every 37 steps and has gaps.
    const counter = (t: number) => (hash(t, 9) < 0.1 ? undefined : ((t / STEP) % 37) * 3.5);
    for (const o of [options(), options({ counter: true })]) {
      const source: Source = o.counter ? { c: counter } : { g1: gappy(1), g2: gappy(2) };
      const client = fakeClient(source);
      const cache = new SeriesWindowCache(client, { ...o, pointsPerResponse: 150 });
      let end = T0;
      for (let round = 0; round < 40; round++) {
        // Rounds one or two steps apart, now and then a lost one.
        end += (round % 5 === 4 ? 3 : 1 + (round % 2)) * STEP;
        const start = end - 90 * STEP;
        expect(await cache.read(start, end), `round ${round}`).toEqual(await fullRead(client, o, start, end));
      }
    }
  });
});

// Whole minutes, ending an hour ago: the rounds run inside the loaded history.
const ROWS = 600;
const HISTORY_START = Math.floor(Date.now() / STEP) * STEP - 3_600_000 - ROWS * STEP;

/** Scrapes every 15 s with gaps longer than the 5 min lookback, a counter with resets, series that come and go. */
function history(): string {
  const lines = ["# TYPE fs_cache_power_watts gauge"];
  const at = (i: number, offset: number) => (HISTORY_START + i * STEP + offset * 15_000) / 1000;
  for (let i = 0; i < ROWS; i++) {
    for (let q = 0; q < 4; q++) {
      const v = 1_000 + 300 * Math.sin((i + q / 4) / 9);
      // Machine a: 8-minute outages every 100 minutes (one point missing per 5 min lookback).
      if (i % 100 < 92) lines.push(`fs_cache_power_watts{machine="a"} ${v} ${at(i, q)}`);
      // Machine b: stops at row 250 and comes back at row 420.
      if (i < 250 || i >= 420) lines.push(`fs_cache_power_watts{machine="b"} ${2 * v} ${at(i, q)}`);
      // Machine c: installed at row 330.
      if (i >= 330) lines.push(`fs_cache_power_watts{machine="c"} ${v / 2} ${at(i, q)}`);
      // Machine d: NaN samples now and then.
      lines.push(`fs_cache_power_watts{machine="d"} ${i % 23 === 5 ? "NaN" : v} ${at(i, q)}`);
    }
  }
  lines.push("# TYPE fs_cache_energy_joules counter");
  for (let i = 0; i < ROWS; i++) {
    for (let q = 0; q < 4; q++) {
      // Restarts every 130 minutes (reset to 0), and a 20-minute outage.
      if (i >= 200 && i < 220) continue;
      const total = ((i * 4 + q) % 520) * 1_500;
      lines.push(`fs_cache_energy_joules_total{machine="a"} ${total} ${at(i, q)}`);
    }
  }
  lines.push("# EOF", "");
  return lines.join("\n");
}

describe.skipIf(!needs("prometheus", "promtool"))("SeriesWindowCache against a real Prometheus", () => {
  let prometheus: Prometheus;

  beforeAll(async () => {
    prometheus = await startPrometheus({ config: "global:\n  scrape_interval: 15s\n", history: history() });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
  });

  it.each([
    ["gauges with gaps, NaN samples, series that leave, return and appear", "fs_cache_power_watts", false],
    ["a raw counter with resets and an outage", "fs_cache_energy_joules_total", true],
  ])(
    "every round equals a full read: %s",
    async (_what, expr, counter) => {
      const client = new PrometheusClient({ url: prometheus.url });
      const spans: number[] = [];
      const recording: Pick<PrometheusClient, "queryRange"> = {
        queryRange: (e, startMs, endMs, stepMs) => {
          spans.push((endMs - startMs) / STEP);
          return client.queryRange(e, startMs, endMs, stepMs);
        },
      };
      const o = options({ expr, counter, maxGapSteps: 3, pointsPerResponse: 500 });
      const cache = new SeriesWindowCache(recording, o);
      const windowSteps = 120;
      let keys = 0;
      let rounds = 0;
      // From before machine b leaves to after machine c arrives and b returns.
      for (let row = 240; row < ROWS; row += row % 7 === 0 ? 3 : 1) {
        const end = HISTORY_START + row * STEP;
        const cached = byKey(await cache.read(end - windowSteps * STEP, end));
        const full = byKey(await fullRead(client, o, end - windowSteps * STEP, end));
        expect(cached, `row ${row}`).toEqual(full);
        keys = Math.max(keys, full.length);
        rounds++;
      }
      expect(keys).toBe(counter ? 1 : 4);
      // The first round in two pieces; after it every round reads 3 or 5 steps, and the whole
      // window again when machine c appears and when b returns.
      expect(spans.slice(0, 2)).toEqual([9, 110]);
      expect(spans.filter((span) => span <= 5)).toHaveLength(rounds - 1);
      expect(spans.filter((span) => span === windowSteps)).toHaveLength(counter ? 0 : 2);
      expect(spans).toHaveLength(2 + rounds - 1 + (counter ? 0 : 2));
    },
    60_000,
  );
});
