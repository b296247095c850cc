import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBackend, type Tf } from "../../predictor/backend.js";
import { createLstm } from "../../predictor/lstm-model.js";
import { type ModelMetadata, ModelStore } from "../../predictor/model-store.js";

function metadata(served: string, withLstm: boolean): Omit<ModelMetadata, "version"> {
  return {
    format: 1,
    target: "power",
    createdAt: "2026-01-01T00:00:00.000Z",
    served,
    reason: "test",
    stepMs: 60_000,
    horizonLabels: ["1m", "2m"],
    horizonSteps: [1, 2],
    lstm: withLstm ? { window: 4, units: 3, outputs: 2, season: 0 } : null,
    backend: "cpu",
    level: 0.9,
    seriesStats: { '{machine="a"}': { mean: 10, std: 2 } },
    intervalWidths: { lstm: [1.5, 2], naive: [1.7, 2.4] },
    baselines: {
      seasonSteps: [1440],
      seasonLabels: ["1d"],
      rangeSteps: 3,
      holtWinters: { sf: 0.3, tf: 0.1 },
    },
    backtest: [],
    trainingSeconds: 1.25,
    trainingWindows: 10,
    epochs: 2,
  };
}

describe("ModelStore", () => {
  let tf: Tf;
  let root: string;

  beforeAll(async () => {
    tf = (await loadBackend("cpu")).tf;
    root = mkdtempSync(join(tmpdir(), "floorsense-models-"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("round-trips weights and metadata", async () => {
    const store = new ModelStore(join(root, "roundtrip"), 3);
    const model = createLstm(tf, { window: 4, units: 3, outputs: 2, season: 0 }, 0.01);
    const input = tf.tensor3d(
      Array.from({ length: 2 * 4 * 6 }, (_, i) => Math.sin(i)),
      [2, 4, 6],
    );
    const gaps = tf.tensor2d([0.5, -1, 0, 2], [2, 2]);
    const before = Array.from(
      await (model.predict([input, gaps]) as import("@tensorflow/tfjs").Tensor).data(),
    );
    const saved = await store.save(metadata("lstm", true), model);
    expect(saved.version).toBe(1);
    const loaded = await store.loadLatest("power", tf);
    expect(loaded?.metadata).toEqual({ ...metadata("lstm", true), version: 1 });
    const after = Array.from(
      await (loaded!.model!.predict([input, gaps]) as import("@tensorflow/tfjs").Tensor).data(),
    );
    expect(after).toEqual(before);
    expect(readdirSync(join(root, "roundtrip", "power")).sort()).toEqual(["v000001"]);
    expect(readdirSync(join(root, "roundtrip", "power", "v000001")).sort()).toEqual([
      "metadata.json",
      "model.json",
      "weights.bin",
    ]);
  });

  it("keeps the newest N versions and falls back past a broken one", async () => {
    const store = new ModelStore(join(root, "prune"), 2);
    for (let i = 0; i < 4; i++) await store.save(metadata("naive", false));
    expect(await store.versions("power")).toEqual([3, 4]);
    // No temporary folder survives a save.
    expect(readdirSync(join(root, "prune", "power")).sort()).toEqual(["v000003", "v000004"]);
    rmSync(join(root, "prune", "power", "v000004", "metadata.json"));
    const skipped: string[] = [];
    const loaded = await store.loadLatest("power", tf, (dir) => skipped.push(dir));
    expect(loaded?.metadata.version).toBe(3);
    expect(loaded?.model).toBeUndefined();
    expect(skipped).toEqual([join(root, "prune", "power", "v000004")]);
    expect(existsSync(join(root, "prune", "other"))).toBe(false);
    expect(await store.loadLatest("other", tf)).toBeUndefined();
  });
});
