/**
 * Runtime traces (`--trace DIR`, `BUTTERFLY_TRACE`): each node appends NDJSON to
 * `DIR/<node id>.ndjson`, one line per `step` of one of its inferences, written at that single
 * step point, so no snapshot of concurrent state is ever needed: the event, the messages that
 * entered the node's received set since its previous line, the spec actions the step took with
 * their parameters, the node's spec state after them, and the messages it signed. Values are the
 * core's runtime values (`DigestValue`, hex SHA-256) and nodes are their indices 1..n in the
 * membership's order, as `step` sees them. A line `{ "kind": "instance" }` opens each run of an
 * instance (a start, or a restart from disk) with the cluster's constants.
 *
 * `validateTrace` (`deno task validate-trace DIR`) checks a trace against the core's actions.
 *
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import { nodeAction } from "../core/actions.ts";
import { valueFreeViolations } from "../core/invariants.ts";
import { messageKey } from "../core/message_key.ts";
import { MessageLog } from "../core/received.ts";
import {
  type ClusterConfig,
  clusterConfigWith,
  type ClusterConstants,
  durableOf,
  type DurableState,
  initialNodeState,
  NO_VALUE,
  type NodeState,
  type SpecMessage,
} from "../core/spec_state.ts";
import type { NodeEvent, TakenAction } from "../core/step.ts";
import type { NodeId } from "../core/types.ts";
import type { DigestValue } from "./spec_wire.ts";

/** The version of the trace format. */
export const TRACE_FORMAT = 1;

/** The first line of one run of an instance on a node. */
export interface TraceInstanceLine {
  /** Discriminant. */
  readonly kind: "instance";
  /** {@linkcode TRACE_FORMAT}. */
  readonly format: number;
  /** The node. */
  readonly node: NodeId;
  /** Its index in the core (1..n). */
  readonly index: number;
  /** The members in the core's order. */
  readonly members: readonly NodeId[];
  /** The inference. */
  readonly inference: number;
  /** The cluster's constants for it. */
  readonly constants: ClusterConstants;
  /** The first stage's input value (the prompt's digest). */
  readonly firstInput: DigestValue;
}

/** One step of one instance on a node. */
export interface TraceStepLine {
  /** Discriminant. */
  readonly kind: "step";
  /** The node. */
  readonly node: NodeId;
  /** The inference. */
  readonly inference: number;
  /** What the shell reported. */
  readonly event: NodeEvent<DigestValue>;
  /** The spec's Result(seed) as the node knew it at this step (`null`: unknown). */
  readonly result: DigestValue | null;
  /** The messages that entered the received set since the previous line. */
  readonly received: readonly SpecMessage<DigestValue>[];
  /** The actions the step took, in order. */
  readonly actions: readonly TakenAction<DigestValue>[];
  /** The node's state after them. */
  readonly state: NodeState<DigestValue>;
  /** The messages it signed, in order. */
  readonly sent: readonly SpecMessage<DigestValue>[];
}

/** A line of a trace. */
export type TraceLine = TraceInstanceLine | TraceStepLine;

/** Appends one node's trace lines to `DIR/<node>.ndjson`. */
export class TraceWriter {
  /** The file. */
  readonly path: string;
  readonly #file: Deno.FsFile;
  #closed = false;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /**
   * Opens (creates, or appends to) a node's trace file.
   *
   * @param dir The trace directory (created if missing).
   * @param node The node.
   * @returns The writer.
   */
  static async open(dir: string, node: NodeId): Promise<TraceWriter> {
    await Deno.mkdir(dir, { recursive: true });
    const path = `${dir}/${node}.ndjson`;
    const file = await Deno.open(path, { append: true, create: true });
    // A node killed mid-write left a torn last line: end it, so the next line stands alone.
    if (!(await endsWithNewline(path))) {
      file.writeSync(new TextEncoder().encode("\n"));
    }
    return new TraceWriter(path, file);
  }

  /**
   * Writes one line now (a kill -9 after it returns keeps it: it is in the kernel's hands).
   *
   * @param line The line.
   */
  write(line: TraceLine): void {
    if (this.#closed) return;
    const bytes = new TextEncoder().encode(`${JSON.stringify(line)}\n`);
    for (let written = 0; written < bytes.length;) {
      written += this.#file.writeSync(bytes.subarray(written));
    }
  }

  /** Closes the file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }
}

/** A line of a trace that does not check, and why. */
export interface TraceProblem {
  /** The trace file. */
  readonly file: string;
  /** The line, from 1. */
  readonly line: number;
  /** What is wrong, in one line. */
  readonly message: string;
}

/** What {@linkcode validateTrace} found. */
export interface TraceReport {
  /** Trace files read. */
  readonly files: number;
  /** Step lines checked. */
  readonly steps: number;
  /** Actions checked (each enabled, each state matched). */
  readonly actions: number;
  /** Runs of instances (starts and restarts). */
  readonly runs: number;
  /** Inferences seen. */
  readonly inferences: number;
  /** Restarts whose restored durable state was checked against what the node had persisted. */
  readonly restarts: number;
  /** Every problem, first first; empty when the trace checks. */
  readonly problems: readonly TraceProblem[];
}

/** Options of {@linkcode validateTrace}. */
export interface ValidateTraceOptions {
  /** Nodes that were Byzantine in the run (their lines are still checked as steps). */
  readonly byzantine?: readonly NodeId[];
}

interface Run {
  readonly header: TraceInstanceLine;
  readonly cluster: ClusterConfig<DigestValue>;
  readonly received: MessageLog<DigestValue>;
  state: NodeState<DigestValue> | undefined;
  broken: boolean;
  // The durable states the node may have had on disk when it stopped: the one after its last
  // step that sent something (persisted before those sends), and every one after.
  persisted: DurableState<DigestValue>[];
  // The same before the last line: a node writes a line before carrying out its step (steps of
  // an inference run one at a time), so only its last line may not have reached the disk.
  persistedBeforeLast: DurableState<DigestValue>[];
}

interface History {
  run: Run | undefined;
  // The previous run's possibly persisted durable states, for the next restart.
  previous: DurableState<DigestValue>[] | undefined;
  // Every message this node signed for the inference, and its latest state, for the invariants.
  readonly sent: SpecMessage<DigestValue>[];
  last: NodeState<DigestValue> | undefined;
  committed: DigestValue | undefined;
  index: number;
}

/**
 * Checks runtime traces against the core's actions: every step line's actions, in order, must
 * each be an enabled action of that node in the state the trace reached (applied with the core's
 * own transition functions, not the runtime's `step` policy), the state after them must be the
 * state the line records, the messages they sign the messages it records, a restart must restore
 * durable fields the node had persisted (nothing persisted is lost: the durable state after the
 * node's last step that sent something, or after a later one; and, as a node writes a line before
 * carrying out its step, the state from before its last line), a committed result must
 * never change, and across the nodes of each inference the value-free safety invariants must
 * hold (`Agreement`, `Consistency`, `ExclusionAccuracy`).
 *
 * @param files Each trace file's name and text (one NDJSON file per node).
 * @param options The Byzantine nodes, if any.
 * @returns What was checked, and each problem with its file and line.
 */
export function validateTrace(
  files: ReadonlyMap<string, string>,
  options: ValidateTraceOptions = {},
): TraceReport {
  const problems: TraceProblem[] = [];
  let steps = 0, actions = 0, runs = 0, restarts = 0;
  const histories = new Map<string, History>();
  const inferences = new Map<number, Map<NodeId, History>>();
  for (const [file, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    lines.forEach((raw, k) => {
      const problem = (message: string) => problems.push({ file, line: k + 1, message });
      let line: TraceLine;
      try {
        line = JSON.parse(raw) as TraceLine;
      } catch {
        // A node killed mid-write leaves a torn line, its last before it runs again: not a step
        // it took.
        if (!tornByKill(lines, k)) problem("not JSON");
        return;
      }
      if (typeof line !== "object" || line === null || typeof line.node !== "string") {
        problem("not a trace line");
        return;
      }
      const key = `${line.node}\u0000${line.inference}`;
      let history = histories.get(key);
      if (history === undefined) {
        history = {
          run: undefined,
          previous: undefined,
          sent: [],
          last: undefined,
          committed: undefined,
          index: 0,
        };
        histories.set(key, history);
        const byNode = inferences.get(line.inference) ?? new Map<NodeId, History>();
        byNode.set(line.node, history);
        inferences.set(line.inference, byNode);
      }
      if (line.kind === "instance") {
        if (line.format !== TRACE_FORMAT) {
          problem(`trace format ${line.format}, this validator reads ${TRACE_FORMAT}`);
          return;
        }
        runs++;
        if (history.run !== undefined) {
          const { persisted, persistedBeforeLast } = history.run;
          history.previous = [...persistedBeforeLast, ...persisted];
        }
        history.index = line.index;
        history.run = {
          header: line,
          cluster: clusterConfigWith<DigestValue>(line.constants, {
            firstInput: () => line.firstInput,
            resultOf: () => undefined,
          }),
          received: new MessageLog<DigestValue>(),
          state: undefined,
          broken: false,
          persisted: [],
          persistedBeforeLast: [],
        };
        return;
      }
      if (line.kind !== "step") {
        problem(`unknown line kind ${JSON.stringify((line as { kind?: unknown }).kind)}`);
        return;
      }
      const run = history.run;
      if (run === undefined) {
        problem(`a step of inference ${line.inference} before its instance line`);
        return;
      }
      if (run.broken) return;
      steps++;
      const { header } = run;
      const cluster = clusterConfigWith<DigestValue>(header.constants, {
        firstInput: () => header.firstInput,
        resultOf: () => line.result ?? undefined,
      });
      let state: NodeState<DigestValue>;
      const event = line.event;
      if (event.kind === "start" || event.kind === "restart") {
        if (run.state !== undefined) {
          problem(`a ${event.kind} event in the middle of a run`);
          run.broken = true;
          return;
        }
        state = initialNodeState(header.index, cluster);
        if (event.kind === "restart") {
          restarts++;
          const candidates = history.previous ?? [];
          if (
            history.previous !== undefined &&
            !candidates.some((durable) => isDeepStrictEqual(durable, event.durable))
          ) {
            problem(
              `the restart restored ${describe(event.durable)}, which the node never had on disk ` +
                `(it had persisted ${candidates.map(describe).join(" or ")})`,
            );
          }
          state = { ...state, ...event.durable };
        }
      } else if (run.state === undefined) {
        problem(`a ${event.kind} event before the run's start or restart`);
        run.broken = true;
        return;
      } else {
        state = run.state;
      }
      const preDurable = durableOf(state);
      for (const message of line.received) run.received.add(message);
      const input = { cluster, received: run.received };
      const sent: SpecMessage<DigestValue>[] = [];
      for (const taken of line.actions) {
        let action;
        try {
          action = nodeAction(taken.name);
        } catch {
          problem(`${taken.name} is not an action of the spec`);
          run.broken = true;
          return;
        }
        const transition = action.apply(state, input, taken.params);
        if (!transition.enabled) {
          problem(
            `${taken.name}(${describe(taken.params)}) is not enabled for node ${header.index} in ` +
              `view ${state.view} with ${state.tokens.length} tokens`,
          );
          run.broken = true;
          return;
        }
        actions++;
        if (
          history.committed !== undefined && transition.state.committed !== NO_VALUE &&
          transition.state.committed !== history.committed
        ) {
          problem(`CommitStable: ${taken.name} changed the committed result`);
        }
        state = transition.state;
        for (const effect of transition.effects) {
          if (effect.kind !== "send") continue;
          sent.push(effect.message);
          run.received.add(effect.message);
        }
      }
      if (!isDeepStrictEqual(normal(state), normal(line.state))) {
        problem(
          `the state after the step is not the one the actions reach: ${diff(state, line.state)}`,
        );
        run.broken = true;
        return;
      }
      const keys = (messages: readonly SpecMessage<DigestValue>[]) => messages.map(messageKey);
      if (!isDeepStrictEqual(keys(sent), keys(line.sent))) {
        problem(
          `the step sent ${line.sent.length} message(s), the actions sign ${sent.length}: ` +
            `${keys(line.sent).join(", ")} against ${keys(sent).join(", ")}`,
        );
      }
      run.state = state;
      const durable = durableOf(state);
      run.persistedBeforeLast = run.persisted.length === 0 ? [preDurable] : [...run.persisted];
      if (sent.length > 0) run.persisted = [durable];
      else if (!run.persisted.some((d) => isDeepStrictEqual(d, durable))) {
        run.persisted.push(durable);
      }
      history.sent.push(...sent);
      history.last = state;
      if (state.committed !== NO_VALUE) history.committed = state.committed;
    });
  }
  // Across the nodes of each inference: the invariants that need no meaning of values.
  const byzantineIds = new Set(options.byzantine ?? []);
  for (const [inference, byNode] of inferences) {
    const nodes = [...byNode.values()].flatMap((h) => h.last === undefined ? [] : [h.last]);
    const anyRun = [...byNode.values()].find((h) => h.run !== undefined)?.run;
    if (anyRun === undefined) continue;
    // By membership order, so a Byzantine node that wrote no trace counts too.
    const byzantine = anyRun.header.members.flatMap((id, k) => byzantineIds.has(id) ? [k + 1] : []);
    for (
      const violation of valueFreeViolations({
        cluster: anyRun.cluster,
        nodes,
        messages: [...byNode.values()].flatMap((h) => h.sent),
        byzantine,
      })
    ) {
      problems.push({ file: "(all)", line: 0, message: `inference ${inference}: ${violation}` });
    }
  }
  return {
    files: files.size,
    steps,
    actions,
    runs,
    inferences: inferences.size,
    restarts,
    problems,
  };
}

/**
 * Reads every `*.ndjson` trace file of a directory and checks them ({@linkcode validateTrace}).
 *
 * @param dir The trace directory.
 * @param options The Byzantine nodes, if any.
 * @returns The report.
 */
export async function validateTraceDir(
  dir: string,
  options: ValidateTraceOptions = {},
): Promise<TraceReport> {
  return validateTrace(await readTraceFiles(dir), options);
}

/**
 * Whether line `k` of a trace file, which is not JSON, is one a kill -9 tore: the file's last, or
 * the last before the node ran again (an instance line).
 *
 * @param lines The file's lines.
 * @param k The line's index.
 * @returns Whether it is torn.
 */
export function tornByKill(lines: readonly string[], k: number): boolean {
  const next = lines[k + 1];
  return next === undefined || next === "" || next.startsWith('{"kind":"instance"');
}

async function endsWithNewline(path: string): Promise<boolean> {
  const { size } = await Deno.stat(path);
  if (size === 0) return true;
  const file = await Deno.open(path, { read: true });
  try {
    await file.seek(size - 1, Deno.SeekMode.Start);
    const last = new Uint8Array(1);
    await file.read(last);
    return last[0] === 0x0a;
  } finally {
    file.close();
  }
}

/**
 * Reads every `*.ndjson` trace file of a directory.
 *
 * @param dir The trace directory.
 * @returns Each file's text, by file name.
 */
export async function readTraceFiles(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".ndjson")) continue;
    files.set(entry.name, await Deno.readTextFile(`${dir}/${entry.name}`));
  }
  return files;
}

// The state as JSON has it (the trace's form): sorted arrays stay, references do not matter.
function normal(state: NodeState<DigestValue>): unknown {
  return JSON.parse(JSON.stringify(state));
}

function diff(ours: NodeState<DigestValue>, theirs: NodeState<DigestValue>): string {
  const a = normal(ours) as Record<string, unknown>;
  const b = normal(theirs) as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((field) => !isDeepStrictEqual(a[field], b[field]));
  return fields.map((field) =>
    `${field} ${describe(b[field])} (the actions give ${describe(a[field])})`
  )
    .join("; ");
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}
