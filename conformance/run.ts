/**
 * Replays trace files through the core and reports mismatches and action coverage.
 *
 * @module
 */

import { type ClusterConfig, clusterConfig, type CoreRules } from "../src/core/spec_state.ts";
import { type EnvironmentConfig, initialSystem } from "../src/sim/system.ts";
import { TLA_DIR, traceSpecHash } from "../tla/spec_hash.ts";
import {
  ALL_ACTIONS,
  applyAction,
  diffState,
  type EnabledCache,
  enabledNodes,
  newDiffCache,
  PROTOCOL_ACTIONS,
  rawField,
} from "./replay.ts";
import { type RawState, rawStates } from "./raw_state.ts";
import { readTraceFile, TRACES_DIR } from "./trace_file.ts";

/** Options of {@linkcode replayTraces}. */
export interface ReplayOptions {
  /** Core rules to use instead of the spec's (the mutation harness). */
  readonly rules?: Partial<CoreRules>;
  /** A change to the cluster's sizes (the mutation harness). */
  readonly adjustCluster?: (cluster: ClusterConfig) => ClusterConfig;
  /** Stop at the first mismatch (the mutation harness). */
  readonly stopAtFirst?: boolean;
  /** Print mismatches. */
  readonly verbose?: boolean;
  /** Replay only the first this many behaviours of each file (the tests' slice). */
  readonly behavioursPerFileMax?: number;
}

/** What a replay found. */
export interface ReplayReport {
  readonly behaviours: number;
  readonly steps: number;
  readonly mismatches: readonly string[];
  readonly coverage: ReadonlyMap<string, number>;
  readonly problems: readonly string[];
  readonly replayMs: number;
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

/**
 * Replays trace files: for every step the TypeScript guard must allow TLC's action, the whole
 * next state must equal TLC's, and the set of enabled protocol actions must match.
 *
 * @param paths The trace files.
 * @param options Mutation hooks and reporting.
 * @returns Counts, mismatches, coverage and stale-file problems.
 */
export async function replayTraces(
  paths: readonly string[],
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const coverage = new Map<string, number>(ALL_ACTIONS.map((a) => [a, 0]));
  const mismatches: string[] = [];
  const problems: string[] = [];
  let behaviours = 0;
  let steps = 0;
  let replayMs = 0;
  for (const path of paths) {
    const file = await readTraceFile(path);
    const current = await traceSpecHash(file.header.config);
    if (current !== file.header.specSha256) {
      problems.push(
        `${path} comes from spec ${file.header.specSha256.slice(0, 12)}, but tla/ is now ` +
          `${current.slice(0, 12)}: regenerate with TLA2TOOLS=/path/to/tla2tools.jar ` +
          `TLA_COMMUNITY_MODULES=/path/to/CommunityModules-deps.jar deno task traces`,
      );
      continue;
    }
    const constants = parseConstants(await Deno.readTextFile(`${TLA_DIR}/${file.header.config}`));
    const base = configFromConstants(constants);
    let cluster: ClusterConfig = {
      ...base.cluster,
      rules: { ...base.cluster.rules, ...options.rules },
    };
    if (options.adjustCluster !== undefined) cluster = options.adjustCluster(cluster);
    const started = performance.now();
    const count = Math.min(file.lines.length, options.behavioursPerFileMax ?? Infinity);
    // Canonical keys of the TLC message texts decoded so far: each distinct message once.
    const messageKeys = new Map<string, string>();
    for (let index = 0; index < count; index++) {
      const states = rawStates(file.lines[index] as string);
      behaviours += 1;
      const system = initialSystem(cluster, base.environment);
      const where = (step: number, action: string): string =>
        `${path}: behaviour ${index + 1}, step ${step}, ${action}`;
      let failed = false;
      const cache: EnabledCache = new Map();
      const diffCache = newDiffCache(messageKeys);
      const initial = states[0];
      if (initial === undefined) throw new Error(`${where(0, "Init")}: no states`);
      const initDiff = diffState(system, initial, diffCache);
      if (initDiff.length > 0) {
        mismatches.push(`${where(0, "Init")}\n${initDiff.join("\n")}`);
        failed = true;
      }
      for (let step = 1; step < states.length && !failed; step++) {
        const next = states[step] as RawState;
        const action = JSON.parse(next.get("action") ?? "null") as {
          name: string;
          params: Record<string, unknown>;
        };
        const diffs = sameEnabled(
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
          mismatches.push(`${where(step, label)}\n${diffs.join("\n")}`);
          failed = true;
        }
      }
      if (failed && options.stopAtFirst) break;
    }
    replayMs += performance.now() - started;
    if (mismatches.length > 0 && options.stopAtFirst) break;
  }
  if (options.verbose) {
    for (const mismatch of mismatches.slice(0, MISMATCHES_SHOWN_MAX)) {
      console.error(`mismatch: ${mismatch}`);
    }
    if (mismatches.length > MISMATCHES_SHOWN_MAX) {
      console.error(`... and ${mismatches.length - MISMATCHES_SHOWN_MAX} more mismatches`);
    }
  }
  return { behaviours, steps, mismatches, coverage, problems, replayMs };
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
