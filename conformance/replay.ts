/**
 * Trace replay: steps the system through a TLC behaviour with the pure functions of
 * `src/core/` and the environment of `src/sim/system.ts`, and after each step compares every
 * spec variable with TLC's next state; before each step it also compares which honest nodes had
 * each protocol action enabled, so a guard that is too permissive is caught as well as one that
 * is too strict.
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
  isUp,
  liftSystem,
  mayHeartbeat,
  maySuspect,
  recover,
  type SystemState,
} from "../src/sim/system.ts";
import { messageKey } from "../src/core/message_key.ts";
import { subsetsOfSize } from "../src/core/_tally.ts";
import { arrayElements, type RawState } from "./raw_state.ts";
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

/** Every action of the spec's `Next`. */
export const ALL_ACTIONS: readonly string[] = [
  ...PROTOCOL_ACTIONS,
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
  applyTransition(system, node, transition);
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
  const received = system.messages;
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

const HANDLERS = {
  HandleAssign: handleAssign,
  HandleCheckpoint: handleCheckpoint,
  HandlePrePrepare: handlePrePrepare,
  HandleNewView: handleNewView,
} as const;

// Whether any parameters enable `action` for `node`. Every candidate the spec quantifies over is
// tried (the inputs are built as literals: this runs for every node whose state, status or
// network changed, at every step).
function anyEnabled(
  system: SystemState,
  node: NodeState,
  action: typeof PROTOCOL_ACTIONS[number],
): boolean {
  const cluster: ClusterConfig = system.cluster;
  const received = system.messages;
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
      const handler = HANDLERS[action];
      for (const message of received) {
        if (handler(node, { cluster, received, message }).enabled) return true;
      }
      return false;
    }
    case "ExcludeNode":
      // Every ordered pair of distinct messages with one sender and one type, the sender
      // neither this node nor excluded by it.
      for (const group of sameSenderAndType(received)) {
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
      const viewChanges = received.filter((m): m is ViewChangeMessage =>
        m.type === "ViewChange" && m.view === node.view
      );
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

/** One node's enabled protocol actions and the inputs they were computed from. */
interface EnabledEntry {
  readonly state: NodeState;
  readonly messageCount: number;
  readonly up: boolean;
  readonly actions: ReadonlySet<string>;
}

/**
 * Remembers each node's enabled actions between steps of one behaviour. A node's enabledness
 * depends only on its state (replaced, never mutated, when it changes), the network (which only
 * grows) and whether it is up; most steps (suspicions, heartbeats, local steps) change one node
 * and send nothing, so only that node is computed again.
 */
export type EnabledCache = Map<NodeIndex, EnabledEntry>;

function nodeEnabled(
  system: SystemState,
  node: NodeState,
  cache?: EnabledCache,
): ReadonlySet<string> {
  const up = isUp(system, node.id);
  const cached = cache?.get(node.id);
  if (
    cached !== undefined && cached.state === node && cached.up === up &&
    cached.messageCount === system.messages.length
  ) {
    return cached.actions;
  }
  const actions = new Set<string>();
  if (up) {
    for (const action of PROTOCOL_ACTIONS) {
      if (anyEnabled(system, node, action)) actions.add(action);
    }
  }
  cache?.set(node.id, { state: node, messageCount: system.messages.length, up, actions });
  return actions;
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
    for (const action of nodeEnabled(system, node, cache)) out[action]?.push(node.id);
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
function diffMessages(system: SystemState, text: string, cache: DiffCache): string | undefined {
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
  const elements = arrayElements(text);
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
  const lifted = liftSystem(system) as unknown as Record<string, unknown>;
  const diffs: string[] = [];
  for (const { variable, schema } of VARIABLE_MAP) {
    if (variable === "msgs") {
      const text = expected.get(variable);
      if (text === undefined) throw new Error(`TLC state lacks variable ${variable}`);
      const diff = diffMessages(system, text, cache);
      if (diff !== undefined) diffs.push(diff);
      continue;
    }
    const json = rawField(expected, variable, cache);
    // Structurally identical JSON is the same value; only otherwise decode and compare
    // canonically (a set may come in another order).
    if (sameJson(lifted[variable], json)) continue;
    const tlc = schema.decode(json, variable);
    const ours = lifted[variable];
    if (schema.key(tlc) !== schema.key(ours)) {
      diffs.push(
        `  ${variable}:\n    TypeScript ${schema.key(ours)}\n    TLC        ${schema.key(tlc)}`,
      );
    }
  }
  return diffs;
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
