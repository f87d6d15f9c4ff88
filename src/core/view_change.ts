/**
 * Failure detection inputs, exclusion and view change: the spec's `Suspect`, `HandleHeartbeat`
 * (the node's side; whether a suspicion may be false is the environment's), `ExcludeNode`,
 * `StartViewChange`, `ViewTimeout`, `JoinViewChange`, `SendNewView` and `HandleNewView`.
 *
 * @module
 */

import { allowedSeeds, tallyWhere, validViewChangeQuorum, viewStarted } from "./_tally.ts";
import { conflicting } from "./conflicting.ts";
import type { MessageInput, NodeInput } from "./node_input.ts";
import {
  NO_SEED,
  NO_VALUE,
  type NodeIndex,
  type NodeState,
  primaryOf,
  type SpecMessage,
  type Value,
  type ViewChangeMessage,
} from "./spec_state.ts";
import { disabled, enabled, type Transition } from "./transition.ts";

function withMember(set: readonly NodeIndex[], member: NodeIndex): readonly NodeIndex[] {
  return [...set, member].sort((a, b) => a - b);
}

/** Input of {@linkcode suspect} and {@linkcode handleHeartbeat}. */
export interface PeerInput<V extends Value = number> extends NodeInput<V> {
  /** The peer `j` the failure detector reports on. */
  readonly peer: NodeIndex;
}

/**
 * `Suspect(i, j)`: the failure detector suspects `j` (a timeout).
 *
 * @param node The node's state.
 * @param input The cluster and the suspected peer.
 * @returns The node suspecting the peer, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, initialNodeState, messageLog, suspect } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const next = suspect(initialNodeState(2, cluster), { cluster, received: messageLog([]), peer: 1 });
 * assert.ok(next.enabled && next.state.suspected.includes(1));
 * ```
 */
export function suspect<V extends Value>(
  node: NodeState<V>,
  input: PeerInput<V>,
): Transition<V> {
  const { peer } = input;
  if (peer === node.id) return disabled("a node does not suspect itself");
  if (node.suspected.includes(peer)) return disabled("the peer is already suspected");
  return enabled({ ...node, suspected: withMember(node.suspected, peer) }, []);
}

/**
 * `HandleHeartbeat(i, j)`: a heartbeat from `j` clears a suspicion of it.
 *
 * @param node The node's state.
 * @param input The cluster and the peer that sent the heartbeat.
 * @returns The node no longer suspecting the peer, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, handleHeartbeat, initialNodeState, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const node = { ...initialNodeState(2, cluster), suspected: [1] };
 * assert.ok(handleHeartbeat(node, { cluster, received: messageLog([]), peer: 1 }).enabled);
 * ```
 */
export function handleHeartbeat<V extends Value>(
  node: NodeState<V>,
  input: PeerInput<V>,
): Transition<V> {
  if (!node.suspected.includes(input.peer)) return disabled("the peer is not suspected");
  return enabled({ ...node, suspected: node.suspected.filter((j) => j !== input.peer) }, []);
}

/** Input of {@linkcode excludeNode}: two messages signed by one node. */
export interface EvidenceInput<V extends Value = number> extends NodeInput<V> {
  /** The first message. */
  readonly first: SpecMessage<V>;
  /** The second message, signed by the same node. */
  readonly second: SpecMessage<V>;
}

/**
 * `ExcludeNode(i, m1, m2)`: two conflicting messages signed by one node prove it Byzantine;
 * the node excludes it.
 *
 * @param node The node's state.
 * @param input The cluster and the two received messages.
 * @returns The node excluding the signer, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, excludeNode, initialNodeState, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1, 2], viewMax: 1,
 * });
 * const first = { type: "Prepare", view: 0, value: 1, from: 1 } as const;
 * const second = { ...first, value: 2 };
 * const next = excludeNode(initialNodeState(2, cluster), {
 *   cluster, received: messageLog([first, second]), first, second,
 * });
 * assert.ok(next.enabled && next.state.excluded.includes(1));
 * ```
 */
export function excludeNode<V extends Value>(
  node: NodeState<V>,
  input: EvidenceInput<V>,
): Transition<V> {
  const { first, second } = input;
  if (first.from === node.id) return disabled("a node does not exclude itself");
  if (!conflicting(first, second)) return disabled("the messages do not conflict");
  if (node.excluded.includes(first.from)) return disabled("the signer is already excluded");
  return enabled({ ...node, excluded: withMember(node.excluded, first.from) }, [
    { kind: "persist", fields: ["excluded"] },
  ]);
}

/**
 * `StartViewChange(i)`: a node that suspects or excluded its primary moves to the next view and
 * signs what it prepared and voted for, once its view started (view 0, or a quorum signed view
 * changes for it: `ViewStarted`), so that a node alone cannot race through every later view.
 *
 * @param node The node's state.
 * @param input The cluster.
 * @returns The node in the next view and the ViewChange to send, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, initialNodeState, messageLog, startViewChange } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const node = { ...initialNodeState(2, cluster), suspected: [1] };
 * const next = startViewChange(node, { cluster, received: messageLog([]) });
 * assert.ok(next.enabled && next.state.view === 1);
 * ```
 */
export function startViewChange<V extends Value>(
  node: NodeState<V>,
  input: NodeInput<V>,
): Transition<V> {
  const { cluster, received } = input;
  if (node.view >= cluster.viewMax) return disabled("the node is at the last view");
  if (!viewStarted(node, cluster, received)) {
    return disabled("the node's view has not started: too few view changes for it");
  }
  const primary = primaryOf(node.view, cluster);
  if (!node.suspected.includes(primary) && !node.excluded.includes(primary)) {
    return disabled("the node neither suspects nor excluded its primary");
  }
  return moveToView(node, node.view + 1);
}

/**
 * `ViewTimeout(i)`: PBFT's view-change timer expired. A node that has not committed moves to
 * the next view, whoever its primary is and whether or not it suspects anyone: a view whose
 * coordinator is up and honest can still be stuck (it crashed and recovered while the others
 * moved on, and a Byzantine node withholds its vote). Only in a view that started (view 0, or a
 * quorum signed view changes for it), as PBFT starts the timer. When the timer may expire is the
 * environment's (the spec's `ViewTimerExpired`: at any time while timeouts may be premature,
 * otherwise only when no honest running node can take a step); a runtime restarts its timer
 * whenever the node enters a view, so the timer is per view.
 *
 * @param node The node's state.
 * @param input The cluster.
 * @returns The node in the next view and the ViewChange to send, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, initialNodeState, messageLog, viewTimeout } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const next = viewTimeout(initialNodeState(3, cluster), { cluster, received: messageLog([]) });
 * assert.ok(next.enabled && next.state.view === 1);
 * assert.ok(!viewTimeout(next.state, { cluster, received: messageLog([]) }).enabled);
 * ```
 */
export function viewTimeout<V extends Value>(
  node: NodeState<V>,
  input: NodeInput<V>,
): Transition<V> {
  const { cluster, received } = input;
  if (node.committed !== NO_VALUE) return disabled("the node already committed");
  if (node.view >= cluster.viewMax) return disabled("the node is at the last view");
  if (!viewStarted(node, cluster, received)) {
    return disabled("the node's view has not started: too few view changes for it");
  }
  return moveToView(node, node.view + 1);
}

/** Input of {@linkcode joinViewChange}. */
export interface JoinViewChangeInput<V extends Value = number> extends NodeInput<V> {
  /** The later view `v` to join. */
  readonly view: number;
}

/**
 * `JoinViewChange(i, v)`: a node that sees F + 1 view-change messages for a later view joins it
 * even if it does not suspect its primary (at least one honest node timed out; PBFT's rule).
 *
 * @param node The node's state.
 * @param input The cluster, the received messages and the view.
 * @returns The node in view `v` and the ViewChange to send, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, initialNodeState, joinViewChange, messageLog, NO_VOTE } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const received = [3, 4].map((from) =>
 *   ({ type: "ViewChange", view: 1, prepared: NO_VOTE, voted: NO_VOTE, from }) as const
 * );
 * const next = joinViewChange(initialNodeState(2, cluster), { cluster, received: messageLog(received), view: 1 });
 * assert.ok(next.enabled && next.state.view === 1);
 * ```
 */
export function joinViewChange<V extends Value>(
  node: NodeState<V>,
  input: JoinViewChangeInput<V>,
): Transition<V> {
  const { cluster, received, view } = input;
  if (view <= node.view) return disabled("the view is not a later one");
  if (view > cluster.viewMax) return disabled("the view is past the last one");
  const count = tallyWhere(
    node,
    received.ofType("ViewChange"),
    (m) => m.view === view,
  );
  if (count < cluster.faultsMax + 1) return disabled(`${count} view changes are short of F + 1`);
  return moveToView(node, view);
}

// The spec's MoveToView(i, v): leave the view, drop its tokens and progress, sign a ViewChange.
function moveToView<V extends Value>(node: NodeState<V>, view: number): Transition<V> {
  return enabled({
    ...node,
    view,
    seed: NO_SEED,
    progress: node.progress.map(() => 0),
    tokens: [],
  }, [
    { kind: "persist", fields: ["view", "seed"] },
    {
      kind: "send",
      message: {
        type: "ViewChange",
        view,
        prepared: node.prepared,
        voted: node.vote,
        from: node.id,
      },
    },
  ]);
}

/** Input of {@linkcode sendNewView}. */
export interface SendNewViewInput<V extends Value = number> extends NodeInput<V> {
  /** The quorum of view-change messages `vcs` that proves the change. */
  readonly viewChanges: readonly ViewChangeMessage<V>[];
  /** The seed `x` assigned; one the view changes allow. */
  readonly seed: number;
}

/**
 * `SendNewView(i, vcs, x)`: the new primary proves the view change with a quorum of view-change
 * messages and assigns a seed they allow.
 *
 * @param node The node's state.
 * @param input The cluster, the received messages, the view changes and the seed.
 * @returns The NewView to send, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, initialNodeState, messageLog, NO_VOTE, sendNewView } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const viewChanges = [2, 3, 4].map((from) =>
 *   ({ type: "ViewChange", view: 1, prepared: NO_VOTE, voted: NO_VOTE, from }) as const
 * );
 * const node = { ...initialNodeState(2, cluster), view: 1 };
 * assert.ok(sendNewView(node, { cluster, received: messageLog(viewChanges), viewChanges, seed: 1 }).enabled);
 * ```
 */
export function sendNewView<V extends Value>(
  node: NodeState<V>,
  input: SendNewViewInput<V>,
): Transition<V> {
  const { cluster, received, viewChanges, seed } = input;
  if (node.view === 0) return disabled("view 0 has no view change");
  if (node.id !== primaryOf(node.view, cluster)) return disabled("the node is not the primary");
  if (received.ofType("NewView").some((m) => m.view === node.view && m.from === node.id)) {
    return disabled("the node already sent a NewView for this view");
  }
  if (!validViewChangeQuorum(cluster, received, viewChanges, node.view)) {
    return disabled("the view changes are not a valid quorum for the view");
  }
  if (!allowedSeeds(cluster, received, viewChanges).includes(seed)) {
    return disabled(`the view changes do not allow seed ${seed}`);
  }
  return enabled(node, [{
    kind: "send",
    message: { type: "NewView", view: node.view, viewChanges, seed, from: node.id },
  }]);
}

/**
 * `HandleNewView(i, m)`: a node checks a NewView for its view (when it has no seed yet) or a
 * later one, and enters it.
 *
 * @param node The node's state.
 * @param input The cluster, the received messages and the NewView.
 * @returns The node in the new view with its seed, or why not.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, handleNewView, initialNodeState, messageLog, NO_VOTE } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const viewChanges = [2, 3, 4].map((from) =>
 *   ({ type: "ViewChange", view: 1, prepared: NO_VOTE, voted: NO_VOTE, from }) as const
 * );
 * const message = { type: "NewView", view: 1, viewChanges, seed: 1, from: 2 } as const;
 * const received = [...viewChanges, message];
 * const next = handleNewView(initialNodeState(3, cluster), { cluster, received: messageLog(received), message });
 * assert.ok(next.enabled && next.state.view === 1 && next.state.seed === 1);
 * ```
 */
export function handleNewView<V extends Value>(
  node: NodeState<V>,
  input: MessageInput<SpecMessage<V>, V>,
): Transition<V> {
  const { cluster, received, message: m } = input;
  if (m.type !== "NewView") return disabled("the message is not a NewView");
  if (m.from !== primaryOf(m.view, cluster)) return disabled("the NewView is not from the primary");
  if (node.excluded.includes(m.from)) return disabled("the primary is excluded");
  if (!(m.view > node.view || (m.view === node.view && node.seed === NO_SEED))) {
    return disabled("the NewView is for an earlier view, or the node has its seed");
  }
  if (!validViewChangeQuorum(cluster, received, m.viewChanges, m.view)) {
    return disabled("the NewView's view changes are not a valid quorum");
  }
  if (!allowedSeeds(cluster, received, m.viewChanges).includes(m.seed)) {
    return disabled(`the view changes do not allow seed ${m.seed}`);
  }
  return enabled({
    ...node,
    view: m.view,
    seed: m.seed,
    progress: node.progress.map(() => 0),
    tokens: [],
  }, [{ kind: "persist", fields: ["view", "seed"] }]);
}
