/**
 * `deno task simulate --seed S --steps N [--seeds COUNT] [--nodes 4|7] [--sweep]`: runs the
 * deterministic simulator on seeds `S .. S + COUNT - 1` (a random seed when `--seed` is absent),
 * each with a safety phase of `N` steps and a liveness phase. Without `--sweep` it stops at the
 * first failure and prints the command that reproduces it; with `--sweep` it runs every seed,
 * prints each failure with its command, and ends with the failures counted per kind (the phase
 * and the invariant, or the liveness failure).
 *
 * @module
 */

import { readArgs } from "../cli/args.ts";
import { simulate, SIMULATION_NODE_COUNTS, type SimulationReport } from "./simulator.ts";

/** Safety-phase steps when `--steps` is absent. */
const STEPS_DEFAULT = 500;
/** Seeds are below this (the simulator's PRNG is seeded with 32 bits). */
const SEED_LIMIT = 2 ** 32;
/** Failures a sweep prints one by one; past it only the counts per kind grow. */
const SWEEP_FAILURES_PRINTED_MAX = 100;

const USAGE = "usage: deno task simulate [--seed S] [--steps N] [--seeds COUNT] [--nodes " +
  `${SIMULATION_NODE_COUNTS.join("|")}] [--sweep]`;

const COMMAND = {
  name: "simulate",
  usage: USAGE.slice("usage: ".length),
  description: "Runs the deterministic simulator on seeds S .. S + COUNT - 1 (a random seed " +
    "without --seed): a safety phase of N steps with faults, then a liveness phase in which every " +
    "honest node must commit. Without --sweep it stops at the first failure and prints the " +
    "command that reproduces it; with --sweep it runs every seed and counts the failures per kind.",
  options: {
    seed: { type: "string" },
    steps: { type: "string" },
    seeds: { type: "string" },
    nodes: { type: "string" },
    sweep: { type: "boolean" },
  },
} as const;

/** The parsed command line. */
interface Options {
  readonly first: number;
  readonly steps: number;
  readonly count: number;
  readonly nodeCount: number;
  readonly sweep: boolean;
}

function integer(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`--${name} needs an integer of at least ${min}, got "${text}"`);
  }
  return value;
}

function parse(
  values: { seed?: string; steps?: string; seeds?: string; nodes?: string; sweep?: boolean },
): Options {
  const random = crypto.getRandomValues(new Uint32Array(1))[0] as number;
  const nodeCount = integer("nodes", values.nodes, SIMULATION_NODE_COUNTS[0] as number, 1);
  if (!SIMULATION_NODE_COUNTS.includes(nodeCount)) {
    throw new RangeError(`--nodes must be one of ${SIMULATION_NODE_COUNTS.join(", ")}`);
  }
  const first = integer("seed", values.seed, random, 0);
  const count = integer("seeds", values.seeds, 1, 1);
  // The simulator's PRNG takes a 32-bit seed: a larger one would repeat a smaller one's run.
  if (first + count > SEED_LIMIT) {
    throw new RangeError(`--seed plus --seeds must stay within ${SEED_LIMIT}`);
  }
  return {
    first,
    steps: integer("steps", values.steps, STEPS_DEFAULT, 0),
    count,
    nodeCount,
    sweep: values.sweep ?? false,
  };
}

/**
 * The kind of a failure, for a sweep's counts: the phase and the invariants that failed, or
 * the liveness failure.
 *
 * @param failure A report's failure text.
 * @returns For example `safety: Agreement` or `liveness: never committed`.
 */
export function failureKind(failure: string): string {
  const invariant = /^(safety|liveness) step \d+: (.*)$/.exec(failure);
  if (invariant !== null) {
    const names = (invariant[2] as string).split("; ").map((part) => part.split(":")[0]);
    return `${invariant[1]}: ${[...new Set(names)].sort().join(", ")}`;
  }
  if (failure.startsWith("liveness:")) return "liveness: never committed";
  if (failure.startsWith("exception:")) return "exception";
  if (failure.startsWith("durability:")) return "durability: a durable field not persisted";
  return failure;
}

function reproduce(options: Options, seed: number): string {
  const nodes = options.nodeCount === SIMULATION_NODE_COUNTS[0]
    ? ""
    : ` --nodes ${options.nodeCount}`;
  return `deno task simulate --seed ${seed} --steps ${options.steps}${nodes}`;
}

// One seed's run; an exception (our own bug, not a property that failed) is a failure too, so
// that a sweep counts it and goes on.
function simulateOne(options: Options, seed: number): SimulationReport {
  try {
    return simulate({ seed, steps: options.steps, nodeCount: options.nodeCount });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      seed,
      ok: false,
      failure: `exception: ${message}`,
      steps: 0,
      byzantine: [],
      viewReached: -1,
      committed: -1,
      learned: 0,
      timeouts: 0,
    };
  }
}

function run(options: Options): number {
  const started = performance.now();
  const kinds = new Map<string, number>();
  let failures = 0;
  let learned = 0;
  let timeouts = 0;
  for (let seed = options.first; seed < options.first + options.count; seed++) {
    const report = simulateOne(options, seed);
    learned += report.learned;
    timeouts += report.timeouts;
    if (report.ok) continue;
    failures += 1;
    const kind = failureKind(report.failure);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    if (!options.sweep) {
      console.error(`seed ${seed} failed: ${report.failure}`);
      console.error(`reproduce: ${reproduce(options, seed)}`);
      return 1;
    }
    if (failures <= SWEEP_FAILURES_PRINTED_MAX) {
      console.error(`seed ${seed} failed: ${report.failure}`);
      console.error(`  reproduce: ${reproduce(options, seed)}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const what = `${options.count} seeds from ${options.first}, n = ${options.nodeCount}, ` +
    `${options.steps} safety steps each`;
  if (failures === 0) {
    console.log(
      `${what}: all invariants held and every run committed (${learned} honest nodes by state ` +
        `transfer, ${timeouts} view-change timeouts) in ${seconds.toFixed(1)} s`,
    );
    return 0;
  }
  console.error(`${what}: ${failures} failed in ${seconds.toFixed(1)} s`);
  for (const [kind, count] of [...kinds].sort((a, b) => b[1] - a[1])) {
    console.error(`  ${count} ${kind}`);
  }
  return 1;
}

function main(args: readonly string[]): number {
  const read = readArgs(COMMAND, args);
  if ("exit" in read) return read.exit;
  let options: Options;
  try {
    options = parse(read.values);
  } catch (error) {
    console.error(`simulate: ${error instanceof Error ? error.message : String(error)}`);
    console.error(USAGE);
    return 2;
  }
  return run(options);
}

if (import.meta.main) Deno.exit(main(Deno.args));
