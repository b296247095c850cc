import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { type DashboardExpression, dashboardExpressions } from "./expressions.js";
import { fleetHealthDashboard } from "./fleet-health.js";
import { machineDetailDashboard } from "./machine-detail.js";
import { plantOverviewDashboard } from "./plant-overview.js";

export {
  type DashboardExpression,
  dashboardExpressions,
  EXAMPLE_VARIABLES,
  substituteVariables,
} from "./expressions.js";
export { fleetHealthDashboard } from "./fleet-health.js";
export {
  type MachineDashboardOptions,
  type MachineRef,
  machineDashboard,
  machineDetailDashboard,
  POWER_TARGETS,
  TEMPERATURE_TARGETS,
} from "./machine-detail.js";
export { PROMETHEUS_DATASOURCE } from "./panels.js";
export { plantOverviewDashboard } from "./plant-overview.js";
export { renderDashboardJson } from "./render.js";

/** The dashboards committed in dashboards/generated/, by file name. */
export function generatedDashboards(): Array<{ file: string; dashboard: dashboard.Dashboard }> {
  return [
    { file: "plant-overview.json", dashboard: plantOverviewDashboard() },
    { file: "machine-detail.json", dashboard: machineDetailDashboard() },
    { file: "fleet-health.json", dashboard: fleetHealthDashboard() },
  ];
}

/** Every PromQL expression of every generated dashboard (template variables not yet substituted). */
export function allDashboardExpressions(): DashboardExpression[] {
  return generatedDashboards().flatMap((entry) => dashboardExpressions(entry.dashboard));
}
