/**
 * Trace replay: steps the system through a TLC behaviour with the pure functions of
 * `src/core/` and the environment of `src/sim/system.ts`, and after each step compares every
 * spec variable with TLC's next state; before each step it also compares which honest nodes had
 * each protocol action enabled, so a guard that is too permissive is caught as well as one that
 * is too strict, and which parameters it was enabled with, so that a guard that ignores a
 * parameter is caught too. Every node step also carries out the step's effects on the node's disk
 * (`applyTransition`): a send before the persist of a durable field the step changed, a durable
 * change never persisted, or a persist of a volatile field is a mismatch that names the field.
 * The actions the environment gates (`ViewTimeout`, `Suspect`, `HandleHeartbeat`) are compared
 * too, their gates computed as the spec's (`ViewStuck` from the protocol instances).
 *
 * @module
 */

import {
  type ActionParams,
  ACTIONS,
  NODE_ACTIONS,
  type NodeAction,
  nodeAction,
  PROTOCOL_ACTIONS,
  type ProtocolAction,
} from "../src/core/actions.ts";
import {
  computeValue,
  type NodeIndex,
  type NodeState,
  type SpecMessage,
} from "../src/core/spec_state.ts";
import type { Transition } from "../src/core/transition.ts";
import {
  applyTransition,
  byzantineNoise,
  byzantineSend,
  crash,
  EffectError,
  isUp,
  liftVariable,
  mayHeartbeat,
  maySuspect,
  mayTimeOut,
  recover,
  sameValue,
  type SystemState,
} from "../src/sim/system.ts";
import { messageKey, messageSetKey } from "../src/core/message_key.ts";
import { SPEC_MESSAGE_TYPES } from "../src/core/received.ts";
import { ALL_TYPES, NetworkReads, typeBit } from "./network_reads.ts";
import { arrayElements, fieldElements, type RawState } from "./raw_state.ts";
import { messageSchema, setOf, VARIABLE_MAP } from "./variable_map.ts";

export { PROTOCOL_ACTIONS, type ProtocolAction };

/**
 * The actions of honest nodes whose enabled instances TLC records per state: the protocol
 * actions, and those the environment gates (the view-change timer, the failure detector). The
 * table's order (`src/core/actions.ts`).
 */
export const ENABLED_ACTIONS = NODE_ACTIONS;

/** An action of {@linkcode ENABLED_ACTIONS}. */
export type EnabledAction = typeof ENABLED_ACTIONS[number];

/** Every action of the spec's `Next`. */
export const ALL_ACTIONS: readonly string[] = [
  ...NODE_ACTIONS,
  "Crash",
  "Recover",
  "ByzantineSend",
  "ByzantineNoise",
];

const viewChangesSchema = setOf(messageSchema);

type Params = Record<string, unknown>;

function message(params: Params, name: string): SpecMessage {
  return messageSchema.decode(params[name], name);
}

function int(params: Params, name: string): number {
  const value = params[name];
  if (typeof value !== "number") throw new Error(`Action parameter ${name} is not a number`);
  return value;
}

/** The outcome of one step: applied, or the reason it could not be. */
export type StepOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

function nodeStep(
  system: SystemState,
  node: NodeIndex,
  step: (state: NodeState) => Transition,
): StepOutcome {
  if (!isUp(system, node)) {
    return { ok: false, reason: `node ${node} is not an honest running node` };
  }
  const transition = step(system.nodes[node - 1] as NodeState);
  if (!transition.enabled) return { ok: false, reason: `guard false: ${transition.reason}` };
  try {
    applyTransition(system, node, transition);
  } catch (error) {
    if (error instanceof EffectError) return { ok: false, reason: error.message };
    throw error;
  }
  return { ok: true };
}

function inNetwork(system: SystemState, m: SpecMessage): boolean {
  return system.messageKeys.has(messageSchema.key(m));
}

// A TLC action's parameters decoded by the table's names: `m*` a message (which must be in the
// network: the spec's `m \in msgs`), `vcs` a set of view changes, any other a number.
function decodeParams(
  system: SystemState,
  action: NodeAction,
  params: Params,
): ActionParams | string {
  const out: Record<string, ActionParams[string]> = {};
  for (const name of action.params) {
    if (name === "vcs") {
      out[name] = viewChangesSchema.decode(params[name], name) as ActionParams[string];
    } else if (name.startsWith("m")) {
      const m = message(params, name);
      if (!inNetwork(system, m)) return `${name} is not in the network`;
      out[name] = m;
    } else out[name] = int(params, name);
  }
  return out;
}

/**
 * Applies one action of a TLC trace, by name, with TLC's parameters: an environment action, or
 * a node action of the table (`src/core/actions.ts`) behind its gate.
 *
 * @param system The system (changed in place).
 * @param name The action's name.
 * @param params Its parameters as TLC wrote them.
 * @param cache The behaviour's enabledness cache (for the view-change timer's `ViewStuck`).
 * @returns Whether the TypeScript guard allowed it.
 */
export function applyAction(
  system: SystemState,
  name: string,
  params: Params,
  cache?: EnabledCache,
): StepOutcome {
  if (name === "Crash" || name === "Recover") {
    const result = (name === "Crash" ? crash : recover)(system, int(params, "i"));
    return result.ok ? result : { ok: false, reason: result.reason };
  }
  if (name === "ByzantineSend" || name === "ByzantineNoise") {
    const send = name === "ByzantineSend" ? byzantineSend : byzantineNoise;
    const result = send(system, int(params, "b"), message(params, "m"));
    return result.ok ? result : { ok: false, reason: result.reason };
  }
  if (!(NODE_ACTIONS as readonly string[]).includes(name)) {
    return { ok: false, reason: `unknown action ${name}` };
  }
  const action = nodeAction(name);
  const i = int(params, "i");
  const decoded = decodeParams(system, action, params);
  if (typeof decoded === "string") return { ok: false, reason: decoded };
  // The gates are the environment's: premature timeouts or a stuck view; a failure detector that
  // may suspect; a heartbeat only from a running honest node.
  if (action.gate === "timer" && !mayTimeOut(system, viewStuck(system, cache))) {
    return { ok: false, reason: "the view is not stuck" };
  }
  if (name === "Suspect" && !maySuspect(system, decoded["j"] as number)) {
    return { ok: false, reason: "the environment forbids it" };
  }
  if (name === "HandleHeartbeat" && !mayHeartbeat(system, decoded["j"] as number)) {
    return { ok: false, reason: "no heartbeat from the peer" };
  }
  const input = { cluster: system.cluster, received: receivedOf(system), model: computeValue };
  return nodeStep(system, i, (s) => action.apply(s, input, decoded));
}

// The received set the replay gives the core: the system's network, read by type, recording
// which types each guard and enumeration read.
const READS = new WeakMap<SystemState, NetworkReads>();

function receivedOf(system: SystemState): NetworkReads {
  let reads = READS.get(system);
  if (reads === undefined) {
    reads = new NetworkReads(system.messages);
    READS.set(system, reads);
  }
  return reads;
}

/** The parameters of each action besides `i`, in the order of its instance keys. */
export const ACTION_PARAMS: Readonly<Record<EnabledAction, readonly string[]>> = Object.fromEntries(
  ACTIONS.map((action) => [action.name, action.params]),
) as Record<EnabledAction, readonly string[]>;

// One parameter's part of an instance key: a number as such, a message by its canonical key, a
// set of messages (SendNewView's vcs) by its sorted keys.
function paramKey(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) return `{${messageSetKey(value as SpecMessage[])}}`;
  return messageKey(value as SpecMessage);
}

/**
 * The key of one action instance, `Action|i|name=value,...`, the same for the TypeScript
 * enumeration and TLC's records (messages canonically keyed), so that enabled sets compare as
 * sets of strings.
 *
 * @param action The action.
 * @param node The node `i`.
 * @param params Its other parameters (numbers, messages, or a set of messages for `vcs`).
 * @returns The key.
 */
export function instanceKey(
  action: EnabledAction,
  node: NodeIndex,
  params: Readonly<Record<string, unknown>>,
): string {
  let key = `${action}|${node}|`;
  const names = ACTION_PARAMS[action];
  for (let index = 0; index < names.length; index++) {
    const name = names[index] as string;
    key += `${index === 0 ? "" : ","}${name}=${paramKey(params[name])}`;
  }
  return key;
}

/**
 * One action's part of TLC's `enabled` record decoded to instance keys, sorted and joined by
 * newlines as {@linkcode enabledByAction} writes them.
 *
 * @param action The action.
 * @param records Its parameter records, as TLC wrote them.
 * @returns The text.
 * @throws {Error} When a parameter is missing or malformed.
 */
export function tlcEnabledText(action: EnabledAction, records: unknown): string {
  if (!Array.isArray(records)) throw new Error(`enabled.${action}: not a set`);
  const keys: string[] = [];
  for (const record of records as Record<string, unknown>[]) {
    const params: Record<string, unknown> = {};
    for (const name of ACTION_PARAMS[action]) {
      const raw = record[name];
      if (name === "vcs") params[name] = viewChangesSchema.decode(raw, `enabled.${action}.vcs`);
      else if (name.startsWith("m")) {
        params[name] = messageSchema.decode(raw, `enabled.${action}.${name}`);
      } else if (typeof raw === "number") params[name] = raw;
      else throw new Error(`enabled.${action}.${name}: not a number`);
    }
    keys.push(instanceKey(action, int(record, "i"), params));
  }
  return keys.sort().join("\n");
}

// The enabled instances of `action` for `node` among the table's probes (the spec's domain and
// the inputs just outside it, which every guard must refuse), and the message types they depend
// on: those the enumeration and the guards read, but for a handler only its own type and what its
// guard reads. A handler's probes of other types (the first message of each, refused on sight)
// cannot change once there: a network only grows.
function instancesOf(
  system: SystemState,
  node: NodeState,
  action: NodeAction,
): { readonly found: string[]; readonly reads: number } {
  const received = receivedOf(system);
  const input = { cluster: system.cluster, received, model: computeValue };
  const found: string[] = [];
  const visit = (params: ActionParams): void => {
    if (action.apply(node, input, params).enabled) {
      found.push(instanceKey(action.name, node.id, params));
    }
  };
  if (action.handles === undefined) {
    received.startReads();
    action.probes(node, input, visit);
    const reads = received.stopReads();
    return { found, reads: action.name === "ExcludeNode" ? ALL_TYPES : reads };
  }
  let reads = typeBit(action.handles);
  action.probes(node, input, (params) => {
    received.startReads();
    visit(params);
    reads |= received.stopReads();
  });
  return { found, reads };
}

/** One action's enabled instances for one (running) node, and what they were computed from. */
interface ActionEntry {
  /** The node's state (replaced, never mutated, when it changes). */
  readonly state: NodeState;
  /** The message types the guards and the candidates read, a mask over SPEC_MESSAGE_TYPES. */
  readonly reads: number;
  /** The count of each message type then (the network only grows). */
  readonly counts: readonly number[];
  /** The instance keys enabled. */
  readonly instances: readonly string[];
}

/**
 * Remembers, between steps of one behaviour, each node's enabled instances of each protocol
 * action with what they were computed from. An action's instances depend only on the node's
 * state, whether it is up, and the messages of the types its guards and candidates read (the
 * network only grows, so the same count of a type is the same messages of that type); they are
 * computed again only when one of those changed. Create one per behaviour with
 * {@linkcode newEnabledCache}.
 */
export interface EnabledCache {
  /** Per node, its entry. */
  readonly entries: Map<NodeIndex, NodeEntry>;
  /** The network length for which `counts` was computed. */
  countsAt: number;
  /** The count of each message type (SPEC_MESSAGE_TYPES order) at `countsAt`. */
  counts: readonly number[];
  /** Whether to ignore what was remembered and compute every action (the cache's own test). */
  readonly recomputeAll: boolean;
}

/**
 * An empty enabledness cache, for a new behaviour.
 *
 * @param recomputeAll Compute every action of every node at every step (slow; for tests).
 * @returns The cache.
 */
export function newEnabledCache(recomputeAll = false): EnabledCache {
  return { entries: new Map(), countsAt: -1, counts: [], recomputeAll };
}

/** One node's protocol instances: each action's entry, and all of them as they were last. */
interface NodeEntry {
  /** Per action, in PROTOCOL_ACTIONS order. */
  readonly actions: (ActionEntry | undefined)[];
  /** The node's state at the last computation. */
  state: NodeState | undefined;
  /** The type counts then (the same array while no message is sent). */
  counts: readonly number[];
  /** Whether an action of ProtocolStep (all but ExcludeNode) then had an enabled instance. */
  canStep: boolean;
}

const NO_INSTANCES: readonly string[] = [];

// The count of each message type in the network, computed once per network size.
function typeCounts(system: SystemState, cache: EnabledCache): readonly number[] {
  if (cache.countsAt !== system.messages.length) {
    const received = receivedOf(system);
    cache.counts = SPEC_MESSAGE_TYPES.map((type) => received.count(type));
    cache.countsAt = system.messages.length;
  }
  return cache.counts;
}

function stillValid(
  entry: ActionEntry | undefined,
  node: NodeState,
  counts: readonly number[],
): boolean {
  if (entry === undefined || entry.state !== node) return false;
  if (entry.counts === counts) return true;
  for (let type = 0; type < counts.length; type++) {
    if ((entry.reads & (1 << type)) !== 0 && entry.counts[type] !== counts[type]) return false;
  }
  return true;
}

// The node's enabled protocol instances per action, and whether one is a ProtocolStep.
function nodeProtocolEntry(
  system: SystemState,
  node: NodeState,
  cache: EnabledCache,
): NodeEntry | undefined {
  if (!isUp(system, node.id)) return undefined;
  const counts = typeCounts(system, cache);
  let last = cache.entries.get(node.id);
  if (last === undefined) {
    last = {
      actions: new Array(PROTOCOL_ACTIONS.length),
      state: undefined,
      counts,
      canStep: false,
    };
    cache.entries.set(node.id, last);
  } else if (!cache.recomputeAll && last.state === node && last.counts === counts) {
    // Neither the node nor the network changed since.
    return last;
  }
  const entries = last.actions;
  let canStep = false;
  for (let index = 0; index < PROTOCOL_ROWS.length; index++) {
    let entry = entries[index];
    const action = PROTOCOL_ROWS[index] as NodeAction;
    if (cache.recomputeAll || !stillValid(entry, node, counts)) {
      const { found, reads } = instancesOf(system, node, action);
      entry = {
        state: node,
        reads,
        counts,
        instances: found.length === 0 ? NO_INSTANCES : found,
      };
      entries[index] = entry;
    }
    if ((entry as ActionEntry).instances.length > 0 && action.fair) canStep = true;
  }
  last.state = node;
  last.counts = counts;
  last.canStep = canStep;
  return last;
}

/**
 * The spec's `ViewStuck`: no honest running node can take a step of `ProtocolStep`, which holds
 * every protocol action but `ExcludeNode` (exclusion is not under fairness: a node may never
 * act on evidence, so pending evidence does not keep a view from being stuck).
 *
 * @param system The system.
 * @param cache The behaviour's cache (a fresh one when omitted).
 * @returns Whether the view is stuck.
 */
export function viewStuck(system: SystemState, cache: EnabledCache = newEnabledCache()): boolean {
  return system.nodes.every((node) => !(nodeProtocolEntry(system, node, cache)?.canStep ?? false));
}

// The table's protocol rows, and the rows the environment gates with their indexes.
const PROTOCOL_ROWS: readonly NodeAction[] = ACTIONS.filter((a) => a.gate === "protocol");
const GATED_ROWS: readonly (readonly [number, NodeAction])[] = ACTIONS.flatMap((a, index) =>
  a.gate === "protocol" ? [] : [[index, a] as const]
);

// Whether the environment lets the gated action happen with these parameters: a timer that may
// expire (premature timeouts, or a stuck view), a suspicion the detector may raise, a heartbeat
// from a running honest node.
function environmentAllows(
  system: SystemState,
  action: NodeAction,
  params: ActionParams,
  stuck: boolean,
): boolean {
  if (action.gate === "timer") return mayTimeOut(system, stuck);
  const peer = params["j"] as number;
  return action.name === "Suspect" ? maySuspect(system, peer) : mayHeartbeat(system, peer);
}

// Adds the node's enabled instances of the actions the environment gates (its view-change
// timer, its failure detector's suspicions and the heartbeats that clear them) to `perAction`.
function addEnvironmentInstances(
  system: SystemState,
  node: NodeState,
  stuck: boolean,
  perAction: string[][],
): void {
  const input = { cluster: system.cluster, received: receivedOf(system), model: computeValue };
  for (const [index, action] of GATED_ROWS) {
    action.probes(node, input, (params) => {
      if (!environmentAllows(system, action, params, stuck)) return;
      if (action.apply(node, input, params).enabled) {
        (perAction[index] as string[]).push(instanceKey(action.name, node.id, params));
      }
    });
  }
}

/**
 * Every enabled instance of every honest node's actions (TLC's `enabled`), per action of
 * {@linkcode ENABLED_ACTIONS} (same order): its instance keys ({@linkcode instanceKey}) sorted
 * and joined by newlines, so that each action compares as one string.
 *
 * @param system The system.
 * @param cache Results of earlier steps of the same behaviour, reused where nothing changed.
 * @returns One text per action.
 */
export function enabledByAction(
  system: SystemState,
  cache: EnabledCache = newEnabledCache(),
): string[] {
  const stuck = viewStuck(system, cache);
  const perAction: string[][] = ENABLED_ACTIONS.map(() => []);
  for (const node of system.nodes) {
    const entry = nodeProtocolEntry(system, node, cache);
    if (entry === undefined) continue;
    for (let index = 0; index < PROTOCOL_ACTIONS.length; index++) {
      const found = (entry.actions[index] as ActionEntry).instances;
      if (found.length > 0) (perAction[index] as string[]).push(...found);
    }
    addEnvironmentInstances(system, node, stuck, perAction);
  }
  return perAction.map((keys) => keys.length < 2 ? keys.join("\n") : keys.sort().join("\n"));
}

/**
 * Every enabled instance of every honest node's actions (TLC's `enabled`), as instance keys
 * ({@linkcode instanceKey}), sorted.
 *
 * @param system The system.
 * @param cache Results of earlier steps of the same behaviour, reused where nothing changed.
 * @returns The keys, sorted.
 */
export function enabledKeys(
  system: SystemState,
  cache: EnabledCache = newEnabledCache(),
): string[] {
  return enabledByAction(system, cache).flatMap((text) => text === "" ? [] : text.split("\n"))
    .sort();
}

/**
 * Which honest nodes have each protocol action enabled, per the TypeScript guards.
 *
 * @param system The system.
 * @param cache Results of earlier steps of the same behaviour, reused where nothing changed.
 * @returns For each protocol action, the nodes (ascending).
 */
export function enabledNodes(
  system: SystemState,
  cache: EnabledCache = newEnabledCache(),
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const action of PROTOCOL_ACTIONS) out[action] = [];
  for (const node of system.nodes) {
    const entry = nodeProtocolEntry(system, node, cache);
    if (entry === undefined) continue;
    PROTOCOL_ACTIONS.forEach((action, index) => {
      if ((entry.actions[index] as ActionEntry).instances.length > 0) out[action]?.push(node.id);
    });
  }
  return out;
}

/**
 * What one behaviour's comparisons have seen so far: the last TLC text of each variable with
 * its parsed value, and the `msgs` of the last equal comparison, so that a value whose text did
 * not change is not parsed again and an unchanged network is not decoded again. Create one per
 * behaviour with {@linkcode newDiffCache}.
 */
export interface DiffCache {
  /** Each variable's last TLC text. */
  readonly texts: Map<string, string>;
  /** The parse of each text in `texts`. */
  readonly values: Map<string, unknown>;
  /** TLC's `msgs` text at the last comparison where both sides' msgs were equal. */
  messagesText: string | undefined;
  /** The system's message count then. */
  messageCount: number;
  /** The keys of the system's messages seen so far, in sending order. */
  readonly ourKeys: string[];
  /** The same keys, as a set. */
  readonly ourKeySet: Set<string>;
  /** Canonical keys of TLC message texts already decoded (any behaviour may share it). */
  readonly messageKeys: Map<string, string>;
  /** Parses of short TLC value texts (any behaviour may share it; the values are not changed). */
  readonly parsed: Map<string, unknown>;
  /** Each variable's TLC text and our parts at its last equal comparison. */
  readonly agreed: Map<string, Agreed>;
}

/**
 * A comparison cache for a new behaviour.
 *
 * @param messageKeys Decoded TLC messages, shared between behaviours of one replay.
 * @param parsed Parsed short value texts, shared between behaviours of one replay.
 * @returns The cache.
 */
export function newDiffCache(
  messageKeys: Map<string, string> = new Map(),
  parsed: Map<string, unknown> = new Map(),
): DiffCache {
  return {
    texts: new Map(),
    values: new Map(),
    messagesText: undefined,
    messageCount: -1,
    ourKeys: [],
    ourKeySet: new Set(),
    messageKeys,
    parsed,
    agreed: new Map(),
  };
}

/**
 * The parsed JSON of one field of a TLC state, parsed again only when its text changed.
 *
 * @param state TLC's state, each field as JSON text.
 * @param field The field.
 * @param cache The behaviour's cache.
 * @returns The parsed value.
 */
export function rawField(state: RawState, field: string, cache: DiffCache): unknown {
  const text = state.get(field);
  if (text === undefined) throw new Error(`TLC state lacks variable ${field}`);
  if (cache.texts.get(field) === text) return cache.values.get(field);
  const value = parseShared(text, cache.parsed);
  cache.texts.set(field, text);
  cache.values.set(field, value);
  return value;
}

/** Value texts up to this long are parsed once per replay; longer ones each time they change. */
const SHARED_PARSE_LENGTH_MAX = 2048;

/**
 * A TLC value text parsed, from `parsed` when it is short and was parsed before. The values are
 * shared: nothing may change them.
 *
 * @param text JSON text.
 * @param parsed Earlier parses of short texts.
 * @returns The value.
 */
export function parseShared(text: string, parsed: Map<string, unknown>): unknown {
  if (text.length > SHARED_PARSE_LENGTH_MAX) return JSON.parse(text);
  let value = parsed.get(text);
  if (value === undefined) {
    value = JSON.parse(text);
    parsed.set(text, value);
  }
  return value;
}

const messagesSchema = setOf(messageSchema);

// Whether the system's messages are TLC's `msgs` (as a set), else the diff line.
function diffMessages(
  system: SystemState,
  text: string,
  split: readonly string[] | undefined,
  cache: DiffCache,
): string | undefined {
  const ours = system.messages;
  // Both sides' msgs only grow: TLC's text and our count the same as at the last equal
  // comparison means the same sets.
  if (text === cache.messagesText && ours.length === cache.messageCount) return undefined;
  cache.messagesText = undefined;
  for (let index = cache.ourKeys.length; index < ours.length; index++) {
    const key = messageKey(ours[index] as SpecMessage);
    cache.ourKeys.push(key);
    cache.ourKeySet.add(key);
  }
  const elements = split ?? arrayElements(text);
  let same = elements.length === ours.length && cache.ourKeySet.size === ours.length;
  const tlcKeys = new Set<string>();
  for (let index = 0; index < elements.length; index++) {
    const element = elements[index] as string;
    let key = cache.messageKeys.get(element);
    if (key === undefined) {
      key = messageKey(messageSchema.decode(JSON.parse(element), `msgs{${index}}`));
      cache.messageKeys.set(element, key);
    }
    tlcKeys.add(key);
    if (!cache.ourKeySet.has(key)) same = false;
  }
  if (same && tlcKeys.size === elements.length) {
    cache.messagesText = text;
    cache.messageCount = ours.length;
    return undefined;
  }
  const tlc = messagesSchema.decode(JSON.parse(text), "msgs");
  return `  msgs:\n    TypeScript ${messagesSchema.key(ours)}\n    TLC        ${
    messagesSchema.key(tlc)
  }`;
}

/**
 * Compares the system, lifted to the spec's variables, with a TLC state: every variable,
 * `msgs` included, as a set of canonically keyed messages.
 *
 * @param system The system.
 * @param expected TLC's state, each field as JSON text.
 * @param cache The behaviour's earlier comparisons.
 * @returns One line per differing variable: name, TypeScript value, TLC value.
 */
export function diffState(system: SystemState, expected: RawState, cache: DiffCache): string[] {
  const diffs: string[] = [];
  for (const { variable, schema } of VARIABLE_MAP) {
    if (variable === "msgs") {
      const text = expected.get(variable);
      if (text === undefined) throw new Error(`TLC state lacks variable ${variable}`);
      const diff = diffMessages(system, text, fieldElements(expected, variable), cache);
      if (diff !== undefined) diffs.push(diff);
      continue;
    }
    const text = expected.get(variable);
    const agreed = cache.agreed.get(variable);
    // TLC's text and our parts both as at the last equal comparison: equal again.
    if (agreed !== undefined && agreed.text === text && samePartsAs(system, variable, agreed)) {
      continue;
    }
    const json = rawField(expected, variable, cache);
    const ours = liftVariable(system, variable);
    // Structurally identical JSON is the same value; only otherwise decode and compare
    // canonically (a set may come in another order).
    if (!sameValue(ours, json)) {
      const tlc = schema.decode(json, variable);
      if (schema.key(tlc) !== schema.key(ours)) {
        diffs.push(
          `  ${variable}:\n    TypeScript ${schema.key(ours)}\n    TLC        ${schema.key(tlc)}`,
        );
        cache.agreed.delete(variable);
        continue;
      }
    }
    cache.agreed.set(variable, { text: text as string, parts: partsOf(variable, ours) });
  }
  return diffs;
}

/**
 * What a variable's lifted value (`ours`) is made of: each node's field of that name (node
 * states are immutable, replaced when they change, so the same parts make the same value), the
 * status entries (copied: the system changes them in place) or the counter.
 */
function partsOf(variable: string, ours: unknown): readonly unknown[] {
  if (variable === "status") return [...(ours as readonly unknown[])];
  return Array.isArray(ours) ? ours : [ours];
}

// Whether the system's parts of `variable` are `agreed.parts`, element for element.
function samePartsAs(system: SystemState, variable: string, agreed: Agreed): boolean {
  const parts = agreed.parts;
  switch (variable) {
    case "status":
      return sameElements(system.status, parts);
    case "byzantineSent":
      return parts[0] === system.byzantineSent;
    case "crashes":
      return parts[0] === system.crashes;
    default: {
      const nodes = system.nodes;
      if (nodes.length !== parts.length) return false;
      for (let index = 0; index < nodes.length; index++) {
        if ((nodes[index] as NodeState)[variable as keyof NodeState] !== parts[index]) {
          return false;
        }
      }
      return true;
    }
  }
}

function sameElements(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/** A variable's TLC text and our parts at its last equal comparison. */
interface Agreed {
  readonly text: string;
  readonly parts: readonly unknown[];
}
