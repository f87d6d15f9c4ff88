/**
 * Every instance of every protocol action a node could take, built from its state and the
 * messages it received, kept when the core's guard allows it. The simulator picks among them;
 * the choice is the environment's, the transitions are the core's.
 *
 * @module
 */

import { handleAssign, sendAssign } from "../core/assignment.ts";
import { handleCheckpoint, restoreCheckpoint, takeCheckpoint } from "../core/checkpointing.ts";
import {
  commitFast,
  commitStandard,
  handlePrePrepare,
  learnCommit,
  sendCommit,
  sendPrePrepare,
} from "../core/commitment.ts";
import { acceptToken, computeStage } from "../core/computation.ts";
import { subsetsOfSize } from "../core/_tally.ts";
import type { NodeInput } from "../core/node_input.ts";
import {
  inputValues,
  type NodeState,
  type SpecMessage,
  valuesAt,
  type ViewChangeMessage,
} from "../core/spec_state.ts";
import type { Enabled, Transition } from "../core/transition.ts";
import {
  excludeNode,
  handleNewView,
  joinViewChange,
  sendNewView,
  startViewChange,
} from "../core/view_change.ts";

/** An enabled action instance: the TLA+ action's name and the core's transition. */
export interface NamedTransition {
  /** The TLA+ action, for example `HandlePrePrepare`. */
  readonly action: string;
  /** The enabled transition. */
  readonly transition: Enabled;
}

function messageActions(node: NodeState, input: NodeInput, add: Add): void {
  const handlers = {
    Assign: ["HandleAssign", handleAssign],
    Checkpoint: ["HandleCheckpoint", handleCheckpoint],
    PrePrepare: ["HandlePrePrepare", handlePrePrepare],
    NewView: ["HandleNewView", handleNewView],
  } as const;
  const bySigner = new Map<string, SpecMessage[]>();
  for (const message of input.received) {
    const handler = handlers[message.type as keyof typeof handlers];
    if (handler !== undefined) add(handler[0], handler[1](node, { ...input, message }));
    const key = `${message.type}|${message.from}`;
    const group = bySigner.get(key) ?? [];
    group.push(message);
    bySigner.set(key, group);
  }
  for (const group of bySigner.values()) {
    for (let a = 0; a < group.length; a++) {
      for (let b = a + 1; b < group.length; b++) {
        const first = group[a] as SpecMessage;
        const second = group[b] as SpecMessage;
        add("ExcludeNode", excludeNode(node, { ...input, first, second }));
      }
    }
  }
}

type Add = (action: string, transition: Transition) => void;

/**
 * The enabled protocol action instances of a node.
 *
 * @param node The node's state.
 * @param input The cluster and the messages the node received.
 * @returns Every enabled instance, in a fixed order.
 *
 * @example The primary of view 0 may assign
 * ```ts
 * import { clusterConfig, enabledTransitions, initialNodeState } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1, 2], viewMax: 1,
 * });
 * const actions = enabledTransitions(initialNodeState(1, cluster), { cluster, received: [] });
 * assert.deepEqual(actions.map((a) => a.action), ["SendAssign", "SendAssign"]);
 * ```
 */
export function enabledTransitions(node: NodeState, input: NodeInput): NamedTransition[] {
  const { cluster, received } = input;
  const out: NamedTransition[] = [];
  const add: Add = (action, transition) => {
    if (transition.enabled) out.push({ action, transition });
  };
  for (const seed of cluster.seeds) add("SendAssign", sendAssign(node, { ...input, seed }));
  for (let token = 1; token <= cluster.tokenCount; token++) {
    for (let stage = 1; stage <= cluster.stageCount; stage++) {
      if (node.progress[stage - 1] !== token - 1) continue;
      for (const value of inputValues(cluster, token, stage)) {
        add("ComputeStage", computeStage(node, { ...input, token, stage, value }));
      }
    }
  }
  const next = node.tokens.length + 1;
  if (next <= cluster.tokenCount) {
    for (const value of valuesAt(cluster, next, cluster.stageCount)) {
      add("AcceptToken", acceptToken(node, { ...input, token: next, value }));
    }
  }
  const results = valuesAt(cluster, cluster.tokenCount, cluster.stageCount);
  for (let position = 1; position <= Math.min(node.tokens.length, cluster.tokenCount); position++) {
    add("TakeCheckpoint", takeCheckpoint(node, { ...input, position }));
  }
  add("RestoreCheckpoint", restoreCheckpoint(node, input));
  add("SendPrePrepare", sendPrePrepare(node, input));
  add("SendCommit", sendCommit(node, input));
  add("CommitStandard", commitStandard(node, input));
  add("CommitFast", commitFast(node, input));
  for (let view = 0; view <= cluster.viewMax; view++) {
    for (const value of results) add("LearnCommit", learnCommit(node, { ...input, view, value }));
  }
  add("StartViewChange", startViewChange(node, input));
  for (let view = node.view + 1; view <= cluster.viewMax; view++) {
    add("JoinViewChange", joinViewChange(node, { ...input, view }));
  }
  messageActions(node, input, add);
  const viewChanges = received.filter((m): m is ViewChangeMessage =>
    m.type === "ViewChange" && m.view === node.view && node.view > 0
  );
  for (const subset of subsetsOfSize(viewChanges, cluster.quorum)) {
    for (const seed of cluster.seeds) {
      add("SendNewView", sendNewView(node, { ...input, viewChanges: subset, seed }));
    }
  }
  return out;
}
