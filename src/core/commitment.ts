/**
 * Commitment: the spec's `SendPrePrepare`, `HandlePrePrepare`, `SendCommit`, `CommitStandard`,
 * `CommitFast` and `LearnCommit`, PBFT on the result with votes attributed to their signers, a
 * fast path, and state transfer of a certified result.
 *
 * @module
 */

import { certificateCount, voteCount } from "./_tally.ts";
import type { MessageInput, NodeInput } from "./node_input.ts";
import { NO_VALUE, type NodeState, primaryOf, type SpecMessage, type Value } from "./spec_state.ts";
import { disabled, enabled, type Transition } from "./transition.ts";

/**
 * `SendPrePrepare(i)`: the primary proposes the last token once it accepted all T tokens.
 *
 * @param node The node's state.
 * @param input The cluster and the received messages.
 * @returns The PrePrepare to send, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, initialNodeState, messageLog, sendPrePrepare } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const node = { ...initialNodeState(1, cluster), seed: 1, tokens: [1] };
 * assert.ok(sendPrePrepare(node, { cluster, received: messageLog([]) }).enabled);
 * ```
 */
export function sendPrePrepare<V extends Value>(
  node: NodeState<V>,
  input: NodeInput<V>,
): Transition<V> {
  const { cluster, received } = input;
  if (node.id !== primaryOf(node.view, cluster)) return disabled("the node is not the primary");
  if (node.tokens.length !== cluster.tokenCount) return disabled("the node lacks tokens");
  if (
    received.ofType("PrePrepare").some((m) => m.view === node.view && m.from === node.id)
  ) {
    return disabled("the node already proposed in this view");
  }
  const value = node.tokens[cluster.tokenCount - 1] as V;
  return enabled(node, [{
    kind: "send",
    message: { type: "PrePrepare", view: node.view, value, from: node.id },
  }]);
}

/**
 * `HandlePrePrepare(i, m)`: a node votes Prepare for a proposal of its view's primary only if
 * it is the result the node accepted itself (`ProposalValid`), once per view.
 *
 * @param node The node's state.
 * @param input The cluster, the received messages and the PrePrepare.
 * @returns The node with its vote and the Prepare to send, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, handlePrePrepare, initialNodeState, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1, 2], viewMax: 1,
 * });
 * const node = { ...initialNodeState(2, cluster), seed: 1, tokens: [1] };
 * const message = { type: "PrePrepare", view: 0, value: 2, from: 1 } as const;
 * assert.ok(!handlePrePrepare(node, { cluster, received: messageLog([message]), message }).enabled);
 * ```
 */
export function handlePrePrepare<V extends Value>(
  node: NodeState<V>,
  input: MessageInput<SpecMessage<V>, V>,
): Transition<V> {
  const { cluster, message: m } = input;
  if (m.type !== "PrePrepare") return disabled("the message is not a PrePrepare");
  if (m.view !== node.view) return disabled("the proposal is for another view");
  if (m.from !== primaryOf(m.view, cluster)) {
    return disabled("the proposal is not from the primary");
  }
  if (node.excluded.includes(m.from)) return disabled("the primary is excluded");
  if (node.vote.view >= node.view) return disabled("the node already voted in this view");
  if (node.tokens.length !== cluster.tokenCount) return disabled("the node lacks tokens");
  if (m.value !== node.tokens[cluster.tokenCount - 1]) {
    return disabled("the proposal differs from the accepted result");
  }
  const vote = { view: node.view, value: m.value };
  return enabled({ ...node, vote }, [
    { kind: "persist", fields: ["vote"] },
    { kind: "send", message: { type: "Prepare", view: node.view, value: m.value, from: node.id } },
  ]);
}

/**
 * `SendCommit(i)`: a node whose vote a quorum of Prepares matches is prepared and votes Commit.
 *
 * @param node The node's state.
 * @param input The cluster and the received messages.
 * @returns The node with its prepared certificate and the Commit to send, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, initialNodeState, messageLog, sendCommit } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const node = { ...initialNodeState(2, cluster), vote: { view: 0, value: 1 } };
 * const received = [2, 3, 4].map((from) => ({ type: "Prepare", view: 0, value: 1, from }) as const);
 * assert.ok(sendCommit(node, { cluster, received: messageLog(received) }).enabled);
 * assert.ok(!sendCommit(node, { cluster, received: messageLog(received.slice(1)) }).enabled);
 * ```
 */
export function sendCommit<V extends Value>(
  node: NodeState<V>,
  input: NodeInput<V>,
): Transition<V> {
  const { cluster, received } = input;
  if (node.vote.view !== node.view) return disabled("the node has not voted in this view");
  if (node.prepared.view >= node.view) return disabled("the node is prepared in this view");
  // A vote of this view is a real one: its value is a value, not NoValue.
  const value = node.vote.value as V;
  const count = voteCount(node, received, "Prepare", node.view, value);
  if (count < cluster.quorum) return disabled(`${count} Prepare votes are short of a quorum`);
  return enabled({ ...node, prepared: node.vote }, [
    { kind: "persist", fields: ["prepared"] },
    { kind: "send", message: { type: "Commit", view: node.view, value, from: node.id } },
  ]);
}

/**
 * `CommitStandard(i)`: prepared, and a quorum of Commit votes for the same value.
 *
 * @param node The node's state.
 * @param input The cluster and the received messages.
 * @returns The node with the committed value, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, commitStandard, initialNodeState, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const node = { ...initialNodeState(2, cluster), prepared: { view: 0, value: 1 } };
 * const received = [2, 3, 4].map((from) => ({ type: "Commit", view: 0, value: 1, from }) as const);
 * const next = commitStandard(node, { cluster, received: messageLog(received) });
 * assert.ok(next.enabled && next.state.committed === 1);
 * ```
 */
export function commitStandard<V extends Value>(
  node: NodeState<V>,
  input: NodeInput<V>,
): Transition<V> {
  const { cluster, received } = input;
  if (node.committed !== NO_VALUE) return disabled("the node already committed");
  if (node.prepared.view !== node.view) return disabled("the node is not prepared in this view");
  const count = voteCount(node, received, "Commit", node.view, node.prepared.value);
  if (count < cluster.quorum) return disabled(`${count} Commit votes are short of a quorum`);
  return enabled({ ...node, committed: node.prepared.value }, [
    { kind: "persist", fields: ["committed"] },
  ]);
}

/**
 * `CommitFast(i)`: every node (FastQuorum) prepared what this node voted for.
 *
 * @param node The node's state.
 * @param input The cluster and the received messages.
 * @returns The node with the committed value, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, commitFast, initialNodeState, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const node = { ...initialNodeState(2, cluster), vote: { view: 0, value: 1 } };
 * const received = [1, 2, 3, 4].map((from) => ({ type: "Prepare", view: 0, value: 1, from }) as const);
 * assert.ok(commitFast(node, { cluster, received: messageLog(received) }).enabled);
 * ```
 */
export function commitFast<V extends Value>(
  node: NodeState<V>,
  input: NodeInput<V>,
): Transition<V> {
  const { cluster, received } = input;
  if (node.committed !== NO_VALUE) return disabled("the node already committed");
  if (node.vote.view !== node.view) return disabled("the node has not voted in this view");
  const count = voteCount(node, received, "Prepare", node.view, node.vote.value);
  if (count < cluster.fastQuorum) return disabled(`${count} Prepare votes are short of all nodes`);
  return enabled({ ...node, committed: node.vote.value }, [
    { kind: "persist", fields: ["committed"] },
  ]);
}

/** Input of {@linkcode learnCommit}: the view and value of the certificate. */
export interface LearnCommitInput<V extends Value = number> extends NodeInput<V> {
  /** The view `v` in which the certificate was signed. */
  readonly view: number;
  /** The certified value `x`. */
  readonly value: V;
}

/**
 * `LearnCommit(i, v, x)`: state transfer. A node that has not committed adopts a result with a
 * commit certificate in any view: a quorum of Commit votes, or Prepare votes from every node.
 * A node left alone in a later view (it suspected a coordinator that then recovered) learns the
 * result this way. The certificate is judged by its signatures (the spec's `Certified`), not by
 * whom the node excludes now: a node that excluded a signer after it signed would otherwise
 * never learn what the others committed. Safe because at most one value ever has such a
 * certificate with an honest signer, and a quorum always has one.
 *
 * @param node The node's state.
 * @param input The cluster, the received messages, and the certificate's view and value.
 * @returns The node with the committed value, or why not.
 *
 * @example A node in view 1 learns what a quorum committed in view 0
 * ```ts
 * import { clusterConfig, initialNodeState, learnCommit, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const node = { ...initialNodeState(4, cluster), view: 1 };
 * const received = [1, 2, 3].map((from) => ({ type: "Commit", view: 0, value: 1, from }) as const);
 * const next = learnCommit(node, { cluster, received: messageLog(received), view: 0, value: 1 });
 * assert.ok(next.enabled && next.state.committed === 1);
 * assert.ok(!learnCommit(node, { cluster, received: messageLog(received.slice(1)), view: 0, value: 1 }).enabled);
 * ```
 */
export function learnCommit<V extends Value>(
  node: NodeState<V>,
  input: LearnCommitInput<V>,
): Transition<V> {
  const { cluster, received, view, value } = input;
  if (node.committed !== NO_VALUE) return disabled("the node already committed");
  const commits = certificateCount(received, "Commit", view, value);
  if (commits < cluster.quorum) {
    const prepares = certificateCount(received, "Prepare", view, value);
    if (prepares < cluster.fastQuorum) {
      return disabled(
        `${commits} Commit votes are short of a quorum and ${prepares} Prepare votes of all nodes`,
      );
    }
  }
  return enabled({ ...node, committed: value }, [{ kind: "persist", fields: ["committed"] }]);
}
