import { describe, expect, it } from "vitest";
import { casesFor, originsBetween, runBacktest } from "../../predictor/backtest.js";
import { seasonalNaiveModel } from "../../predictor/baselines.js";
import { BlendForecaster, chooseBlend, memoized } from "../../predictor/blend.js";
import type { ForecastCase, ForecastModel } from "../../predictor/forecast-model.js";
import type { GridSeries } from "../../predictor/series-preparation.js";
import { gaussian } from "./synthetic.js";

const series = (key: string, values: ArrayLike<number>): GridSeries => ({
  key,
  labels: { machine: key },
  startMs: 0,
  stepMs: 3_600_000,
  values: Float64Array.from(values),
  interpolated: 0,
  missing: 0,
});

/** A model whose forecast for target index t is table[t], whatever the origin; counts the cases it gets. */
class TableModel implements ForecastModel {
  calls = 0;
  cases = 0;
  constructor(
    readonly name: string,
    private readonly table: (s: GridSeries, t: number) => number,
  ) {}
  async predict(cases: ForecastCase[], horizonSteps: number[]) {
    this.calls++;
    this.cases += cases.length;
    return cases.map((c) => Float64Array.from(horizonSteps, (h) => this.table(c.series, c.origin + h)));
  }
}

const unit = () => ({ mean: 0, std: 1 });

async function forecastsOf(model: ForecastModel, cases: ForecastCase[], horizons: number[]) {
  return model.predict(cases, horizons);
}

describe("chooseBlend", () => {
  it("picks the baseline and LSTM share with the lowest validation error, per series", async () => {
    // Series a: actual 0, LSTM says +1, baseline "low" says −1, "high" +3 → 0.5·1 + 0.5·(−1) = 0 exactly.
    // Series b: actual 0, LSTM +1, "low" −9, "high" −0.5: "high" gets no closer than 0.3·1 + 0.7·(−0.5) = −0.05
    // on the grid, "low" at 0.9 hits 0.9 − 0.9 = 0.
    const a = series("a", new Array(40).fill(0));
    const b = series("b", new Array(40).fill(0));
    const cases = casesFor([a, b], () => originsBetween(10, 40, 2, 0, 1));
    const horizons = [1, 2];
    const lstm = new TableModel("lstm", () => 1);
    const low = new TableModel("low", (s) => (s.key === "a" ? -1 : -9));
    const high = new TableModel("high", (s) => (s.key === "a" ? 3 : -0.5));
    const choice = chooseBlend({
      cases,
      horizonSteps: horizons,
      lstm: await forecastsOf(lstm, cases, horizons),
      baselines: new Map([
        ["low", await forecastsOf(low, cases, horizons)],
        ["high", await forecastsOf(high, cases, horizons)],
      ]),
      statsOf: unit,
      minErrors: 10,
    });
    expect(choice.perSeries).toEqual({
      a: { baseline: "low", weight: 0.5 },
      b: { baseline: "low", weight: 0.9 },
    });
  });

  it("looks at nothing but the validation cases it is given", async () => {
    const values = Array.from({ length: 60 }, (_, i) => (i < 40 ? 0 : 100));
    const cases = casesFor([series("a", values)], () => originsBetween(10, 40, 1, 0, 1));
    const horizons = [1];
    const lstm = new TableModel("lstm", (_, t) => (t < 40 ? 0.2 : 100));
    const naive = new TableModel("naive", (_, t) => (t < 40 ? 5 : 0));
    const choice = chooseBlend({
      cases,
      horizonSteps: horizons,
      lstm: await forecastsOf(lstm, cases, horizons),
      baselines: new Map([["naive", await forecastsOf(naive, cases, horizons)]]),
      statsOf: unit,
      minErrors: 10,
    });
    // On rows ≥ 40 the baseline would be perfect and the LSTM useless; validation ends at 40.
    expect(choice.perSeries).toEqual({ a: { baseline: "naive", weight: 1 } });
  });

  it("serves the baseline alone where the LSTM is worse, without computing the LSTM", async () => {
    const noise = gaussian(3);
    const values = Array.from(
      { length: 400 },
      (_, i) => 10 * Math.sin((2 * Math.PI * i) / 24) + 0.1 * noise(),
    );
    const s = series("a", values);
    const cases = casesFor([s], () => originsBetween(100, 300, 3, 30, 1));
    const horizons = [1, 3];
    const baseline = seasonalNaiveModel("seasonal_naive_1d", 24);
    // An LSTM that is off by 5 in either direction: every share of it only adds error.
    const lstm = new TableModel("lstm", (series, t) => series.values[t]! + (t % 2 === 0 ? 5 : -5));
    const choice = chooseBlend({
      cases,
      horizonSteps: horizons,
      lstm: await lstm.predict(cases, horizons),
      baselines: new Map([["seasonal_naive_1d", await baseline.predict(cases, horizons)]]),
      statsOf: unit,
    });
    expect(choice).toEqual({
      perSeries: { a: { baseline: "seasonal_naive_1d", weight: 0 } },
      pooled: { baseline: "seasonal_naive_1d", weight: 0 },
    });
    lstm.calls = 0;
    const blend = new BlendForecaster(lstm, [baseline], choice);
    const test = casesFor([s], () => originsBetween(300, 400, 3, 30, 1));
    expect(await blend.predict(test, horizons)).toEqual(await baseline.predict(test, horizons));
    expect(lstm.calls).toBe(0);
  });

  it("uses the pooled choice for series with too few validation errors of their own", async () => {
    const long = series("long", new Array(100).fill(0));
    const short = series("short", new Array(100).fill(0));
    const cases = [
      ...casesFor([long], () => originsBetween(10, 100, 1, 0, 1)),
      ...casesFor([short], () => originsBetween(90, 100, 1, 0, 1)),
    ];
    const lstm = new TableModel("lstm", () => 1);
    const naive = new TableModel("naive", () => -1);
    const choice = chooseBlend({
      cases,
      horizonSteps: [1],
      lstm: await lstm.predict(cases, [1]),
      baselines: new Map([["naive", await naive.predict(cases, [1])]]),
      statsOf: unit,
      minErrors: 50,
    });
    expect(choice).toEqual({
      perSeries: { long: { baseline: "naive", weight: 0.5 } },
      pooled: { baseline: "naive", weight: 0.5 },
    });
    const blend = new BlendForecaster(lstm, [naive], choice);
    expect(blend.choiceFor(short)).toEqual({ baseline: "naive", weight: 0.5 });
  });
});

describe("BlendForecaster", () => {
  it("combines the LSTM and the chosen baseline with the chosen share", async () => {
    const s = series("a", [0, 0, 0, 0]);
    const t = series("b", [0, 0, 0, 0]);
    const lstm = new TableModel("lstm", () => 10);
    const naive = new TableModel("naive", () => 20);
    const other = new TableModel("other", () => 40);
    const blend = new BlendForecaster(lstm, [naive, other], {
      perSeries: { a: { baseline: "naive", weight: 0.3 }, b: { baseline: "other", weight: 1 } },
      pooled: { baseline: "naive", weight: 1 },
    });
    const forecasts = await blend.predict(
      [
        { series: s, origin: 1 },
        { series: t, origin: 1 },
      ],
      [1, 2],
    );
    expect(forecasts.map((f) => [...f])).toEqual([
      [0.3 * 10 + 0.7 * 20, 0.3 * 10 + 0.7 * 20],
      [10, 10],
    ]);
    // A baseline with no weight anywhere is not asked.
    expect(other.calls).toBe(0);
  });

  it("refuses settings naming a baseline it does not have", () => {
    expect(
      () =>
        new BlendForecaster(new TableModel("lstm", () => 0), [], {
          perSeries: { a: { baseline: "holt_winters", weight: 0.5 } },
          pooled: { baseline: "holt_winters", weight: 1 },
        }),
    ).toThrow("blend uses baseline holt_winters, which is not available");
  });
});

describe("memoized", () => {
  it("computes each series and origin once", async () => {
    const s = series("a", [1, 2, 3, 4, 5]);
    const inner = new TableModel("lstm", (series, t) => series.values[t] ?? Number.NaN);
    const model = memoized(inner);
    const first = await model.predict(
      [
        { series: s, origin: 0 },
        { series: s, origin: 1 },
      ],
      [1],
    );
    const second = await model.predict(
      [
        { series: s, origin: 1 },
        { series: s, origin: 2 },
      ],
      [1],
    );
    expect([...first, ...second].map((f) => f[0])).toEqual([2, 3, 3, 4]);
    expect(inner.cases).toBe(3);
  });
});

describe("blend intervals on synthetic data with known noise", () => {
  it("chooses the share on validation and holds the nominal 90% coverage on test", async () => {
    // Actual = daily sine + σ·ε. The "LSTM" knows the sine but adds its own independent noise σ·η, so
    // its error is σ(η − ε); seasonal naive errs by σ(ε' − ε). Their mean, error σ(η/2 + ε'/2 − ε),
    // has the least variance (1.5σ² against 2σ² for either alone): the choice must be 0.5, and the
    // 90% half-width 1.645·√1.5·σ = 2.015σ.
    const sigma = 2;
    const hours = 60_000;
    const epsilon = gaussian(21);
    const eta = gaussian(22);
    const signal = (t: number) => 50 + 10 * Math.sin((2 * Math.PI * t) / 24);
    const s = series(
      "m",
      Array.from({ length: hours }, (_, t) => signal(t) + sigma * epsilon()),
    );
    const lstmNoise = Float64Array.from({ length: hours }, () => sigma * eta());
    const lstm = new TableModel("lstm", (_, t) => signal(t) + (lstmNoise[t] ?? Number.NaN));
    const baseline = seasonalNaiveModel("seasonal_naive_1d", 24);
    const split = { trainEnd: 20_000, validationEnd: 40_000, end: hours };
    const horizons = [1, 6];
    const validation = casesFor([s], () => originsBetween(split.trainEnd, split.validationEnd, 6, 24, 1));
    const statsOf = () => ({ mean: 50, std: sigma });
    const choice = chooseBlend({
      cases: validation,
      horizonSteps: horizons,
      lstm: await lstm.predict(validation, horizons),
      baselines: new Map([["seasonal_naive_1d", await baseline.predict(validation, horizons)]]),
      statsOf,
    });
    expect(choice.perSeries).toEqual({ m: { baseline: "seasonal_naive_1d", weight: 0.5 } });
    const [report] = await runBacktest({
      models: [new BlendForecaster(lstm, [baseline], choice)],
      series: [s],
      horizonSteps: horizons,
      split,
      maseSeason: 24,
      level: 0.9,
      statsOf,
      minOrigin: 24,
    });
    expect(report!.model).toBe("lstm_blend");
    for (const width of report!.intervalWidths) expect(width).toBeCloseTo(1.645 * Math.sqrt(1.5), 1);
    // One series: its own widths are the pooled ones.
    expect(report!.seriesIntervalWidths).toEqual({ m: report!.intervalWidths });
    for (const horizon of report!.perHorizon) {
      expect(horizon.count).toBe(19_995);
      expect(horizon.coverage).toBeGreaterThan(0.89);
      expect(horizon.coverage).toBeLessThan(0.91);
    }
  });
});
