import type { LayersModel, SymbolicTensor } from "@tensorflow/tfjs";
import type { Tf } from "./backend.js";
import { FEATURES_PER_STEP } from "./features.js";
import type { LstmShape } from "./lstm-model.js";

/** The one layer of a class in a trained member, or a clear error when the topology is not the expected one. */
function onlyLayer(member: LayersModel, className: string) {
  const found = member.layers.filter((layer) => layer.getClassName() === className);
  if (found.length !== 1) {
    throw new Error(`ensemble member ${member.name} has ${found.length} ${className} layers, expected 1`);
  }
  return found[0]!;
}

/**
 * One network that averages the outputs of independently trained members, so an ensemble is
 * saved, loaded and served like a single model (same inputs, same outputs). Each member is
 * rebuilt inside it (LSTM → joined with the reference gaps → dense head, as createLstm builds it)
 * and gets the member's weights; the members can be disposed afterwards. One member is returned
 * as it is.
 */
export function ensembleNetwork(tf: Tf, shape: LstmShape, members: LayersModel[]): LayersModel {
  if (members.length === 0) throw new Error("an ensemble needs at least one network");
  if (members.length === 1) return members[0]!;
  const sequence = tf.input({ shape: [shape.window, FEATURES_PER_STEP], name: "window" });
  const gaps = tf.input({ shape: [shape.outputs], name: "reference_gaps" });
  const copies = members.map((member) => {
    // The weights are overwritten below: nothing to initialise (orthogonal init is slow in tfjs).
    const lstm = tf.layers.lstm({
      units: shape.units,
      kernelInitializer: "zeros",
      recurrentInitializer: "zeros",
    });
    const head = tf.layers.dense({ units: shape.outputs, kernelInitializer: "zeros" });
    const state = lstm.apply(sequence) as SymbolicTensor;
    const joined = tf.layers.concatenate().apply([state, gaps]) as SymbolicTensor;
    return { member, lstm, head, output: head.apply(joined) as SymbolicTensor };
  });
  const output = tf.layers.average().apply(copies.map((c) => c.output)) as SymbolicTensor;
  const network = tf.model({ inputs: [sequence, gaps], outputs: output });
  for (const { member, lstm, head } of copies) {
    lstm.setWeights(onlyLayer(member, "LSTM").getWeights());
    head.setWeights(onlyLayer(member, "Dense").getWeights());
  }
  return network;
}
