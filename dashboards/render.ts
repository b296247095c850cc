import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";

/** Recursively sorts object keys, so the JSON does not depend on the order builders set fields in. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const inner = (value as Record<string, unknown>)[key];
      if (inner !== undefined) sorted[key] = sortKeys(inner);
    }
    return sorted;
  }
  return value;
}

/** The committed form of a dashboard: keys sorted, 2-space indentation, trailing newline. */
export function renderDashboardJson(model: dashboard.Dashboard): string {
  return `${JSON.stringify(sortKeys(model), null, 2)}\n`;
}
