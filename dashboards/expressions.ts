import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";

/** One PromQL expression of a dashboard, with where it comes from for error messages. */
export interface DashboardExpression {
  dashboard: string;
  /** Panel title, or `variable <name>` for a template variable's query. */
  panel: string;
  refId: string;
  expr: string;
  /** Instant query (stats, tables) rather than a range query. */
  instant: boolean;
}

interface Target {
  expr?: string;
  refId?: string;
  instant?: boolean;
}

function panelsOf(model: dashboard.Dashboard): dashboard.Panel[] {
  const panels: dashboard.Panel[] = [];
  for (const panel of model.panels ?? []) {
    if (panel.type === "row") panels.push(...((panel as dashboard.RowPanel).panels ?? []));
    else panels.push(panel as dashboard.Panel);
  }
  return panels;
}

/**
 * Every PromQL expression of a dashboard: each panel target, and for each `label_values(selector,
 * label)` variable the selector, which must be valid PromQL too. Template variables stay in;
 * `substituteVariables` replaces them before the expression goes to Prometheus.
 */
export function dashboardExpressions(model: dashboard.Dashboard): DashboardExpression[] {
  const found: DashboardExpression[] = [];
  for (const panel of panelsOf(model)) {
    for (const target of (panel.targets ?? []) as Target[]) {
      found.push({
        dashboard: model.uid ?? model.title ?? "",
        panel: panel.title ?? "",
        refId: target.refId ?? "",
        expr: target.expr ?? "",
        instant: target.instant === true,
      });
    }
  }
  for (const variable of model.templating?.list ?? []) {
    if (variable.type !== "query" || typeof variable.query !== "string") continue;
    const match = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(variable.query);
    if (!match)
      throw new Error(`${model.uid}: variable ${variable.name} has an unsupported query ${variable.query}`);
    found.push({
      dashboard: model.uid ?? model.title ?? "",
      panel: `variable ${variable.name}`,
      refId: "",
      expr: match[1]!,
      instant: true,
    });
  }
  return found;
}

/** Values for the template variables that a test or a smoke check can use against the demo stack. */
export const EXAMPLE_VARIABLES: Readonly<Record<string, string>> = {
  tenant: "demo",
  site: "plant1",
  machine: "press1",
  device: "meter1",
  horizon: "15m",
  __rate_interval: "5m",
  __interval: "1m",
  __range: "1d",
};

/**
 * Replaces Grafana template variables (`$name` and `${name}`) with values, as Grafana does before a
 * query reaches Prometheus. Throws on a variable without a value rather than sending `$x` on.
 */
export function substituteVariables(
  expr: string,
  values: Readonly<Record<string, string>> = EXAMPLE_VARIABLES,
): string {
  return expr.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_whole, braced: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare)!;
      const value = values[name];
      if (value === undefined) throw new Error(`no value for template variable $${name} in ${expr}`);
      return value;
    },
  );
}
