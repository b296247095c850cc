import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../../lib/logger.js";
import { loadBackend } from "../../predictor/backend.js";
import { predictorConfigSchema, resolveTarget } from "../../predictor/config.js";
import { PredictorMetrics } from "../../predictor/metrics.js";
import { type ModelMetadata, ModelStore } from "../../predictor/model-store.js";
import { PrometheusClient } from "../../predictor/prometheus-client.js";
import { TargetRunner } from "../../predictor/target-runner.js";
import { naiveServedModel } from "./synthetic.js";

describe("TargetRunner", () => {
  it("keeps the served model and counts the failure when a training fails", async () => {
    const config = predictorConfigSchema.parse({
      prometheus: { url: "http://127.0.0.1:9" },
      targets: [{ name: "power", expr: "up", step: "1m", horizons: ["5m"] }],
    });
    const metrics = new PredictorMetrics();
    const runner = new TargetRunner(resolveTarget(config.targets[0]!), {
      // Prometheus answering 503 to everything.
      client: new PrometheusClient({
        url: "http://prometheus.invalid",
        fetch: async () =>
          new Response('{"status":"error","errorType":"unavailable","error":"overloaded"}', { status: 503 }),
      }),
      store: new ModelStore("/nonexistent/never-written", 1),
      metrics,
      logger: createLogger("predictor", "silent"),
      loadTf: () => loadBackend("cpu"),
      now: () => Date.UTC(2026, 0, 1),
    });
    const previous = naiveServedModel(7);
    runner.served = previous;
    await expect(runner.train()).rejects.toThrow('query_range "up" failed: HTTP 503 unavailable: overloaded');
    expect(runner.served).toBe(previous);
    const text = await metrics.registry.metrics();
    expect(text).toContain('floorsense_predictor_training_failures_total{target="power"} 1\n');
    expect(text).not.toContain("floorsense_predictor_last_training_success_timestamp_seconds{");
  });

  it("runs forecast rounds asked for at the same time one after the other", async () => {
    const config = predictorConfigSchema.parse({
      prometheus: { url: "http://127.0.0.1:9" },
      targets: [{ name: "power", expr: "up", step: "1m", horizons: ["5m"] }],
    });
    let inFlight = 0;
    let mostInFlight = 0;
    let queries = 0;
    const runner = new TargetRunner(resolveTarget(config.targets[0]!), {
      client: new PrometheusClient({
        url: "http://prometheus.invalid",
        fetch: async () => {
          queries++;
          mostInFlight = Math.max(mostInFlight, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 20));
          inFlight--;
          return new Response('{"status":"success","data":{"resultType":"matrix","result":[]}}');
        },
      }),
      store: new ModelStore("/nonexistent/never-written", 1),
      metrics: new PredictorMetrics(),
      logger: createLogger("predictor", "silent"),
      loadTf: () => loadBackend("cpu"),
      now: () => Date.UTC(2026, 0, 1),
    });
    runner.served = naiveServedModel(7);
    expect(await Promise.all([runner.forecastOnce(), runner.forecastOnce(), runner.forecastOnce()])).toEqual([
      0, 0, 0,
    ]);
    expect(queries).toBeGreaterThanOrEqual(3);
    expect(mostInFlight).toBe(1);
  });
});

/** A stored baseline-only version (no network to load) of target "power". */
function naiveVersion(about: Partial<ModelMetadata>): Omit<ModelMetadata, "version"> {
  return {
    format: 1,
    target: "power",
    createdAt: "2026-01-01T00:00:00.000Z",
    expr: "up",
    counter: false,
    served: "naive",
    reason: "test",
    stepMs: 60_000,
    horizonLabels: ["5m"],
    horizonSteps: [5],
    lstm: null,
    backend: "cpu",
    level: 0.9,
    seriesStats: {},
    intervalWidths: { naive: [1] },
    baselines: { seasonSteps: [], seasonLabels: [], rangeSteps: 3, holtWinters: { sf: 0.3, tf: 0.1 } },
    backtest: [],
    trainingSeconds: 1,
    trainingWindows: 0,
    epochs: 0,
    ...about,
  };
}

describe("TargetRunner and the model store", () => {
  const root = mkdtempSync(join(tmpdir(), "floorsense-runner-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  function runner(dir: string, target: Record<string, unknown>) {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).trim().split("\n"));
        done();
      },
    });
    const config = predictorConfigSchema.parse({
      prometheus: { url: "http://127.0.0.1:9" },
      targets: [{ name: "power", expr: "up", step: "1m", horizons: ["5m"], ...target }],
    });
    const metrics = new PredictorMetrics();
    const store = new ModelStore(join(root, dir), 3);
    const run = new TargetRunner(resolveTarget(config.targets[0]!), {
      client: new PrometheusClient({ url: "http://prometheus.invalid" }),
      store,
      metrics,
      logger: createLogger("predictor", "info", sink),
      loadTf: () => loadBackend("cpu"),
    });
    const logged = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const failures = async () =>
      /floorsense_predictor_model_load_failures_total\{target="power"\} (\d+)/.exec(
        await metrics.registry.metrics(),
      )?.[1];
    return { run, store, metrics, logged, failures };
  }

  it("serves a stored version saved after the start without a restart, each version once", async () => {
    const { run, store, metrics, logged } = runner("reload", {});
    expect(await run.loadStored()).toBe(false);
    expect(await run.reloadNewer()).toBeUndefined();
    await store.save(naiveVersion({}));
    expect(await run.reloadNewer()).toBe(1);
    expect(run.served?.metadata.version).toBe(1);
    expect(await run.reloadNewer()).toBeUndefined();
    await store.save(naiveVersion({ reason: "second" }));
    expect(await run.reloadNewer()).toBe(2);
    expect(run.served?.metadata.reason).toBe("second");
    expect(await metrics.registry.metrics()).toContain(
      'floorsense_predictor_model_info{target="power",model="naive",version="2"} 1\n',
    );
    expect(
      logged()
        .filter((l) => l.msg === "loaded newer stored model")
        .map((l) => l.version),
    ).toEqual([1, 2]);
  });

  it("does not serve a version trained for another configuration; logs why once and counts it", async () => {
    const { store } = runner("mismatch", {});
    await store.save(naiveVersion({}));

    const same = runner("mismatch", {});
    expect(await same.run.loadStored()).toBe(true);
    expect(await same.failures()).toBe("0");

    const changed = runner("mismatch", { step: "5m", horizons: ["10m"], interval: 0.8, expr: "sum(up)" });
    expect(await changed.run.loadStored()).toBe(false);
    expect(changed.run.served).toBeUndefined();
    expect(changed.run.wantsEarlyTraining).toBe(true);
    const notServed = () => changed.logged().filter((l) => l.msg === "stored model not served");
    expect(notServed().map((l) => [l.dir, l.reason])).toEqual([
      [
        join(root, "mismatch", "power", "v000001"),
        'trained for another configuration: step 1m (config: 5m), horizons 5m (config: 10m), interval 0.9 (config: 0.8), expr "up" (config: "sum(up)")',
      ],
    ]);
    expect(await changed.failures()).toBe("1");
    // The reload poll does not judge (nor log, nor count) the same version again.
    expect(await changed.run.reloadNewer()).toBeUndefined();
    expect(notServed()).toHaveLength(1);
    expect(await changed.failures()).toBe("1");

    // Horizons are compared in time, not in steps or labels.
    expect(await runner("mismatch", { horizons: ["300s"] }).run.loadStored()).toBe(true);
    const counter = runner("mismatch", { counter: true });
    expect(await counter.run.loadStored()).toBe(false);
    expect(counter.logged().find((l) => l.msg === "stored model not served")?.reason).toBe(
      "trained for another configuration: counter false (config: true)",
    );
  });

  it("falls back to the newest version that fits the configuration", async () => {
    const { store } = runner("fallback", {});
    await store.save(naiveVersion({ reason: "fits" }));
    await store.save(naiveVersion({ stepMs: 300_000, horizonSteps: [1] }));
    const { run, logged } = runner("fallback", {});
    expect(await run.loadStored()).toBe(true);
    expect(run.served?.metadata.version).toBe(1);
    expect(logged().find((l) => l.msg === "stored model not served")?.reason).toBe(
      "trained for another configuration: step 5m (config: 1m)",
    );
  });
});
