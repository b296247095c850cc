import { describe, expect, it } from "vitest";
import { outputLabels, PredictorMetrics } from "../../predictor/metrics.js";
import type { ModelMetadata } from "../../predictor/model-store.js";

describe("predictor output series", () => {
  it("carry the series labels plus target and horizon, without clobbering clashing labels", () => {
    expect(outputLabels({ __name__: "x", machine: "m1", target: "plc" }, "power", "1h")).toEqual({
      machine: "m1",
      exported_target: "plc",
      target: "power",
      horizon: "1h",
    });
  });

  it("render per target, replacing the previous round", async () => {
    const metrics = new PredictorMetrics();
    const forecast = (value: number) => [
      {
        key: "k",
        labels: { machine: "m1" },
        originMs: 0,
        horizons: [
          { horizon: "15m", forecast: value, lower: value - 1, upper: value + 1, anomalyScore: Number.NaN },
        ],
      },
    ];
    metrics.setForecasts("power", forecast(10));
    metrics.setForecasts("temp", forecast(20));
    metrics.setForecasts("power", forecast(11));
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      [
        "# HELP floorsense_forecast Point forecast of the target series at now + horizon.",
        "# TYPE floorsense_forecast gauge",
        'floorsense_forecast{machine="m1",target="power",horizon="15m"} 11',
        'floorsense_forecast{machine="m1",target="temp",horizon="15m"} 20',
      ].join("\n"),
    );
    expect(text).toContain('floorsense_forecast_upper{machine="m1",target="power",horizon="15m"} 12\n');
    // An unknown score is left out rather than exported as NaN.
    expect(text).not.toMatch(/^floorsense_anomaly_score\{/m);
  });
});

describe("backtest MASE series", () => {
  it("publish the anomaly alarm per target series without horizon, dropping series a round no longer brings", async () => {
    const metrics = new PredictorMetrics();
    const alarm = (machine: string, peak: number) => ({
      key: machine,
      labels: { __name__: "p", machine, horizon: "x" },
      atMs: 0,
      score: 0,
      peak,
    });
    metrics.setAlarms("power", [alarm("m1", 1), alarm("m2", 0.25)]);
    metrics.setAlarms("temp", [alarm("m1", 0)]);
    expect(
      (await metrics.registry.metrics()).split("\n").filter((l) => l.startsWith("floorsense_anomaly_alarm{")),
    ).toEqual([
      'floorsense_anomaly_alarm{machine="m1",exported_horizon="x",target="power"} 1',
      'floorsense_anomaly_alarm{machine="m2",exported_horizon="x",target="power"} 0.25',
      'floorsense_anomaly_alarm{machine="m1",exported_horizon="x",target="temp"} 0',
    ]);
    metrics.setAlarms("power", [alarm("m2", 0)]);
    expect(
      (await metrics.registry.metrics()).split("\n").filter((l) => l.startsWith("floorsense_anomaly_alarm{")),
    ).toEqual([
      'floorsense_anomaly_alarm{machine="m2",exported_horizon="x",target="power"} 0',
      'floorsense_anomaly_alarm{machine="m1",exported_horizon="x",target="temp"} 0',
    ]);
  });

  it("drop a model's figure when the next training could not score it", async () => {
    const metrics = new PredictorMetrics();
    const report = (model: string, mase: number) => ({ model, overall: { mase } });
    const metadata = (version: number, served: string, backtest: ReturnType<typeof report>[]) =>
      ({ target: "power", version, served, backtest }) as unknown as ModelMetadata;
    metrics.setModel(metadata(1, "lstm", [report("lstm", 0.5), report("naive", 0.9)]));
    metrics.setModel(metadata(2, "naive", [report("naive", Number.NaN), report("holt_winters", 1.25)]));
    const text = await metrics.registry.metrics();
    expect(text.split("\n").filter((l) => l.startsWith("floorsense_predictor_backtest_mase{"))).toEqual([
      'floorsense_predictor_backtest_mase{target="power",model="holt_winters"} 1.25',
    ]);
    expect(text).toContain('floorsense_predictor_model_info{target="power",model="naive",version="2"} 1\n');
    expect(text).not.toContain('model="lstm"');
  });
});
