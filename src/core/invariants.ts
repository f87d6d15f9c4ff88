/**
 * The spec's safety properties in TypeScript (`Agreement`, `Consistency`, `Validity`,
 * `ByzantineResistance`, `CheckpointIntegrity`, `ExclusionAccuracy`, `MCPinned.tla`'s
 * `PinnedValuesAreResults` and the action property `CommitStable`), over the nodes' states and
 * the messages sent, so that the simulator can check
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
  type Value,
} from "./spec_state.ts";

/** What the invariants read: every node's state, the network and who is Byzantine. */
export interface InvariantInput<V extends Value = number> {
  /** The cluster. */
  readonly cluster: ClusterConfig<V>;
  /** Every node's state (entry `i - 1` is node `i`; Byzantine entries are ignored). */
  readonly nodes: readonly NodeState<V>[];
  /** Every message sent (the spec's `msgs`). */
  readonly messages: readonly SpecMessage<V>[];
  /** The Byzantine nodes. */
  readonly byzantine: readonly NodeIndex[];
}

// The signers of each (view, value) of one vote type.
function signersOf<V extends Value>(
  messages: readonly SpecMessage<V>[],
  type: "Prepare" | "Commit",
): Map<number, Map<V, Set<NodeIndex>>> {
  const out = new Map<number, Map<V, Set<NodeIndex>>>();
  for (const m of messages) {
    if (m.type !== type) continue;
    const byValue = out.get(m.view) ?? new Map<V, Set<NodeIndex>>();
    const set = byValue.get(m.value as V) ?? new Set<NodeIndex>();
    set.add(m.from);
    byValue.set(m.value as V, set);
    out.set(m.view, byValue);
  }
  return out;
}

// The spec's Agreement: at most one value has a commit certificate an honest node signed part of.
function agreement<V extends Value>(
  input: InvariantInput<V>,
  honest: (i: NodeIndex) => boolean,
): string[] {
  const { cluster, messages } = input;
  const commits = signersOf(messages, "Commit");
  const prepares = signersOf(messages, "Prepare");
  const certified = new Set<V>();
  const check = (signers: Map<number, Map<V, Set<NodeIndex>>>, needed: number): void => {
    for (const [view, byValue] of signers) {
      for (const [value, set] of byValue) {
        if (set.size < needed) continue;
        const honestPart = messages.some((m) =>
          honest(m.from) && (m.type === "Commit" || m.type === "Prepare") && m.view === view &&
          m.value === value
        );
        if (honestPart) certified.add(value);
      }
    }
  };
  check(commits, cluster.quorum);
  check(prepares, cluster.fastQuorum);
  return certified.size <= 1 ? [] : [`Agreement: values ${[...certified]} have certificates`];
}

// The spec's Consistency: honest nodes commit at most one value.
function consistency<V extends Value>(
  honestNodes: readonly NodeState<V>[],
): { readonly lines: string[]; readonly committed: Set<V> } {
  const committed = new Set(
    honestNodes.map((n) => n.committed).filter((x): x is V => x !== NO_VALUE),
  );
  const lines = committed.size > 1 ? [`Consistency: honest nodes committed ${[...committed]}`] : [];
  return { lines, committed };
}

// The spec's ExclusionAccuracy for one node: it excludes no honest node.
function exclusionAccuracy<V extends Value>(
  node: NodeState<V>,
  honest: (i: NodeIndex) => boolean,
): string[] {
  const wrong = node.excluded.filter(honest);
  return wrong.length > 0 ? [`ExclusionAccuracy: node ${node.id} excluded ${wrong}`] : [];
}

// MCPinned's PinnedValuesAreResults: a value view changes can pin (a prepared certificate's, or
// a vote that F + 1 view changes report alike, counted over every view change sent) is the
// result of a seed, which is what lets a node of a one-seed cluster accept it uncomputed.
function pinnedValuesAreResults(input: InvariantInput): string[] {
  const { cluster, messages } = input;
  const results = new Set(cluster.seeds.map((x) => resultOf(x, cluster)));
  const out: string[] = [];
  for (const [view, byValue] of signersOf(messages, "Prepare")) {
    for (const [value, set] of byValue) {
      if (set.size >= cluster.quorum && !results.has(value)) {
        out.push(`PinnedValuesAreResults: view ${view}'s prepared certificate is for ${value}`);
      }
    }
  }
  const voters = new Map<string, Set<NodeIndex>>();
  for (const m of messages) {
    if (m.type !== "ViewChange" || m.voted.view < 0 || results.has(m.voted.value)) continue;
    const key = `${m.voted.view}/${m.voted.value}`;
    const set = voters.get(key) ?? new Set<NodeIndex>();
    set.add(m.from);
    voters.set(key, set);
    if (set.size === cluster.faultsMax + 1) {
      out.push(`PinnedValuesAreResults: F + 1 view changes report a vote for ${m.voted.value}`);
    }
  }
  return out;
}

/**
 * The safety invariants that need no knowledge of what the values mean (`Agreement`,
 * `Consistency`, `ExclusionAccuracy`), for any values: a runtime trace's digests as well as the
 * spec's numbers. {@linkcode invariantViolations} checks these and the rest.
 *
 * @param input The nodes, the network and the Byzantine nodes.
 * @returns The violated invariants with what violates them; empty when all hold.
 *
 * @example Two honest nodes committing different digests break Consistency
 * ```ts
 * import { clusterConfigWith, initialNodeState, valueFreeViolations } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfigWith<string>({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * }, { firstInput: () => "prompt", resultOf: () => undefined });
 * const nodes = ["aa", "bb"].map((committed, k) => ({
 *   ...initialNodeState(k + 1, cluster),
 *   committed,
 * }));
 * const found = valueFreeViolations({ cluster, nodes, messages: [], byzantine: [] });
 * assert.ok(found[0]?.startsWith("Consistency"));
 * ```
 */
export function valueFreeViolations<V extends Value>(input: InvariantInput<V>): string[] {
  const honest = (i: NodeIndex): boolean => !input.byzantine.includes(i);
  const honestNodes = input.nodes.filter((n) => honest(n.id));
  return [
    ...agreement(input, honest),
    ...consistency(honestNodes).lines,
    ...honestNodes.flatMap((node) => exclusionAccuracy(node, honest)),
  ];
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
  const { lines, committed } = consistency(honestNodes);
  out.push(...lines);
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
    out.push(...exclusionAccuracy(node, honest));
  }
  out.push(...pinnedValuesAreResults(input));
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
