/**
 * `deno task mutation [files...]`: mutation testing of `src/core/` with StrykerJS (9.6.1, the
 * last version for Node 20; `conformance/stryker/package.json`), with the conformance run alone
 * as the test: `conformance/main.ts --workers 1 --stop-at-first` on the committed corpus, the
 * mutant switched on through `__STRYKER_ACTIVE_MUTANT__`. One Stryker run per file keeps each
 * run's sandbox small. It prints each file's score over the mutants that are not equivalent
 * (`conformance/equivalent_mutants.json`: a one-line reason for each, keyed by file, mutator
 * and the replaced text), lists every survivor that file does not explain, and writes Stryker's
 * JSON reports to `reports/mutation/`. Not part of CI: a full run takes the better part of an
 * hour on two cores.
 *
 * @module
 */

import { readArgs } from "../src/cli/args.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const STRYKER_DIR = `${ROOT}/conformance/stryker`;
const REPORTS_DIR = `${ROOT}/reports/mutation`;
const EQUIVALENT_FILE = `${ROOT}/conformance/equivalent_mutants.json`;

/** The files of `src/core/` mutated by default: the protocol's, which the replay runs. */
export const MUTATED_FILES = [
  "src/core/actions.ts",
  "src/core/_tally.ts",
  "src/core/assignment.ts",
  "src/core/checkpointing.ts",
  "src/core/commitment.ts",
  "src/core/computation.ts",
  "src/core/conflicting.ts",
  "src/core/invariants.ts",
  "src/core/message_key.ts",
  "src/core/received.ts",
  "src/core/spec_state.ts",
  "src/core/transition.ts",
  "src/core/view_change.ts",
] as const;

/** What the conformance run is, as Stryker's command test runner runs it. */
const TEST_COMMAND = "deno run --frozen --allow-read --allow-env=__STRYKER_ACTIVE_MUTANT__ " +
  "--v8-flags=--single-threaded conformance/main.ts --workers 1 --stop-at-first --skip-results";

/** One mutant of Stryker's JSON report (mutation-testing-report-schema), as far as read here. */
export interface ReportedMutant {
  readonly id: string;
  readonly mutatorName: string;
  readonly replacement?: string;
  readonly status: string;
  readonly location: { readonly start: { readonly line: number; readonly column: number } };
}

/** A mutant's identity across runs: file, mutator and the text it replaced and put in. */
export function mutantKey(file: string, mutant: ReportedMutant, original: string): string {
  return `${file} | ${mutant.mutatorName} | ${original} => ${mutant.replacement ?? ""}`;
}

/**
 * A class of equivalent mutants: a mutator's mutants (any mutator's when omitted) of text that
 * follows `after`, or that lies within the top-level declaration that starts with `within`.
 */
export interface EquivalenceRule {
  /** Stryker's mutator name; every mutator when omitted. */
  readonly mutator?: string;
  /** What the mutated text follows in the source (whitespace trimmed). */
  readonly after?: string;
  /** The start of a top-level declaration (to its closing brace at column 0) holding the mutant. */
  readonly within?: string;
  /** The file the rule is for; every file when omitted. */
  readonly file?: string;
  /**
   * The code is not run by the replay at all (another layer's helper living in the core): its
   * survivors are counted apart, outside the score, rather than as equivalent.
   */
  readonly outside?: boolean;
  /** Why every such mutant is equivalent for the conformance run. */
  readonly reason: string;
}

/** `conformance/equivalent_mutants.json`. */
export interface Equivalents {
  /** Classes of equivalent mutants. */
  readonly rules: readonly EquivalenceRule[];
  /** Single equivalent mutants, by {@linkcode mutantKey}, each with its reason. */
  readonly mutants: Readonly<Record<string, string>>;
}

/** One file's outcome. */
export interface FileScore {
  readonly file: string;
  readonly killed: number;
  readonly survived: number;
  readonly equivalent: number;
  /** Survivors in code the replay does not run (rules marked `outside`). */
  readonly outside: number;
  readonly other: number;
  /** Survivors that no entry of the equivalent-mutants file explains. */
  readonly unexplained: readonly string[];
}

/** Statuses that count as caught by the conformance run. */
const CAUGHT = new Set(["Killed", "Timeout", "RuntimeError", "CompileError"]);

/**
 * Scores one file's report against the equivalent mutants.
 *
 * @param file The file.
 * @param source The file's text (to recover each mutant's original text).
 * @param mutants The report's mutants of that file, with their original spans.
 * @param equivalent Known equivalent mutants: classes, and single ones by {@linkcode mutantKey}.
 * @returns The score's parts.
 */
export function scoreFile(
  file: string,
  source: string,
  mutants: readonly (ReportedMutant & {
    location: { start: { line: number; column: number }; end: { line: number; column: number } };
  })[],
  equivalent: Equivalents,
): FileScore {
  const lines = source.split("\n");
  const offset = (line: number, column: number): number => {
    let at = 0;
    for (let index = 0; index < line - 1; index++) at += (lines[index] as string).length + 1;
    return at + column - 1;
  };
  let killed = 0;
  let survived = 0;
  let equivalentCount = 0;
  let outside = 0;
  let other = 0;
  const unexplained: string[] = [];
  for (const mutant of mutants) {
    const { start, end } = mutant.location;
    const original = source.slice(offset(start.line, start.column), offset(end.line, end.column));
    const key = mutantKey(file, mutant, original.replace(/\s+/g, " "));
    const at = offset(start.line, start.column);
    const before = source.slice(0, at).trimEnd();
    const rule = equivalent.rules.find((rule) =>
      (rule.file === undefined || rule.file === file) &&
      (rule.mutator === undefined || rule.mutator === mutant.mutatorName) &&
      (rule.after === undefined || before.endsWith(rule.after)) &&
      (rule.within === undefined || withinDeclaration(source, rule.within, at))
    );
    // A caught mutant is not equivalent, whatever a rule says; a survivor is, if a rule or an
    // entry explains it.
    if (CAUGHT.has(mutant.status)) {
      killed += 1;
    } else if (mutant.status === "Survived" || mutant.status === "NoCoverage") {
      if (rule?.outside === true) outside += 1;
      else if (rule !== undefined || equivalent.mutants[key] !== undefined) equivalentCount += 1;
      else {
        survived += 1;
        unexplained.push(`${file}:${start.line}:${start.column} ${key}`);
      }
    } else {
      other += 1;
    }
  }
  return { file, killed, survived, equivalent: equivalentCount, outside, other, unexplained };
}

// Whether `at` lies in the top-level declaration of `source` that starts with `start`.
function withinDeclaration(source: string, start: string, at: number): boolean {
  const from = source.startsWith(start) ? 0 : source.indexOf(`\n${start}`);
  if (from < 0) return false;
  const end = source.indexOf("\n}", from + 1);
  return at >= from && (end < 0 || at <= end + 2);
}

async function runStryker(file: string): Promise<void> {
  const reportFile = `${REPORTS_DIR}/${file.replaceAll("/", "_")}.json`;
  const config = {
    testRunner: "command",
    commandRunner: { command: TEST_COMMAND },
    coverageAnalysis: "off",
    concurrency: 2,
    mutate: [file],
    reporters: ["json", "progress"],
    jsonReporter: { fileName: reportFile },
    tempDirName: ".stryker-tmp",
    cleanTempDir: "always",
    ignorePatterns: [
      "conformance/stryker/node_modules",
      "reports",
      "bench",
      "spec/vectors",
      "models",
      "src/model",
      "src/runtime",
      "src/wire",
    ],
    timeoutMS: 60_000,
    timeoutFactor: 2,
    logLevel: "warn",
  };
  const configPath = await Deno.makeTempFile({ prefix: "stryker-", suffix: ".json" });
  try {
    await Deno.writeTextFile(configPath, JSON.stringify(config));
    const status = await new Deno.Command("node", {
      cwd: ROOT,
      args: [`${STRYKER_DIR}/node_modules/@stryker-mutator/core/bin/stryker.js`, "run", configPath],
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    if (!status.success) throw new Error(`Stryker failed on ${file} (exit ${status.code})`);
  } finally {
    await Deno.remove(configPath);
  }
}

async function readScore(file: string, equivalent: Equivalents): Promise<FileScore> {
  const report = JSON.parse(
    await Deno.readTextFile(`${REPORTS_DIR}/${file.replaceAll("/", "_")}.json`),
  );
  const entry = report.files[file] ?? Object.entries(report.files)
    .find(([name]) => name.endsWith(file))?.[1];
  if (entry === undefined) throw new Error(`the report of ${file} lacks it`);
  // The report's own copy of the source: the mutants' locations are in it, even if the file
  // changed since the run.
  const source: string = entry.source ?? await Deno.readTextFile(`${ROOT}/${file}`);
  return scoreFile(file, source, entry.mutants, equivalent);
}

function percent(part: number, whole: number): string {
  return whole === 0 ? "  -  " : `${(100 * part / whole).toFixed(1)}%`;
}

const COMMAND = {
  name: "mutation",
  usage: "deno task mutation [--report-only] [files...]",
  description: "Mutation testing of src/core/ with StrykerJS (install it once: npm ci --prefix " +
    "conformance/stryker), the conformance run alone as the test; prints each file's score over " +
    "the mutants that are not equivalent and every survivor it does not explain.",
  options: { "report-only": { type: "boolean" } },
  positionals: true,
} as const;

async function main(): Promise<number> {
  const read = readArgs(COMMAND, Deno.args);
  if ("exit" in read) return read.exit;
  const files = read.positionals.length > 0 ? read.positionals : [...MUTATED_FILES];
  const reportOnly = read.values["report-only"] === true;
  try {
    await Deno.stat(`${STRYKER_DIR}/node_modules/@stryker-mutator/core`);
  } catch {
    console.error(
      "error: StrykerJS is not installed: run npm ci --prefix conformance/stryker (Node 20)",
    );
    return 2;
  }
  const equivalent: Equivalents = JSON.parse(await Deno.readTextFile(EQUIVALENT_FILE));
  await Deno.mkdir(REPORTS_DIR, { recursive: true });
  const scores: FileScore[] = [];
  for (const file of files) {
    if (!reportOnly) await runStryker(file);
    scores.push(await readScore(file, equivalent));
  }
  console.log("file                          killed  survived  equivalent  outside  other  score");
  for (const s of scores) {
    console.log(
      `${s.file.padEnd(30)}${String(s.killed).padStart(6)}  ${String(s.survived).padStart(8)}  ` +
        `${String(s.equivalent).padStart(10)}  ${String(s.outside).padStart(7)}  ` +
        `${String(s.other).padStart(5)}  ` +
        percent(s.killed, s.killed + s.survived),
    );
  }
  const killed = scores.reduce((sum, s) => sum + s.killed, 0);
  const survived = scores.reduce((sum, s) => sum + s.survived, 0);
  const equivalentCount = scores.reduce((sum, s) => sum + s.equivalent, 0);
  const outside = scores.reduce((sum, s) => sum + s.outside, 0);
  console.log(
    `all: ${killed} killed, ${survived} survived, ${equivalentCount} equivalent, ${outside} ` +
      "outside the replay: score " +
      `${percent(killed, killed + survived)} of the non-equivalent mutants`,
  );
  for (const s of scores) for (const line of s.unexplained) console.log(`survived: ${line}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
