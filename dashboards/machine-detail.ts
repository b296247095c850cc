import { createHash } from "node:crypto";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import {
  dashedLine,
  finishDashboard,
  labelVariable,
  lastValue,
  PROMETHEUS_DATASOURCE,
  promQuery,
} from "./panels.js";

/** One machine, as `floorsense machine add` knows it. Names match `[a-z0-9][a-z0-9_-]*`. */
export interface MachineRef {
  tenant: string;
  site: string;
  machine: string;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Predictor target names say what a target forecasts, because the forecast series carry only the
 * target's name to tell watts from degrees: a name that is `power` or ends in `-power`/`_power`
 * forecasts a machine's total active power in watts (deploy/predictor.yaml's `machine_power`,
 * provisioning's `<tenant>-<site>-<machine>-power`); one ending in `temperature` the same way
 * forecasts a temperature in °C. Label matcher regexes, anchored by PromQL.
 */
export const POWER_TARGETS = "(.*[-_])?power";
export const TEMPERATURE_TARGETS = "(.*[-_])?temperature";

/** What else a machine's dashboard shows, from what provisioning knows about the machine. */
export interface MachineDashboardOptions {
  /** The machine measures temperature and has a temperature forecast target: add its panel. */
  temperatureForecast?: boolean;
}

/**
 * The machine detail dashboard for one machine, with its identity fixed in every query: what
 * provisioning writes when a machine is added, so operators land on it without picking variables.
 * Devices and forecast horizons stay selectable.
 */
export function machineDashboard(
  ref: MachineRef,
  options: MachineDashboardOptions = {},
): dashboard.Dashboard {
  const names = { tenant: ref.tenant, site: ref.site, machine: ref.machine };
  for (const [key, value] of Object.entries(names)) {
    if (!NAME.test(value)) {
      throw new Error(
        `machineDashboard: ${key} ${JSON.stringify(value)} is not a valid name ([a-z0-9][a-z0-9_-]*, at most 63 characters)`,
      );
    }
  }
  // Grafana uids are at most 40 characters; three 63-character names are not, so hash them.
  const hash = createHash("sha256")
    .update(`${ref.tenant}/${ref.site}/${ref.machine}`)
    .digest("hex")
    .slice(0, 20);
  return buildMachineDashboard({
    title: `floorsense / Machine ${ref.tenant}/${ref.site}/${ref.machine}`,
    uid: `floorsense-machine-${hash}`,
    machine: `tenant="${ref.tenant}", site="${ref.site}", machine="${ref.machine}"`,
    identityVariables: [],
    temperatureForecast: options.temperatureForecast === true,
  });
}

/** The machine detail dashboard with tenant, site and machine as template variables. */
export function machineDetailDashboard(): dashboard.Dashboard {
  return buildMachineDashboard({
    title: "floorsense / Machine detail",
    uid: "floorsense-machine-detail",
    machine: 'tenant="$tenant", site="$site", machine="$machine"',
    identityVariables: [
      labelVariable("tenant", "floorsense_meter_system_power_watts", "", { title: "Tenant" }),
      labelVariable("site", "floorsense_meter_system_power_watts", 'tenant="$tenant"', { title: "Site" }),
      labelVariable("machine", "floorsense_meter_system_power_watts", 'tenant="$tenant", site="$site"', {
        title: "Machine",
      }),
    ],
    temperatureForecast: false,
  });
}

interface MachineDashboardSpec {
  title: string;
  uid: string;
  /** Label matchers selecting the machine. */
  machine: string;
  identityVariables: dashboard.QueryVariableBuilder[];
  temperatureForecast: boolean;
}

function buildMachineDashboard(spec: MachineDashboardSpec): dashboard.Dashboard {
  const machine = spec.machine;
  const device = `${machine}, device=~"$device"`;
  const power = `${machine}, target=~"${POWER_TARGETS}"`;
  const forecastSelector = (metric: string, selector: string) => `${metric}{${selector}, horizon="$horizon"}`;
  const builder = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description("Electrical readings per phase, forecast band and anomaly score of one machine.")
    .tags(["floorsense", "machine"])
    .time({ from: "now-6h", to: "now" })
    .refresh("30s")
    .timezone("browser")
    .tooltip(dashboard.DashboardCursorSync.Crosshair);
  for (const variable of spec.identityVariables) builder.withVariable(variable);
  builder
    .withVariable(
      labelVariable("device", "floorsense_meter_system_power_watts", machine, {
        multi: true,
        title: "Device",
      }),
    )
    .withVariable(labelVariable("horizon", "floorsense_forecast", machine, { title: "Forecast horizon" }))

    .withRow(new dashboard.RowBuilder("State"))
    .withPanel(
      new stat.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Power now")
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("watt")
        .height(5)
        .span(6)
        .graphMode(common.BigValueGraphMode.Area)
        .withTarget(
          promQuery(`sum(floorsense_meter_system_power_watts{${device}})`, "power", { instant: true }),
        ),
    )
    .withPanel(
      new stat.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Energy today")
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("kwatth")
        .decimals(1)
        .height(5)
        .span(6)
        .timeFrom("now/d")
        .withTarget(
          promQuery(
            `sum(increase(floorsense_meter_energy_imported_joules_total{${device}}[$__range])) / 3.6e6`,
            "energy",
            { instant: true },
          ),
        ),
    )
    .withPanel(
      new stat.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Devices answering")
        .datasource(PROMETHEUS_DATASOURCE)
        .height(5)
        .span(6)
        .mappings([
          {
            type: dashboard.MappingType.ValueToText,
            options: { "0": { text: "down", color: "red" }, "1": { text: "up", color: "green" } },
          },
        ])
        .withTarget(promQuery(`floorsense_device_up{${device}}`, "{{device}}", { instant: true })),
    )
    .withPanel(
      new stat.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Read errors (last hour)")
        .datasource(PROMETHEUS_DATASOURCE)
        .height(5)
        .span(6)
        .withTarget(
          promQuery(
            `sum by (kind) (increase(floorsense_device_read_errors_total{${device}}[1h]))`,
            "{{kind}}",
            {
              instant: true,
            },
          ),
        ),
    )

    .withRow(new dashboard.RowBuilder("Electrical, per phase"))
    .withPanel(phasePanel("Voltage (line to neutral)", "floorsense_meter_voltage_volts", device, "volt"))
    .withPanel(phasePanel("Current", "floorsense_meter_current_amperes", device, "amp"))
    .withPanel(phasePanel("Active power", "floorsense_meter_power_watts", device, "watt"))
    .withPanel(
      phasePanel("Power factor", "floorsense_meter_power_factor_ratio", device, "none").min(-1).max(1),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title("Total harmonic distortion")
        .description("Voltage and current THD per phase; EN 50160 allows 8 % voltage THD.")
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("percentunit")
        .height(8)
        .span(12)
        .withTarget(
          promQuery(`floorsense_meter_voltage_thd_ratio{${device}}`, "{{device}} {{phase}} voltage"),
        )
        .withTarget(
          promQuery(`floorsense_meter_current_thd_ratio{${device}}`, "{{device}} {{phase}} current"),
        ),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title("Frequency")
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("hertz")
        .height(8)
        .span(12)
        .withTarget(promQuery(`floorsense_meter_frequency_hertz{${device}}`, "{{device}}")),
    )

    .withRow(new dashboard.RowBuilder("Forecast and anomalies"))
    .withPanel(
      new timeseries.PanelBuilder()
        .title("Power with forecast band")
        .description(
          "Measured power of the machine, and the forecast of its power targets (target names ending in power) for the selected horizon with its lower and upper bound. The forecast shown at a time is for that time plus the horizon.",
        )
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("watt")
        .height(10)
        .span(16)
        .withTarget(
          promQuery(`tenant_site_machine:floorsense_meter_system_power_watts:sum{${machine}}`, "measured"),
        )
        .withTarget(promQuery(forecastSelector("floorsense_forecast", power), "{{target}} forecast"))
        .withTarget(promQuery(forecastSelector("floorsense_forecast_lower", power), "{{target}} lower"))
        .withTarget(promQuery(forecastSelector("floorsense_forecast_upper", power), "{{target}} upper"))
        .overrideByQuery("C", dashedLine("blue"))
        .overrideByQuery("D", dashedLine("blue")),
    )
    .withPanel(
      new timeseries.PanelBuilder()
        .title("Anomaly score and alarm")
        .description(
          "Score: distance of the measured value from its forecast in interval half-widths; above 1 is outside the prediction interval, and the alert fires when it stays above 1 for 15 minutes. Alarm: the streaming anomaly detector on the measured values; 1 is an alarm (a value outside the learned range or a shape the series has not made lately), 0 while it learns.",
        )
        .datasource(PROMETHEUS_DATASOURCE)
        .height(10)
        .span(8)
        .min(0)
        .thresholds(
          new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
            { value: null, color: "green" },
            { value: 1, color: "red" },
          ]),
        )
        .thresholdsStyle(
          new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Line),
        )
        .withTarget(promQuery(`floorsense_anomaly_score{${machine}}`, "{{target}} {{horizon}}"))
        .withTarget(promQuery(`floorsense_anomaly_alarm{${machine}}`, "{{target}} alarm")),
    );
  if (spec.temperatureForecast) {
    const temperature = `${machine}, target=~"${TEMPERATURE_TARGETS}"`;
    builder.withPanel(
      new timeseries.PanelBuilder()
        .title("Temperature with forecast band")
        .description(
          "Measured temperature per device, and the predictor's forecast for the selected horizon with its lower and upper bound. The forecast shown at a time is for that time plus the horizon.",
        )
        .datasource(PROMETHEUS_DATASOURCE)
        .unit("celsius")
        .height(10)
        .span(24)
        .withTarget(promQuery(`floorsense_meter_temperature_celsius{${device}}`, "{{device}} measured"))
        .withTarget(promQuery(forecastSelector("floorsense_forecast", temperature), "{{device}} forecast"))
        .withTarget(promQuery(forecastSelector("floorsense_forecast_lower", temperature), "{{device}} lower"))
        .withTarget(promQuery(forecastSelector("floorsense_forecast_upper", temperature), "{{device}} upper"))
        .overrideByQuery("C", dashedLine("orange"))
        .overrideByQuery("D", dashedLine("orange")),
    );
  }
  return finishDashboard(builder);
}

function phasePanel(title: string, metric: string, selector: string, unit: string): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(title)
    .datasource(PROMETHEUS_DATASOURCE)
    .unit(unit)
    .height(8)
    .span(12)
    .withTarget(promQuery(`${metric}{${selector}}`, "{{device}} {{phase}}"));
}
