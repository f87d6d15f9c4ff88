/**
 * The one table of BCP's node actions: for each action of the spec's `Next` that an honest node
 * takes, its TLA+ name and parameters, the inputs it is tried with (the spec's quantifiers, from
 * the node's state and the messages it received) and the core function that decides it. The
 * simulator (`src/sim/`), the trace replayer (`conformance/replay.ts`) and the runtime take their
 * actions from here; nothing else lists them.
 *
 * Each action has two enumerations:
 *
 * - `candidates`: the spec's domain (`Next`'s `\E` over seeds, tokens, stages, views, messages),
 *   with the values a guard could accept drawn from what the node received: the stage outputs of
 *   the token and stage before, the votes of a certificate; less the instances a guard refuses
 *   by the node's own state alone (a stage's token other than the one after its progress, a
 *   token other than the next, a checkpoint position not reached, a pair of messages of another
 *   slot, of the node itself or of a signer it excluded), in the domain's order. Every instance
 *   the spec enables is among them; the guard says which are enabled. The honest policy
 *   (`step`) runs them after every event, so they cost what the node's progress allows, not
 *   what an inference's length is: a 64-token inference once spent 7 ms a token in `step` on
 *   each of 4 nodes, 0.8 ms since (`bench/core_step_report.ts`).
 * - `probes`: the candidates and the inputs just outside the spec's domain (a token, stage,
 *   position or view one past either end, `NoSeed`, the output of another token or stage, a
 *   message of another type, a pair of messages that do not conflict), which every guard must
 *   refuse. The trace replayer tries these, so that a guard missing a range check or a type
 *   check is caught as well as one that is wrong inside the domain.
 *
 * An action's `gate` says who decides when it may happen besides its guard: `"protocol"` (the
 * node, whenever the guard holds), `"timer"` (the view-change timer: `ViewTimeout`) or
 * `"detector"` (the failure detector: `Suspect`, `HandleHeartbeat`). `fair` marks the actions of
 * the spec's `ProtocolStep` (every protocol action but `ExcludeNode`), under weak fairness.
 *
 * @module
 */

import { handleAssign, sendAssign } from "./assignment.ts";
import { handleCheckpoint, restoreCheckpoint, takeCheckpoint } from "./checkpointing.ts";
import {
  commitFast,
  commitStandard,
  handlePrePrepare,
  learnCommit,
  sendCommit,
  sendPrePrepare,
} from "./commitment.ts";
import { acceptToken, computeStage } from "./computation.ts";
import { slotKeyOfType } from "./conflicting.ts";
import type { MessageInput, NodeInput } from "./node_input.ts";
import { type ReceivedMessages, SPEC_MESSAGE_TYPES, type SpecMessageType } from "./received.ts";
import {
  type ClusterConfig,
  NO_SEED,
  type NodeIndex,
  type NodeState,
  type SpecMessage,
  type Value,
  type ViewChangeMessage,
} from "./spec_state.ts";
import { subsetsOfSize } from "./_tally.ts";
import { disabled, type Enabled, type Transition } from "./transition.ts";
import {
  excludeNode,
  handleHeartbeat,
  handleNewView,
  joinViewChange,
  type PeerInput,
  sendNewView,
  startViewChange,
  suspect,
  viewTimeout,
} from "./view_change.ts";

/** The protocol actions of an honest node, in the spec's order. */
export const PROTOCOL_ACTIONS = [
  "SendAssign",
  "HandleAssign",
  "ComputeStage",
  "AcceptToken",
  "TakeCheckpoint",
  "HandleCheckpoint",
  "RestoreCheckpoint",
  "SendPrePrepare",
  "HandlePrePrepare",
  "SendCommit",
  "CommitStandard",
  "CommitFast",
  "LearnCommit",
  "ExcludeNode",
  "StartViewChange",
  "JoinViewChange",
  "SendNewView",
  "HandleNewView",
] as const;

/** A protocol action's name. */
export type ProtocolAction = typeof PROTOCOL_ACTIONS[number];

/**
 * Every action an honest node takes: the protocol actions, and those the environment gates (the
 * view-change timer, the failure detector).
 */
export const NODE_ACTIONS = [
  ...PROTOCOL_ACTIONS,
  "ViewTimeout",
  "Suspect",
  "HandleHeartbeat",
] as const;

/** An action of {@linkcode NODE_ACTIONS}. */
export type NodeActionName = typeof NODE_ACTIONS[number];

/**
 * One parameter of an action instance: a number (a token, stage, position, view, peer or seed),
 * a value, a message, or a set of view changes.
 */
export type ParamValue<V extends Value = number> =
  | number
  | V
  | SpecMessage<V>
  | readonly ViewChangeMessage<V>[];

/** An action instance's parameters besides the node `i`, by their TLA+ names. */
export type ActionParams<V extends Value = number> = Readonly<Record<string, ParamValue<V>>>;

/** Called with each instance's parameters. */
export type Visit<V extends Value> = (params: ActionParams<V>) => void;

/** An enumeration of a node's instances of an action, for any value type. */
export type Enumerate = <V extends Value>(
  node: NodeState<V>,
  input: NodeInput<V>,
  visit: Visit<V>,
) => void;

/** The core's transition for one instance of an action, for any value type. */
export type Apply = <V extends Value>(
  node: NodeState<V>,
  input: NodeInput<V>,
  params: ActionParams<V>,
) => Transition<V>;

/** Who decides, besides the guard, when an action may happen. */
export type ActionGate = "protocol" | "timer" | "detector";

/** One row of the table. */
export interface NodeAction {
  /** The TLA+ action. */
  readonly name: NodeActionName;
  /** Its parameters besides `i`, in the spec's order (`m*`: messages, `vcs`: view changes). */
  readonly params: readonly string[];
  /** Who decides when it may happen besides its guard. */
  readonly gate: ActionGate;
  /** Whether it is one of `ProtocolStep`'s (every protocol action but `ExcludeNode`). */
  readonly fair: boolean;
  /** The message type a `Handle*` action handles (its parameter `m`); absent for the others. */
  readonly handles?: SpecMessageType;
  /**
   * Visits each input of the spec's domain for this node.
   *
   * @param node The node's state.
   * @param input The cluster and the received messages.
   * @param visit Called with each instance's parameters.
   */
  readonly candidates: Enumerate;
  /**
   * Visits the candidates and the inputs just outside the spec's domain, each once.
   *
   * @param node The node's state.
   * @param input The cluster and the received messages.
   * @param visit Called with each instance's parameters.
   */
  readonly probes: Enumerate;
  /**
   * The core's transition for one instance.
   *
   * @param node The node's state.
   * @param input The cluster and the received messages.
   * @param params The instance's parameters.
   * @returns The transition, or why not.
   */
  readonly apply: Apply;
}

const NO_PARAMS: ActionParams<never> = Object.freeze({});

const NOT_COMPUTED = disabled("the stage's output is not known: the model has not answered");

// The parameters as the apply functions read them: by name, so that each read site sees one
// shape (these run for every candidate of every replayed step).
interface Named<V extends Value> {
  readonly t: number;
  readonly s: number;
  /** A value (ComputeStage, AcceptToken, LearnCommit) or a seed (SendAssign, SendNewView). */
  readonly x: V;
  readonly p: number;
  readonly v: number;
  readonly j: number;
  readonly m: SpecMessage<V>;
  readonly m1: SpecMessage<V>;
  readonly m2: SpecMessage<V>;
  readonly vcs: readonly ViewChangeMessage<V>[];
  readonly output?: V;
}

function named<V extends Value>(params: ActionParams<V>): Named<V> {
  return params as unknown as Named<V>;
}

// A seed parameter (`x` of SendAssign and SendNewView).
function seedOf<V extends Value>(params: ActionParams<V>): number {
  return params["x"] as number;
}

// The first message of each type but `type`: a handler must refuse them on sight.
function otherTypesFirst<V extends Value>(
  received: ReceivedMessages<V>,
  type: SpecMessageType,
  visit: Visit<V>,
): void {
  for (const other of SPEC_MESSAGE_TYPES) {
    if (other === type) continue;
    const first = received.ofType(other)[0];
    if (first !== undefined) visit({ m: first });
  }
}

// The values a guard that takes one could be handed, right or wrong for the token, stage or
// view tried: the first stage's input and the known result of every seed, the values of the
// stage outputs received, and the node's tokens.
function probeValues<V extends Value>(node: NodeState<V>, input: NodeInput<V>): Set<V> {
  const { cluster, received } = input;
  const values = new Set<V>();
  for (const seed of cluster.seeds) {
    values.add(cluster.values.firstInput(seed));
    const result = cluster.values.resultOf(seed);
    if (result !== undefined) values.add(result);
  }
  for (const m of received.ofType("StageOutput")) values.add(m.value);
  for (const x of node.tokens) values.add(x);
  return values;
}

function handler(
  name: "HandleAssign" | "HandleCheckpoint" | "HandlePrePrepare" | "HandleNewView",
  type: "Assign" | "Checkpoint" | "PrePrepare" | "NewView",
  handle: <V extends Value>(
    node: NodeState<V>,
    input: MessageInput<SpecMessage<V>, V>,
  ) => Transition<V>,
): NodeAction {
  const candidates: Enumerate = (_node, input, visit) => {
    for (const m of input.received.ofType(type)) visit({ m });
  };
  return {
    name,
    params: ["m"],
    gate: "protocol",
    fair: true,
    handles: type,
    candidates,
    probes: (node, input, visit) => {
      candidates(node, input, visit);
      otherTypesFirst(input.received, type, visit);
    },
    apply: (node, input, params) =>
      handle(node, { cluster: input.cluster, received: input.received, message: named(params).m }),
  };
}

function plain(
  name:
    | "RestoreCheckpoint"
    | "SendPrePrepare"
    | "SendCommit"
    | "CommitStandard"
    | "CommitFast"
    | "StartViewChange"
    | "ViewTimeout",
  run: <V extends Value>(node: NodeState<V>, input: NodeInput<V>) => Transition<V>,
): NodeAction {
  const once: Enumerate = (_node, _input, visit) => visit(NO_PARAMS);
  return {
    name,
    params: [],
    gate: name === "ViewTimeout" ? "timer" : "protocol",
    fair: name !== "ViewTimeout",
    candidates: once,
    probes: once,
    apply: (node, input) => run(node, input),
  };
}

// An action of one number in `1..max` (the spec's `p \in 1..T`, `v \in 1..MaxView`), probed one
// past either end. `possible`, where given, leaves out of the candidates the numbers the guard
// refuses by the node's state alone.
function ranged(
  name: "TakeCheckpoint" | "JoinViewChange",
  param: "p" | "v",
  max: (cluster: ClusterConfig<Value>) => number,
  run: <V extends Value>(node: NodeState<V>, input: NodeInput<V>, n: number) => Transition<V>,
  possible?: (node: NodeState<Value>, cluster: ClusterConfig<Value>, n: number) => boolean,
): NodeAction {
  const over = (from: number, to: number, visit: Visit<Value>): void => {
    for (let n = from; n <= to; n++) visit({ [param]: n });
  };
  return {
    name,
    params: [param],
    gate: "protocol",
    fair: true,
    candidates: (node, { cluster }, visit) => {
      for (let n = 1; n <= max(cluster); n++) {
        if (possible === undefined || possible(node, cluster, n)) visit({ [param]: n });
      }
    },
    probes: (_node, { cluster }, visit) => over(0, max(cluster) + 1, visit as Visit<Value>),
    apply: (node, input, params) => run(node, input, params[param] as number),
  };
}

// A failure detector's action on a peer, the spec's `j \in Node`.
function detector(
  name: "Suspect" | "HandleHeartbeat",
  run: <V extends Value>(node: NodeState<V>, input: PeerInput<V>) => Transition<V>,
): NodeAction {
  const peers: Enumerate = (_node, { cluster }, visit) => {
    for (let peer = 1; peer <= cluster.nodeCount; peer++) visit({ j: peer });
  };
  return {
    name,
    params: ["j"],
    gate: "detector",
    fair: false,
    candidates: peers,
    probes: peers,
    apply: (node, input, params) =>
      run(node, { cluster: input.cluster, received: input.received, peer: named(params).j }),
  };
}

// `visit` called once per key: the candidates of values drawn from messages, where several
// messages carry one value.
function distinct<V extends Value>(
  visit: Visit<V>,
): (key: string, params: ActionParams<V>) => void {
  const seen = new Set<string>();
  return (key, params) => {
    if (seen.has(key)) return;
    seen.add(key);
    visit(params);
  };
}

// The received messages grouped by signer and type, the groups of two or more (the pairs
// `Conflicting` can hold for), in message-type order then first appearance.
function senderGroups<V extends Value>(received: ReceivedMessages<V>): SpecMessage<V>[][] {
  const groups: SpecMessage<V>[][] = [];
  for (const type of SPEC_MESSAGE_TYPES) {
    const bySender = new Map<NodeIndex, SpecMessage<V>[]>();
    for (const m of received.ofType(type)) {
      const group = bySender.get(m.from);
      if (group === undefined) bySender.set(m.from, [m]);
      else group.push(m);
    }
    for (const group of bySender.values()) if (group.length > 1) groups.push(group);
  }
  return groups;
}

function orderedPairs<V extends Value>(groups: readonly SpecMessage<V>[][], visit: Visit<V>): void {
  for (const group of groups) {
    for (let a = 0; a < group.length; a++) {
      for (let b = 0; b < group.length; b++) {
        if (a !== b) visit({ m1: group[a] as SpecMessage<V>, m2: group[b] as SpecMessage<V> });
      }
    }
  }
}

// `orderedPairs` restricted to the pairs of one slot (`slotKeyOfType`), in the same order.
function sameSlotPairs<V extends Value>(
  groups: readonly SpecMessage<V>[][],
  visit: Visit<V>,
): void {
  for (const group of groups) {
    const bySlot = new Map<string, SpecMessage<V>[]>();
    for (const m of group) {
      const key = slotKeyOfType(m);
      const slot = bySlot.get(key);
      if (slot === undefined) bySlot.set(key, [m]);
      else slot.push(m);
    }
    for (const first of group) {
      const slot = bySlot.get(slotKeyOfType(first))!;
      if (slot.length < 2) continue;
      for (const second of slot) if (second !== first) visit({ m1: first, m2: second });
    }
  }
}

function computeCandidates<V extends Value>(
  node: NodeState<V>,
  input: NodeInput<V>,
  visit: Visit<V>,
): void {
  const { cluster, received } = input;
  // The guard takes a stage only at the token after its progress: one token per stage, in
  // (token, stage) order as the spec's domain lists them.
  const next: [token: number, stage: number][] = [];
  for (let stage = 1; stage <= cluster.stageCount; stage++) {
    const done = node.progress[stage - 1];
    if (done === undefined || done + 1 > cluster.tokenCount || done + 1 < 1) continue;
    next.push([done + 1, stage]);
  }
  next.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  // The output values of the stage before each, in the order received: one pass over the
  // outputs.
  const valuesAt = new Map<number, V[]>();
  const wanted = new Map(next.map(([token, stage]) => [stage - 1, token]));
  for (const m of received.ofType("StageOutput")) {
    if (wanted.get(m.stage) !== m.token) continue;
    const values = valuesAt.get(m.stage);
    if (values === undefined) valuesAt.set(m.stage, [m.value]);
    else values.push(m.value);
  }
  for (const [token, stage] of next) {
    // The spec's InputValues(t, s), as far as they can be stage inputs (StageInputs): the
    // outputs of the stage before, the token before, or the first stage's input.
    const seen = new Set<V>();
    const offer = (x: V): void => {
      if (seen.has(x)) return;
      seen.add(x);
      visit({ t: token, s: stage, x });
    };
    if (stage > 1) {
      for (const x of valuesAt.get(stage - 1) ?? []) offer(x);
    } else if (token === 1) {
      for (const seed of cluster.seeds) offer(cluster.values.firstInput(seed));
    } else if (node.tokens.length >= token - 1) {
      offer(node.tokens[token - 2] as V);
    }
  }
}

function acceptCandidates<V extends Value>(
  node: NodeState<V>,
  input: NodeInput<V>,
  visit: Visit<V>,
): void {
  const { cluster, received } = input;
  // The guard takes only the token after those accepted.
  const token = node.tokens.length + 1;
  if (token > cluster.tokenCount) return;
  const offer = distinct(visit);
  for (const m of received.ofType("StageOutput")) {
    if (m.stage !== cluster.stageCount || m.token !== token) continue;
    offer(String(m.value), { t: m.token, x: m.value });
  }
}

function learnCandidates<V extends Value>(
  _node: NodeState<V>,
  input: NodeInput<V>,
  visit: Visit<V>,
): void {
  const { cluster, received } = input;
  const offer = distinct(visit);
  for (const type of ["Commit", "Prepare"] as const) {
    for (const m of received.ofType(type)) {
      if (m.view < 0 || m.view > cluster.viewMax) continue;
      offer(`${m.view}/${m.value}`, { v: m.view, x: m.value });
    }
  }
}

function newViewCandidates<V extends Value>(
  _node: NodeState<V>,
  input: NodeInput<V>,
  visit: Visit<V>,
): void {
  const { cluster, received } = input;
  for (let view = 1; view <= cluster.viewMax; view++) {
    const viewChanges = received.ofType("ViewChange").filter((m) => m.view === view);
    for (const subset of subsetsOfSize(viewChanges, cluster.quorum)) {
      for (const seed of cluster.seeds) visit({ vcs: subset, x: seed });
    }
  }
}

/** The table, in {@linkcode NODE_ACTIONS} order. */
export const ACTIONS: readonly NodeAction[] = [
  {
    name: "SendAssign",
    params: ["x"],
    gate: "protocol",
    fair: true,
    candidates: (_node, { cluster }, visit) => {
      for (const seed of cluster.seeds) visit({ x: seed });
    },
    probes: (_node, { cluster }, visit) => {
      for (const seed of [NO_SEED, ...cluster.seeds]) visit({ x: seed });
    },
    apply: (node, input, params) =>
      sendAssign(node, { cluster: input.cluster, received: input.received, seed: seedOf(params) }),
  },
  handler("HandleAssign", "Assign", handleAssign),
  {
    name: "ComputeStage",
    params: ["t", "s", "x"],
    gate: "protocol",
    fair: true,
    candidates: computeCandidates,
    probes: (node, input, visit) => {
      const { cluster } = input;
      const values = probeValues(node, input);
      for (let token = 0; token <= cluster.tokenCount + 1; token++) {
        for (let stage = 0; stage <= cluster.stageCount + 1; stage++) {
          for (const x of values) visit({ t: token, s: stage, x });
        }
      }
    },
    apply: (node, input, params) => {
      const { t, s, x } = named(params);
      // The output is the model's: given with the instance (a `computed` event), or by a model
      // that answers at once.
      const output = named(params).output ?? input.model?.(x, t, s);
      if (output === undefined) return NOT_COMPUTED;
      return computeStage(node, {
        cluster: input.cluster,
        received: input.received,
        token: t,
        stage: s,
        value: x,
        output,
      });
    },
  },
  {
    name: "AcceptToken",
    params: ["t", "x"],
    gate: "protocol",
    fair: true,
    candidates: acceptCandidates,
    probes: (node, input, visit) => {
      const values = probeValues(node, input);
      for (let token = 0; token <= input.cluster.tokenCount + 1; token++) {
        for (const x of values) visit({ t: token, x });
      }
    },
    apply: (node, input, params) =>
      acceptToken(node, {
        cluster: input.cluster,
        received: input.received,
        token: named(params).t,
        value: named(params).x,
      }),
  },
  ranged(
    "TakeCheckpoint",
    "p",
    (cluster) => cluster.tokenCount,
    (node, input, p) =>
      takeCheckpoint(node, { cluster: input.cluster, received: input.received, position: p }),
    // A checkpoint position the node has reached.
    (node, cluster, p) => p % cluster.checkpointIntervalTokens === 0 && p <= node.tokens.length,
  ),
  handler("HandleCheckpoint", "Checkpoint", handleCheckpoint),
  plain("RestoreCheckpoint", restoreCheckpoint),
  plain("SendPrePrepare", sendPrePrepare),
  handler("HandlePrePrepare", "PrePrepare", handlePrePrepare),
  plain("SendCommit", sendCommit),
  plain("CommitStandard", commitStandard),
  plain("CommitFast", commitFast),
  {
    name: "LearnCommit",
    params: ["v", "x"],
    gate: "protocol",
    fair: true,
    candidates: learnCandidates,
    probes: (node, input, visit) => {
      const values = probeValues(node, input);
      for (let view = 0; view <= input.cluster.viewMax + 1; view++) {
        for (const x of values) visit({ v: view, x });
      }
      // And the candidates outside that grid (a vote for a value no seed's result is).
      learnCandidates(node, input, (params) => {
        if (!values.has(named(params).x)) visit(params);
      });
    },
    apply: (node, input, params) =>
      learnCommit(node, {
        cluster: input.cluster,
        received: input.received,
        view: named(params).v,
        value: named(params).x,
      }),
  },
  {
    name: "ExcludeNode",
    params: ["m1", "m2"],
    gate: "protocol",
    fair: false,
    // Only pairs for one slot: Conflicting holds for no other, and every ordered pair of a
    // signer's messages grows with the square of an inference's length (the probes, which
    // conformance replays, still take every pair).
    // And none of the node's own messages or an excluded signer's: the guard refuses them.
    candidates: (node, { received }, visit) => {
      const counts = (from: NodeIndex) => from !== node.id && !node.excluded.includes(from);
      const twice = received.twiceInASlot?.();
      if (twice !== undefined && ![...twice].some(counts)) return;
      sameSlotPairs(senderGroups(received).filter((group) => counts(group[0]!.from)), visit);
    },
    probes: (_node, { received }, visit) => {
      const groups = senderGroups(received);
      orderedPairs(groups, visit);
      // And pairs Conflicting refuses on sight: a message with itself, and the first messages
      // of two groups (another signer or another type).
      // (Every group holds two messages or more.)
      const firsts = groups.flatMap((group) => group.slice(0, 1));
      for (let g = 0; g < firsts.length; g++) {
        const first = firsts[g];
        if (first === undefined) continue;
        visit({ m1: first, m2: first });
        const next = firsts[g + 1];
        if (next !== undefined) visit({ m1: first, m2: next });
      }
    },
    apply: (node, input, params) =>
      excludeNode(node, {
        cluster: input.cluster,
        received: input.received,
        first: named(params).m1,
        second: named(params).m2,
      }),
  },
  plain("StartViewChange", startViewChange),
  ranged(
    "JoinViewChange",
    "v",
    (cluster) => cluster.viewMax,
    (node, input, v) =>
      joinViewChange(node, { cluster: input.cluster, received: input.received, view: v }),
  ),
  {
    name: "SendNewView",
    params: ["vcs", "x"],
    gate: "protocol",
    fair: true,
    candidates: newViewCandidates,
    probes: newViewCandidates,
    apply: (node, input, params) =>
      sendNewView(node, {
        cluster: input.cluster,
        received: input.received,
        viewChanges: named(params).vcs,
        seed: seedOf(params),
      }),
  },
  handler("HandleNewView", "NewView", handleNewView),
  plain("ViewTimeout", viewTimeout),
  detector("Suspect", suspect),
  detector("HandleHeartbeat", handleHeartbeat),
];

const BY_NAME: ReadonlyMap<string, NodeAction> = new Map(ACTIONS.map((a) => [a.name, a]));

/**
 * The table's row of an action.
 *
 * @param name The TLA+ action.
 * @returns Its row.
 * @throws {RangeError} When no honest node action has that name.
 *
 * @example Usage
 * ```ts
 * import { nodeAction } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nodeAction("ComputeStage").params, ["t", "s", "x"]);
 * ```
 */
export function nodeAction(name: string): NodeAction {
  const action = BY_NAME.get(name);
  if (action === undefined) throw new RangeError(`no node action is named ${name}`);
  return action;
}

/** An enabled action instance: the TLA+ action, its parameters and the core's transition. */
export interface NamedTransition<V extends Value = number> {
  /** The TLA+ action, for example `HandlePrePrepare`. */
  readonly action: NodeActionName;
  /** The instance's parameters besides `i`. */
  readonly params: ActionParams<V>;
  /** The enabled transition. */
  readonly transition: Enabled<V>;
}

/**
 * The enabled instances of a node's actions whose gate is `gate` (the protocol's by default),
 * over the spec's domain, in table order.
 *
 * @param node The node's state.
 * @param input The cluster and the messages the node received.
 * @param gate Which actions: the protocol's, the timer's or the failure detector's.
 * @returns Every enabled instance, in a fixed order.
 *
 * @example The primary of view 0 may assign
 * ```ts
 * import { clusterConfig, enabledTransitions, initialNodeState, messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1, 2], viewMax: 1,
 * });
 * const received = messageLog();
 * const actions = enabledTransitions(initialNodeState(1, cluster), { cluster, received });
 * assert.deepEqual(actions.map((a) => a.action), ["SendAssign", "SendAssign"]);
 * ```
 */
export function enabledTransitions<V extends Value>(
  node: NodeState<V>,
  input: NodeInput<V>,
  gate: ActionGate = "protocol",
): NamedTransition<V>[] {
  const out: NamedTransition<V>[] = [];
  for (const action of ACTIONS) {
    if (action.gate !== gate) continue;
    action.candidates(node, input, (params) => {
      const transition = action.apply(node, input, params);
      if (transition.enabled) out.push({ action: action.name, params, transition });
    });
  }
  return out;
}
