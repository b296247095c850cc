import type { GridSeries } from "./series-preparation.js";

/** A forecast from one origin: the origin is the index of the last point the model may look at. */
export interface ForecastCase {
  series: GridSeries;
  origin: number;
}

/**
 * Anything that forecasts: the baselines and the LSTM. Batched, because the LSTM is only fast
 * when it sees many windows at once.
 */
export interface ForecastModel {
  readonly name: string;
  /** One array per case, one point forecast per horizon (in steps); NaN where it cannot forecast. */
  predict(cases: ForecastCase[], horizonSteps: number[]): Promise<Float64Array[]>;
}
