/**
 * What a pure action returns: the next node state and its effects as data, or, when the
 * action's enabling condition is false, a value that says why.
 *
 * @module
 */

import type { NodeState, SpecMessage, Value } from "./spec_state.ts";

/**
 * Sign and send a message to every node (the spec adds it to `msgs`). The shell writes the
 * signed message to the node's disk before it sends it, and a restarted node reads what it signed
 * back into its received set: the guards that keep an honest node from signing twice for one
 * slot (`SendAssign`, `SendPrePrepare`, `TakeCheckpoint`, `SendNewView`) read it there.
 */
export interface SendEffect<V extends Value = number> {
  /** `send`. */
  readonly kind: "send";
  /** The message to sign and send. */
  readonly message: SpecMessage<V>;
}

/** Durable fields changed: the runtime writes them to disk before sending what follows. */
export interface PersistEffect {
  /** `persist`. */
  readonly kind: "persist";
  /** The node-state fields to write to disk. */
  readonly fields: readonly (keyof NodeState)[];
}

/** An effect of a node action, carried out by the runtime, the simulator or the replayer. */
export type Effect<V extends Value = number> = SendEffect<V> | PersistEffect;

/** The action was enabled: the next state and the effects. */
export interface Enabled<V extends Value = number> {
  /** The guard held. */
  readonly enabled: true;
  /** The next node state. */
  readonly state: NodeState<V>;
  /** The effects, in order. */
  readonly effects: readonly Effect<V>[];
}

/** The action's guard is false in this state for this input. */
export interface Disabled {
  /** The guard was false. */
  readonly enabled: false;
  /** Which conjunct of the guard failed, in a sentence. */
  readonly reason: string;
}

/** The result of a node action. */
export type Transition<V extends Value = number> = Enabled<V> | Disabled;

/**
 * An enabled transition.
 *
 * @param state The next state.
 * @param effects The effects, in order.
 * @returns The transition.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig, enabled, initialNodeState } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * assert.ok(enabled(initialNodeState(1, cluster), []).enabled);
 * ```
 */
export function enabled<V extends Value>(
  state: NodeState<V>,
  effects: readonly Effect<V>[],
): Enabled<V> {
  return { enabled: true, state, effects };
}

/**
 * A disabled transition.
 *
 * @param reason Which conjunct of the guard failed: the one line a caller shows.
 * @returns The transition.
 * @throws {TypeError} When the reason is empty: every refusal says why.
 *
 * @example Usage
 * ```ts
 * import { disabled } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.equal(disabled("the node already voted in this view").enabled, false);
 * ```
 */
export function disabled(reason: string): Disabled {
  if (reason.length === 0) throw new TypeError("a disabled transition needs a reason");
  return { enabled: false, reason };
}
