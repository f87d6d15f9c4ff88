/**
 * `deno task guard-coverage`: how often each guard conjunct of the core was seen true and false
 * by the conformance replay, measured rather than assumed. It runs `conformance/main.ts` (the
 * committed corpus, one thread) under V8's block coverage, reads the branch counts of
 * `src/core/` back (`deno coverage --lcov`), and, for every guard (an `if` whose branch returns
 * `disabled(...)`: one conjunct of a spec action's enabling condition), prints how many times it
 * refused and how many times it let the step on. A guard never seen both ways fails the task,
 * unless `conformance/unreachable_guards.json` says why the corpus cannot reach that side (and a
 * guard listed there that is now seen both ways fails it too, so the list stays true).
 *
 * @module
 */

import { readArgs } from "../src/cli/args.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const EXCEPTIONS_FILE = `${ROOT}/conformance/unreachable_guards.json`;

/** The core files whose guards the replay drives. */
export const GUARDED_FILES = [
  "src/core/assignment.ts",
  "src/core/computation.ts",
  "src/core/checkpointing.ts",
  "src/core/commitment.ts",
  "src/core/view_change.ts",
] as const;

/** One guard's counts. */
export interface GuardCount {
  /** The file, relative to the root. */
  readonly file: string;
  /** The guard's line (1-based). */
  readonly line: number;
  /** The guard's condition, as written. */
  readonly source: string;
  /** Times the guard refused (its `disabled` branch ran). */
  readonly refused: number;
  /** Times the step went past it. */
  readonly passed: number;
}

/**
 * The branch counts of an lcov report: per source file, per line, the counts of its branches.
 *
 * @param lcov The report.
 * @returns Per file path (as the report names it), per line, the counts in order.
 */
export function branchCounts(lcov: string): Map<string, Map<number, number[]>> {
  const out = new Map<string, Map<number, number[]>>();
  let current: Map<number, number[]> | undefined;
  for (const line of lcov.split("\n")) {
    if (line.startsWith("SF:")) {
      current = new Map();
      out.set(line.slice(3), current);
    } else if (line.startsWith("BRDA:") && current !== undefined) {
      const [lineNumber, , , count] = line.slice(5).split(",");
      const number = Number(lineNumber);
      const counts = current.get(number) ?? [];
      counts.push(count === "-" ? 0 : Number(count));
      current.set(number, counts);
    }
  }
  return out;
}

/**
 * The guards of a source file: each `if` whose branch is `return disabled(...)`, on the same line
 * or within the braces that follow.
 *
 * @param text The file's text.
 * @returns The guards' lines (1-based) and conditions.
 */
export function guardsOf(text: string): { line: number; source: string }[] {
  const lines = text.split("\n");
  const out: { line: number; source: string }[] = [];
  for (let index = 0; index < lines.length; index++) {
    const trimmed = (lines[index] as string).trim();
    if (!trimmed.startsWith("if (")) continue;
    let returnsDisabled = trimmed.includes("return disabled(");
    if (!returnsDisabled && trimmed.endsWith("{")) {
      // The block up to its closing brace at the if's indentation.
      const indent = (lines[index] as string).search(/\S/);
      for (let next = index + 1; next < lines.length; next++) {
        const body = lines[next] as string;
        if (body.search(/\S/) === indent && body.trim().startsWith("}")) break;
        if (body.includes("return disabled(")) returnsDisabled = true;
      }
    }
    if (returnsDisabled) {
      const condition = trimmed.replace(/\s*return disabled\(.*$/, "").replace(/\s*\{$/, "");
      out.push({ line: index + 1, source: condition });
    }
  }
  return out;
}

/**
 * Each guard's counts from the branch counts of a replay.
 *
 * @param counts The lcov branch counts ({@linkcode branchCounts}).
 * @param root The project's root (the lcov names files by absolute path).
 * @returns One entry per guard of {@linkcode GUARDED_FILES}.
 * @throws {Error} When a guarded file is missing from the report.
 */
export async function guardCounts(
  counts: Map<string, Map<number, number[]>>,
  root: string = ROOT,
): Promise<GuardCount[]> {
  const out: GuardCount[] = [];
  for (const file of GUARDED_FILES) {
    const perLine = counts.get(`${root}/${file}`);
    if (perLine === undefined) throw new Error(`the coverage report lacks ${file}`);
    for (const guard of guardsOf(await Deno.readTextFile(`${root}/${file}`))) {
      // V8's ranges for `if (c) return ...;`: the branch, then the code after it.
      const [refused = 0, passed = 0] = perLine.get(guard.line) ?? [];
      out.push({ file, ...guard, refused, passed });
    }
  }
  return out;
}

/**
 * The key of a guard in the exceptions file: its file and condition (not its line, which moves).
 *
 * @param guard The guard.
 * @returns `file: condition`.
 */
export function guardKey(guard: Pick<GuardCount, "file" | "source">): string {
  return `${guard.file}: ${guard.source}`;
}

/**
 * The coverage table: per file the guards seen both ways, then every guard that was not, with
 * its counts and whether an exception explains it.
 *
 * @param guards The guards' counts.
 * @param exceptions Why a side of some guards cannot be reached, by {@linkcode guardKey}.
 * @returns The table's lines and the problems (unexplained or stale exceptions).
 */
export function coverageTable(
  guards: readonly GuardCount[],
  exceptions: Readonly<Record<string, string>>,
): { lines: string[]; problems: string[] } {
  const lines = ["file                          guards  both ways"];
  const problems: string[] = [];
  for (const file of GUARDED_FILES) {
    const mine = guards.filter((g) => g.file === file);
    const both = mine.filter((g) => g.refused > 0 && g.passed > 0).length;
    lines.push(`${file.padEnd(30)}${String(mine.length).padStart(6)}  ${both}`);
  }
  const used = new Set<string>();
  for (const guard of guards) {
    const key = guardKey(guard);
    const seenBoth = guard.refused > 0 && guard.passed > 0;
    const reason = exceptions[key];
    if (reason !== undefined) used.add(key);
    if (seenBoth) {
      if (reason !== undefined) problems.push(`${key} is seen both ways: drop its exception`);
      continue;
    }
    const side = guard.refused === 0 ? "never refused" : "never passed";
    lines.push(
      `${reason === undefined ? "MISSING" : "known  "} ${guard.file}:${guard.line} ${side} ` +
        `(refused ${guard.refused}, passed ${guard.passed}): ${guard.source}` +
        (reason === undefined ? "" : ` -- ${reason}`),
    );
    if (reason === undefined) problems.push(`${key}: ${side} by the corpus`);
  }
  for (const key of Object.keys(exceptions)) {
    if (!used.has(key)) problems.push(`exception for a guard that no longer exists: ${key}`);
  }
  return { lines, problems };
}

const COMMAND = {
  name: "guard-coverage",
  usage: "deno task guard-coverage [trace files...]",
  description: "Replays the corpus (or the files given) under coverage and checks that every " +
    "guard conjunct of the core was seen both true and false, but the known exceptions.",
  options: {},
  positionals: true,
} as const;

async function main(): Promise<number> {
  const read = readArgs(COMMAND, Deno.args);
  if ("exit" in read) return read.exit;
  const dir = await Deno.makeTempDir({ prefix: "butterfly-guard-coverage-" });
  try {
    const replay = await new Deno.Command(Deno.execPath(), {
      cwd: ROOT,
      args: [
        "run",
        "--frozen",
        "--allow-read",
        `--coverage=${dir}`,
        "conformance/main.ts",
        "--workers",
        "1",
        ...read.positionals,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!replay.success) {
      console.error(new TextDecoder().decode(replay.stderr));
      console.error("error: the conformance run failed; its guard counts would mean nothing");
      return 1;
    }
    const report = await new Deno.Command(Deno.execPath(), {
      cwd: ROOT,
      args: ["coverage", dir, "--lcov", "--include=src/core/"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!report.success) {
      console.error(new TextDecoder().decode(report.stderr));
      return 1;
    }
    const guards = await guardCounts(branchCounts(new TextDecoder().decode(report.stdout)));
    const exceptions: Record<string, string> = JSON.parse(
      await Deno.readTextFile(EXCEPTIONS_FILE),
    );
    const { lines, problems } = coverageTable(guards, exceptions);
    for (const line of lines) console.log(line);
    const both = guards.filter((g) => g.refused > 0 && g.passed > 0).length;
    console.log(`${both}/${guards.length} guard conjuncts seen both ways by the replay`);
    for (const problem of problems) console.error(`error: ${problem}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main());
