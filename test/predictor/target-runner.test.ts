import { describe, expect, it } from "vitest";
import { createLogger } from "../../lib/logger.js";
import { loadBackend } from "../../predictor/backend.js";
import { predictorConfigSchema, resolveTarget } from "../../predictor/config.js";
import { PredictorMetrics } from "../../predictor/metrics.js";
import { ModelStore } from "../../predictor/model-store.js";
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
});
