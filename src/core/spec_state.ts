/**
 * The spec-level state of BCP as `tla/ButterflyCoordination.tla` defines it: node indices,
 * values, the signed messages, one node's state, and the cluster constants. The pure actions of
 * `src/core/` work on these; `conformance/variable_map.ts` maps each TLA+ variable to a field.
 *
 * A node's state holds the spec's node-local variables (`view`, `seed`, `progress`, `tokens`,
 * `vote`, `prepared`, `committed`, `stableCheckpoint`, `suspected`, `excluded`); `status` is the
 * environment's (a crashed node takes no step), and `msgs`, `byzantineSent`, `crashes` are the
 * network's and the harness's.
 *
 * Identities and values, abstract and real. A node is an index `1..n` into the ordered
 * membership (a runtime maps each `NodeId` to its index in the membership's order, as
 * `spec/PROTOCOL.md` §5.1 orders the ids). Every type here is generic in its values `V`
 * ({@linkcode Value}: a number or a string): the spec's instance, which the trace replayer runs,
 * uses the numbers `Out(x, t, s)` ({@linkcode stageValue}); a runtime uses digests. The seed is
 * the sampling seed in both. A stage output is `Out(x, t, s)` in the spec and the digest of the
 * stage's output activations in a runtime (the model's answer); a token is the last stage's
 * output for it; the committed result is the last token's (`Result(x)`); a checkpoint's digest
 * is its tokens; the first stage's input is `Out(x, 0, 0)` in the spec and the prompt's digest
 * for the seed in a runtime ({@linkcode ValueDomain}). The core only compares values.
 *
 * @module
 */

import { quorumOf } from "./quorum.ts";

/** A node of the cluster, `1..nodeCount` as in the spec. */
export type NodeIndex = number;

/**
 * The spec's `Garbage`: the seed part of a wrong stage output. Garbage at stage `s` of token `t`
 * is `stageValue(GARBAGE, t, s)`.
 */
export const GARBAGE = 0;

/**
 * The spec's `Out(x, t, s)`: the value stage `s` outputs for token `t` of the inference with seed
 * `x` (its decimal digits are `x t s`); `stageValue(x, 0, 0)` is the first stage's input, and
 * `stageValue(GARBAGE, t, s)` garbage there. Values are distinct per seed, token and stage, so the
 * output of the wrong token or stage is a different value.
 *
 * @param seed The seed, or {@linkcode GARBAGE}.
 * @param token The token, `0..T` (0: the input of the first token).
 * @param stage The stage, `0..S` (0: the input of the first stage).
 * @returns The value.
 *
 * @example Usage
 * ```ts
 * import { stageValue } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.equal(stageValue(2, 3, 1), 231);
 * ```
 */
export function stageValue(seed: number, token: number, stage: number): number {
  return seed * 100 + token * 10 + stage;
}

/**
 * The spec's `SeedOf(v)`: the seed a value belongs to ({@linkcode GARBAGE} for garbage).
 *
 * @param value A value.
 * @returns Its seed.
 *
 * @example Usage
 * ```ts
 * import { seedOfValue } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.equal(seedOfValue(231), 2);
 * ```
 */
export function seedOfValue(value: number): number {
  return Math.floor(value / 100);
}

/**
 * The spec's `Compute(v, t, s)`: what an honest replica of stage `s` outputs for token `t` from
 * input `v`: the output of `v`'s seed there, and garbage from garbage.
 *
 * @param input The accepted input.
 * @param token The token.
 * @param stage The stage.
 * @returns The output.
 *
 * @example Usage
 * ```ts
 * import { computeValue } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.equal(computeValue(100, 1, 1), 111);
 * ```
 */
export function computeValue(input: number, token: number, stage: number): number {
  return stageValue(seedOfValue(input), token, stage);
}
/**
 * A value: a stage output, a token, a result, the elements of a checkpoint's digest. The core
 * only compares values (`===`) and keys them; it never computes one. The spec's instance uses
 * the numbers `Out(x, t, s)` ({@linkcode stageValue}); a runtime uses digests (hex strings).
 */
export type Value = number | string;

/** The spec's `NoValue`: nothing committed, no vote. */
export const NO_VALUE: -1 = -1;

/** The type of {@linkcode NO_VALUE}. */
export type NoValue = typeof NO_VALUE;
/** The spec's `NoSeed`: no assignment accepted in the current view. */
export const NO_SEED = 0;

/** A vote or prepared certificate: `{ view, value }`; {@linkcode NO_VOTE} when none. */
export interface Vote<V extends Value = number> {
  /** The view. */
  readonly view: number;
  /** The value, or {@linkcode NO_VALUE} for no vote. */
  readonly value: V | NoValue;
}

/** The spec's `NoVote`. */
export const NO_VOTE: Vote<never> = Object.freeze({ view: -1, value: NO_VALUE });

/** A stable checkpoint: the first `position` tokens of the inference with `seed`. */
export interface CheckpointRecord<V extends Value = number> {
  /** The sampling seed. */
  readonly seed: number;
  /** The number of tokens covered. */
  readonly position: number;
  /** The tokens. */
  readonly tokens: readonly V[];
}

/** The spec's `NoCheckpoint`. */
export const NO_CHECKPOINT: CheckpointRecord<never> = Object.freeze({
  seed: NO_SEED,
  position: 0,
  tokens: Object.freeze([]) as readonly never[],
});

/** The coordinator of view 0 assigns the inference. */
export interface AssignMessage {
  /** The message type: `Assign`. */
  readonly type: "Assign";
  /** The view. */
  readonly view: number;
  /** The sampling seed. */
  readonly seed: number;
  /** The signer. */
  readonly from: NodeIndex;
}
/** A replica's signed output of one stage of one token. */
export interface StageOutputMessage<V extends Value = number> {
  /** The message type: `StageOutput`. */
  readonly type: "StageOutput";
  /** The view. */
  readonly view: number;
  /** The sampling seed. */
  readonly seed: number;
  /** The token (from 1). */
  readonly token: number;
  /** The stage (from 1). */
  readonly stage: number;
  /** The output (see {@linkcode Value}). */
  readonly value: V;
  /** The signer. */
  readonly from: NodeIndex;
}
/** A proposal, a Prepare vote or a Commit vote. */
export interface VoteMessage<V extends Value = number> {
  /** The message type: Which of the three. */
  readonly type: "PrePrepare" | "Prepare" | "Commit";
  /** The view. */
  readonly view: number;
  /** The result voted for (see {@linkcode Value}). */
  readonly value: V;
  /** The signer. */
  readonly from: NodeIndex;
}
/** The digest (here: the tokens) of the first `position` tokens. */
export interface CheckpointMessage<V extends Value = number> {
  /** The message type: `Checkpoint`. */
  readonly type: "Checkpoint";
  /** The sampling seed. */
  readonly seed: number;
  /** The number of tokens covered. */
  readonly position: number;
  /** The digest of the first `position` tokens (the spec uses the tokens themselves). */
  readonly digest: readonly V[];
  /** The signer. */
  readonly from: NodeIndex;
}
/** A node moves to `view` and reports what it prepared and voted for. */
export interface ViewChangeMessage<V extends Value = number> {
  /** The message type: `ViewChange`. */
  readonly type: "ViewChange";
  /** The view. */
  readonly view: number;
  /** The last prepared certificate (`NO_VOTE` if none). */
  readonly prepared: Vote<V>;
  /** The last vote (`NO_VOTE` if none). */
  readonly voted: Vote<V>;
  /** The signer. */
  readonly from: NodeIndex;
}
/** The new coordinator proves the view change and assigns a seed. */
export interface NewViewMessage<V extends Value = number> {
  /** The message type: `NewView`. */
  readonly type: "NewView";
  /** The view. */
  readonly view: number;
  /** The quorum of view-change messages that proves the change. */
  readonly viewChanges: readonly ViewChangeMessage<V>[];
  /** The sampling seed. */
  readonly seed: number;
  /** The signer. */
  readonly from: NodeIndex;
}

/** Any signed message of the spec (`Message`), its values of type `V`. */
export type SpecMessage<V extends Value = number> =
  | AssignMessage
  | StageOutputMessage<V>
  | VoteMessage<V>
  | CheckpointMessage<V>
  | ViewChangeMessage<V>
  | NewViewMessage<V>;

/** One node's state: the spec's node-local variables at index `id`, its values of type `V`. */
export interface NodeState<V extends Value = number> {
  /** The node (not a spec variable: the index of the variables). */
  readonly id: NodeIndex;
  /** The view. */
  readonly view: number;
  /** The sampling seed. */
  readonly seed: number;
  /** Tokens each stage has processed: entry `s - 1` is stage `s`. */
  readonly progress: readonly number[];
  /** The tokens. */
  readonly tokens: readonly V[];
  /** The node's last Prepare vote. */
  readonly vote: Vote<V>;
  /** The last prepared certificate (`NO_VOTE` if none). */
  readonly prepared: Vote<V>;
  /** The committed result, `NO_VALUE` until commit. */
  readonly committed: V | NoValue;
  /** The latest stable checkpoint (durable). */
  readonly stableCheckpoint: CheckpointRecord<V>;
  /** Sorted ascending. */
  readonly suspected: readonly NodeIndex[];
  /** Sorted ascending. */
  readonly excluded: readonly NodeIndex[];
}

/**
 * The node-state fields that survive a crash: the spec's `Crash` leaves them unchanged (the
 * tokens, the stages' progress and the suspicions are lost). A node writes these to disk, through
 * its transitions' persist effects, before it sends anything that depends on them.
 */
export const DURABLE_FIELDS = [
  "view",
  "seed",
  "vote",
  "prepared",
  "committed",
  "stableCheckpoint",
  "excluded",
] as const;

/** A field of {@linkcode DURABLE_FIELDS}. */
export type DurableField = typeof DURABLE_FIELDS[number];

/** What a node has on disk: its durable fields. */
export type DurableState<V extends Value = number> = Pick<NodeState<V>, DurableField>;

/**
 * The durable projection of a node's state: what must be on its disk.
 *
 * @param node The node's state.
 * @returns Its durable fields.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, durableOf, initialNodeState } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * assert.equal(durableOf(initialNodeState(2, cluster)).view, 0);
 * ```
 */
export function durableOf<V extends Value>(node: NodeState<V>): DurableState<V> {
  return {
    view: node.view,
    seed: node.seed,
    vote: node.vote,
    prepared: node.prepared,
    committed: node.committed,
    stableCheckpoint: node.stableCheckpoint,
    excluded: node.excluded,
  };
}

/**
 * What the core needs to know of values besides comparing them: the first stage's input for a
 * seed (the spec's `Out(x, 0, 0)`; a runtime's digest of the prompt with that seed), and a seed's
 * result where it is known (the spec's `Result(x)`; a runtime knows it only for a seed it
 * computed), which `AllowedSeeds` checks a new view's seed against.
 */
export interface ValueDomain<V extends Value> {
  /**
   * The first stage's input of the inference with `seed`.
   *
   * @param seed The seed.
   * @returns The value.
   */
  readonly firstInput: (seed: number) => V;
  /**
   * The result of the inference with `seed`, or `undefined` when it is not known.
   *
   * @param seed The seed.
   * @returns The value, or `undefined`.
   */
  readonly resultOf: (seed: number) => V | undefined;
}

/** The spec's constants and the sizes derived from them. */
export interface ClusterConfig<V extends Value = number> {
  /** `N`: nodes are `1..nodeCount`. */
  readonly nodeCount: number;
  /** `F`: Byzantine nodes tolerated. */
  readonly faultsMax: number;
  /** `S`: pipeline stages. */
  readonly stageCount: number;
  /** `T`: tokens generated. */
  readonly tokenCount: number;
  /** `K`: checkpoint interval in tokens. */
  readonly checkpointIntervalTokens: number;
  /** `R`: replicas per stage. */
  readonly replicaCount: number;
  /** `Seeds`: the sampling seeds a coordinator may assign, ascending. */
  readonly seeds: readonly number[];
  /** `MaxView`. */
  readonly viewMax: number;
  /** `Quorum`: floor((N + F) / 2) + 1. */
  readonly quorum: number;
  /** `FastQuorum`: N. */
  readonly fastQuorum: number;
  /** `StageAcceptThreshold`: F + 1. */
  readonly stageAcceptThreshold: number;
  /** `CheckpointQuorum`: the quorum. */
  readonly checkpointQuorum: number;
  /** What the core needs to know of values (the spec's `Out` and `Result` for the spec's). */
  readonly values: ValueDomain<V>;
}

/** The constants a cluster is built from (the sizes are derived). */
export interface ClusterConstants {
  /** `N`: nodes are `1..nodeCount`. */
  readonly nodeCount: number;
  /** `F`: Byzantine nodes tolerated. */
  readonly faultsMax: number;
  /** `S`: pipeline stages. */
  readonly stageCount: number;
  /** `T`: tokens generated. */
  readonly tokenCount: number;
  /** `K`: checkpoint interval in tokens. */
  readonly checkpointIntervalTokens: number;
  /** `R`: replicas per stage. */
  readonly replicaCount: number;
  /** `Seeds`: the sampling seeds a coordinator may assign. */
  readonly seeds: readonly number[];
  /** `MaxView`: the last view. */
  readonly viewMax: number;
}

/** The largest token and stage count: a value's token and stage are one decimal digit each. */
export const VALUE_DIGIT_MAX = 9;

/**
 * The spec's `Result(x)`: the correct result of the inference with seed `x`, the last stage's
 * output of the last token.
 *
 * @param seed The seed.
 * @param cluster The cluster (its token and stage counts).
 * @returns The result.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, resultOf } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 2, tokenCount: 3, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * assert.equal(resultOf(1, cluster), 132);
 * ```
 */
export function resultOf(seed: number, cluster: ClusterConfig): number {
  return stageValue(seed, cluster.tokenCount, cluster.stageCount);
}

/**
 * The spec's `ValuesAt(t, s)`: the output of each seed, and garbage, at token `t` and stage `s`.
 *
 * @param cluster The cluster (its seeds).
 * @param token The token.
 * @param stage The stage.
 * @returns The values, garbage first.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, valuesAt } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 2, tokenCount: 3, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1, 2], viewMax: 1,
 * });
 * assert.deepEqual(valuesAt(cluster, 3, 2), [32, 132, 232]);
 * ```
 */
export function valuesAt(cluster: ClusterConfig, token: number, stage: number): number[] {
  return [GARBAGE, ...cluster.seeds].map((x) => stageValue(x, token, stage));
}

/**
 * The spec's `InputValues(t, s)`: the values stage `s` may take as its input for token `t`: the
 * stage before's outputs, the last stage's for the token before, or the seeds for the first.
 *
 * @param cluster The cluster.
 * @param token The token.
 * @param stage The stage.
 * @returns The values, garbage first.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, inputValues } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 2, tokenCount: 3, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1, 2], viewMax: 1,
 * });
 * assert.deepEqual(inputValues(cluster, 2, 1), [12, 112, 212]);
 * ```
 */
export function inputValues(cluster: ClusterConfig, token: number, stage: number): number[] {
  const [t, s] = inputPosition(cluster, token, stage);
  return valuesAt(cluster, t, s);
}

/**
 * Where stage `s`'s input for token `t` comes from, as the spec's `InputValues(t, s)` says: the
 * stage before, the last stage of the token before, or (0, 0), the first stage's input.
 *
 * @param cluster The cluster (its stage count).
 * @param token The token.
 * @param stage The stage.
 * @returns The (token, stage) whose output is the input.
 */
export function inputPosition(
  cluster: Pick<ClusterConstants, "stageCount">,
  token: number,
  stage: number,
): readonly [number, number] {
  if (stage > 1) return [token, stage - 1];
  if (token === 1) return [0, 0];
  return [token - 1, cluster.stageCount];
}

/**
 * Builds the cluster configuration with the spec's sizes.
 *
 * @param constants The spec's constants.
 * @returns The configuration with `Quorum`, `FastQuorum`, `StageAcceptThreshold`,
 * `CheckpointQuorum`.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1, 2], viewMax: 1,
 * });
 * assert.equal(cluster.quorum, 3);
 * ```
 */
export function clusterConfig(constants: ClusterConstants): ClusterConfig {
  // The spec's ASSUME T < 10 /\ S < 10: a value's digits are its seed, token and stage.
  if (!(constants.tokenCount >= 1 && constants.tokenCount <= VALUE_DIGIT_MAX)) {
    throw new RangeError(`tokenCount must be 1..${VALUE_DIGIT_MAX}, got ${constants.tokenCount}`);
  }
  if (!(constants.stageCount >= 1 && constants.stageCount <= VALUE_DIGIT_MAX)) {
    throw new RangeError(`stageCount must be 1..${VALUE_DIGIT_MAX}, got ${constants.stageCount}`);
  }
  const { tokenCount, stageCount } = constants;
  return clusterConfigWith(constants, {
    firstInput: (seed) => stageValue(seed, 0, 0),
    resultOf: (seed) => stageValue(seed, tokenCount, stageCount),
  });
}

/**
 * The constants of a cluster that decides one thing in one view: `nodeCount` nodes tolerating
 * `faultsMax` Byzantine ones, one stage and one token, every node a replica, no view change. The
 * faces that run the core on one round (`ByzantineAgreement`, `CheckpointManager`) use it.
 *
 * @param nodeCount n.
 * @param faultsMax f.
 * @returns The constants.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, oneViewConstants } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.equal(clusterConfig(oneViewConstants(7, 2)).quorum, 5);
 * ```
 */
export function oneViewConstants(nodeCount: number, faultsMax: number): ClusterConstants {
  return {
    nodeCount,
    faultsMax,
    stageCount: 1,
    tokenCount: 1,
    checkpointIntervalTokens: 1,
    replicaCount: nodeCount,
    seeds: [1],
    viewMax: 0,
  };
}

/**
 * Builds the configuration of a cluster whose values are of type `V` (a runtime's digests):
 * the spec's sizes, and what the core needs to know of values.
 *
 * @param constants The spec's constants.
 * @param values The first stage's input and the known result of each seed.
 * @returns The configuration.
 *
 * @example Digests as values
 * ```ts
 * import { clusterConfigWith } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfigWith({
 *   nodeCount: 4, faultsMax: 1, stageCount: 2, tokenCount: 16, checkpointIntervalTokens: 4,
 *   replicaCount: 3, seeds: [7], viewMax: 8,
 * }, { firstInput: (seed) => `prompt/${seed}`, resultOf: () => undefined });
 * assert.equal(cluster.values.firstInput(7), "prompt/7");
 * assert.equal(cluster.quorum, 3);
 * ```
 */
export function clusterConfigWith<V extends Value>(
  constants: ClusterConstants,
  values: ValueDomain<V>,
): ClusterConfig<V> {
  const quorum = quorumOf(constants.nodeCount, constants.faultsMax);
  return {
    ...constants,
    seeds: [...constants.seeds].sort((a, b) => a - b),
    quorum,
    fastQuorum: constants.nodeCount,
    stageAcceptThreshold: constants.faultsMax + 1,
    checkpointQuorum: quorum,
    values,
  };
}

/**
 * The state of node `id` in the spec's `Init`.
 *
 * @param id The node.
 * @param cluster The cluster.
 * @returns The initial node state.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, initialNodeState } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 2, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * assert.deepEqual(initialNodeState(2, cluster).progress, [0, 0]);
 * ```
 */
export function initialNodeState<V extends Value>(
  id: NodeIndex,
  cluster: ClusterConfig<V>,
): NodeState<V> {
  return {
    id,
    view: 0,
    seed: NO_SEED,
    progress: new Array<number>(cluster.stageCount).fill(0),
    tokens: [],
    vote: NO_VOTE,
    prepared: NO_VOTE,
    committed: NO_VALUE,
    stableCheckpoint: NO_CHECKPOINT,
    suspected: [],
    excluded: [],
  };
}

/**
 * The spec's `Primary(v)`: the coordinator of view `view`.
 *
 * @param view The view.
 * @param cluster The cluster.
 * @returns `(view % N) + 1`.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, primaryOf } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * assert.equal(primaryOf(1, cluster), 2);
 * ```
 */
export function primaryOf(view: number, cluster: ClusterConfig<Value>): NodeIndex {
  return (view % cluster.nodeCount) + 1;
}

/**
 * The spec's `Replicas(v, s)`: whether `node` is a replica of stage `stage` in view `view`.
 *
 * @param node The node.
 * @param view The view.
 * @param stage The stage (from 1).
 * @param cluster The cluster.
 * @returns `true` if `node` is one of `((v + s + k) % N) + 1` for `k` in `0..R-1`.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, isReplica } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * assert.ok(isReplica(2, 0, 1, cluster));
 * assert.ok(!isReplica(1, 0, 1, cluster));
 * ```
 */
export function isReplica(
  node: NodeIndex,
  view: number,
  stage: number,
  cluster: ClusterConfig<Value>,
): boolean {
  const offset = (((node - 1 - view - stage) % cluster.nodeCount) + cluster.nodeCount) %
    cluster.nodeCount;
  return offset < cluster.replicaCount;
}
