import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";

/** The datasource every panel and variable uses; provisioning/datasources/prometheus.yml creates it with this uid. */
export const PROMETHEUS_DATASOURCE: dashboard.DataSourceRef = { type: "prometheus", uid: "prometheus" };

export interface QueryOptions {
  /** One value per series at the end of the range (stats, tables) instead of a range query. */
  instant?: boolean;
  /** Table format keeps every label as a column (alerts, model info). */
  table?: boolean;
}

/** A PromQL target; refIds and datasource are filled in by `finishDashboard`. */
export function promQuery(
  expr: string,
  legend?: string,
  options: QueryOptions = {},
): prometheus.DataqueryBuilder {
  const target = new prometheus.DataqueryBuilder().expr(expr).editorMode(prometheus.QueryEditorMode.Code);
  if (legend !== undefined) target.legendFormat(legend);
  if (options.instant) target.instant();
  else target.range();
  if (options.table) target.format(prometheus.PromQueryFormat.Table);
  return target;
}

/**
 * A query variable over one label of a metric (the variable is named after the label), narrowed by
 * the variables before it (`filter`), so picking a tenant narrows the sites offered, and a site the
 * machines.
 */
export function labelVariable(
  label: string,
  metric: string,
  filter: string,
  options: { multi?: boolean; title?: string } = {},
): dashboard.QueryVariableBuilder {
  const selector = filter ? `${metric}{${filter}}` : metric;
  const variable = new dashboard.QueryVariableBuilder(label)
    .label(options.title ?? label)
    .datasource(PROMETHEUS_DATASOURCE)
    .query(`label_values(${selector}, ${label})`)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
  if (options.multi) variable.multi(true).includeAll(true).allValue(".*");
  return variable;
}

/** Dashed line in a fixed colour, for limits (the contract) and interval bounds. */
export function dashedLine(color: string): dashboard.DynamicConfigValue[] {
  return [
    { id: "color", value: { mode: "fixed", fixedColor: color } },
    { id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } },
    { id: "custom.fillOpacity", value: 0 },
  ];
}

/**
 * Gives every panel an id and every target a refId and the datasource. The builders leave these
 * out, and Grafana needs unique panel ids for links and repeat, and refIds for overrides.
 */
export function finishDashboard(builder: cog.Builder<dashboard.Dashboard>): dashboard.Dashboard {
  const built = builder.build();
  let nextId = 1;
  const finishPanel = (panel: dashboard.Panel | dashboard.RowPanel) => {
    panel.id = nextId++;
    if (panel.type === "row") {
      for (const inner of (panel as dashboard.RowPanel).panels ?? []) finishPanel(inner);
      return;
    }
    const targets = (panel as dashboard.Panel).targets ?? [];
    targets.forEach((target, index) => {
      const query = target as prometheus.dataquery;
      if (!query.refId) query.refId = String.fromCharCode(65 + index);
      query.datasource = PROMETHEUS_DATASOURCE;
    });
  };
  for (const panel of built.panels ?? []) finishPanel(panel);
  built.annotations = {
    list: [
      {
        builtIn: 1,
        datasource: { type: "grafana", uid: "-- Grafana --" },
        enable: true,
        hide: true,
        iconColor: "rgba(0, 211, 255, 1)",
        name: "Annotations & Alerts",
        type: "dashboard",
      },
    ],
  };
  return built;
}

/** Stats and bar gauges show the last value of each series (Grafana leaves `calcs` empty otherwise). */
export function lastValue(): common.ReduceDataOptionsBuilder {
  return new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false);
}
