/**
 * Assignment: the spec's `SendAssign` and `HandleAssign`.
 *
 * @module
 */

import type { MessageInput, NodeInput } from "./node_input.ts";
import { NO_SEED, type NodeState, primaryOf, type SpecMessage, type Value } from "./spec_state.ts";
import { disabled, enabled, type Transition } from "./transition.ts";

/** Input of {@linkcode sendAssign}. */
export interface SendAssignInput<V extends Value = number> extends NodeInput<V> {
  /** The sampling seed `x` assigned. */
  readonly seed: number;
}

/**
 * `SendAssign(i, x)`: the primary of view 0 assigns the inference with seed `x`, once.
 *
 * @param node The node's state.
 * @param input The cluster, the received messages and the seed.
 * @returns The Assign to send, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, initialNodeState, messageLog, sendAssign } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * assert.ok(sendAssign(initialNodeState(1, cluster), { cluster, received: messageLog([]), seed: 1 }).enabled);
 * assert.ok(!sendAssign(initialNodeState(2, cluster), { cluster, received: messageLog([]), seed: 1 }).enabled);
 * ```
 */
export function sendAssign<V extends Value>(
  node: NodeState<V>,
  input: SendAssignInput<V>,
): Transition<V> {
  const { cluster, received, seed } = input;
  if (!cluster.seeds.includes(seed)) return disabled(`seed ${seed} is not a sampling seed`);
  if (node.view !== 0) return disabled("the node is past view 0");
  if (node.id !== primaryOf(0, cluster)) return disabled("the node is not the primary of view 0");
  if (received.ofType("Assign").some((m) => m.from === node.id)) {
    return disabled("the node already assigned the inference");
  }
  return enabled(node, [{
    kind: "send",
    message: { type: "Assign", view: 0, seed, from: node.id },
  }]);
}

/**
 * `HandleAssign(i, m)`: a node in view 0 accepts one assignment of view 0 signed by its primary
 * (a later view's seed comes with its NewView).
 *
 * @param node The node's state.
 * @param input The cluster, the received messages and the Assign.
 * @returns The node with the seed, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, handleAssign, initialNodeState, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const message = { type: "Assign", view: 0, seed: 1, from: 1 } as const;
 * const next = handleAssign(initialNodeState(2, cluster), { cluster, received: messageLog([message]), message });
 * assert.ok(next.enabled && next.state.seed === 1);
 * ```
 */
export function handleAssign<V extends Value>(
  node: NodeState<V>,
  input: MessageInput<SpecMessage<V>, V>,
): Transition<V> {
  const { cluster, message: m } = input;
  if (m.type !== "Assign") return disabled("the message is not an Assign");
  // Only view 0's (the spec's AssignMsg has no other view): a later view's seed comes with the
  // NewView that proves it, so a primary cannot assign past the prepared value.
  if (m.view !== 0) return disabled("the Assign is not of view 0");
  if (m.view !== node.view) return disabled("the Assign is for another view");
  if (m.from !== primaryOf(m.view, cluster)) return disabled("the Assign is not from the primary");
  if (node.excluded.includes(m.from)) return disabled("the primary is excluded");
  if (node.seed !== NO_SEED) return disabled("the node already has a seed in this view");
  return enabled({ ...node, seed: m.seed }, [{ kind: "persist", fields: ["seed"] }]);
}
