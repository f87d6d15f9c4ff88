/**
 * The whole system as the spec sees it: every node's state, which nodes are up, the network
 * (the set of signed messages sent) and the environment's counters; the environment's actions
 * (`Crash`, `Recover`, `ByzantineSend`, and the failure detector's side of `Suspect` and
 * `HandleHeartbeat`); and the lift of it all to the spec's variables. The trace replayer and the
 * simulator both step this with the pure functions of `src/core/`.
 *
 * @module
 */

import { messageKey } from "../core/message_key.ts";
import {
  type ClusterConfig,
  DURABLE_FIELDS,
  type DurableField,
  durableOf,
  type DurableState,
  GARBAGE,
  initialNodeState,
  isReplica,
  type NodeIndex,
  type NodeState,
  primaryOf,
  seedOfValue,
  type SpecMessage,
  stageValue,
} from "../core/spec_state.ts";
import type { Ready, StepEffect } from "../core/step.ts";
import type { Effect, Transition } from "../core/transition.ts";

/** The environment's bounds and failure-detector accuracy (spec constants). */
export interface EnvironmentConfig {
  /** `Byzantine`: the Byzantine nodes. */
  readonly byzantine: readonly NodeIndex[];
  /** `MaxByzantineMessages`. */
  readonly byzantineMessagesMax: number;
  /** `MaxCrashes`. */
  readonly crashesMax: number;
  /** `FalseSuspicions`. */
  readonly falseSuspicions: boolean;
}

/** Node status (the spec's `status`). */
export type NodeStatus = "up" | "crashed";

/** The system: nodes, statuses, network and counters. */
export interface SystemState {
  /** The cluster's constants and rules. */
  readonly cluster: ClusterConfig;
  /** The environment's bounds. */
  readonly environment: EnvironmentConfig;
  /** Entry `i - 1` is node `i` (Byzantine nodes keep their initial state). */
  readonly nodes: NodeState[];
  /** Each node's status (entry `i - 1` is node `i`). */
  readonly status: NodeStatus[];
  /**
   * What each node's persist effects wrote so far (entry `i - 1` is node `i`): a crashed node
   * restarts from it.
   */
  readonly disks: DurableState[];
  /**
   * What each node signed, as its disk holds it (entry `i - 1` is node `i`): a node writes a
   * message it signs to disk before sending it, and a restarted node reads them back, so that it
   * never signs a second message for a slot it already signed (the simulator found a restarted
   * coordinator assigning twice, excluded as Byzantine, before nodes kept them).
   */
  readonly signedLogs: SpecMessage[][];
  /** The messages sent, in sending order, without duplicates. */
  readonly messages: SpecMessage[];
  /** The keys of `messages`. */
  readonly messageKeys: Set<string>;
  /** Messages the Byzantine nodes have sent (the spec's `byzantineSent`). */
  byzantineSent: number;
  /** Crashes so far (the spec's `crashes`). */
  crashes: number;
}

/**
 * The spec's `Init`.
 *
 * @param cluster The cluster.
 * @param environment The environment's bounds.
 * @returns The initial system.
 *
 * @example Usage
 * ```ts
 * import { clusterConfig } from "@butterfly/bcp/core";
 * import { initialSystem } from "@butterfly/bcp/sim";
 * import assert from "node:assert/strict";
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const system = initialSystem(cluster, {
 *   byzantine: [1], byzantineMessagesMax: 2, crashesMax: 0, falseSuspicions: false,
 * });
 * assert.equal(system.nodes.length, 4);
 * ```
 */
export function initialSystem(
  cluster: ClusterConfig,
  environment: EnvironmentConfig,
): SystemState {
  const nodes: NodeState[] = [];
  for (let id = 1; id <= cluster.nodeCount; id++) nodes.push(initialNodeState(id, cluster));
  return {
    cluster,
    environment,
    nodes,
    status: nodes.map(() => "up"),
    disks: nodes.map(durableOf),
    signedLogs: nodes.map(() => []),
    messages: [],
    messageKeys: new Set(),
    byzantineSent: 0,
    crashes: 0,
  };
}

/**
 * The spec's `Up(i)`: an honest node that is running.
 *
 * @param system The system.
 * @param node The node.
 * @returns Whether the node may take a protocol step.
 */
export function isUp(system: SystemState, node: NodeIndex): boolean {
  return !system.environment.byzantine.includes(node) && system.status[node - 1] === "up";
}

/**
 * Adds a message to the network unless it is there already.
 *
 * @param system The system (changed in place).
 * @param message The message.
 * @returns Nothing.
 */
export function deliver(system: SystemState, message: SpecMessage): void {
  const key = messageKey(message);
  if (system.messageKeys.has(key)) return;
  system.messageKeys.add(key);
  system.messages.push(message);
}

/** A transition whose effects the system cannot carry out as they are. */
export class EffectError extends Error {
  /**
   * An effect error.
   *
   * @param message What is wrong with the effects.
   */
  constructor(message: string) {
    super(message);
    this.name = "EffectError";
  }
}

/**
 * A transition that breaks durability: it sends before persisting what the message depends on,
 * persists a field that is not durable, or ends with a durable field changed and not persisted.
 */
export class DurabilityError extends EffectError {
  /**
   * A durability violation.
   *
   * @param message What was not persisted, naming the field.
   */
  constructor(message: string) {
    super(message);
    this.name = "DurabilityError";
  }
}

/**
 * Applies an enabled node transition of node `node`: its next state, its persist effects onto
 * the node's disk and its sends into the network, in the effects' order. Every send must come
 * after the persist of each durable field the step changed (a node that crashed between the two
 * would restart without what it had signed), every persisted field must be durable, and at the
 * end the disk must hold the new state's durable fields.
 *
 * @param system The system (changed in place).
 * @param node The node that stepped.
 * @param transition The transition (must be enabled).
 * @returns Nothing.
 * @throws {DurabilityError} When the effects break durability; the system is then unchanged.
 * @throws {EffectError} On an effect of an unknown kind; the system is then unchanged.
 */
export function applyTransition(
  system: SystemState,
  node: NodeIndex,
  transition: Transition,
): void {
  if (!transition.enabled) {
    throw new Error(`Cannot apply a disabled transition: ${transition.reason}`);
  }
  carryOut(system, node, transition.state, transition.effects);
}

/**
 * Applies a step of node `node` ({@linkcode step}'s `Ready`) as {@linkcode applyTransition}
 * does: its state, persists and sends, with the same durability checks. Its other effects
 * (compute, timer, commit, checkpoint) are the caller's to carry out.
 *
 * @param system The system (changed in place).
 * @param node The node that stepped.
 * @param ready The step's next state and effects.
 * @returns Nothing.
 * @throws {DurabilityError} When the effects break durability; the system is then unchanged.
 * @throws {EffectError} On an effect of an unknown kind; the system is then unchanged.
 */
export function applyStep(system: SystemState, node: NodeIndex, ready: Ready): void {
  carryOut(system, node, ready.state, ready.effects);
}

const SHELL_EFFECTS: ReadonlySet<string> = new Set([
  "compute",
  "timer",
  "cancelTimer",
  "commit",
  "checkpoint",
]);

function carryOut(
  system: SystemState,
  node: NodeIndex,
  next: NodeState,
  effects: readonly (Effect | StepEffect)[],
): void {
  const disk: Record<DurableField, unknown> = { ...system.disks[node - 1] as DurableState };
  const sends: SpecMessage[] = [];
  for (const effect of effects) {
    if (SHELL_EFFECTS.has(effect.kind)) continue;
    if (effect.kind === "persist") {
      for (const field of effect.fields) {
        if (!(DURABLE_FIELDS as readonly string[]).includes(field)) {
          throw new DurabilityError(`node ${node} persists ${field}, which is not durable`);
        }
        disk[field as DurableField] = next[field as DurableField];
      }
      continue;
    }
    if (effect.kind !== "send") {
      throw new EffectError(
        `node ${node} has an effect of unknown kind ${String((effect as { kind: unknown }).kind)}`,
      );
    }
    const unwritten = unpersisted(disk, next);
    if (unwritten !== undefined) {
      throw new DurabilityError(
        `node ${node} sends ${effect.message.type} before persisting ${unwritten}`,
      );
    }
    sends.push(effect.message);
  }
  const unwritten = unpersisted(disk, next);
  if (unwritten !== undefined) {
    throw new DurabilityError(`node ${node} changed ${unwritten} without persisting it`);
  }
  system.nodes[node - 1] = next;
  system.disks[node - 1] = disk as DurableState;
  for (const message of sends) {
    (system.signedLogs[node - 1] as SpecMessage[]).push(message);
    deliver(system, message);
  }
}

// The first durable field whose value on disk is not the state's.
function unpersisted(disk: Record<DurableField, unknown>, state: NodeState): string | undefined {
  for (const field of DURABLE_FIELDS) {
    if (!sameValue(disk[field], state[field])) return field;
  }
  return undefined;
}

/**
 * Structural equality of JSON-like values (numbers, strings, arrays, plain records): the same
 * arrays in the same order, the same record keys. The durable fields' check here and the
 * replay's comparison of lifted variables both use it.
 *
 * @param a A value.
 * @param b Another.
 * @returns Whether they are structurally equal.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let index = 0; index < a.length; index++) {
      if (!sameValue(a[index], b[index])) return false;
    }
    return true;
  }
  if (Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  for (const key of aKeys) {
    if (!sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) {
      return false;
    }
  }
  return true;
}

/** The environment's verdict on an environment step: done, or why it could not happen. */
export type EnvironmentResult = { readonly ok: true } | {
  readonly ok: false;
  readonly reason: string;
};

const OK: EnvironmentResult = { ok: true };

function refuse(reason: string): EnvironmentResult {
  return { ok: false, reason };
}

/**
 * `Crash(i)`: an honest running node crashes and loses its volatile state (tokens, stage
 * progress, suspicions); it keeps what is on its disk.
 *
 * @param system The system (changed in place when the step happens).
 * @param node The node.
 * @returns Whether the step happened.
 */
export function crash(system: SystemState, node: NodeIndex): EnvironmentResult {
  if (!isUp(system, node)) return refuse("the node is not an honest running node");
  if (system.crashes >= system.environment.crashesMax) return refuse("no crash left");
  system.status[node - 1] = "crashed";
  system.crashes += 1;
  // What survives is what was written: the disk, over a node that has just started.
  system.nodes[node - 1] = {
    ...initialNodeState(node, system.cluster),
    ...system.disks[node - 1] as DurableState,
  };
  return OK;
}

/**
 * `Recover(i)`: a crashed honest node restarts from its durable state.
 *
 * @param system The system (changed in place when the step happens).
 * @param node The node.
 * @returns Whether the step happened.
 */
export function recover(system: SystemState, node: NodeIndex): EnvironmentResult {
  if (system.environment.byzantine.includes(node)) return refuse("the node is Byzantine");
  if (system.status[node - 1] !== "crashed") return refuse("the node is not crashed");
  system.status[node - 1] = "up";
  return OK;
}

/**
 * The environment's side of `Suspect(i, j)`: a suspicion is possible when false suspicions are,
 * or `j` really is crashed or Byzantine.
 *
 * @param system The system.
 * @param peer The suspected node.
 * @returns Whether the failure detector may report it.
 */
export function maySuspect(system: SystemState, peer: NodeIndex): boolean {
  return system.environment.falseSuspicions || system.status[peer - 1] === "crashed" ||
    system.environment.byzantine.includes(peer);
}

/**
 * The environment's side of `ViewTimeout(i)` (the spec's `ViewTimerExpired`): a view-change
 * timer may expire at any time while timeouts may be premature (`FalseSuspicions`), and
 * otherwise only when the view is stuck (the spec's `ViewStuck`: no honest running node has a
 * protocol step enabled), which after stabilisation is what a long enough timeout means.
 *
 * @param system The system.
 * @param stuck Whether no honest running node has a protocol step enabled (the caller knows
 * which messages each node has).
 * @returns Whether a view-change timer may expire now.
 */
export function mayTimeOut(system: SystemState, stuck: boolean): boolean {
  return system.environment.falseSuspicions || stuck;
}

/**
 * The environment's side of `HandleHeartbeat(i, j)`: only a running honest node sends heartbeats.
 *
 * @param system The system.
 * @param peer The node the heartbeat is from.
 * @returns Whether such a heartbeat can arrive.
 */
export function mayHeartbeat(system: SystemState, peer: NodeIndex): boolean {
  return !system.environment.byzantine.includes(peer) && system.status[peer - 1] === "up";
}

/**
 * Whether `message` is in the spec's `ByzantineMessages(b)`: well-formed, signed by `b`, not
 * discarded on sight by every honest node.
 *
 * @param system The system.
 * @param sender The Byzantine node.
 * @param message The message.
 * @returns Whether `b` may send it.
 */
export function isByzantineMessage(
  system: SystemState,
  sender: NodeIndex,
  message: SpecMessage,
): boolean {
  return signable(system, sender, message, false);
}

/**
 * Whether a Byzantine node may send `message` as trace noise (`TraceButterfly.tla`'s
 * `RefusedMessages(b)`): a well-formed Assign, stage output, PrePrepare or NewView under its
 * identity that is not in `ByzantineMessages(b)` because the sender lacks the role (primary,
 * replica) it needs, so that every honest node must refuse it.
 *
 * @param system The system.
 * @param sender The Byzantine node.
 * @param message The message.
 * @returns Whether it is one of `RefusedMessages(sender)`.
 */
export function isRefusedMessage(
  system: SystemState,
  sender: NodeIndex,
  message: SpecMessage,
): boolean {
  const type = message.type;
  return (type === "Assign" || type === "StageOutput" || type === "PrePrepare" ||
    type === "NewView") &&
    signable(system, sender, message, true) &&
    !signable(system, sender, message, false);
}

function signable(
  system: SystemState,
  sender: NodeIndex,
  message: SpecMessage,
  ignoreRole: boolean,
): boolean {
  const { cluster } = system;
  if (message.from !== sender) return false;
  const seedOk = (seed: number): boolean => cluster.seeds.includes(seed);
  // The spec's ValuesAt(t, s): the output of some seed, or garbage, at that token and stage.
  const valueAt = (value: number, token: number, stage: number): boolean =>
    value === stageValue(seedOfValue(value), token, stage) &&
    (seedOfValue(value) === GARBAGE || seedOk(seedOfValue(value)));
  const valueOk = (value: number): boolean =>
    valueAt(value, cluster.tokenCount, cluster.stageCount);
  const viewOk = (view: number): boolean => view >= 0 && view <= cluster.viewMax;
  switch (message.type) {
    case "Assign":
      return (ignoreRole || primaryOf(0, cluster) === sender) && message.view === 0 &&
        seedOk(message.seed);
    case "StageOutput":
      return viewOk(message.view) && seedOk(message.seed) && message.token >= 1 &&
        message.token <= cluster.tokenCount && message.stage >= 1 &&
        message.stage <= cluster.stageCount &&
        valueAt(message.value, message.token, message.stage) &&
        (ignoreRole || isReplica(sender, message.view, message.stage, cluster));
    case "PrePrepare":
      return viewOk(message.view) && (ignoreRole || primaryOf(message.view, cluster) === sender) &&
        valueOk(message.value);
    case "Prepare":
    case "Commit":
      return viewOk(message.view) && valueOk(message.value);
    case "Checkpoint":
      return seedOk(message.seed) && message.position >= 1 &&
        message.position <= cluster.tokenCount &&
        message.position % cluster.checkpointIntervalTokens === 0 &&
        // The spec lets the digest have the length of any checkpoint position, not only this one.
        message.digest.length >= 1 && message.digest.length <= cluster.tokenCount &&
        message.digest.length % cluster.checkpointIntervalTokens === 0 &&
        message.digest.every((x, t) => valueAt(x, t + 1, cluster.stageCount));
    case "ViewChange": {
      const before = (vote: { view: number; value: number }): boolean =>
        (vote.view === -1 && vote.value === -1) ||
        (vote.view >= 0 && vote.view < message.view && valueOk(vote.value));
      return message.view >= 1 && message.view <= cluster.viewMax && before(message.prepared) &&
        before(message.voted);
    }
    case "NewView": {
      if (message.view < 1 || message.view > cluster.viewMax) return false;
      if (!ignoreRole && primaryOf(message.view, cluster) !== sender) return false;
      if (!seedOk(message.seed)) return false;
      const keys = new Set(message.viewChanges.map(messageKey));
      return keys.size === cluster.quorum &&
        message.viewChanges.every((vc) =>
          vc.view === message.view && system.messageKeys.has(messageKey(vc))
        );
    }
  }
}

/**
 * `ByzantineSend(b, m)`: a Byzantine node signs and sends a new message under its identity.
 *
 * @param system The system (changed in place when the step happens).
 * @param sender The Byzantine node.
 * @param message The message.
 * @returns Whether the step happened.
 */
export function byzantineSend(
  system: SystemState,
  sender: NodeIndex,
  message: SpecMessage,
): EnvironmentResult {
  return sendAsByzantine(system, sender, message, isByzantineMessage, "not a message it may sign");
}

/**
 * `TraceButterfly.tla`'s `ByzantineNoise(b, m)`: a Byzantine node sends a message every honest
 * node must refuse (see {@linkcode isRefusedMessage}); it counts against the same bound.
 *
 * @param system The system (changed in place when the step happens).
 * @param sender The Byzantine node.
 * @param message The message.
 * @returns Whether the step happened.
 */
export function byzantineNoise(
  system: SystemState,
  sender: NodeIndex,
  message: SpecMessage,
): EnvironmentResult {
  return sendAsByzantine(system, sender, message, isRefusedMessage, "not a message to refuse");
}

// A Byzantine node's send within the bound, of a new message that `allowed` lets it sign.
function sendAsByzantine(
  system: SystemState,
  sender: NodeIndex,
  message: SpecMessage,
  allowed: (system: SystemState, sender: NodeIndex, message: SpecMessage) => boolean,
  notAllowed: string,
): EnvironmentResult {
  if (!system.environment.byzantine.includes(sender)) return refuse("the sender is not Byzantine");
  if (system.byzantineSent >= system.environment.byzantineMessagesMax) {
    return refuse("no Byzantine message left");
  }
  if (!allowed(system, sender, message)) return refuse(notAllowed);
  if (system.messageKeys.has(messageKey(message))) return refuse("the message was already sent");
  deliver(system, message);
  system.byzantineSent += 1;
  return OK;
}

/** The spec's variables, lifted from the system (sets as sorted arrays). */
export interface SpecVariables {
  /** Each node's status (entry `i - 1` is node `i`). */
  readonly status: readonly NodeStatus[];
  /** Each node's `view`. */
  readonly view: readonly number[];
  /** Each node's `seed`. */
  readonly seed: readonly number[];
  /** Each node's stage progress. */
  readonly progress: readonly (readonly number[])[];
  /** Each node's `tokens`. */
  readonly tokens: readonly (readonly number[])[];
  /** Each node's `vote`. */
  readonly vote: readonly { view: number; value: number }[];
  /** Each node's `prepared`. */
  readonly prepared: readonly { view: number; value: number }[];
  /** Each node's `committed`. */
  readonly committed: readonly number[];
  /** Each node's `stableCheckpoint`. */
  readonly stableCheckpoint: readonly NodeState["stableCheckpoint"][];
  /** Each node's suspicions. */
  readonly suspected: readonly (readonly NodeIndex[])[];
  /** Each node's exclusions. */
  readonly excluded: readonly (readonly NodeIndex[])[];
  /** The network: the messages sent. */
  readonly msgs: readonly SpecMessage[];
  /** Messages the Byzantine nodes have sent (the spec's `byzantineSent`). */
  readonly byzantineSent: number;
  /** Crashes so far (the spec's `crashes`). */
  readonly crashes: number;
}

/**
 * The lift: node-local states plus the network and counters, as the spec's global state.
 *
 * @param system The system.
 * @returns Every spec variable.
 */
export function liftSystem(system: SystemState): SpecVariables {
  const out: Partial<Record<keyof SpecVariables, unknown>> = {};
  for (const variable of SPEC_VARIABLES) out[variable] = liftVariable(system, variable);
  return out as SpecVariables;
}

/** The spec's variables, in the spec's order. */
export const SPEC_VARIABLES: readonly (keyof SpecVariables)[] = [
  "status",
  "view",
  "seed",
  "progress",
  "tokens",
  "vote",
  "prepared",
  "committed",
  "stableCheckpoint",
  "suspected",
  "excluded",
  "msgs",
  "byzantineSent",
  "crashes",
];

/**
 * One spec variable lifted from the system: a node-local variable is each node's field of that
 * name (entry `i - 1` is node `i`); `status` and `msgs` are the system's own arrays (not
 * copies), the counters its counters.
 *
 * @param system The system.
 * @param variable The variable.
 * @returns Its value.
 */
export function liftVariable(system: SystemState, variable: keyof SpecVariables): unknown {
  switch (variable) {
    case "status":
      return system.status;
    case "msgs":
      return system.messages;
    case "byzantineSent":
      return system.byzantineSent;
    case "crashes":
      return system.crashes;
    default:
      return system.nodes.map((node) => node[variable]);
  }
}
