import * as bargauge from "@grafana/grafana-foundation-sdk/bargauge";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as table from "@grafana/grafana-foundation-sdk/table";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import { finishDashboard, labelVariable, lastValue, PROMETHEUS_DATASOURCE, promQuery } from "./panels.js";

const TENANT = 'tenant=~"$tenant"';

function series(title: string, unit: string, span = 12): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(title)
    .datasource(PROMETHEUS_DATASOURCE)
    .unit(unit)
    .height(8)
    .span(span);
}

/** Fleet health: edge devices and exporters, the bridge per tenant, the predictor's models. */
export function fleetHealthDashboard(): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder("floorsense / Fleet health")
    .uid("floorsense-fleet-health")
    .description("Edge devices and exporters, the ingest bridge per tenant, and the predictor's models.")
    .tags(["floorsense", "operations"])
    .time({ from: "now-6h", to: "now" })
    .refresh("1m")
    .timezone("browser")
    .withVariable(labelVariable("tenant", "floorsense_bridge_series", "", { multi: true, title: "Tenant" }))

    .withRow(new dashboard.RowBuilder("Edge"))
    .withPanel(
      new stat.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Devices up")
        .datasource(PROMETHEUS_DATASOURCE)
        .height(5)
        .span(6)
        .withTarget(promQuery(`sum(floorsense_device_up{${TENANT}})`, "up", { instant: true })),
    )
    .withPanel(
      new stat.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Devices down")
        .datasource(PROMETHEUS_DATASOURCE)
        .height(5)
        .span(6)
        .thresholds(
          new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
            { value: null, color: "green" },
            { value: 1, color: "red" },
          ]),
        )
        .withTarget(
          promQuery(`count(floorsense_device_up{${TENANT}} == 0) or vector(0)`, "down", { instant: true }),
        ),
    )
    .withPanel(
      new stat.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Machines offline (last will)")
        .datasource(PROMETHEUS_DATASOURCE)
        .height(5)
        .span(6)
        .thresholds(
          new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
            { value: null, color: "green" },
            { value: 1, color: "red" },
          ]),
        )
        .withTarget(
          promQuery(
            `count(count by (tenant, site, machine) (floorsense_bridge_device_online{${TENANT}} == 0)) or vector(0)`,
            "offline",
            { instant: true },
          ),
        ),
    )
    .withPanel(
      new stat.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Exporters connected to the broker")
        .datasource(PROMETHEUS_DATASOURCE)
        .height(5)
        .span(6)
        .withTarget(promQuery("sum(floorsense_exporter_mqtt_connected)", "connected", { instant: true })),
    )
    .withPanel(
      series("Store-and-forward queue depth", "short")
        .description("Poll cycles waiting on each exporter's disk for the broker.")
        .withTarget(promQuery("floorsense_exporter_queue_cycles", "{{instance}} cycles")),
    )
    .withPanel(
      series("Store-and-forward queue size", "bytes").withTarget(
        promQuery("floorsense_exporter_queue_bytes", "{{instance}}"),
      ),
    )
    .withPanel(
      series("Poll cycles by result", "ops").withTarget(
        promQuery(
          "sum by (instance, result) (rate(floorsense_exporter_poll_cycles_total[$__rate_interval]))",
          "{{instance}} {{result}}",
        ),
      ),
    )
    .withPanel(
      series("Replayed and dropped cycles", "ops")
        .withTarget(
          promQuery(
            "sum by (instance) (rate(floorsense_exporter_replayed_cycles_total[$__rate_interval]))",
            "{{instance}} replayed",
          ),
        )
        .withTarget(
          promQuery(
            "sum by (instance, reason) (rate(floorsense_exporter_dropped_cycles_total[$__rate_interval]))",
            "{{instance}} dropped ({{reason}})",
          ),
        ),
    )
    .withPanel(
      series("Meter read errors by kind", "ops", 24).withTarget(
        promQuery(
          `sum by (tenant, kind) (rate(floorsense_device_read_errors_total{${TENANT}}[$__rate_interval]))`,
          "{{tenant}} {{kind}}",
        ),
      ),
    )

    .withRow(new dashboard.RowBuilder("Bridge"))
    .withPanel(
      series("Samples ingested per tenant", "ops").withTarget(
        promQuery(
          `sum by (tenant) (rate(floorsense_bridge_samples_ingested_total{${TENANT}}[$__rate_interval]))`,
          "{{tenant}}",
        ),
      ),
    )
    .withPanel(
      series("Payloads rejected per tenant", "ops").withTarget(
        promQuery(
          `sum by (tenant, reason) (rate(floorsense_bridge_payloads_rejected_total{${TENANT}}[$__rate_interval]))`,
          "{{tenant}} {{reason}}",
        ),
      ),
    )
    .withPanel(
      series("Series per tenant", "short").withTarget(
        promQuery(`floorsense_bridge_series{${TENANT}}`, "{{tenant}}"),
      ),
    )
    .withPanel(
      series("Series limit rejections", "ops").withTarget(
        promQuery(
          `sum by (tenant, scope) (rate(floorsense_bridge_series_limit_rejections_total{${TENANT}}[$__rate_interval]))`,
          "{{tenant}} {{scope}}",
        ),
      ),
    )
    .withPanel(
      series("MQTT messages", "ops").withTarget(
        promQuery(
          "sum by (instance) (rate(floorsense_bridge_messages_total[$__rate_interval]))",
          "{{instance}}",
        ),
      ),
    )
    .withPanel(
      series("Remote write", "short")
        .withTarget(
          promQuery(
            "floorsense_bridge_remote_write_queue_samples",
            "{{instance}} {{endpoint}} queued samples",
          ),
        )
        .withTarget(
          promQuery(
            "sum by (instance, endpoint) (rate(floorsense_bridge_remote_write_failures_total[$__rate_interval]))",
            "{{instance}} {{endpoint}} failures/s",
          ),
        ),
    )

    .withRow(new dashboard.RowBuilder("Predictor"))
    .withPanel(
      new table.PanelBuilder()
        .title("Models served")
        .description(
          "The model each target is forecast with; anything but lstm or lstm_blend is a baseline that beat the LSTM.",
        )
        .datasource(PROMETHEUS_DATASOURCE)
        .height(8)
        .span(12)
        .withTarget(
          promQuery("sum by (target, model, version) (floorsense_predictor_model_info)", undefined, {
            instant: true,
            table: true,
          }),
        ),
    )
    .withPanel(
      new bargauge.PanelBuilder()
        .reduceOptions(lastValue())
        .title("Backtest MASE (below 1 beats the naive forecast)")
        .datasource(PROMETHEUS_DATASOURCE)
        .height(8)
        .span(12)
        .decimals(2)
        .orientation(common.VizOrientation.Horizontal)
        .thresholds(
          new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
            { value: null, color: "green" },
            { value: 1, color: "orange" },
          ]),
        )
        .withTarget(
          promQuery("floorsense_predictor_backtest_mase", "{{target}} {{model}}", { instant: true }),
        ),
    )
    .withPanel(
      series("Time since last successful training", "s").withTarget(
        promQuery("time() - floorsense_predictor_last_training_success_timestamp_seconds", "{{target}}"),
      ),
    )
    .withPanel(
      series("Training duration and failures", "s")
        .withTarget(promQuery("floorsense_predictor_training_duration_seconds", "{{target}} duration"))
        .withTarget(
          promQuery(
            "sum by (target) (increase(floorsense_predictor_training_failures_total[$__range]))",
            "{{target}} failures in range",
          ),
        )
        .overrideByQuery("B", [{ id: "unit", value: "short" }]),
    )

    .withRow(new dashboard.RowBuilder("Services"))
    .withPanel(
      new table.PanelBuilder()
        .title("Scrape targets")
        .datasource(PROMETHEUS_DATASOURCE)
        .height(8)
        .span(12)
        .withTarget(promQuery('up{job=~"floorsense-.*"}', undefined, { instant: true, table: true })),
    )
    .withPanel(
      new table.PanelBuilder()
        .title("Versions")
        .datasource(PROMETHEUS_DATASOURCE)
        .height(8)
        .span(12)
        .withTarget(
          promQuery('{__name__=~"floorsense_.+_build_info"}', undefined, { instant: true, table: true }),
        ),
    );
  return finishDashboard(builder);
}
