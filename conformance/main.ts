/**
 * `deno task conformance [--workers N] [--stop-at-first] [--skip-results] [trace files...]`: checks that the committed model-checking results
 * belong to the current TLA+ spec and came out as `tla/models.json` expects, that the TypeScript
 * invariants fail exactly where TLC's committed counterexamples violate them and agree with TLC on
 * perturbed corpus states (`invariant_verdicts.ts`), then replays TLC
 * traces through the pure core (`src/core/`): with no arguments the committed corpus in
 * `conformance/traces/`. Any mismatch (file, behaviour, step, action with parameters and a
 * per-variable diff), stale trace or stale result fails the run. Prints the results table and
 * the action coverage table. The behaviours are replayed on `navigator.hardwareConcurrency` Web
 * Workers unless `--workers N` says otherwise (1: in the main thread); the report is the same.
 *
 * The task runs V8 with `--single-threaded` (no background compiler or collector threads, which
 * would compete with the workers for the cores) and `--no-lazy-feedback-allocation` (type
 * feedback from a function's first call, so it is optimised sooner): a run is a few seconds, most
 * of it V8 warming up, and together they made one-shot runs about 15% faster on a 2-core machine
 * (medians of 5 to 6 runs each; `bench/conformance_bench.ts`, group `one-shot`).
 *
 * @module
 */

import { parseArgs as parseCommandLine } from "node:util";
import { readArgs } from "../src/cli/args.ts";
import { modelHash, type ModelSettings, TLA_DIR } from "../tla/spec_hash.ts";
import { formatResults, resultProblems, type TlcResults } from "./tlc_results.ts";
import { checkCounterexamples } from "./counterexamples.ts";
import { checkVerdicts, formatVerdicts } from "./invariant_verdicts.ts";
import { corpusFiles, COVERAGE_MIN, formatCoverage, replayTraces } from "./run.ts";
import { TraceFileError } from "./trace_file.ts";

async function checkResults(): Promise<string[]> {
  const models: (ModelSettings & { name: string })[] = JSON.parse(
    await Deno.readTextFile(`${TLA_DIR}/models.json`),
  );
  let results: TlcResults;
  try {
    results = JSON.parse(await Deno.readTextFile(`${TLA_DIR}/results/results.json`));
  } catch (error) {
    return [
      `No TLC results (${
        (error as Error).message
      }): run TLA2TOOLS=/path/to/tla2tools.jar deno task tlc`,
    ];
  }
  console.log(results.tlcVersion);
  console.log(formatResults(results));
  const hashes = new Map<string, string>();
  for (const model of models) hashes.set(model.name, await modelHash(model));
  const problems = resultProblems(results, hashes);
  if (problems.length === 0) console.log(`${models.length} models as expected`);
  return problems;
}

/** The command line of `deno task conformance`. */
export interface ConformanceArgs {
  /** Web Workers to replay on (1: this thread). */
  readonly workers: number;
  /** Stop at the first mismatching behaviour (the mutation runs). */
  readonly stopAtFirst: boolean;
  /**
   * Leave out the check of `tla/results/` against the spec: it reads no code of `src/core/`, so a
   * mutation run of the core skips it.
   */
  readonly skipResults: boolean;
  /** The trace files (none: the committed corpus). */
  readonly files: string[];
}

/**
 * Reads `--workers N` (or `--workers=N`), `--stop-at-first`, `--skip-results` and the trace files.
 *
 * @param args The arguments.
 * @returns The worker count (default `navigator.hardwareConcurrency`), whether to stop at the
 * first mismatch, and the files.
 * @throws {Error} On an unknown flag or a worker count that is not a positive integer.
 */
export function parseArgs(args: readonly string[]): ConformanceArgs {
  const { values, positionals } = parseCommandLine({
    args: [...args],
    allowPositionals: true,
    options: {
      workers: { type: "string" },
      "stop-at-first": { type: "boolean" },
      "skip-results": { type: "boolean" },
    },
  });
  let workers = navigator.hardwareConcurrency;
  if (values.workers !== undefined) {
    if (!/^[1-9]\d*$/.test(values.workers)) {
      throw new Error(`--workers needs a positive integer, got ${values.workers}`);
    }
    workers = Number(values.workers);
  }
  return {
    workers,
    stopAtFirst: values["stop-at-first"] === true,
    skipResults: values["skip-results"] === true,
    files: positionals,
  };
}

/** The most probe disagreements listed; the rest are counted. */
const VERDICT_PROBLEMS_SHOWN_MAX = 10;

const COMMAND = {
  name: "conformance",
  usage: "deno task conformance [--workers N] [--stop-at-first] [--skip-results] [trace files...]",
  description: "Checks the committed TLC results against the spec, the TypeScript invariants " +
    "against TLC's counterexamples and verdicts, then replays TLC's traces (the committed corpus " +
    "without files) through the core, comparing every variable and every enabled action instance " +
    "at every step; prints the results and action coverage tables.",
  options: {
    workers: { type: "string" },
    "stop-at-first": { type: "boolean" },
    "skip-results": { type: "boolean" },
  },
  positionals: true,
} as const;

async function main(): Promise<number> {
  const read = readArgs(COMMAND, Deno.args);
  if ("exit" in read) return read.exit;
  let args: ConformanceArgs;
  try {
    args = parseArgs(Deno.args);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  const { workers, files, stopAtFirst, skipResults } = args;
  const problems = skipResults ? [] : await checkResults();
  const counterexamples = await checkCounterexamples();
  for (const result of counterexamples) {
    if (result.problem !== undefined) {
      problems.push(`${result.model}: the TypeScript ${result.invariant} ${result.problem}`);
    }
  }
  const agreeing = counterexamples.filter((result) => result.problem === undefined).length;
  console.log(
    `${agreeing}/${counterexamples.length} counterexamples: the TypeScript invariant fails ` +
      "exactly at TLC's last state",
  );
  const verdicts = await checkVerdicts();
  const disagreements = verdicts.flatMap((result) => result.problems);
  problems.push(...disagreements.slice(0, VERDICT_PROBLEMS_SHOWN_MAX));
  if (disagreements.length > VERDICT_PROBLEMS_SHOWN_MAX) {
    problems.push(`and ${disagreements.length - VERDICT_PROBLEMS_SHOWN_MAX} more verdict problems`);
  }
  console.log(
    `invariants against TLC on perturbed corpus states: ${formatVerdicts(verdicts)}; ` +
      `${disagreements.length} disagreements`,
  );
  if (stopAtFirst && problems.length > 0) {
    for (const problem of problems) console.error(`error: ${problem}`);
    return 1;
  }
  const paths = files.length > 0 ? files : await corpusFiles();
  let report;
  try {
    report = await replayTraces(paths, { verbose: true, workers, stopAtFirst });
  } catch (error) {
    // A file given that is not a trace: one line naming it, as for a bad flag.
    if (!(error instanceof TraceFileError)) throw error;
    console.error(`error: ${error.message}`);
    return 2;
  }
  problems.push(...report.problems);
  console.log(formatCoverage(report.coverage));
  const stepsPerSecond = Math.round(report.steps / (report.replayMs / 1000));
  console.log(
    `replayed ${report.behaviours} behaviours, ${report.steps} steps from ${paths.length} files ` +
      `in ${(report.replayMs / 1000).toFixed(2)} s on ${report.workers} ` +
      `${report.workers === 1 ? "thread" : "workers"} (${stepsPerSecond} steps/s): ` +
      `${report.mismatches.length} mismatches`,
  );
  if (report.mismatches.length > 0) {
    problems.push(`${report.mismatches.length} behaviours mismatch`);
  }
  if (files.length === 0) {
    for (const [action, count] of report.coverage) {
      if (count < COVERAGE_MIN) problems.push(`Action ${action} replayed only ${count} times`);
    }
  }
  for (const problem of problems) console.error(`error: ${problem}`);
  return problems.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
