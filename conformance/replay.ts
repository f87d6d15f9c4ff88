/**
 * Trace replay: steps the system through a TLC behaviour with the pure functions of
 * `src/core/` and the environment of `src/sim/system.ts`, and after each step compares every
 * spec variable with TLC's next state; before each step it also compares which honest nodes had
 * each protocol action enabled, so a guard that is too permissive is caught as well as one that
 * is too strict. Every node step also carries out the step's effects on the node's disk
 * (`applyTransition`): a send before the persist of a durable field the step changed, a durable
 * change never persisted, or a persist of a volatile field is a mismatch that names the field.
 * The actions whose enabledness the environment gates (`ViewTimeout`, `Suspect`,
 * `HandleHeartbeat`) are not in TLC's enabled sets: their guards are checked on the steps TLC
 * took only.
 *
 * @module
 */

import { acceptToken, computeStage } from "../src/core/computation.ts";
import { handleAssign, sendAssign } from "../src/core/assignment.ts";
import { handleCheckpoint, restoreCheckpoint, takeCheckpoint } from "../src/core/checkpointing.ts";
import {
  commitFast,
  commitStandard,
  handlePrePrepare,
  learnCommit,
  sendCommit,
  sendPrePrepare,
} from "../src/core/commitment.ts";
import {
  excludeNode,
  handleHeartbeat,
  handleNewView,
  joinViewChange,
  sendNewView,
  startViewChange,
  suspect,
  viewTimeout,
} from "../src/core/view_change.ts";
import type {
  ClusterConfig,
  NodeIndex,
  NodeState,
  SpecMessage,
  ViewChangeMessage,
} from "../src/core/spec_state.ts";
import type { Transition } from "../src/core/transition.ts";
import {
  applyTransition,
  byzantineSend,
  crash,
  DurabilityError,
  isUp,
  liftVariable,
  mayHeartbeat,
  maySuspect,
  mayTimeOut,
  recover,
  type SystemState,
} from "../src/sim/system.ts";
import { messageKey } from "../src/core/message_key.ts";
import { beginReads, endReads, indexOnly, MESSAGE_TYPES, ofType } from "../src/core/_received.ts";
import { subsetsOfSize } from "../src/core/_tally.ts";
import { arrayElements, fieldElements, type RawState } from "./raw_state.ts";
import { messageSchema, setOf, VARIABLE_MAP } from "./variable_map.ts";

/** The protocol actions of honest nodes whose enabledness TLC records per state. */
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

/** Every action of the spec's `Next`. */
export const ALL_ACTIONS: readonly string[] = [
  ...PROTOCOL_ACTIONS,
  "ViewTimeout",
  "Suspect",
  "HandleHeartbeat",
  "Crash",
  "Recover",
  "ByzantineSend",
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
    if (error instanceof DurabilityError) return { ok: false, reason: error.message };
    throw error;
  }
  return { ok: true };
}

function inNetwork(system: SystemState, m: SpecMessage): boolean {
  return system.messageKeys.has(messageSchema.key(m));
}

/**
 * Applies one action of a TLC trace, by name, with TLC's parameters.
 *
 * @param system The system (changed in place).
 * @param name The action's name.
 * @param params Its parameters as TLC wrote them.
 * @returns Whether the TypeScript guard allowed it.
 */
export function applyAction(system: SystemState, name: string, params: Params): StepOutcome {
  const cluster = system.cluster;
  const received = receivedOf(system);
  if (name === "Crash" || name === "Recover") {
    const result = (name === "Crash" ? crash : recover)(system, int(params, "i"));
    return result.ok ? result : { ok: false, reason: result.reason };
  }
  if (name === "ByzantineSend") {
    const result = byzantineSend(system, int(params, "b"), message(params, "m"));
    return result.ok ? result : { ok: false, reason: result.reason };
  }
  const i = int(params, "i");
  const withMessage = (key: string): SpecMessage | undefined => {
    const m = message(params, key);
    return inNetwork(system, m) ? m : undefined;
  };
  switch (name) {
    case "SendAssign":
      return nodeStep(
        system,
        i,
        (s) => sendAssign(s, { cluster, received, seed: int(params, "x") }),
      );
    case "ComputeStage":
      return nodeStep(system, i, (s) =>
        computeStage(s, {
          cluster,
          received,
          token: int(params, "t"),
          stage: int(params, "s"),
          value: int(params, "x"),
        }));
    case "AcceptToken":
      return nodeStep(
        system,
        i,
        (s) =>
          acceptToken(s, { cluster, received, token: int(params, "t"), value: int(params, "x") }),
      );
    case "TakeCheckpoint":
      return nodeStep(
        system,
        i,
        (s) => takeCheckpoint(s, { cluster, received, position: int(params, "p") }),
      );
    case "RestoreCheckpoint":
      return nodeStep(system, i, (s) => restoreCheckpoint(s, { cluster, received }));
    case "SendPrePrepare":
      return nodeStep(system, i, (s) => sendPrePrepare(s, { cluster, received }));
    case "SendCommit":
      return nodeStep(system, i, (s) => sendCommit(s, { cluster, received }));
    case "CommitStandard":
      return nodeStep(system, i, (s) => commitStandard(s, { cluster, received }));
    case "CommitFast":
      return nodeStep(system, i, (s) => commitFast(s, { cluster, received }));
    case "LearnCommit":
      return nodeStep(
        system,
        i,
        (s) =>
          learnCommit(s, { cluster, received, view: int(params, "v"), value: int(params, "x") }),
      );
    case "StartViewChange":
      return nodeStep(system, i, (s) => startViewChange(s, { cluster, received }));
    case "JoinViewChange":
      return nodeStep(
        system,
        i,
        (s) => joinViewChange(s, { cluster, received, view: int(params, "v") }),
      );
    case "SendNewView": {
      const viewChanges = viewChangesSchema.decode(params["vcs"], "vcs") as ViewChangeMessage[];
      return nodeStep(
        system,
        i,
        (s) => sendNewView(s, { cluster, received, viewChanges, seed: int(params, "x") }),
      );
    }
    case "ViewTimeout": {
      // The timer's expiry is the environment's: premature timeouts, or a stuck view.
      if (!mayTimeOut(system, viewStuck(system))) {
        return { ok: false, reason: "the view is not stuck" };
      }
      return nodeStep(system, i, (s) => viewTimeout(s, { cluster, received }));
    }
    case "Suspect": {
      const peer = int(params, "j");
      if (!maySuspect(system, peer)) return { ok: false, reason: "the environment forbids it" };
      return nodeStep(system, i, (s) => suspect(s, { cluster, received, peer }));
    }
    case "HandleHeartbeat": {
      const peer = int(params, "j");
      if (!mayHeartbeat(system, peer)) return { ok: false, reason: "no heartbeat from the peer" };
      return nodeStep(system, i, (s) => handleHeartbeat(s, { cluster, received, peer }));
    }
    case "ExcludeNode": {
      const first = withMessage("m1");
      const second = withMessage("m2");
      if (first === undefined || second === undefined) {
        return { ok: false, reason: "evidence not in the network" };
      }
      return nodeStep(system, i, (s) => excludeNode(s, { cluster, received, first, second }));
    }
    case "HandleAssign":
    case "HandleCheckpoint":
    case "HandlePrePrepare":
    case "HandleNewView": {
      const m = withMessage("m");
      if (m === undefined) return { ok: false, reason: "the message is not in the network" };
      const handler = HANDLERS[name];
      return nodeStep(system, i, (s) => handler(s, { cluster, received, message: m }));
    }
    default:
      return { ok: false, reason: `unknown action ${name}` };
  }
}

/**
 * The spec's `ViewStuck`: no honest running node can take a step of `ProtocolStep`, which holds
 * every protocol action but `ExcludeNode` (exclusion is not under fairness: a node may never
 * act on evidence, so pending evidence does not keep a view from being stuck).
 *
 * @param system The system.
 * @returns Whether the view is stuck.
 */
export function viewStuck(system: SystemState): boolean {
  const enabled = enabledNodes(system);
  return PROTOCOL_ACTIONS.every((action) =>
    action === "ExcludeNode" || (enabled[action] as number[]).length === 0
  );
}

/** The core function of each `Handle*` action. */
export const HANDLERS = {
  HandleAssign: handleAssign,
  HandleCheckpoint: handleCheckpoint,
  HandlePrePrepare: handlePrePrepare,
  HandleNewView: handleNewView,
} as const;

/** The message type each handler handles. */
export const HANDLED_TYPE = {
  HandleAssign: "Assign",
  HandleCheckpoint: "Checkpoint",
  HandlePrePrepare: "PrePrepare",
  HandleNewView: "NewView",
} as const;

// The received set the replay gives the core: the system's network behind a facade that only
// `ofType` may read, so that every read of a guard is seen by `readsOf`.
const FACADES = new WeakMap<SystemState, readonly SpecMessage[]>();

function receivedOf(system: SystemState): readonly SpecMessage[] {
  let facade = FACADES.get(system);
  if (facade === undefined) {
    facade = indexOnly(system.messages);
    FACADES.set(system, facade);
  }
  return facade;
}

// Whether any parameters enable `action` for `node`. Every candidate the spec quantifies over is
// tried (the inputs are built as literals: this runs for every node whose state, status or
// network changed, at every step).
function anyEnabled(system: SystemState, node: NodeState, action: ProtocolAction): boolean {
  const cluster: ClusterConfig = system.cluster;
  const received = receivedOf(system);
  const input = { cluster, received };
  const seeds = cluster.seeds;
  switch (action) {
    case "SendAssign":
      for (const seed of seeds) {
        if (sendAssign(node, { cluster, received, seed }).enabled) return true;
      }
      return false;
    case "ComputeStage":
      for (let token = 1; token <= cluster.tokenCount; token++) {
        for (let stage = 1; stage <= cluster.stageCount; stage++) {
          for (let v = -1; v < seeds.length; v++) {
            const value = v < 0 ? 0 : seeds[v] as number;
            if (computeStage(node, { cluster, received, token, stage, value }).enabled) return true;
          }
        }
      }
      return false;
    case "AcceptToken": {
      const token = node.tokens.length + 1;
      for (let v = -1; v < seeds.length; v++) {
        const value = v < 0 ? 0 : seeds[v] as number;
        if (acceptToken(node, { cluster, received, token, value }).enabled) return true;
      }
      return false;
    }
    case "TakeCheckpoint":
      for (let position = 1; position <= cluster.tokenCount; position++) {
        if (takeCheckpoint(node, { cluster, received, position }).enabled) return true;
      }
      return false;
    case "RestoreCheckpoint":
      return restoreCheckpoint(node, input).enabled;
    case "SendPrePrepare":
      return sendPrePrepare(node, input).enabled;
    case "SendCommit":
      return sendCommit(node, input).enabled;
    case "CommitStandard":
      return commitStandard(node, input).enabled;
    case "CommitFast":
      return commitFast(node, input).enabled;
    case "LearnCommit":
      for (let view = 0; view <= cluster.viewMax; view++) {
        for (let v = -1; v < seeds.length; v++) {
          const value = v < 0 ? 0 : seeds[v] as number;
          if (learnCommit(node, { cluster, received, view, value }).enabled) return true;
        }
      }
      return false;
    case "StartViewChange":
      return startViewChange(node, input).enabled;
    case "JoinViewChange":
      for (let view = node.view + 1; view <= cluster.viewMax; view++) {
        if (joinViewChange(node, { cluster, received, view }).enabled) return true;
      }
      return false;
    case "HandleAssign":
    case "HandleCheckpoint":
    case "HandlePrePrepare":
    case "HandleNewView": {
      // Each handler on the messages of its type: on any other it is disabled (the spec's
      // `m.type = ...` conjunct; replay_test.ts checks every handler against every type).
      const handler = HANDLERS[action];
      for (const message of ofType(received, HANDLED_TYPE[action])) {
        if (handler(node, { cluster, received, message }).enabled) return true;
      }
      return false;
    }
    case "ExcludeNode":
      // Every ordered pair of distinct messages with one sender and one type, the sender
      // neither this node nor excluded by it.
      for (const group of sameSenderAndType(system.messages)) {
        const from = (group[0] as SpecMessage).from;
        if (from === node.id || node.excluded.includes(from)) continue;
        for (let a = 0; a < group.length; a++) {
          const first = group[a] as SpecMessage;
          for (let b = 0; b < group.length; b++) {
            if (a === b) continue;
            const second = group[b] as SpecMessage;
            if (excludeNode(node, { cluster, received, first, second }).enabled) return true;
          }
        }
      }
      return false;
    case "SendNewView": {
      const viewChanges = ofType(received, "ViewChange").filter((m) => m.view === node.view);
      return subsetsOfSize(viewChanges, cluster.quorum).some((subset) =>
        seeds.some((seed) =>
          sendNewView(node, { cluster, received, viewChanges: subset, seed }).enabled
        )
      );
    }
  }
}

// The messages grouped by sender and type, groups of two or more only (ExcludeNode's
// candidates), remembered for the network it was computed from.
let groupsOf: { received: readonly SpecMessage[]; length: number; groups: SpecMessage[][] } = {
  received: [],
  length: 0,
  groups: [],
};

function sameSenderAndType(received: readonly SpecMessage[]): readonly SpecMessage[][] {
  if (groupsOf.received === received && groupsOf.length === received.length) {
    return groupsOf.groups;
  }
  const byKey = new Map<string, SpecMessage[]>();
  for (const message of received) {
    const key = `${message.from}|${message.type}`;
    const group = byKey.get(key);
    if (group === undefined) byKey.set(key, [message]);
    else group.push(message);
  }
  const groups = [...byKey.values()].filter((group) => group.length > 1);
  groupsOf = { received, length: received.length, groups };
  return groups;
}

/** One action's enabledness for one (running) node, and what it was computed from. */
interface ActionEntry {
  /** The node's state (replaced, never mutated, when it changes). */
  readonly state: NodeState;
  /** The message types the guards and the candidates read, a mask over MESSAGE_TYPES. */
  readonly reads: number;
  /** The count of each message type then (the network only grows). */
  readonly counts: readonly number[];
  /** Whether some parameters enabled the action. */
  readonly enabled: boolean;
}

/**
 * Remembers, between steps of one behaviour, each node's enabledness of each action with what it
 * was computed from, and the last enabled sets as TLC writes them. An action's enabledness
 * depends only on the node's state, whether it is up, and the messages of the types its guard
 * reads (through `ofType`, the only way the replay lets a guard read the network): it is
 * computed again only when one of them changed. Most steps change one node or send one
 * message, so most actions of most nodes are not. Create one per behaviour with
 * {@linkcode newEnabledCache}.
 */
export interface EnabledCache {
  /** Per node, the last computation. */
  readonly entries: Map<NodeIndex, NodeEntry>;
  /** The message count for which `counts` was computed. */
  countsAt: number;
  /** The count of each message type (MESSAGE_TYPES order) at `countsAt`. */
  counts: readonly number[];
  /** The nodes' masks at the last {@linkcode enabledText}. */
  masks: readonly number[];
  /** The text for `masks`. */
  text: string;
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
  return { entries: new Map(), countsAt: -1, counts: [], masks: [], text: "", recomputeAll };
}

/** One node's enabled actions: each action's entry, and the mask they made last. */
interface NodeEntry {
  /** Per action, in PROTOCOL_ACTIONS order. */
  readonly actions: (ActionEntry | undefined)[];
  /** The node's state at the last computation. */
  state: NodeState | undefined;
  /** The type counts then (the same array while no message is sent). */
  counts: readonly number[];
  /** The actions then enabled, bit `k` for `PROTOCOL_ACTIONS[k]`. */
  mask: number;
}

const ALL_TYPES = (1 << MESSAGE_TYPES.length) - 1;

// The count of each message type in the network, computed once per network size.
function typeCounts(system: SystemState, cache: EnabledCache): readonly number[] {
  if (cache.countsAt !== system.messages.length) {
    cache.counts = MESSAGE_TYPES.map((type) => ofType(system.messages, type).length);
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

// The actions `node` has enabled, as a bit mask over PROTOCOL_ACTIONS.
function nodeEnabledMask(system: SystemState, node: NodeState, cache?: EnabledCache): number {
  const up = isUp(system, node.id);
  if (!up) return 0;
  if (cache === undefined) {
    let mask = 0;
    PROTOCOL_ACTIONS.forEach((action, index) => {
      if (anyEnabled(system, node, action)) mask |= 1 << index;
    });
    return mask;
  }
  const counts = typeCounts(system, cache);
  let last = cache.entries.get(node.id);
  if (last === undefined) {
    last = { actions: new Array(PROTOCOL_ACTIONS.length), state: undefined, counts, mask: 0 };
    cache.entries.set(node.id, last);
  } else if (!cache.recomputeAll && last.state === node && last.counts === counts) {
    // Neither the node nor the network changed since.
    return last.mask;
  }
  const entries = last.actions;
  let mask = 0;
  for (let index = 0; index < PROTOCOL_ACTIONS.length; index++) {
    let entry = entries[index];
    if (cache.recomputeAll || !stillValid(entry, node, counts)) {
      const action = PROTOCOL_ACTIONS[index] as ProtocolAction;
      let result: boolean;
      let reads: number;
      beginReads();
      try {
        result = anyEnabled(system, node, action);
      } finally {
        reads = endReads();
      }
      entry = {
        state: node,
        // ExcludeNode's candidates are every pair of the network's messages.
        reads: action === "ExcludeNode" ? ALL_TYPES : reads,
        counts,
        enabled: result,
      };
      entries[index] = entry;
    }
    if ((entry as ActionEntry).enabled) mask |= 1 << index;
  }
  last.state = node;
  last.counts = counts;
  last.mask = mask;
  return mask;
}

/**
 * Which honest nodes have each protocol action enabled, per the TypeScript guards.
 *
 * @param system The system.
 * @param cache Results of earlier steps of the same behaviour, reused where nothing changed.
 * @returns For each protocol action, the nodes (ascending).
 */
export function enabledNodes(system: SystemState, cache?: EnabledCache): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const action of PROTOCOL_ACTIONS) out[action] = [];
  for (const node of system.nodes) {
    const mask = nodeEnabledMask(system, node, cache);
    PROTOCOL_ACTIONS.forEach((action, index) => {
      if ((mask & (1 << index)) !== 0) out[action]?.push(node.id);
    });
  }
  return out;
}

/**
 * The enabled sets as TLC's trace module writes them, `{"SendAssign":[1],"HandleAssign":[],...}`
 * (actions in {@linkcode PROTOCOL_ACTIONS} order, nodes ascending), so that one comparison of
 * texts checks every set; built again only when a node's enabled actions changed.
 *
 * @param system The system.
 * @param cache The behaviour's cache.
 * @returns The text.
 */
export function enabledText(system: SystemState, cache: EnabledCache): string {
  const nodes = system.nodes;
  let same = cache.masks.length === nodes.length;
  const masks: number[] = new Array(nodes.length);
  for (let index = 0; index < nodes.length; index++) {
    const mask = nodeEnabledMask(system, nodes[index] as NodeState, cache);
    masks[index] = mask;
    if (mask !== cache.masks[index]) same = false;
  }
  if (same) return cache.text;
  let text = "{";
  for (let action = 0; action < PROTOCOL_ACTIONS.length; action++) {
    text += `${action === 0 ? "" : ","}"${PROTOCOL_ACTIONS[action]}":[`;
    let first = true;
    for (let index = 0; index < nodes.length; index++) {
      if (((masks[index] as number) & (1 << action)) === 0) continue;
      text += first ? `${(nodes[index] as NodeState).id}` : `,${(nodes[index] as NodeState).id}`;
      first = false;
    }
    text += "]";
  }
  cache.masks = masks;
  cache.text = text + "}";
  return cache.text;
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
    if (!sameJson(ours, json)) {
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

// Deep equality of JSON-like values: same arrays in the same order, same record keys.
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let index = 0; index < a.length; index++) {
      if (!sameJson(a[index], b[index])) return false;
    }
    return true;
  }
  if (Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  for (const key of aKeys) {
    if (!sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) {
      return false;
    }
  }
  return true;
}
