/**
 * Computation and aggregation: the spec's `ComputeStage` and `AcceptToken`.
 *
 * @module
 */

import { isCertifiedOutput, isStageInput } from "./_tally.ts";
import type { NodeInput } from "./node_input.ts";
import { isReplica, NO_SEED, type NodeState, type Value } from "./spec_state.ts";
import { disabled, enabled, type Transition } from "./transition.ts";

/** Input of {@linkcode computeStage}. */
export interface ComputeStageInput<V extends Value = number> extends NodeInput<V> {
  /** The token `t` (from 1). */
  readonly token: number;
  /** The stage `s` (from 1). */
  readonly stage: number;
  /** The accepted input `x`. */
  readonly value: V;
  /**
   * What the model returned for the stage from `x` (its digest): what the node signs. The spec's
   * honest model is `Compute(x, t, s)` (`computeValue`); a runtime's is the ONNX output's digest.
   * The guard does not read it: whether the node may compute is the protocol's, the output is
   * the model's.
   */
  readonly output: V;
}

/**
 * `ComputeStage(i, t, s, x)`: a replica computes stage `s` of token `t` from input `x` and
 * signs the output the model returned.
 *
 * @param node The node's state.
 * @param input The cluster, the received messages, the token, stage and input value.
 * @returns The node with the stage's progress and the StageOutput to send, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, computeStage, initialNodeState, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const node = { ...initialNodeState(2, cluster), seed: 1 };
 * // The model (here the spec's Compute) returned 111 for stage 1 of token 1 from input 100.
 * const received = messageLog();
 * const next = computeStage(node, { cluster, received, token: 1, stage: 1, value: 100, output: 111 });
 * assert.ok(next.enabled && next.state.progress[0] === 1);
 * const sent = next.enabled && next.effects[0]?.kind === "send" ? next.effects[0].message : undefined;
 * assert.equal(sent?.type === "StageOutput" && sent.value, 111);
 * ```
 */
export function computeStage<V extends Value>(
  node: NodeState<V>,
  input: ComputeStageInput<V>,
): Transition<V> {
  const { cluster, received, token, stage, value, output } = input;
  if (token < 1) return disabled(`token ${token} is out of range`);
  if (token > cluster.tokenCount) return disabled(`token ${token} is out of range`);
  if (stage < 1) return disabled(`stage ${stage} is out of range`);
  if (stage > cluster.stageCount) return disabled(`stage ${stage} is out of range`);
  if (node.seed === NO_SEED) return disabled("the node has no assignment");
  if (!isReplica(node.id, node.view, stage, cluster)) return disabled("the node is no replica");
  if (node.progress[stage - 1] !== token - 1) return disabled("the stage is not at this token");
  if (!isStageInput(node, cluster, received, token, stage, value)) {
    return disabled(`${value} is not an accepted input of the stage`);
  }
  const progress = node.progress.slice();
  progress[stage - 1] = token;
  return enabled({ ...node, progress }, [{
    kind: "send",
    message: {
      type: "StageOutput",
      view: node.view,
      seed: node.seed,
      token,
      stage,
      value: output,
      from: node.id,
    },
  }]);
}

/** Input of {@linkcode acceptToken}. */
export interface AcceptTokenInput<V extends Value = number> extends NodeInput<V> {
  /** The token `t` (from 1). */
  readonly token: number;
  /** The value `x` the last stage's replicas signed. */
  readonly value: V;
}

/**
 * `AcceptToken(i, t, x)`: a node accepts token `t` once F + 1 replicas of the last stage
 * signed `x`.
 *
 * @param node The node's state.
 * @param input The cluster, the received messages, the token and value.
 * @returns The node with the token appended, or why not.
 *
 * @example Usage
 * ```ts
 * import { acceptToken, clusterConfig, initialNodeState, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const output = { type: "StageOutput", view: 0, seed: 1, token: 1, stage: 1, value: 111 } as const;
 * const received = [{ ...output, from: 2 }, { ...output, from: 3 }];
 * const node = { ...initialNodeState(4, cluster), seed: 1 };
 * const next = acceptToken(node, { cluster, received: messageLog(received), token: 1, value: 111 });
 * assert.ok(next.enabled && next.state.tokens.length === 1);
 * ```
 */
export function acceptToken<V extends Value>(
  node: NodeState<V>,
  input: AcceptTokenInput<V>,
): Transition<V> {
  const { cluster, received, token, value } = input;
  if (node.seed === NO_SEED) return disabled("the node has no assignment");
  if (node.tokens.length !== token - 1) return disabled("the token is not the next one");
  if (!isCertifiedOutput(node, cluster, received, token, cluster.stageCount, value)) {
    return disabled(`too few last-stage replicas signed ${value}`);
  }
  return enabled({ ...node, tokens: [...node.tokens, value] }, []);
}

/**
 * The outputs of stage `stage` for token `token` that F + 1 replicas of the node's view signed:
 * what the node accepts as the stage's output (the next stage's input, or the token itself for
 * the last stage). A shell reads it to say which values it accepted (a client reply's proof), not
 * to decide anything.
 *
 * @param node The node's state.
 * @param input The cluster, the received messages, the token and the stage.
 * @returns The certified values, each once.
 *
 * @example Usage
 * ```ts
 * import { certifiedOutputs, clusterConfig, initialNodeState, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const output = (from: number) =>
 *   ({ type: "StageOutput", view: 0, seed: 1, token: 1, stage: 1, value: 111, from }) as const;
 * const node = { ...initialNodeState(4, cluster), seed: 1 };
 * const received = messageLog([output(2), output(3)]);
 * assert.deepEqual(certifiedOutputs(node, { cluster, received, token: 1, stage: 1 }), [111]);
 * ```
 */
export function certifiedOutputs<V extends Value>(
  node: NodeState<V>,
  input: NodeInput<V> & { readonly token: number; readonly stage: number },
): V[] {
  const { cluster, received, token, stage } = input;
  const values: V[] = [];
  for (const m of received.ofType("StageOutput")) {
    if (m.token !== token || m.stage !== stage || values.includes(m.value)) continue;
    if (isCertifiedOutput(node, cluster, received, token, stage, m.value)) values.push(m.value);
  }
  return values;
}
