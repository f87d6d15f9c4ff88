/**
 * The input of `TraceRuntime.tla`: one inference's runtime trace (the nodes' `--trace` files)
 * merged into one sequence of spec actions and mapped to spec terms, so that TLC can check that a
 * behaviour of `ButterflyCoordination.tla` explains what the running nodes did.
 *
 * - Values: the output an honest replica computed for token t at stage s (and the prompt's digest
 *   for (0, 0)) is `Out(1, t, s)` = 100 + 10t + s; any other value at that point is garbage,
 *   `Out(0, t, s)` = 10t + s. Tokens and votes are values of the last stage; a checkpoint's
 *   digest is its tokens.
 * - Nodes are their indices 1..n in membership order, as the trace already has them.
 * - Order: each node's steps in its own order, interleaved so that every message a node receives
 *   was signed before (by an earlier record, or by a Byzantine node: a `ByzantineSend` record).
 * - One record per action; a step's last record carries the node's state after it and the
 *   messages it signed. A restart is `Crash` then `Recover`; where the restored state is the one
 *   from before the node's last step (killed before that step reached its disk), that step is
 *   left out, which is sound only if nobody received what it signed (checked).
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import { messageKey } from "../src/core/message_key.ts";
import {
  durableOf,
  inputPosition,
  type NodeState,
  type SpecMessage,
} from "../src/core/spec_state.ts";
import {
  tornByKill,
  type TraceInstanceLine,
  type TraceLine,
  type TraceStepLine,
} from "../src/runtime/trace.ts";
import type { DigestValue } from "../src/runtime/spec_wire.ts";

/** One record of the merged trace. */
export interface TlaRecord {
  /** The node that takes the action (1..n). */
  readonly node: number;
  /** The TLA+ action. */
  readonly action: string;
  /** Its parameters besides the node, in spec terms. */
  readonly params: Readonly<Record<string, unknown>>;
  /** The node's state after its step, on the step's last record. */
  readonly state?: Readonly<Record<string, unknown>>;
  /** The messages it signed in the step, on the step's last record. */
  readonly sent?: readonly unknown[];
}

/** The constants of the TLC model that checks a merged trace. */
export interface TlaConstants {
  readonly N: number;
  readonly F: number;
  readonly Byzantine: readonly number[];
  readonly S: number;
  readonly T: number;
  readonly K: number;
  readonly R: number;
  readonly Seeds: readonly number[];
  readonly MaxView: number;
  readonly MaxByzantineMessages: number;
  readonly MaxCrashes: number;
}

/** One inference's trace, ready for TLC. */
export interface TlaTrace {
  /** The inference. */
  readonly inference: number;
  /** The model's constants. */
  readonly constants: TlaConstants;
  /** The records, in order. */
  readonly records: readonly TlaRecord[];
}

type Message = SpecMessage<DigestValue>;

/** The spec's `ASSUME T < 10 /\ S < 10`: values are the digits seed, token, stage. */
const DIGIT_MAX = 9;

/**
 * Merges and maps one inference's trace.
 *
 * @param files Each node's trace file text, by name.
 * @param inference The inference to take.
 * @param byzantine The Byzantine nodes (1..n), whose lines are not checked.
 * @returns The trace, or why it cannot be one.
 */
export function runtimeTraceToTla(
  files: ReadonlyMap<string, string>,
  inference: number,
  byzantine: readonly number[] = [],
): TlaTrace | { readonly error: string } {
  const perNode: { readonly index: number; readonly lines: TraceLine[] }[] = [];
  for (const [name, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const lines: TraceLine[] = [];
    const raws = text.split("\n");
    for (const [k, raw] of raws.entries()) {
      if (raw.trim() === "") continue;
      let line: TraceLine;
      try {
        line = JSON.parse(raw) as TraceLine;
      } catch {
        if (tornByKill(raws, k)) continue;
        return { error: `${name}:${k + 1}: not JSON` };
      }
      if (line.inference === inference) lines.push(line);
    }
    const first = lines[0];
    if (first === undefined) continue;
    if (first.kind !== "instance") return { error: `${name}: the inference does not open` };
    perNode.push({ index: first.index, lines });
  }
  const opening = perNode[0]?.lines[0] as TraceInstanceLine | undefined;
  if (opening === undefined) return { error: `no trace line of inference ${inference}` };
  const c = opening.constants;
  if (c.tokenCount > DIGIT_MAX || c.stageCount > DIGIT_MAX) {
    return {
      error: `${c.tokenCount} tokens and ${c.stageCount} stages: the spec's values hold at most ` +
        `${DIGIT_MAX} of each (ASSUME T < 10 /\\ S < 10); trace a shorter inference`,
    };
  }
  const honest = (index: number) => !byzantine.includes(index);
  // The honest outputs, by (token, stage).
  const correct = new Map<string, DigestValue>([["0/0", opening.firstInput]]);
  for (const { index, lines } of perNode) {
    if (!honest(index)) continue;
    for (const line of lines) {
      if (line.kind !== "step") continue;
      for (const { name, params } of line.actions) {
        if (name !== "ComputeStage") continue;
        correct.set(`${params["t"]}/${params["s"]}`, params["output"] as DigestValue);
      }
    }
  }
  const S = c.stageCount;
  const T = c.tokenCount;
  const at = (value: unknown, t: number, s: number): number =>
    value === -1 ? -1 : correct.get(`${t}/${s}`) === value ? 100 + 10 * t + s : 10 * t + s;
  const vote = (v: { view: number; value: unknown }) => ({
    view: v.view,
    value: v.view < 0 ? -1 : at(v.value, T, S),
  });
  const message = (m: Message): Record<string, unknown> => {
    switch (m.type) {
      case "StageOutput":
        return { ...m, value: at(m.value, m.token, m.stage) };
      case "PrePrepare":
      case "Prepare":
      case "Commit":
        return { ...m, value: at(m.value, T, S) };
      case "Checkpoint":
        return { ...m, digest: m.digest.map((x, k) => at(x, k + 1, S)) };
      case "ViewChange":
        return { ...m, prepared: vote(m.prepared), voted: vote(m.voted) };
      case "NewView":
        return { ...m, viewChanges: m.viewChanges.map(message) };
      default:
        return { ...m };
    }
  };
  const state = (st: NodeState<DigestValue>): Record<string, unknown> => ({
    view: st.view,
    seed: st.seed,
    progress: st.progress,
    tokens: st.tokens.map((x, k) => at(x, k + 1, S)),
    vote: vote(st.vote),
    prepared: vote(st.prepared),
    committed: at(st.committed, T, S),
    stableCheckpoint: {
      seed: st.stableCheckpoint.seed,
      position: st.stableCheckpoint.position,
      tokens: st.stableCheckpoint.tokens.map((x, k) => at(x, k + 1, S)),
    },
    suspected: st.suspected,
    excluded: st.excluded,
  });
  const params = (name: string, p: Readonly<Record<string, unknown>>): Record<string, unknown> => {
    switch (name) {
      case "ComputeStage": {
        const [t, s] = inputPosition(c, p["t"] as number, p["s"] as number);
        return { t: p["t"], s: p["s"], x: at(p["x"], t, s) };
      }
      case "AcceptToken":
        return { t: p["t"], x: at(p["x"], p["t"] as number, S) };
      case "LearnCommit":
        return { v: p["v"], x: at(p["x"], T, S) };
      case "SendNewView":
        return { vcs: (p["vcs"] as Message[]).map(message), x: p["x"] };
      case "ExcludeNode":
        return { m1: message(p["m1"] as Message), m2: message(p["m2"] as Message) };
      default:
        return "m" in p ? { ...p, m: message(p["m"] as Message) } : { ...p };
    }
  };

  // Each node's items: its steps, with a restart as one item; a step lost to a kill is dropped.
  // `received`: what entered the node's set since its previous item (a step with no action
  // leaves no record, but what it received must still come before the node's next one).
  type Item = {
    readonly kind: "step" | "restart";
    readonly line: TraceStepLine;
    readonly received: readonly Message[];
  };
  const queues: { index: number; items: Item[] }[] = [];
  const lost: TraceStepLine[] = [];
  let crashes = 0;
  for (const { index, lines } of perNode) {
    if (!honest(index)) continue;
    const items: Item[] = [];
    let carried: Message[] = [];
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k]!;
      if (line.kind === "instance") {
        const next = lines[k + 1];
        if (next?.kind !== "step") continue;
        crashes++;
        // Restored from before the last step: that step never reached the disk.
        const steps = items.filter((item) => item.kind === "step");
        const last = steps.at(-1)?.line;
        const before = steps.at(-2)?.line.state;
        if (
          last !== undefined && !sameDurable(next.state, last.state) && before !== undefined &&
          sameDurable(next.state, before)
        ) {
          items.splice(items.lastIndexOf(steps.at(-1)!), 1);
          lost.push(last);
        }
        items.push({ kind: "restart", line: next, received: [...carried, ...next.received] });
        carried = [];
        k++;
        continue;
      }
      if (line.actions.length === 0) {
        carried.push(...line.received);
        continue;
      }
      items.push({ kind: "step", line, received: [...carried, ...line.received] });
      carried = [];
    }
    queues.push({ index, items });
  }

  const records: TlaRecord[] = [];
  const signed = new Set<string>();
  let byzantineSent = 0;
  const lostKeys = new Set(lost.flatMap((line) => line.sent.map(messageKey)));
  const heads = queues.map(() => 0);
  for (;;) {
    let progressed = false;
    let remaining = false;
    for (const [q, { index, items }] of queues.entries()) {
      const item = items[heads[q]!];
      if (item === undefined) continue;
      remaining = true;
      const { line } = item;
      const missing = item.received.filter((m) => !signed.has(messageKey(m)));
      if (missing.some((m) => honest(m.from))) {
        const lostOne = missing.find((m) => lostKeys.has(messageKey(m)));
        if (lostOne !== undefined) {
          return {
            error: `node ${index} received a message of a step its signer lost to a kill: ` +
              JSON.stringify(lostOne),
          };
        }
        continue;
      }
      for (const m of missing) {
        records.push({ node: m.from, action: "ByzantineSend", params: { m: message(m) } });
        signed.add(messageKey(m));
        byzantineSent++;
      }
      if (item.kind === "restart") {
        records.push({ node: index, action: "Crash", params: {} });
        records.push(
          line.actions.length === 0
            ? { node: index, action: "Recover", params: {}, state: state(line.state), sent: [] }
            : { node: index, action: "Recover", params: {} },
        );
      }
      line.actions.forEach(({ name, params: p }, k) => {
        const last = k === line.actions.length - 1;
        records.push({
          node: index,
          action: name,
          params: params(name, p),
          ...(last ? { state: state(line.state), sent: line.sent.map(message) } : {}),
        });
      });
      for (const m of line.sent) signed.add(messageKey(m));
      heads[q]!++;
      progressed = true;
    }
    if (!remaining) break;
    if (!progressed) {
      const stuck = queues.map(({ index, items }, q) => {
        const m = items[heads[q]!]?.received.find((m) => !signed.has(messageKey(m)));
        return m === undefined ? undefined : `node ${index} received ${JSON.stringify(m)}`;
      }).filter((text) => text !== undefined);
      return { error: `no order explains the trace: ${stuck[0]}, which no node signed before` };
    }
  }
  return {
    inference,
    constants: {
      N: c.nodeCount,
      F: c.faultsMax,
      Byzantine: [...byzantine].sort((a, b) => a - b),
      S,
      T,
      K: c.checkpointIntervalTokens,
      R: c.replicaCount,
      Seeds: c.seeds,
      MaxView: c.viewMax,
      MaxByzantineMessages: byzantineSent,
      MaxCrashes: crashes,
    },
    records,
  };
}

function sameDurable(a: NodeState<DigestValue>, b: NodeState<DigestValue>): boolean {
  return isDeepStrictEqual(durableOf(a), durableOf(b));
}

/**
 * The TLC configuration that checks a merged trace with `TraceRuntime.tla`.
 *
 * @param constants The model's constants.
 * @returns The configuration's text.
 */
export function traceConfig(constants: TlaConstants): string {
  const set = (xs: readonly number[]) => `{${xs.join(", ")}}`;
  return [
    "\\* Generated by deno task tlc-trace: checks one runtime trace with TraceRuntime.tla.",
    "SPECIFICATION TraceSpec",
    "CONSTANTS",
    `    N = ${constants.N}`,
    `    F = ${constants.F}`,
    `    Byzantine = ${set(constants.Byzantine)}`,
    `    S = ${constants.S}`,
    `    T = ${constants.T}`,
    `    K = ${constants.K}`,
    `    R = ${constants.R}`,
    `    Seeds = ${set(constants.Seeds)}`,
    `    MaxView = ${constants.MaxView}`,
    `    MaxByzantineMessages = ${constants.MaxByzantineMessages}`,
    `    MaxCrashes = ${constants.MaxCrashes}`,
    "    FalseSuspicions = TRUE",
    "INVARIANTS",
    "    Agreement",
    "    Consistency",
    "    Validity",
    "    ByzantineResistance",
    "    CheckpointIntegrity",
    "    ExclusionAccuracy",
    "PROPERTIES",
    "    CommitStable",
    "POSTCONDITION TraceMatched",
    "ALIAS TraceAlias",
    "CHECK_DEADLOCK FALSE",
    "",
  ].join("\n");
}

/**
 * The merged trace as TLC reads it: one JSON record per line.
 *
 * @param trace The trace.
 * @returns NDJSON.
 */
export function traceNdjson(trace: TlaTrace): string {
  return trace.records.map((record) => JSON.stringify(record)).join("\n") + "\n";
}
