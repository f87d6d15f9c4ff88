/**
 * The spec's safety properties in TypeScript (`Agreement`, `Consistency`, `Validity`,
 * `ByzantineResistance`, `CheckpointIntegrity`, `ExclusionAccuracy` and the action property
 * `CommitStable`), over the nodes' states and the messages sent, so that the simulator can check
 * them after every step.
 *
 * @module
 */

import {
  type ClusterConfig,
  NO_SEED,
  NO_VALUE,
  type NodeIndex,
  type NodeState,
  resultOf,
  type SpecMessage,
  stageValue,
} from "./spec_state.ts";

/** What the invariants read: every node's state, the network and who is Byzantine. */
export interface InvariantInput {
  /** The cluster. */
  readonly cluster: ClusterConfig;
  /** Every node's state (entry `i - 1` is node `i`; Byzantine entries are ignored). */
  readonly nodes: readonly NodeState[];
  /** Every message sent (the spec's `msgs`). */
  readonly messages: readonly SpecMessage[];
  /** The Byzantine nodes. */
  readonly byzantine: readonly NodeIndex[];
}

function signersOf(
  messages: readonly SpecMessage[],
  type: "Prepare" | "Commit",
): Map<string, Set<NodeIndex>> {
  const out = new Map<string, Set<NodeIndex>>();
  for (const m of messages) {
    if (m.type !== type) continue;
    const key = `${m.view}/${m.value}`;
    const set = out.get(key) ?? new Set<NodeIndex>();
    set.add(m.from);
    out.set(key, set);
  }
  return out;
}

// The spec's Agreement: at most one value has a commit certificate an honest node signed part of.
function agreement(input: InvariantInput, honest: (i: NodeIndex) => boolean): string[] {
  const { cluster, messages } = input;
  const commits = signersOf(messages, "Commit");
  const prepares = signersOf(messages, "Prepare");
  const certified = new Set<number>();
  const check = (signers: Map<string, Set<NodeIndex>>, needed: number): void => {
    for (const [key, set] of signers) {
      if (set.size < needed) continue;
      const [view, value] = key.split("/").map(Number) as [number, number];
      const honestPart = messages.some((m) =>
        honest(m.from) && (m.type === "Commit" || m.type === "Prepare") && m.view === view &&
        m.value === value
      );
      if (honestPart) certified.add(value);
    }
  };
  check(commits, cluster.quorum);
  check(prepares, cluster.fastQuorum);
  return certified.size <= 1 ? [] : [`Agreement: values ${[...certified]} have certificates`];
}

/**
 * The safety invariants that fail in a state, one line each.
 *
 * @param input The nodes, the network and the Byzantine nodes.
 * @returns The violated invariants with what violates them; empty when all hold.
 *
 * @example Two honest nodes committing different results break Consistency
 * ```ts
 * import { clusterConfig, initialNodeState, invariantViolations } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1, 2], viewMax: 1,
 * });
 * const nodes = [1, 2, 3, 4].map((id) => ({ ...initialNodeState(id, cluster), committed: id % 2 + 1 }));
 * const found = invariantViolations({ cluster, nodes, messages: [], byzantine: [] });
 * assert.ok(found.some((line) => line.startsWith("Consistency")));
 * ```
 */
export function invariantViolations(input: InvariantInput): string[] {
  const { cluster, nodes, messages, byzantine } = input;
  const honest = (i: NodeIndex): boolean => !byzantine.includes(i);
  const out: string[] = agreement(input, honest);
  const honestNodes = nodes.filter((n) => honest(n.id));
  const committed = new Set(honestNodes.map((n) => n.committed).filter((x) => x !== NO_VALUE));
  if (committed.size > 1) out.push(`Consistency: honest nodes committed ${[...committed]}`);
  for (const value of committed) {
    const assigned = messages.some((m) =>
      (m.type === "Assign" || m.type === "NewView") && resultOf(m.seed, cluster) === value
    );
    if (!assigned) out.push(`Validity: ${value} is the result of no assigned seed`);
    const computed = messages.some((m) =>
      m.type === "StageOutput" && honest(m.from) && m.token === cluster.tokenCount &&
      m.stage === cluster.stageCount && m.value === value
    );
    if (!computed) out.push(`ByzantineResistance: no honest replica computed ${value}`);
  }
  for (const node of honestNodes) {
    const checkpoint = node.stableCheckpoint;
    if (
      checkpoint.seed !== NO_SEED &&
      (checkpoint.tokens.length !== checkpoint.position ||
        checkpoint.tokens.some((x, t) =>
          x !== stageValue(checkpoint.seed, t + 1, cluster.stageCount)
        ))
    ) {
      out.push(`CheckpointIntegrity: node ${node.id} holds checkpoint ${checkpoint.tokens}`);
    }
    if (node.tokens.some((x, t) => x !== stageValue(node.seed, t + 1, cluster.stageCount))) {
      out.push(`CheckpointIntegrity: node ${node.id} holds tokens ${node.tokens}`);
    }
    const wrong = node.excluded.filter(honest);
    if (wrong.length > 0) out.push(`ExclusionAccuracy: node ${node.id} excluded ${wrong}`);
  }
  return out;
}

/**
 * The spec's action property `CommitStable`: no honest node's committed result changes.
 *
 * @param before The nodes before a step.
 * @param after The nodes after it.
 * @param byzantine The Byzantine nodes.
 * @returns One line per node whose committed result changed.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, commitStableViolations, initialNodeState } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1, 2], viewMax: 1,
 * });
 * const before = [{ ...initialNodeState(1, cluster), committed: 1 }];
 * const after = [{ ...initialNodeState(1, cluster), committed: 2 }];
 * assert.equal(commitStableViolations(before, after, []).length, 1);
 * ```
 */
export function commitStableViolations(
  before: readonly NodeState[],
  after: readonly NodeState[],
  byzantine: readonly NodeIndex[],
): string[] {
  const out: string[] = [];
  for (const node of before) {
    if (byzantine.includes(node.id) || node.committed === NO_VALUE) continue;
    const next = after[node.id - 1];
    if (next !== undefined && next.committed !== node.committed) {
      out.push(`CommitStable: node ${node.id} went from ${node.committed} to ${next.committed}`);
    }
  }
  return out;
}
