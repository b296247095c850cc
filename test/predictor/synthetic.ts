import { type ServedModel, servedModel } from "../../predictor/forecaster.js";
import type { ModelMetadata } from "../../predictor/model-store.js";
import type { GridSeries } from "../../predictor/series-preparation.js";

/** Seeded uniform [0, 1), so failures reproduce. */
export function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Seeded standard normal (Box–Muller). */
export function gaussian(seed: number): () => number {
  const u = uniform(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** Hourly series: a daily sine of the given amplitude around `level`, plus N(0, sigma²) noise. */
export function dailySine(options: {
  key: string;
  hours: number;
  level: number;
  amplitude: number;
  sigma: number;
  seed: number;
  startMs?: number;
}): GridSeries {
  const normal = gaussian(options.seed);
  const values = new Float64Array(options.hours);
  for (let i = 0; i < options.hours; i++) {
    values[i] =
      options.level + options.amplitude * Math.sin((2 * Math.PI * i) / 24) + options.sigma * normal();
  }
  return {
    key: options.key,
    labels: { machine: options.key },
    startMs: options.startMs ?? Date.UTC(2026, 0, 5),
    stepMs: 3_600_000,
    values,
    interpolated: 0,
    missing: 0,
  };
}

/** A stored "naive" model of target "power" with one 5-minute horizon, as the forecast loop serves it. */
export function naiveServedModel(version = 1): ServedModel {
  return servedModel(
    {
      target: "power",
      version: version,
      served: "naive",
      horizonSteps: [5],
      horizonLabels: ["5m"],
      intervalWidths: { naive: [1] },
      seriesStats: {},
      baselines: { seasonSteps: [], seasonLabels: [], rangeSteps: 3, holtWinters: { sf: 0.3, tf: 0.1 } },
      backtest: [],
    } as unknown as ModelMetadata,
    undefined,
    undefined,
  );
}
