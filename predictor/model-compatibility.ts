import { formatDuration } from "../lib/duration.js";
import type { ResolvedTarget } from "./config.js";
import type { ModelMetadata } from "./model-store.js";

/**
 * Why a stored version must not serve the target as configured now, or undefined when it may.
 * Only what changes the meaning of the forecasts counts: the grid (step), the horizons, the
 * interval's nominal coverage and the data (expression, counter handling). Model settings
 * (window, units, seasonality…) do not: a version trained with others still forecasts the same
 * quantity on the same grid, and the next training applies them. Versions saved before the
 * expression was recorded are judged on the rest.
 */
export function configMismatch(metadata: ModelMetadata, target: ResolvedTarget): string | undefined {
  const differences: string[] = [];
  if (metadata.stepMs !== target.stepMs) {
    differences.push(`step ${formatDuration(metadata.stepMs)} (config: ${formatDuration(target.stepMs)})`);
  }
  const sameHorizons =
    metadata.horizonSteps.length === target.horizonSteps.length &&
    metadata.horizonSteps.every(
      (steps, i) => steps * metadata.stepMs === target.horizonSteps[i]! * target.stepMs,
    );
  if (!sameHorizons) {
    differences.push(
      `horizons ${metadata.horizonLabels.join(",")} (config: ${target.horizonLabels.join(",")})`,
    );
  }
  if (metadata.level !== target.config.interval) {
    differences.push(`interval ${metadata.level} (config: ${target.config.interval})`);
  }
  if (metadata.expr !== undefined && metadata.expr !== target.config.expr) {
    differences.push(`expr ${JSON.stringify(metadata.expr)} (config: ${JSON.stringify(target.config.expr)})`);
  }
  if (metadata.counter !== undefined && metadata.counter !== target.config.counter) {
    differences.push(`counter ${metadata.counter} (config: ${target.config.counter})`);
  }
  if (differences.length === 0) return undefined;
  return `trained for another configuration: ${differences.join(", ")}`;
}
