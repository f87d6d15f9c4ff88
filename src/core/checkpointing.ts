/**
 * Checkpoints: the spec's `TakeCheckpoint`, `HandleCheckpoint` and `RestoreCheckpoint`.
 *
 * @module
 */

import { signatureTallyWhere } from "./_tally.ts";
import type { MessageInput, NodeInput } from "./node_input.ts";
import type { ReceivedMessages } from "./received.ts";
import {
  type CheckpointMessage,
  type ClusterConfig,
  NO_SEED,
  type NodeState,
  type SpecMessage,
  type Value,
} from "./spec_state.ts";
import { disabled, enabled, type Transition } from "./transition.ts";

/** Input of {@linkcode takeCheckpoint}. */
export interface TakeCheckpointInput<V extends Value = number> extends NodeInput<V> {
  /** The position `p`: a multiple of the checkpoint interval. */
  readonly position: number;
}

/**
 * `TakeCheckpoint(i, p)`: every K tokens a node signs the digest of its first `p` tokens.
 *
 * @param node The node's state.
 * @param input The cluster, the received messages and the position.
 * @returns The Checkpoint to send, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, initialNodeState, messageLog, takeCheckpoint } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const node = { ...initialNodeState(2, cluster), seed: 1, tokens: [1] };
 * assert.ok(takeCheckpoint(node, { cluster, received: messageLog([]), position: 1 }).enabled);
 * ```
 */
export function takeCheckpoint<V extends Value>(
  node: NodeState<V>,
  input: TakeCheckpointInput<V>,
): Transition<V> {
  const { cluster, received, position } = input;
  if (position < 1) return disabled("position out of range");
  if (position > cluster.tokenCount) return disabled("position out of range");
  if (position % cluster.checkpointIntervalTokens !== 0) {
    return disabled("not a checkpoint position");
  }
  if (node.tokens.length < position) return disabled("the node has not reached the position");
  const message: CheckpointMessage<V> = {
    type: "Checkpoint",
    seed: node.seed,
    position,
    digest: node.tokens.slice(0, position),
    from: node.id,
  };
  if (
    received.ofType("Checkpoint").some((m) =>
      m.from === node.id && m.seed === message.seed &&
      m.position === position && sameDigest(m.digest, message.digest)
    )
  ) {
    return disabled("the node already signed this checkpoint");
  }
  return enabled(node, [{ kind: "send", message }]);
}

/** What names a checkpoint: the seed, the position and the digest of the tokens before it. */
export type CheckpointSlot<V extends Value = number> = Pick<
  CheckpointMessage<V>,
  "seed" | "position" | "digest"
>;

/**
 * How many nodes signed a checkpoint of this seed, position and digest, whoever the node
 * excludes (the spec's `CheckpointStable` counts signatures: a quorum holds F + 1 honest
 * signers).
 *
 * @param received The received messages.
 * @param checkpoint The checkpoint.
 * @returns The distinct signers.
 *
 * @example Usage
 * ```ts
 * import { checkpointSigners, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const base = { type: "Checkpoint", seed: 1, position: 1, digest: [111] } as const;
 * const received = messageLog([{ ...base, from: 1 }, { ...base, from: 2 }, { ...base, from: 2 }]);
 * assert.equal(checkpointSigners(received, base), 2);
 * ```
 */
export function checkpointSigners<V extends Value>(
  received: ReceivedMessages<V>,
  checkpoint: CheckpointSlot<V>,
): number {
  return signatureTallyWhere(
    received.ofType("Checkpoint"),
    (c) =>
      c.seed === checkpoint.seed && c.position === checkpoint.position &&
      sameDigest(c.digest, checkpoint.digest),
  );
}

/**
 * The spec's `CheckpointStable(m)`: a checkpoint quorum signed this seed, position and digest.
 *
 * @param cluster The cluster (its checkpoint quorum).
 * @param received The received messages.
 * @param checkpoint The checkpoint.
 * @returns Whether it is stable.
 *
 * @example Usage
 * ```ts
 * import { checkpointStable, clusterConfig, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const base = { type: "Checkpoint", seed: 1, position: 1, digest: [111] } as const;
 * const received = messageLog([1, 2, 3].map((from) => ({ ...base, from })));
 * assert.ok(checkpointStable(cluster, received, base));
 * ```
 */
export function checkpointStable<V extends Value>(
  cluster: ClusterConfig<V>,
  received: ReceivedMessages<V>,
  checkpoint: CheckpointSlot<V>,
): boolean {
  return checkpointSigners(received, checkpoint) >= cluster.checkpointQuorum;
}

function sameDigest(a: readonly Value[], b: readonly Value[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/**
 * `HandleCheckpoint(i, m)`: a checkpoint of the node's seed signed with matching digests by a
 * quorum is stable (`CheckpointStable`: its signatures, whoever the node excludes now); the
 * node keeps it when the one on disk is of another seed or not as far. Only the node's own
 * seed: a checkpoint of another seed cannot be restored, and two seeds' checkpoints could be
 * swapped back and forth forever.
 *
 * @param node The node's state.
 * @param input The cluster, the received messages and the Checkpoint.
 * @returns The node with the new stable checkpoint, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, handleCheckpoint, initialNodeState, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const base = { type: "Checkpoint", seed: 1, position: 1, digest: [1] } as const;
 * const received = [1, 2, 3].map((from) => ({ ...base, from }));
 * const node = { ...initialNodeState(4, cluster), seed: 1 };
 * const next = handleCheckpoint(node, { cluster, received: messageLog(received), message: received[0]! });
 * assert.ok(next.enabled && next.state.stableCheckpoint.position === 1);
 * ```
 */
export function handleCheckpoint<V extends Value>(
  node: NodeState<V>,
  input: MessageInput<SpecMessage<V>, V>,
): Transition<V> {
  const { cluster, received, message: m } = input;
  if (m.type !== "Checkpoint") return disabled("the message is not a Checkpoint");
  if (m.seed !== node.seed) return disabled("the checkpoint is not of the node's seed");
  // The spec's conjuncts in the cheaper order (the tally reads every received Checkpoint).
  const current = node.stableCheckpoint;
  if (m.seed === current.seed && m.position <= current.position) {
    return disabled("the node holds this checkpoint or a later one");
  }
  if (!checkpointStable(cluster, received, m)) {
    return disabled("too few matching checkpoint digests");
  }
  return enabled(
    { ...node, stableCheckpoint: { seed: m.seed, position: m.position, tokens: m.digest } },
    [{ kind: "persist", fields: ["stableCheckpoint"] }],
  );
}

/**
 * `RestoreCheckpoint(i)`: a node behind the latest stable checkpoint of its seed restores it
 * and recomputes only the tokens after it.
 *
 * @param node The node's state.
 * @param input The cluster (its rules say up to which position to restore).
 * @returns The node with the checkpoint's tokens and stage progress, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, initialNodeState, messageLog, restoreCheckpoint } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 2, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const node = {
 *   ...initialNodeState(2, cluster), seed: 1,
 *   stableCheckpoint: { seed: 1, position: 1, tokens: [1] },
 * };
 * const next = restoreCheckpoint(node, { cluster, received: messageLog([]) });
 * assert.ok(next.enabled && next.state.tokens.length === 1 && next.state.progress[0] === 1);
 * ```
 */
export function restoreCheckpoint<V extends Value>(
  node: NodeState<V>,
  _input: NodeInput<V>,
): Transition<V> {
  const checkpoint = node.stableCheckpoint;
  if (node.seed === NO_SEED) return disabled("the node has no assignment");
  if (checkpoint.seed !== node.seed) return disabled("no stable checkpoint of the node's seed");
  if (node.tokens.length >= checkpoint.position) return disabled("the node is not behind");
  const position = checkpoint.position;
  return enabled({
    ...node,
    tokens: checkpoint.tokens.slice(0, position),
    progress: node.progress.map((done) => done < position ? position : done),
  }, []);
}
