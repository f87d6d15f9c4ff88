/**
 * Replays trace files through the core and reports mismatches and action coverage.
 *
 * @module
 */

import { type ClusterConfig, clusterConfig } from "../src/core/spec_state.ts";
import { type EnvironmentConfig, initialSystem } from "../src/sim/system.ts";
import { TLA_DIR, traceSpecHash } from "../tla/spec_hash.ts";
import {
  ALL_ACTIONS,
  applyAction,
  diffState,
  enabledNodes,
  enabledText,
  newDiffCache,
  newEnabledCache,
  parseShared,
  PROTOCOL_ACTIONS,
  rawField,
} from "./replay.ts";
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
   * mutation hooks and `stopAtFirst`, whatever this says.
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

function sameEnabled(ours: Record<string, number[]>, tlc: Record<string, number[]>): string[] {
  const diffs: string[] = [];
  for (const action of PROTOCOL_ACTIONS) {
    const a = ours[action] ?? [];
    const b = tlc[action] ?? [];
    if (sameAscending(a, b)) continue;
    const sorted = [...b].sort((x, y) => x - y);
    if (a.join(",") !== sorted.join(",")) {
      diffs.push(`  ENABLED ${action}: TypeScript nodes {${a}}, TLC nodes {${sorted}}`);
    }
  }
  return diffs;
}

// Whether `b` is `a` (ascending) element for element: the common case, without sorting.
function sameAscending(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
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

/** A trace file's cluster and environment, with the mutation hooks applied. */
export interface FileConfig {
  readonly cluster: ClusterConfig;
  readonly environment: EnvironmentConfig;
}

/**
 * The cluster and environment of a trace file's TLC configuration.
 *
 * @param constantsText The configuration's text (`tla/<config>`).
 * @param options The mutation hooks, if any.
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
  /** Parses of short value texts (actions, enabled sets, per-node variables). */
  readonly parsed: Map<string, unknown>;
}

/**
 * An empty {@linkcode FileMemo}.
 *
 * @returns The memo.
 */
export function newFileMemo(): FileMemo {
  return { messageKeys: new Map(), parsed: new Map() };
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
  const states = rawStates(line);
  const system = initialSystem(config.cluster, config.environment);
  const where = (step: number, action: string): string =>
    `${path}: behaviour ${index + 1}, step ${step}, ${action}`;
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
    // TLC writes `enabled` as our text is (actions in order, nodes ascending): the same text is
    // the same sets, otherwise parse it and compare as sets.
    const diffs = next.get("enabled") === enabledText(system, cache) ? [] : sameEnabled(
      enabledNodes(system, cache),
      rawField(next, "enabled", diffCache) as Record<string, number[]>,
    );
    const outcome = applyAction(system, action.name, action.params);
    if (!outcome.ok) diffs.push(`  TypeScript refused the step: ${outcome.reason}`);
    else diffs.push(...diffState(system, next, diffCache));
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
