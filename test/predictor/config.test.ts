import { describe, expect, it } from "vitest";
import { loadYamlText } from "../../lib/config-loader.js";
import { predictorConfigSchema, resolveTarget } from "../../predictor/config.js";

const base = `prometheus:
  url: http://127.0.0.1:9090
targets:
  - name: power
    expr: sum by (machine) (floorsense_meter_system_power_watts)
`;

describe("predictor config", () => {
  it("fills defaults and resolves durations to steps", () => {
    const config = loadYamlText("predictor.yaml", base, predictorConfigSchema);
    expect(config.web.listen_address).toBe("0.0.0.0:9467");
    expect(config.prometheus.max_points_per_query).toBe(10_000);
    const target = resolveTarget(config.targets[0]!);
    expect(target.horizonSteps).toEqual([15, 60]);
    expect(target.seasonSteps).toEqual([1_440, 10_080]);
    expect(target.maxGapSteps).toBe(5);
    expect(target.forecastIntervalMs).toBe(60_000);
    expect(target.baselineRangeSteps).toBe(47);
  });

  it("names file, line, path and value of bad entries", () => {
    const text = `${base}    step: 5m\n    horizons: [15m, 7m]\n    schedule: every day\n`;
    expect(() => loadYamlText("predictor.yaml", text, predictorConfigSchema)).toThrow(
      [
        `predictor.yaml:8: targets[0].schedule: expected a cron expression, e.g. '0 3 * * *' (minute hour day month weekday), got "every day"`,
        `predictor.yaml:7: targets[0].horizons[1]: horizon must be a multiple of the step 5m, got "7m"`,
      ].join("\n"),
    );
  });

  it("rejects an auth block without its secret", () => {
    const text = base.replace(
      "  url: http://127.0.0.1:9090\n",
      "  url: http://127.0.0.1:9090\n  auth: { type: bearer }\n",
    );
    expect(() => loadYamlText("predictor.yaml", text, predictorConfigSchema)).toThrow(
      "predictor.yaml:3: prometheus.auth.token: Invalid input: expected string, received undefined",
    );
  });
});
