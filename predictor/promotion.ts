import type { ModelReport } from "./backtest.js";
import { isBaseline } from "./baselines.js";
import { type BlendSettings, blendUsesLstm } from "./blend.js";

export interface PromotionDecision {
  /** The model to serve: "lstm", "lstm_blend" or a baseline's name. */
  served: string;
  bestBaseline: string | undefined;
  reason: string;
  /** Per-series weights when the blend is served (chosen on validation by the training). */
  blend?: BlendSettings;
}

function usable(report: ModelReport): boolean {
  return (
    report.overall.count > 0 &&
    Number.isFinite(report.overall.mase) &&
    Number.isFinite(report.intervalWidths[0] ?? Number.NaN)
  );
}

/**
 * Serve the candidate (the LSTM or its blend) only when it beats the best baseline on backtest
 * MASE; otherwise the best baseline. Ties go to the baseline: simpler, and no worse. Other
 * LSTM variants in the reports are neither candidates nor baselines. A blend (`blend`, its
 * weights) that gives the LSTM no share anywhere is a mix of baselines, not the LSTM: it is not a
 * candidate, and the best baseline is served under its own name.
 */
export function choosePromotion(
  reports: ModelReport[],
  candidate = "lstm",
  blend?: BlendSettings,
): PromotionDecision {
  const baselines = reports.filter((r) => isBaseline(r.model) && usable(r));
  const best = baselines.reduce<ModelReport | undefined>(
    (winner, r) => (!winner || r.overall.mase < winner.overall.mase ? r : winner),
    undefined,
  );
  if (blend && !blendUsesLstm(blend)) {
    if (!best) throw new Error("no model could be evaluated on the held-out data (too little data?)");
    return {
      served: best.model,
      bestBaseline: best.model,
      reason: `${candidate} gives the LSTM weight 0 for every series; best baseline ${best.model} ${fmt(best.overall.mase)}`,
    };
  }
  const lstm = reports.find((r) => r.model === candidate);
  if (!best) {
    if (lstm && usable(lstm))
      return { served: candidate, bestBaseline: undefined, reason: "no baseline could be evaluated" };
    throw new Error("no model could be evaluated on the held-out data (too little data?)");
  }
  if (!lstm || !usable(lstm)) {
    return { served: best.model, bestBaseline: best.model, reason: `${candidate} could not be evaluated` };
  }
  if (lstm.overall.mase < best.overall.mase) {
    return {
      served: candidate,
      bestBaseline: best.model,
      reason: `${candidate} MASE ${fmt(lstm.overall.mase)} < ${best.model} ${fmt(best.overall.mase)}`,
    };
  }
  return {
    served: best.model,
    bestBaseline: best.model,
    reason: `${candidate} MASE ${fmt(lstm.overall.mase)} does not beat ${best.model} ${fmt(best.overall.mase)}`,
  };
}

function fmt(x: number): string {
  return x.toFixed(4);
}
