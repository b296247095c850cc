import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBackend, type Tf } from "../../predictor/backend.js";
import { ensembleNetwork } from "../../predictor/ensemble.js";
import { LstmKernel } from "../../predictor/lstm-kernel.js";
import { createLstm, ensembleMemberParams, type LstmShape } from "../../predictor/lstm-model.js";
import { ModelStore } from "../../predictor/model-store.js";

const shape: LstmShape = { window: 4, units: 3, outputs: 2, season: 0 };

describe("ensembleNetwork", () => {
  let tf: Tf;
  let root: string;
  beforeAll(async () => {
    tf = (await loadBackend("cpu")).tf;
    root = mkdtempSync(join(tmpdir(), "floorsense-ensemble-"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("forecasts the mean of its members, also after they are disposed and after a save and load", async () => {
    const inputs = () => [
      tf.tensor3d(
        Array.from({ length: 3 * 4 * 6 }, (_, i) => Math.sin(i)),
        [3, 4, 6],
      ),
      tf.tensor2d([0.5, -1, 0, 2, 1, 1], [3, 2]),
    ];
    const members = [1, 2, 3].map(() => createLstm(tf, shape, 0.01));
    const outputs = await Promise.all(
      members.map(async (m) => Array.from(await (m.predict(inputs()) as Tensor).data())),
    );
    const mean = outputs[0]!.map((_, i) => (outputs[0]![i]! + outputs[1]![i]! + outputs[2]![i]!) / 3);
    expect(mean.some((v, i) => Math.abs(v - outputs[0]![i]!) > 1e-3)).toBe(true);
    const network = ensembleNetwork(tf, shape, members);
    for (const member of members) member.dispose();
    const combined = Array.from(await (network.predict(inputs()) as Tensor).data());
    for (const [i, v] of combined.entries()) expect(v).toBeCloseTo(mean[i]!, 5);

    const store = new ModelStore(root, 2);
    await store.save(
      {
        format: 1,
        target: "t",
        createdAt: "2026-01-01T00:00:00.000Z",
        served: "lstm",
        reason: "test",
        stepMs: 60_000,
        horizonLabels: ["1m", "2m"],
        horizonSteps: [1, 2],
        lstm: shape,
        backend: "cpu",
        level: 0.9,
        seriesStats: {},
        intervalWidths: {},
        baselines: { seasonSteps: [], seasonLabels: [], rangeSteps: 3, holtWinters: { sf: 0.3, tf: 0.1 } },
        backtest: [],
        trainingSeconds: 1,
        trainingWindows: 1,
        epochs: 3,
      },
      network,
    );
    const loaded = await store.loadLatest("t", tf);
    const reloaded = Array.from(await (loaded!.model!.predict(inputs()) as Tensor).data());
    for (const [i, v] of reloaded.entries()) expect(v).toBeCloseTo(mean[i]!, 5);

    // The fused forward pass the forecaster serves with finds every member, paired with its own head.
    for (const model of [network, loaded!.model!]) {
      const members = ensembleMemberParams(model, shape)!;
      expect(members).toHaveLength(3);
      const [xs, gaps] = inputs().map((t) => t.dataSync() as Float32Array);
      const fused = members.map((params) =>
        new LstmKernel({ window: 4, features: 6, units: 3, outputs: 2 }, params).predict(xs!, gaps!, 3),
      );
      const fusedMean = fused[0]!.map((_, i) => (fused[0]![i]! + fused[1]![i]! + fused[2]![i]!) / 3);
      for (const [i, v] of fusedMean.entries()) expect(v).toBeCloseTo(mean[i]!, 5);
    }
    expect(ensembleMemberParams(createLstm(tf, shape, 0.01), shape)).toBeUndefined();
  });

  it("returns a single member as it is", () => {
    const member = createLstm(tf, shape, 0.01);
    expect(ensembleNetwork(tf, shape, [member])).toBe(member);
    expect(() => ensembleNetwork(tf, shape, [])).toThrow("an ensemble needs at least one network");
  });
});
