import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../lib/logger.js";
import { loadBackend } from "../../predictor/backend.js";
import { predictorConfigSchema, resolveTarget } from "../../predictor/config.js";
import { PredictorMetrics } from "../../predictor/metrics.js";
import { ModelStore } from "../../predictor/model-store.js";
import { PrometheusClient } from "../../predictor/prometheus-client.js";
import { TargetRunner, type TargetRunnerDeps } from "../../predictor/target-runner.js";
import { needs } from "../support/binaries.js";
import { type Prometheus, startPrometheus } from "../support/prometheus.js";
import { naiveServedModel, uniform } from "./synthetic.js";

const STEP = 60_000;
const ROWS = 2_600;
const SPIKE = 2_500;
// Whole minutes, ending an hour ago: the rounds below run on an injected clock inside the history.
const START = Math.floor(Date.now() / STEP) * STEP - 3_600_000 - ROWS * STEP;
const FRESH_ROWS = 100;

function periodic(seed: number, level: number): number[] {
  const noise = uniform(seed);
  return Array.from(
    { length: ROWS },
    (_, i) => level * (1 + 0.3 * Math.sin((2 * Math.PI * i) / 40) + 0.001 * (noise() - 0.5)),
  );
}

const machineA = periodic(3, 1_000);
machineA[SPIKE] = 1_000 * 1.6;
const machineB = periodic(5, 5_000);

function history(): string {
  const lines = ["# TYPE fs_alarm_power_watts gauge"];
  for (const [machine, values] of [
    ["a", machineA],
    ["b", machineB],
  ] as const) {
    values.forEach((v, i) => {
      lines.push(`fs_alarm_power_watts{machine="${machine}"} ${v} ${(START + i * STEP) / 1000}`);
    });
  }
  // A machine installed shortly before the first round: far less history than the detector learns on.
  lines.push("# TYPE fs_alarm_fresh_watts gauge");
  for (let i = SPIKE - FRESH_ROWS; i < SPIKE; i++)
    lines.push(`fs_alarm_fresh_watts{machine="c"} ${machineB[i]} ${(START + i * STEP) / 1000}`);
  lines.push("# EOF", "");
  return lines.join("\n");
}

function alarmValue(text: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`floorsense_anomaly_alarm{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe.skipIf(!needs("prometheus", "promtool"))("streaming anomaly alarms in the service", () => {
  let prometheus: Prometheus;

  beforeAll(async () => {
    prometheus = await startPrometheus({ config: "global:\n  scrape_interval: 15s\n", history: history() });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
  });

  function runner(
    expr: string,
    clock: { now: number },
    options: Pick<TargetRunnerDeps, "detector"> = {},
  ): { runner: TargetRunner; metrics: PredictorMetrics; queries: Array<{ start: number; end: number }> } {
    const config = predictorConfigSchema.parse({
      prometheus: { url: prometheus.url },
      targets: [{ name: "power", expr, step: "1m", lookback: "1d", horizons: ["5m"] }],
    });
    const metrics = new PredictorMetrics();
    const queries: Array<{ start: number; end: number }> = [];
    const client = new PrometheusClient({
      url: prometheus.url,
      fetch: async (input, init) => {
        const params = new URL(String(input)).searchParams;
        const body = init?.body ? new URLSearchParams(String(init.body)) : undefined;
        const start = params.get("start") ?? body?.get("start");
        const end = params.get("end") ?? body?.get("end");
        if (start && end) queries.push({ start: Number(start) * 1000, end: Number(end) * 1000 });
        return fetch(input, init);
      },
    });
    return {
      metrics,
      queries,
      runner: new TargetRunner(resolveTarget(config.targets[0]!), {
        client,
        store: new ModelStore("/nonexistent/never-written", 1),
        metrics,
        logger: createLogger("predictor", "silent"),
        loadTf: () => loadBackend("cpu"),
        now: () => clock.now,
        ...options,
      }),
    };
  }

  it("publishes an alarm for every series from the first round, 1 on the round that sees the spike", async () => {
    const clock = { now: START + (SPIKE - 1) * STEP + 30_000 };
    const { runner: r, metrics, queries } = runner("fs_alarm_power_watts", clock);
    expect(await r.forecastOnce()).toBe(0);
    const first = await metrics.registry.metrics();
    expect(first).toContain(
      "# HELP floorsense_anomaly_alarm Streaming anomaly detector on the measured values of a target series",
    );
    expect(first).toContain("# TYPE floorsense_anomaly_alarm gauge\n");
    // The first round brings the detector's whole warm-up: it can alarm at once. A short first
    // piece counts the series, so the rest comes in responses of bounded size.
    const end = START + (SPIKE - 1) * STEP;
    expect(queries).toEqual([
      { start: end - 2_065 * STEP, end: end - 2_056 * STEP },
      { start: end - 2_055 * STEP, end },
    ]);
    const before = [
      alarmValue(first, 'machine="a",target="power"'),
      alarmValue(first, 'machine="b",target="power"'),
    ];
    expect(
      before.every((v) => v !== undefined && v >= 0 && v < 1),
      String(before),
    ).toBe(true);

    clock.now += STEP;
    await r.forecastOnce();
    const spike = await metrics.registry.metrics();
    expect(alarmValue(spike, 'machine="a",target="power"')).toBe(1);
    const other = alarmValue(spike, 'machine="b",target="power"');
    expect(other !== undefined && other < 1, String(other)).toBe(true);
    // Without a model a later round asks only for what is new, two steps of slack included.
    expect(queries[2]).toEqual({ start: end + STEP - 3 * STEP, end: end + STEP });

    // One episode, one alarm: the quiet period follows.
    clock.now += STEP;
    await r.forecastOnce();
    expect(alarmValue(await metrics.registry.metrics(), 'machine="a",target="power"')).toBe(0);
    expect((await metrics.registry.metrics()).match(/^floorsense_anomaly_alarm\{/gm)).toHaveLength(2);
  }, 60_000);

  it("scores 0 while a series is younger than the learning period", async () => {
    const clock = { now: START + (SPIKE - 1) * STEP };
    const { runner: r, metrics, queries } = runner("fs_alarm_fresh_watts", clock);
    await r.forecastOnce();
    expect(queries.at(-1)!.end - queries[0]!.start).toBe(2_065 * STEP);
    expect(alarmValue(await metrics.registry.metrics(), 'machine="c",target="power"')).toBe(0);
  });

  it("reads the warm-up once; with a model, later rounds read only the new steps", async () => {
    const clock = { now: START + (SPIKE - 1) * STEP };
    const { runner: r, metrics, queries } = runner("fs_alarm_power_watts", clock);
    r.served = naiveServedModel();
    expect(await r.forecastOnce()).toBe(2);
    clock.now += STEP;
    expect(await r.forecastOnce()).toBe(2);
    // The warm-up in two pieces (10 points, then the rest); then the new step and two of overlap,
    // although the naive forecast needs max(1, 3 + 1, 0) + 5 + 2 = 11 steps: the rest is cached.
    expect(queries.map((q) => (q.end - q.start) / STEP)).toEqual([9, 2_055, 3]);
    const text = await metrics.registry.metrics();
    expect(alarmValue(text, 'machine="a",target="power"')).toBe(1);
    expect(text).toContain(
      `floorsense_forecast{machine="a",target="power",horizon="5m"} ${machineA[SPIKE]}\n`,
    );
  }, 30_000);

  it("counts a detector failure as a failed round and still publishes the forecasts", async () => {
    const clock = { now: START + (SPIKE - 1) * STEP };
    const { runner: r, metrics } = runner("fs_alarm_power_watts", clock, { detector: { learningRows: -1 } });
    r.served = naiveServedModel();
    await expect(r.forecastOnce()).rejects.toThrow(
      'anomaly detector failed on 2 of 2 series (first {__name__="fs_alarm_power_watts",machine="a"}: anomaly detector setting learningRows must be a finite number ≥ 0, got -1)',
    );
    const text = await metrics.registry.metrics();
    expect(text).toContain('floorsense_predictor_forecast_errors_total{target="power"} 1\n');
    expect(text).not.toMatch(/^floorsense_anomaly_alarm\{/m);
    // Naive: the forecast is the latest value.
    expect(text).toContain(
      `floorsense_forecast{machine="a",target="power",horizon="5m"} ${machineA[SPIKE - 1]}\n`,
    );
  }, 30_000);
});
