import * as bargauge from "@grafana/grafana-foundation-sdk/bargauge";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as table from "@grafana/grafana-foundation-sdk/table";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import {
  dashedLine,
  finishDashboard,
  labelVariable,
  lastValue,
  PROMETHEUS_DATASOURCE,
  promQuery,
} from "./panels.js";

const SITE = 'tenant="$tenant", site=~"$site"';
const JOULES_PER_KWH = "3.6e6";

/** Plant overview: power per site and machine, energy, the 15-minute demand against forecast and contract, alerts. */
export function plantOverviewDashboard(): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder("floorsense / Plant overview")
    .uid("floorsense-plant-overview")
    .description("Power and energy per site and machine, 15-minute demand against forecast and contract.")
    .tags(["floorsense"])
    .time({ from: "now-24h", to: "now" })
    .refresh("1m")
    .timezone("browser")
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(labelVariable("tenant", "floorsense_meter_system_power_watts", "", { title: "Tenant" }))
    .withVariable(
      labelVariable("site", "floorsense_meter_system_power_watts", 'tenant="$tenant"', {
        multi: true,
        title: "Site",
      }),
    )

    .withRow(new dashboard.RowBuilder("Now"))
    .withPanel(
      new stat.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Power now")
        .description("Total active power of each site.")
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("watt")
        .height(5)
        .span(8)
        .graphMode(common.BigValueGraphMode.Area)
        .withTarget(
          promQuery(`tenant_site:floorsense_meter_system_power_watts:sum{${SITE}}`, "{{site}}", {
            instant: true,
          }),
        ),
    )
    .withPanel(
      new stat.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Energy today")
        .description("Energy imported since midnight (dashboard time zone), per site.")
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("kwatth")
        .decimals(1)
        .height(5)
        .span(8)
        .timeFrom("now/d")
        .withTarget(
          promQuery(
            `sum by (site) (increase(floorsense_meter_energy_imported_joules_total{${SITE}}[$__range])) / ${JOULES_PER_KWH}`,
            "{{site}}",
            { instant: true },
          ),
        ),
    )
    .withPanel(
      new stat.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Demand vs contract")
        .description("15-minute average power as a share of the site's contracted peak.")
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("percentunit")
        .height(5)
        .span(8)
        .thresholds(
          new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
            { value: null, color: "green" },
            { value: 0.85, color: "orange" },
            { value: 1, color: "red" },
          ]),
        )
        .withTarget(
          promQuery(
            `tenant_site:floorsense_meter_system_power_watts:avg15m{${SITE}} / on (tenant, site) floorsense_site_contracted_peak_watts{${SITE}}`,
            "{{site}}",
            { instant: true },
          ),
        ),
    )

    .withRow(new dashboard.RowBuilder("Peak demand"))
    .withPanel(
      new timeseries.PanelBuilder()
        .title("15-minute average power, forecast and contract")
        .description(
          "Measured 15-minute average power, the forecast average over the next 15 minutes with its upper bound, and the contracted peak the tariff bills against.",
        )
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("watt")
        .height(10)
        .span(24)
        .withTarget(
          promQuery(
            `tenant_site:floorsense_meter_system_power_watts:avg15m{${SITE}}`,
            "{{site}} 15-min average",
          ),
        )
        .withTarget(
          promQuery(
            `tenant_site:floorsense_forecast_power_watts:avg15m{${SITE}}`,
            "{{site}} forecast (next 15 min)",
          ),
        )
        .withTarget(
          promQuery(
            `tenant_site:floorsense_forecast_upper_power_watts:avg15m{${SITE}}`,
            "{{site}} forecast upper bound",
          ),
        )
        .withTarget(promQuery(`floorsense_site_contracted_peak_watts{${SITE}}`, "{{site}} contract"))
        .overrideByQuery("C", dashedLine("orange"))
        .overrideByQuery("D", dashedLine("red")),
    )

    .withRow(new dashboard.RowBuilder("Power and energy"))
    .withPanel(
      new timeseries.PanelBuilder()
        .title("Power per site")
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("watt")
        .height(9)
        .span(12)
        .withTarget(promQuery(`tenant_site:floorsense_meter_system_power_watts:sum{${SITE}}`, "{{site}}")),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title("Power per machine")
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("watt")
        .height(9)
        .span(12)
        .fillOpacity(20)
        .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
        .withTarget(
          promQuery(
            `tenant_site_machine:floorsense_meter_system_power_watts:sum{${SITE}}`,
            "{{site}}/{{machine}}",
          ),
        ),
    )
    .withPanel(
      new bargauge.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Energy per machine, last 24 hours")
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("kwatth")
        .decimals(1)
        .height(9)
        .span(12)
        .orientation(common.VizOrientation.Horizontal)
        .withTarget(
          promQuery(
            `tenant_site_machine:floorsense_meter_energy_imported_joules:increase1d{${SITE}} / ${JOULES_PER_KWH}`,
            "{{site}}/{{machine}}",
            { instant: true },
          ),
        ),
    )
    .withPanel(
      new table.PanelBuilder()
        .title("Active alerts")
        .description("Alerts firing now for this tenant (ALERTS series from Prometheus).")
        .datasource(PROMETHEUS_DATASOURCE)
        .height(9)
        .span(12)
        .withTarget(
          promQuery(
            'sum by (alertname, severity, site, machine, device) (ALERTS{alertstate="firing", tenant="$tenant"})',
            undefined,
            { instant: true, table: true },
          ),
        ),
    );
  return finishDashboard(builder);
}
