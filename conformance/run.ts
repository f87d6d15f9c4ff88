/**
 * Replays trace files through the core and reports mismatches and action coverage.
 *
 * @module
 */

import { type ClusterConfig, clusterConfig, type NodeState } from "../src/core/spec_state.ts";
import { type EnvironmentConfig, initialSystem, type SystemState } from "../src/sim/system.ts";
import { TLA_DIR, traceSpecHash } from "../tla/spec_hash.ts";
import {
  ALL_ACTIONS,
  applyAction,
  diffState,
  ENABLED_ACTIONS,
  enabledByAction,
  type EnabledCache,
  newDiffCache,
  newEnabledCache,
  parseShared,
  tlcEnabledText,
} from "./replay.ts";
import { commitStableViolations, invariantViolations } from "../src/core/invariants.ts";
import { type RawState, rawStates } from "./raw_state.ts";
import {
  decodeLine,
  lineBounds,
  parseTraceHeader,
  readTraceBytes,
  type TraceHeader,
  TRACES_DIR,
} from "./trace_file.ts";

/** Options of {@linkcode replayTraces}. */
export interface ReplayOptions {
  /** A change to the cluster's sizes (a test of the replay itself). */
  readonly adjustCluster?: (cluster: ClusterConfig) => ClusterConfig;
  /** Stop at the first mismatch. */
  readonly stopAtFirst?: boolean;
  /** Print mismatches. */
  readonly verbose?: boolean;
  /** Replay only the first this many behaviours of each file (the tests' slice). */
  readonly behavioursPerFileMax?: number;
  /**
   * Replay on this many Web Workers; 1 (the default) replays in this thread, and so do the
   * `adjustCluster` and `stopAtFirst`, whatever this says.
   */
  readonly workers?: number;
}

/** What a replay found. */
export interface ReplayReport {
  readonly behaviours: number;
  readonly steps: number;
  readonly mismatches: readonly string[];
  readonly coverage: ReadonlyMap<string, number>;
  readonly problems: readonly string[];
  /** Wall-clock time of the replay, reading the files excluded. */
  readonly replayMs: number;
  /** The workers that replayed (1: this thread). */
  readonly workers: number;
}

/** The most mismatches reported before the rest are only counted. */
const MISMATCHES_SHOWN_MAX = 20;

/**
 * Parses the constants of a TLC configuration (integers, booleans, sets of integers).
 *
 * @param text The `.cfg` text.
 * @returns Constant name to value.
 */
export function parseConstants(text: string): Map<string, number | boolean | number[]> {
  const out = new Map<string, number | boolean | number[]>();
  for (const line of text.split("\n")) {
    const match = /^\s*(\w+)\s*=\s*(.+?)\s*$/.exec(line);
    if (match === null) continue;
    const [, name, raw] = match as unknown as [string, string, string];
    if (/^-?\d+$/.test(raw)) out.set(name, Number(raw));
    else if (raw === "TRUE" || raw === "FALSE") out.set(name, raw === "TRUE");
    else if (raw.startsWith("{")) {
      out.set(name, raw.slice(1, -1).split(",").map((s) => s.trim()).filter((s) => s).map(Number));
    }
  }
  return out;
}

function configFromConstants(
  constants: Map<string, number | boolean | number[]>,
): { cluster: ClusterConfig; environment: EnvironmentConfig } {
  const get = (name: string): number => constants.get(name) as number;
  const cluster = clusterConfig({
    nodeCount: get("N"),
    faultsMax: get("F"),
    stageCount: get("S"),
    tokenCount: get("T"),
    checkpointIntervalTokens: get("K"),
    replicaCount: get("R"),
    seeds: constants.get("Seeds") as number[],
    viewMax: get("MaxView"),
  });
  const environment: EnvironmentConfig = {
    byzantine: constants.get("Byzantine") as number[],
    byzantineMessagesMax: get("MaxByzantineMessages"),
    crashesMax: get("MaxCrashes"),
    falseSuspicions: constants.get("FalseSuspicions") as boolean,
  };
  return { cluster, environment };
}

/** Instance keys shown per side when enabled sets differ. */
const ENABLED_DIFF_SHOWN_MAX = 4;

// The enabled instances only one side has, a line per side.
function enabledDiff(ours: readonly string[], tlc: readonly string[]): string[] {
  const tlcSet = new Set(tlc);
  const ourSet = new Set(ours);
  const onlyOurs = ours.filter((key) => !tlcSet.has(key));
  const onlyTlc = tlc.filter((key) => !ourSet.has(key));
  const shown = (keys: string[]): string =>
    keys.slice(0, ENABLED_DIFF_SHOWN_MAX).join("  ") +
    (keys.length > ENABLED_DIFF_SHOWN_MAX ? `  (${keys.length} in all)` : "");
  const diffs: string[] = [];
  if (onlyOurs.length > 0) diffs.push(`  ENABLED in TypeScript only: ${shown(onlyOurs)}`);
  if (onlyTlc.length > 0) diffs.push(`  ENABLED in TLC only: ${shown(onlyTlc)}`);
  return diffs;
}

// The enabled instances that differ, per action: the system's against TLC's `enabled` text.
function enabledDiffs(
  system: SystemState,
  cache: EnabledCache,
  text: string | undefined,
  memo: FileMemo,
): string[] {
  if (text === undefined) throw new Error("TLC state lacks variable enabled");
  const ours = enabledByAction(system, cache);
  const fields = rawStates(`[${text}]`)[0] as RawState;
  const diffs: string[] = [];
  for (let index = 0; index < ENABLED_ACTIONS.length; index++) {
    const action = ENABLED_ACTIONS[index] as (typeof ENABLED_ACTIONS)[number];
    const actionText = fields.get(action);
    if (actionText === undefined) throw new Error(`TLC's enabled lacks ${action}`);
    const decoded = memo.enabled[index] as Map<string, string>;
    let tlc = decoded.get(actionText);
    if (tlc === undefined) {
      tlc = tlcEnabledText(action, JSON.parse(actionText));
      if (actionText.length <= ENABLED_MEMO_TEXT_MAX) decoded.set(actionText, tlc);
    }
    const our = ours[index] as string;
    if (our !== tlc) diffs.push(...enabledDiff(splitKeys(our), splitKeys(tlc)));
  }
  return diffs;
}

/** Texts of one action's enabled instances up to this long are decoded once per file. */
const ENABLED_MEMO_TEXT_MAX = 4096;

function splitKeys(text: string): string[] {
  return text === "" ? [] : text.split("\n");
}

/**
 * The committed corpus: every `.ndjson.gz` in `conformance/traces/`.
 *
 * @returns The paths, in name order.
 */
export async function corpusFiles(): Promise<string[]> {
  const paths: string[] = [];
  for await (const entry of Deno.readDir(TRACES_DIR)) {
    if (entry.isFile && /\.ndjson(\.gz)?$/.test(entry.name)) {
      paths.push(`${TRACES_DIR}/${entry.name}`);
    }
  }
  return paths.sort();
}

/** A trace file's cluster and environment, with any change to the cluster applied. */
export interface FileConfig {
  readonly cluster: ClusterConfig;
  readonly environment: EnvironmentConfig;
}

/**
 * The cluster and environment of a trace file's TLC configuration.
 *
 * @param constantsText The configuration's text (`tla/<config>`).
 * @param options A change to the cluster's sizes, if any.
 * @returns The cluster (its sizes changed as asked) and the environment.
 */
export function fileConfig(
  constantsText: string,
  options: Pick<ReplayOptions, "adjustCluster"> = {},
): FileConfig {
  const base = configFromConstants(parseConstants(constantsText));
  const cluster = options.adjustCluster === undefined
    ? base.cluster
    : options.adjustCluster(base.cluster);
  return { cluster, environment: base.environment };
}

/** What the replay of one file's behaviours decoded once for all of them. */
export interface FileMemo {
  /** Canonical keys of the TLC message texts decoded so far: each distinct message once. */
  readonly messageKeys: Map<string, string>;
  /** Parses of short value texts (actions, per-node variables). */
  readonly parsed: Map<string, unknown>;
  /**
   * Per action of ENABLED_ACTIONS, its enabled-instance texts from TLC decoded
   * ({@linkcode tlcEnabledText}): two actions may write the same text.
   */
  readonly enabled: readonly Map<string, string>[];
}

/**
 * An empty {@linkcode FileMemo}.
 *
 * @returns The memo.
 */
export function newFileMemo(): FileMemo {
  return {
    messageKeys: new Map(),
    parsed: new Map(),
    enabled: ENABLED_ACTIONS.map(() => new Map()),
  };
}

// The TypeScript invariants that fail in the system's state, and CommitStable over the step.
function invariantDiffs(system: SystemState, before: readonly NodeState[]): string[] {
  const byzantine = system.environment.byzantine;
  const found = invariantViolations({
    cluster: system.cluster,
    nodes: system.nodes,
    messages: system.messages,
    byzantine,
  });
  found.push(...commitStableViolations(before, system.nodes, byzantine));
  return found.map((line) => `  TypeScript invariant fails where TLC's held: ${line}`);
}

/** One behaviour's replay: its steps and its mismatch, if any. */
export interface BehaviourResult {
  readonly steps: number;
  readonly mismatch: string | undefined;
}

/**
 * Replays one behaviour: for every step the TypeScript guard must allow TLC's action, the whole
 * next state must equal TLC's, and the set of enabled protocol actions must match. Stops at the
 * behaviour's first mismatching step.
 *
 * @param line The behaviour line.
 * @param path The trace file, for the mismatch report.
 * @param index The behaviour's index in the file (0-based; reported 1-based).
 * @param config The file's cluster and environment.
 * @param memo Decoded TLC texts, shared by one file's behaviours ({@linkcode newFileMemo}).
 * @param coverage Steps per action, counted on.
 * @returns The steps replayed and the mismatch report.
 */
export function replayBehaviour(
  line: string,
  path: string,
  index: number,
  config: FileConfig,
  memo: FileMemo,
  coverage: Map<string, number>,
): BehaviourResult {
  const where = (step: number, action: string): string =>
    `${path}: behaviour ${index + 1}, step ${step}, ${action}`;
  let states: RawState[];
  try {
    states = rawStates(line);
  } catch (error) {
    // Not a behaviour TLC wrote: a mismatch that names the file and the line, not a crash.
    return {
      steps: 0,
      mismatch: `${path}: behaviour ${index + 1} is not a TLC behaviour: ${
        (error as Error).message
      }`,
    };
  }
  const system = initialSystem(config.cluster, config.environment);
  const cache = newEnabledCache();
  const diffCache = newDiffCache(memo.messageKeys, memo.parsed);
  const initial = states[0];
  if (initial === undefined) throw new Error(`${where(0, "Init")}: no states`);
  const initDiff = diffState(system, initial, diffCache);
  if (initDiff.length > 0) {
    return { steps: 0, mismatch: `${where(0, "Init")}\n${initDiff.join("\n")}` };
  }
  let steps = 0;
  for (let step = 1; step < states.length; step++) {
    const next = states[step] as RawState;
    const action = parseShared(next.get("action") ?? "null", memo.parsed) as {
      name: string;
      params: Record<string, unknown>;
    };
    // Every enabled instance, parameters and all, on both sides, action by action; TLC's text of
    // an action decoded once per file.
    const diffs = enabledDiffs(system, cache, next.get("enabled"), memo);
    const before = system.nodes.slice();
    const outcome = applyAction(system, action.name, action.params, cache);
    if (!outcome.ok) diffs.push(`  TypeScript refused the step: ${outcome.reason}`);
    else {
      diffs.push(...diffState(system, next, diffCache));
      // TLC checked the spec's invariants on this state (the trace configurations list them):
      // the TypeScript invariants must hold too.
      if (diffs.length === 0) diffs.push(...invariantDiffs(system, before));
    }
    steps += 1;
    coverage.set(action.name, (coverage.get(action.name) ?? 0) + 1);
    if (diffs.length > 0) {
      const label = `${action.name} ${JSON.stringify(action.params)}`;
      return { steps, mismatch: `${where(step, label)}\n${diffs.join("\n")}` };
    }
  }
  return { steps, mismatch: undefined };
}

async function staleProblem(path: string, header: TraceHeader): Promise<string | undefined> {
  const current = await traceSpecHash(header.config);
  if (current === header.specSha256) return undefined;
  return `${path} comes from spec ${header.specSha256.slice(0, 12)}, but tla/ is now ` +
    `${current.slice(0, 12)}: regenerate with TLA2TOOLS=/path/to/tla2tools.jar ` +
    `TLA_COMMUNITY_MODULES=/path/to/CommunityModules-deps.jar deno task traces`;
}

/**
 * Replays trace files: for every step the TypeScript guard must allow TLC's action, the whole
 * next state must equal TLC's, and the set of enabled protocol actions must match. With
 * `workers` above 1 the behaviours are replayed on Web Workers (see `replay_worker.ts`) and
 * the results merged in file and behaviour order, so the report is the one-thread report.
 *
 * @param paths The trace files.
 * @param options Mutation hooks, reporting and workers.
 * @returns Counts, mismatches, coverage and stale-file problems.
 */
export async function replayTraces(
  paths: readonly string[],
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const parallel = (options.workers ?? 1) > 1 && options.adjustCluster === undefined &&
    !options.stopAtFirst;
  const report = parallel
    ? await replayOnWorkers(paths, options, options.workers as number)
    : await replayInThread(paths, options);
  if (options.verbose) {
    for (const mismatch of report.mismatches.slice(0, MISMATCHES_SHOWN_MAX)) {
      console.error(`mismatch: ${mismatch}`);
    }
    if (report.mismatches.length > MISMATCHES_SHOWN_MAX) {
      console.error(`... and ${report.mismatches.length - MISMATCHES_SHOWN_MAX} more mismatches`);
    }
  }
  return report;
}

async function replayInThread(
  paths: readonly string[],
  options: ReplayOptions,
): Promise<ReplayReport> {
  const coverage = new Map<string, number>(ALL_ACTIONS.map((a) => [a, 0]));
  const mismatches: string[] = [];
  const problems: string[] = [];
  let behaviours = 0;
  let steps = 0;
  let replayMs = 0;
  for (const path of paths) {
    // The file's bytes, each behaviour decoded when its turn comes (as the workers do): a
    // corpus file is tens of megabytes of text, better not held as strings all at once.
    const bytes = await readTraceBytes(path);
    const bounds = lineBounds(bytes);
    const header = parseTraceHeader(
      path,
      bounds.length === 0 ? undefined : decodeLine(bytes, bounds[0] as number, bounds[1] as number),
    );
    const stale = await staleProblem(path, header);
    if (stale !== undefined) {
      problems.push(stale);
      continue;
    }
    const config = fileConfig(await Deno.readTextFile(`${TLA_DIR}/${header.config}`), options);
    const started = performance.now();
    const count = Math.min(bounds.length / 2 - 1, options.behavioursPerFileMax ?? Infinity);
    const memo = newFileMemo();
    for (let index = 0; index < count; index++) {
      const line = decodeLine(
        bytes,
        bounds[2 * index + 2] as number,
        bounds[2 * index + 3] as number,
      );
      const result = replayBehaviour(line, path, index, config, memo, coverage);
      behaviours += 1;
      steps += result.steps;
      if (result.mismatch !== undefined) {
        mismatches.push(result.mismatch);
        if (options.stopAtFirst) break;
      }
    }
    replayMs += performance.now() - started;
    if (mismatches.length > 0 && options.stopAtFirst) break;
  }
  return { behaviours, steps, mismatches, coverage, problems, replayMs, workers: 1 };
}

/** Behaviours per unit of work handed to a worker. */
const CHUNK_BEHAVIOURS = 8;

/** A message to a replay worker. */
export type WorkerRequest =
  | {
    readonly kind: "file";
    readonly file: number;
    readonly path: string;
    /** The file's NDJSON bytes, on a `SharedArrayBuffer` (shared, not copied). */
    readonly bytes: Uint8Array;
    /** Each behaviour line's start and end, flattened (the header excluded). */
    readonly bounds: readonly number[];
    /** The TLC configuration's text. */
    readonly constants: string;
  }
  | {
    readonly kind: "chunk";
    /** The chunk's number, echoed in the answer. */
    readonly chunk: number;
    readonly file: number;
    /** The first behaviour (0-based). */
    readonly first: number;
    /** The behaviour after the last. */
    readonly end: number;
  };

/** A replay worker's answer. */
export type WorkerResponse =
  | { readonly kind: "ready" }
  | {
    readonly kind: "chunk";
    readonly chunk: number;
    readonly steps: number;
    /** Steps per action, in first-replayed order. */
    readonly coverage: readonly (readonly [string, number])[];
    /** The chunk's mismatches, in behaviour order. */
    readonly mismatches: readonly string[];
  }
  | { readonly kind: "error"; readonly message: string };

interface Chunk {
  readonly file: number;
  readonly first: number;
  readonly end: number;
}

async function replayOnWorkers(
  paths: readonly string[],
  options: ReplayOptions,
  workerCount: number,
): Promise<ReplayReport> {
  const workers: Worker[] = [];
  const ready: Promise<void>[] = [];
  for (let index = 0; index < workerCount; index++) {
    const worker = new Worker(new URL("./replay_worker.ts", import.meta.url).href, {
      type: "module",
    });
    workers.push(worker);
    const started = new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(`Replay worker failed to start: ${event.message}`));
      };
    });
    // Awaited after the files are read; until then a failure must not count as unhandled.
    started.catch(() => {});
    ready.push(started);
  }
  try {
    const problems: string[] = [];
    const files: Extract<WorkerRequest, { kind: "file" }>[] = [];
    const chunks: Chunk[] = [];
    for (const path of paths) {
      const bytes = await readTraceBytes(path);
      const bounds = lineBounds(bytes);
      const header = parseTraceHeader(
        path,
        bounds.length === 0
          ? undefined
          : decodeLine(bytes, bounds[0] as number, bounds[1] as number),
      );
      const stale = await staleProblem(path, header);
      if (stale !== undefined) {
        problems.push(stale);
        continue;
      }
      const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
      shared.set(bytes);
      const lines = bounds.slice(2);
      const count = Math.min(lines.length / 2, options.behavioursPerFileMax ?? Infinity);
      const file = files.length;
      files.push({
        kind: "file",
        file,
        path,
        bytes: shared,
        bounds: lines,
        constants: await Deno.readTextFile(`${TLA_DIR}/${header.config}`),
      });
      for (let first = 0; first < count; first += CHUNK_BEHAVIOURS) {
        chunks.push({ file, first, end: Math.min(count, first + CHUNK_BEHAVIOURS) });
      }
    }
    await Promise.all(ready);
    const started = performance.now();
    const results = await runChunks(workers, files, chunks);
    const replayMs = performance.now() - started;
    const coverage = new Map<string, number>(ALL_ACTIONS.map((a) => [a, 0]));
    const mismatches: string[] = [];
    let steps = 0;
    for (const result of results) {
      steps += result.steps;
      for (const [action, count] of result.coverage) {
        coverage.set(action, (coverage.get(action) ?? 0) + count);
      }
      mismatches.push(...result.mismatches);
    }
    const behaviours = chunks.reduce((sum, chunk) => sum + chunk.end - chunk.first, 0);
    return { behaviours, steps, mismatches, coverage, problems, replayMs, workers: workerCount };
  } finally {
    for (const worker of workers) worker.terminate();
  }
}

// Hands the chunks out in order, the next to whichever worker finishes first; the results come
// back in chunk order.
function runChunks(
  workers: readonly Worker[],
  files: readonly Extract<WorkerRequest, { kind: "file" }>[],
  chunks: readonly Chunk[],
): Promise<Extract<WorkerResponse, { kind: "chunk" }>[]> {
  const results: Extract<WorkerResponse, { kind: "chunk" }>[] = new Array(chunks.length);
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    const filesSent = workers.map(() => new Set<number>());
    const give = (slot: number): void => {
      const worker = workers[slot] as Worker;
      const chunk = chunks[next];
      if (chunk === undefined) return;
      if (!filesSent[slot]?.has(chunk.file)) {
        worker.postMessage(files[chunk.file]);
        filesSent[slot]?.add(chunk.file);
      }
      const request: WorkerRequest = { kind: "chunk", chunk: next, ...chunk };
      worker.postMessage(request);
      next += 1;
    };
    if (chunks.length === 0) {
      resolve(results);
      return;
    }
    workers.forEach((worker, slot) => {
      worker.onmessage = (event: MessageEvent<WorkerResponse>) => {
        const response = event.data;
        if (response.kind === "error") {
          reject(new Error(response.message));
          return;
        }
        if (response.kind !== "chunk") return;
        results[response.chunk] = response;
        done += 1;
        if (done === chunks.length) resolve(results);
        else give(slot);
      };
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(`Replay worker failed: ${event.message}`));
      };
      give(slot);
    });
  });
}

/** Every action must be replayed at least this often for the corpus to count as covering. */
export const COVERAGE_MIN = 50;

/**
 * Formats the coverage table.
 *
 * @param coverage Steps per action.
 * @returns The table, one action a row, flagged when under {@linkcode COVERAGE_MIN}.
 */
export function formatCoverage(coverage: ReadonlyMap<string, number>): string {
  const rows = [...coverage].map(([action, count]) =>
    `${count >= COVERAGE_MIN ? "ok  " : "LOW "} ${action.padEnd(20)} ${String(count).padStart(7)}`
  );
  return [`     ${"action".padEnd(20)} ${"steps".padStart(7)}`, ...rows].join("\n");
}
