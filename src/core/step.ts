/**
 * One entry point to a node, in the style of etcd raft's `Step` and `Ready`: the shell (the
 * runtime, the simulator) reports what happened ({@linkcode NodeEvent}: messages received and
 * verified, the view-change timer fired, the failure detector raised or cleared a suspicion, the
 * model computed a stage, the node restarted from its disk), and {@linkcode step} returns the
 * node's next state and what the shell must do, as data, in order ({@linkcode StepEffect}).
 *
 * The honest policy: after the event's own action (`ViewTimeout`, `Suspect`, `HandleHeartbeat`,
 * `ComputeStage` with the model's output), the node takes enabled protocol actions of the table
 * (`src/core/actions.ts`), the first in table order each time, until none is left; a message it
 * signs is in its received set for the next guard. `ComputeStage` is not taken in that loop: what
 * it needs from the outside world is the output, so each enabled instance becomes a `compute`
 * effect, and the model's answer comes back as a `computed` event.
 *
 * The effects, in the order the shell carries them out:
 *
 * 1. `persist`: every durable field the step changed, at most once, before anything is sent (a
 *    node that crashes after it restarts with at least what it signed depends on; persisting a
 *    later field early is safe: not sending is always safe);
 * 2. `send`: each message signed, in signing order (the shell writes it to the node's log of
 *    signed messages and sends it: a vote, a view change or an assignment once the write is on
 *    disk; a stage output or a checkpoint, which the node's certified inputs fix, may leave
 *    while it is written, since a node that crashes first signs the same one again);
 * 3. `compute`: a stage to run on the model (token, stage, input), one per enabled instance; the
 *    shell runs each once and answers with a `computed` event;
 * 4. `timer`: start the view-change timer of the node's view (it entered a view and has not
 *    committed), or `cancelTimer` (it committed);
 * 5. `commit`: the result and its certificate (the signed votes that make it);
 * 6. `checkpoint`: a new stable checkpoint, for the shell to keep.
 *
 * Values. The core is generic over its values (`V`, `number | string`): a stage output, a
 * token, a result and a checkpoint digest's elements are opaque keys it only compares. The
 * trace replayer instantiates the spec's numbers (`Out(x, t, s)`, `computeValue` as the model);
 * a runtime instantiates digests: a stage output is the digest of the stage's output
 * activations (the model's answer to a `compute` effect), a token is the last stage's output
 * for it, the result is the last token's, and a checkpoint's digest is its tokens. What the core
 * must know of values besides comparing them is the cluster's `values`
 * (`clusterConfigWith`): the first stage's input for a seed (the spec's `Out(x, 0, 0)`, a
 * runtime's prompt digest for that seed) and a seed's result where it is known (the spec's
 * `Result(x)`, which `AllowedSeeds` checks a new view's seed against). A node is an index
 * `1..n` into the ordered membership (`spec/PROTOCOL.md` §5.1 orders the ids).
 *
 * @module
 */

import { type ActionParams, ACTIONS, type NodeAction, nodeAction } from "./actions.ts";
import { conflicting } from "./conflicting.ts";
import { messageKey } from "./message_key.ts";
import type { NodeInput } from "./node_input.ts";
import type { MessageOfType, ReceivedMessages, SpecMessageType } from "./received.ts";
import {
  type CheckpointRecord,
  type ClusterConfig,
  DURABLE_FIELDS,
  type DurableField,
  type DurableState,
  initialNodeState,
  NO_VALUE,
  type NodeIndex,
  type NodeState,
  type SpecMessage,
  type Value,
  type VoteMessage,
} from "./spec_state.ts";
import type { PersistEffect, SendEffect, Transition } from "./transition.ts";

/** What the outside world reports to a node. */
export type NodeEvent<V extends Value = number> =
  | {
    /** The node starts for the first time (its state is the initial one). */
    readonly kind: "start";
  }
  | {
    /** Verified messages were appended to the node's received set. */
    readonly kind: "messages";
  }
  | {
    /** The view-change timer of `view` fired (a timer of an earlier view is ignored). */
    readonly kind: "timeout";
    /** The view whose timer it was. */
    readonly view: number;
  }
  | {
    /** The failure detector suspects `peer`. */
    readonly kind: "suspect";
    /** The suspected node. */
    readonly peer: NodeIndex;
  }
  | {
    /** A heartbeat from `peer` cleared its suspicion. */
    readonly kind: "heartbeat";
    /** The node heard from. */
    readonly peer: NodeIndex;
  }
  | {
    /** The model computed stage `stage` of token `token` from `input`. */
    readonly kind: "computed";
    /** The token. */
    readonly token: number;
    /** The stage. */
    readonly stage: number;
    /** The input it was computed from. */
    readonly input: V;
    /** What the model returned (its digest). */
    readonly output: V;
  }
  | {
    /** The node restarted: its state is what its disk holds. */
    readonly kind: "restart";
    /** The durable fields read back. */
    readonly durable: DurableState<V>;
  };

/** Run stage `stage` of token `token` on the model from `input`; answer with `computed`. */
export interface ComputeEffect<V extends Value = number> {
  /** `compute`. */
  readonly kind: "compute";
  /** The token. */
  readonly token: number;
  /** The stage. */
  readonly stage: number;
  /** The accepted input. */
  readonly input: V;
}

/** Start the view-change timer of `view`, replacing any other. */
export interface TimerEffect {
  /** `timer`. */
  readonly kind: "timer";
  /** The view the timer belongs to. */
  readonly view: number;
}

/** Stop the view-change timer: the node committed. */
export interface CancelTimerEffect {
  /** `cancelTimer`. */
  readonly kind: "cancelTimer";
}

/** The node committed `value`: answer the client with it and its certificate. */
export interface CommitEffect<V extends Value = number> {
  /** `commit`. */
  readonly kind: "commit";
  /** The committed result. */
  readonly value: V;
  /** The view the certificate was signed in. */
  readonly view: number;
  /** The votes that certify it: a quorum of Commits, or Prepares from every node. */
  readonly certificate: readonly VoteMessage<V>[];
}

/** A new stable checkpoint, for the shell to keep (and serve to nodes behind it). */
export interface CheckpointEffect<V extends Value = number> {
  /** `checkpoint`. */
  readonly kind: "checkpoint";
  /** The checkpoint. */
  readonly checkpoint: CheckpointRecord<V>;
}

/** What a step asks the shell to do. */
export type StepEffect<V extends Value = number> =
  | PersistEffect
  | SendEffect<V>
  | ComputeEffect<V>
  | TimerEffect
  | CancelTimerEffect
  | CommitEffect<V>
  | CheckpointEffect<V>;

/** A node as {@linkcode step} sees it: its state, its cluster and what it received. */
export interface StepNode<V extends Value = number> {
  /** The cluster. */
  readonly cluster: ClusterConfig<V>;
  /** The node's state. */
  readonly state: NodeState<V>;
  /**
   * What it received (and signed), kept by the shell; the shell appends verified messages before
   * a `messages` event, and the messages of `send` effects once it carries them out.
   */
  readonly received: ReceivedMessages<V>;
}

/** What a step returns. */
export interface Ready<V extends Value = number> {
  /** The node's next state. */
  readonly state: NodeState<V>;
  /** What the shell must do, in order. */
  readonly effects: readonly StepEffect<V>[];
  /** The actions taken, in order (their TLA+ names), for traces. */
  readonly actions: readonly string[];
  /** The same actions with their parameters (what a runtime trace records). */
  readonly taken: readonly TakenAction<V>[];
}

/** An action a step took: its TLA+ name and its parameters besides `i`. */
export interface TakenAction<V extends Value = number> {
  /** The TLA+ action, for example `HandlePrePrepare`. */
  readonly name: string;
  /** Its parameters (`ActionParams`), as `nodeAction(name).apply` takes them. */
  readonly params: ActionParams<V>;
}

/** The most actions one step takes: a policy that does not stop is a bug. */
export const STEP_ACTIONS_MAX = 10_000;

// The received set with the messages signed during the step, each once. The shell's set does
// not change during a step, so each type's view is built once, when the node signs one.
class WithSent<V extends Value> implements ReceivedMessages<V> {
  readonly #base: ReceivedMessages<V>;
  readonly #byType = new Map<SpecMessageType, SpecMessage<V>[]>();
  // Signers of a message signed in the step for a slot they held already.
  readonly #twice = new Set<NodeIndex>();
  readonly twiceInASlot?: () => ReadonlySet<NodeIndex>;

  constructor(base: ReceivedMessages<V>) {
    this.#base = base;
    const twice = base.twiceInASlot;
    if (twice !== undefined) {
      this.twiceInASlot = () => {
        const held = twice.call(base);
        return this.#twice.size === 0 ? held : new Set([...held, ...this.#twice]);
      };
    }
  }

  add(message: SpecMessage<V>): void {
    const current = this.ofType(message.type) as readonly SpecMessage<V>[];
    const key = messageKey(message);
    let twice = false;
    for (const m of current) {
      if (messageKey(m) === key) return;
      twice ||= conflicting(m, message);
    }
    if (twice) this.#twice.add(message.from);
    this.#byType.set(message.type, [...current, message]);
  }

  ofType<T extends SpecMessageType>(type: T): readonly MessageOfType<T, V>[] {
    const extended = this.#byType.get(type) as readonly MessageOfType<T, V>[] | undefined;
    return extended ?? this.#base.ofType(type);
  }
}

const COMPUTE_STAGE = nodeAction("ComputeStage");
const POLICY_ROWS: readonly NodeAction[] = ACTIONS.filter((a) =>
  a.gate === "protocol" && a.name !== "ComputeStage"
);

/**
 * Steps a node: the event's action, then the honest policy until no protocol action is enabled.
 *
 * @param node The node: cluster, state and received set.
 * @param event What happened.
 * @returns The next state, the effects in order, and the actions taken.
 * @throws {Error} When the policy takes more than {@linkcode STEP_ACTIONS_MAX} actions.
 *
 * @example The coordinator of view 0 starts: it assigns, and takes its own assignment
 * ```ts
 * import { clusterConfig, initialNodeState, messageLog, step } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const ready = step(
 *   { cluster, state: initialNodeState(1, cluster), received: messageLog() },
 *   { kind: "start" },
 * );
 * assert.deepEqual(ready.actions, ["SendAssign", "HandleAssign"]);
 * // The seed is on disk before the Assign leaves; the view-0 timer starts.
 * assert.deepEqual(ready.effects.map((e) => e.kind), ["persist", "send", "timer"]);
 * ```
 */
export function step<V extends Value>(node: StepNode<V>, event: NodeEvent<V>): Ready<V> {
  const { cluster } = node;
  const before = event.kind === "restart"
    ? { ...initialNodeState(node.state.id, cluster), ...event.durable }
    : node.state;
  const received = new WithSent(node.received);
  const input: NodeInput<V> = { cluster, received };
  let state = before;
  const sent: SpecMessage<V>[] = [];
  const actions: string[] = [];
  const taken: TakenAction<V>[] = [];
  // The view of the certificate the node committed on, when it commits in this step.
  let commitView = -1;
  const take = (action: NodeAction, params: ActionParams<V>, transition: Transition<V>): void => {
    if (!transition.enabled) return;
    if (state.committed === NO_VALUE && transition.state.committed !== NO_VALUE) {
      commitView = action.name === "LearnCommit" ? params["v"] as number : state.view;
    }
    state = transition.state;
    for (const effect of transition.effects) {
      if (effect.kind !== "send") continue;
      sent.push(effect.message);
      received.add(effect.message);
    }
    actions.push(action.name);
    taken.push({ name: action.name, params });
  };
  const first = eventAction(event, state);
  if (first !== undefined) take(first[0], first[1], first[0].apply(state, input, first[1]));
  for (let count = 0;; count++) {
    if (count > STEP_ACTIONS_MAX) {
      throw new Error(`node ${state.id} took over ${STEP_ACTIONS_MAX} actions in one step`);
    }
    if (!takeFirstEnabled(state, input, take)) break;
  }
  // The timer is volatile: a node that starts, restarts or enters a view starts it, unless it
  // committed.
  const timerStarts = event.kind === "start" || event.kind === "restart" ||
    state.view !== before.view;
  return {
    state,
    effects: effectsOf(before, state, sent, input, { commitView, timerStarts }),
    actions,
    taken,
  };
}

// Takes the first enabled instance of the first policy action that has one; whether it did.
function takeFirstEnabled<V extends Value>(
  state: NodeState<V>,
  input: NodeInput<V>,
  take: (action: NodeAction, params: ActionParams<V>, transition: Transition<V>) => void,
): boolean {
  for (const action of POLICY_ROWS) {
    let chosen: [ActionParams<V>, Transition<V>] | undefined;
    action.candidates(state, input, (params) => {
      if (chosen !== undefined) return;
      const transition = action.apply(state, input, params);
      if (transition.enabled) chosen = [params, transition];
    });
    if (chosen !== undefined) {
      take(action, chosen[0], chosen[1]);
      return true;
    }
  }
  return false;
}

// The action an event stands for, with its parameters, if any.
function eventAction<V extends Value>(
  event: NodeEvent<V>,
  state: NodeState<V>,
): readonly [NodeAction, ActionParams<V>] | undefined {
  switch (event.kind) {
    case "timeout":
      return event.view === state.view ? [nodeAction("ViewTimeout"), {}] : undefined;
    case "suspect":
      return [nodeAction("Suspect"), { j: event.peer }];
    case "heartbeat":
      return [nodeAction("HandleHeartbeat"), { j: event.peer }];
    case "computed":
      return [COMPUTE_STAGE, {
        t: event.token,
        s: event.stage,
        x: event.input,
        output: event.output,
      }];
    default:
      return undefined;
  }
}

function effectsOf<V extends Value>(
  before: NodeState<V>,
  after: NodeState<V>,
  sent: readonly SpecMessage<V>[],
  input: NodeInput<V>,
  how: { readonly commitView: number; readonly timerStarts: boolean },
): StepEffect<V>[] {
  const effects: StepEffect<V>[] = [];
  const changed = DURABLE_FIELDS.filter((field) => !sameDurable(before, after, field));
  if (changed.length > 0) effects.push({ kind: "persist", fields: changed });
  for (const message of sent) effects.push({ kind: "send", message });
  // Each enabled ComputeStage instance, asked of the model (the guard does not read the
  // output, so any stands in for the check).
  COMPUTE_STAGE.candidates(after, input, (params) => {
    // (The input stands in for the output.)
    const probe = { ...params, output: params["x"] as V };
    if (!COMPUTE_STAGE.apply(after, input, probe).enabled) return;
    effects.push({
      kind: "compute",
      token: params["t"] as number,
      stage: params["s"] as number,
      input: params["x"] as V,
    });
  });
  if (after.committed === NO_VALUE && how.timerStarts) {
    effects.push({ kind: "timer", view: after.view });
  }
  if (before.committed === NO_VALUE && after.committed !== NO_VALUE) {
    effects.push({ kind: "cancelTimer" });
    effects.push({
      kind: "commit",
      value: after.committed as V,
      view: how.commitView,
      certificate: certificateOf(input, how.commitView, after.committed),
    });
  }
  if (after.stableCheckpoint !== before.stableCheckpoint) {
    effects.push({ kind: "checkpoint", checkpoint: after.stableCheckpoint });
  }
  return effects;
}

function sameDurable<V extends Value>(
  a: NodeState<V>,
  b: NodeState<V>,
  field: DurableField,
): boolean {
  return a[field] === b[field];
}

// The signed votes that certify `value` in `view`: its Commits when a quorum signed them, else its
// Prepares (every node signed them: the fast path).
function certificateOf<V extends Value>(
  input: NodeInput<V>,
  view: number,
  value: V,
): VoteMessage<V>[] {
  const { cluster, received } = input;
  const of = (type: "Commit" | "Prepare") => {
    const bySigner = new Map<NodeIndex, VoteMessage<V>>();
    for (const m of received.ofType(type)) {
      if (m.view === view && m.value === value && !bySigner.has(m.from)) bySigner.set(m.from, m);
    }
    return [...bySigner.values()];
  };
  const commits = of("Commit");
  return commits.length >= cluster.quorum ? commits : of("Prepare");
}
