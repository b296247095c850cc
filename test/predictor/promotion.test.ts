import { describe, expect, it } from "vitest";
import type { ModelReport } from "../../predictor/backtest.js";
import { choosePromotion } from "../../predictor/promotion.js";

function report(model: string, mase: number, count = 100): ModelReport {
  const m = { mae: mase, rmse: mase, smape: 1, mase, coverage: 0.9, count };
  return { model, overall: m, perHorizon: [m], intervalWidths: [1] };
}

describe("choosePromotion", () => {
  it("serves the LSTM when it beats the best baseline on MASE", () => {
    const decision = choosePromotion([
      report("naive", 0.9),
      report("seasonal_naive_1d", 0.7),
      report("lstm", 0.6),
    ]);
    expect(decision).toEqual({
      served: "lstm",
      bestBaseline: "seasonal_naive_1d",
      reason: "lstm MASE 0.6000 < seasonal_naive_1d 0.7000",
    });
  });

  it("serves the best baseline when the LSTM only ties or loses", () => {
    expect(choosePromotion([report("naive", 0.7), report("lstm", 0.7)]).served).toBe("naive");
    expect(choosePromotion([report("naive", 0.9), report("holt_winters", 0.8), report("lstm", 1.2)])).toEqual(
      {
        served: "holt_winters",
        bestBaseline: "holt_winters",
        reason: "lstm MASE 1.2000 does not beat holt_winters 0.8000",
      },
    );
  });

  it("compares the blend with the baselines only, never with the LSTM it is built on", () => {
    const reports = [report("naive", 0.9), report("seasonal_naive_1d", 0.8), report("lstm", 0.5)];
    expect(choosePromotion([...reports, report("lstm_blend", 0.7)], "lstm_blend")).toEqual({
      served: "lstm_blend",
      bestBaseline: "seasonal_naive_1d",
      reason: "lstm_blend MASE 0.7000 < seasonal_naive_1d 0.8000",
    });
    expect(choosePromotion([...reports, report("lstm_blend", 0.8)], "lstm_blend")).toEqual({
      served: "seasonal_naive_1d",
      bestBaseline: "seasonal_naive_1d",
      reason: "lstm_blend MASE 0.8000 does not beat seasonal_naive_1d 0.8000",
    });
  });

  it("does not serve a blend that gives the LSTM weight 0 everywhere: the best baseline is served as such", () => {
    const reports = [
      report("naive", 0.9),
      report("seasonal_naive_1d", 0.8),
      report("lstm", 0.95),
      // A per-series mix of baselines can beat every single baseline, but it is not the LSTM.
      report("lstm_blend", 0.7),
    ];
    const baselinesOnly = {
      perSeries: {
        '{machine="a"}': { baseline: "naive", weight: 0 },
        '{machine="b"}': { baseline: "seasonal_naive_1d", weight: 0 },
      },
      pooled: { baseline: "seasonal_naive_1d", weight: 0 },
    };
    expect(choosePromotion(reports, "lstm_blend", baselinesOnly)).toEqual({
      served: "seasonal_naive_1d",
      bestBaseline: "seasonal_naive_1d",
      reason: "lstm_blend gives the LSTM weight 0 for every series; best baseline seasonal_naive_1d 0.8000",
    });
    // One series (or the pooled choice new series get) with an LSTM share keeps it a candidate.
    for (const withLstm of [
      { ...baselinesOnly, pooled: { baseline: "naive", weight: 0.1 } },
      { ...baselinesOnly, perSeries: { '{machine="a"}': { baseline: "naive", weight: 0.3 } } },
    ]) {
      expect(choosePromotion(reports, "lstm_blend", withLstm)).toEqual({
        served: "lstm_blend",
        bestBaseline: "seasonal_naive_1d",
        reason: "lstm_blend MASE 0.7000 < seasonal_naive_1d 0.8000",
      });
    }
  });

  it("ignores models that could not be evaluated", () => {
    expect(
      choosePromotion([
        report("naive", 0.9),
        report("seasonal_naive_1w", Number.NaN, 0),
        report("lstm", Number.NaN, 0),
      ]),
    ).toEqual({
      served: "naive",
      bestBaseline: "naive",
      reason: "lstm could not be evaluated",
    });
    expect(() => choosePromotion([report("naive", Number.NaN, 0)])).toThrow(
      "no model could be evaluated on the held-out data (too little data?)",
    );
  });
});
