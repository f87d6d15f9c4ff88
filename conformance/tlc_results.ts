/**
 * Reading and checking the committed TLC results (`tla/results/results.json`): each model's
 * outcome must be the expected one and the results must come from the current spec files.
 *
 * @module
 */

/** What a model run was expected to show, as `tla/models.json` states it. */
export interface ExpectedOutcome {
  /** `pass`, a violated invariant, or a violated temporal property. */
  readonly outcome: "pass" | "invariant" | "liveness";
  /** The invariant a mutant must violate. */
  readonly invariant?: string | undefined;
}

/** One model's recorded TLC run. */
export interface ModelResult {
  readonly name: string;
  readonly config: string;
  readonly mode: string;
  readonly outcome: string;
  readonly invariant?: string | undefined;
  readonly expected: ExpectedOutcome;
  readonly asExpected: boolean;
  readonly distinctStates?: number | undefined;
  readonly statesGenerated?: number | undefined;
  readonly diameter?: number | undefined;
  readonly counterexampleLength?: number | undefined;
  readonly wallSeconds: number;
  /** SHA-256 of the files and settings the run depends on (`modelHash` in `tla/spec_hash.ts`). */
  readonly specSha256: string;
}

/** The whole results file. */
export interface TlcResults {
  readonly tlcVersion: string;
  readonly results: readonly ModelResult[];
}

/**
 * Lists what is wrong with recorded results: a model whose files changed since its run (stale
 * hash), a model whose outcome differs from the expected one, or a model of `tla/models.json`
 * with no recorded run.
 *
 * @param results The parsed `results.json`.
 * @param currentHashes Each model of `tla/models.json` by name, with the SHA-256 of what it
 * depends on now.
 * @returns One sentence per problem; empty when everything holds.
 */
export function resultProblems(
  results: TlcResults,
  currentHashes: ReadonlyMap<string, string>,
): string[] {
  const problems: string[] = [];
  const recorded = new Map(results.results.map((r) => [r.name, r]));
  for (const [name, hash] of currentHashes) {
    const result = recorded.get(name);
    if (result === undefined) {
      problems.push(
        `Model ${name} has no recorded TLC run: TLA2TOOLS=/path/to/tla2tools.jar deno task tlc ${name}`,
      );
      continue;
    }
    if (result.specSha256 !== hash) {
      problems.push(
        `Model ${name}'s TLC result comes from spec ${result.specSha256.slice(0, 12)}, but its ` +
          `files are now ${hash.slice(0, 12)}: rerun ` +
          `TLA2TOOLS=/path/to/tla2tools.jar deno task tlc ${name}`,
      );
      continue;
    }
    const expectedInvariant = result.expected.invariant;
    const ok = result.outcome === result.expected.outcome &&
      (expectedInvariant === undefined || expectedInvariant === result.invariant);
    if (!ok || !result.asExpected) {
      problems.push(
        `Model ${name} expected ${result.expected.outcome}` +
          `${expectedInvariant === undefined ? "" : ` of ${expectedInvariant}`} but TLC reported ` +
          `${result.outcome}${result.invariant === undefined ? "" : ` of ${result.invariant}`}`,
      );
    }
  }
  return problems;
}

/**
 * Formats the results as a table, one model a row.
 *
 * @param results The parsed `results.json`.
 * @returns The table as text.
 */
export function formatResults(results: TlcResults): string {
  const rows = results.results.map((r) => {
    const outcome = r.outcome === "invariant"
      ? `violates ${r.invariant} (${r.counterexampleLength} states)`
      : r.outcome === "liveness"
      ? `liveness violated (${r.counterexampleLength} states)`
      : r.outcome;
    const size = r.distinctStates === undefined ? "" : String(r.distinctStates);
    return `${r.asExpected ? "ok  " : "FAIL"} ${r.name.padEnd(30)} ${r.mode.padEnd(9)} ${
      size.padStart(10)
    }  ${outcome}`;
  });
  return [
    `     ${"model".padEnd(30)} ${"mode".padEnd(9)} ${"states".padStart(10)}  outcome`,
    ...rows,
  ]
    .join("\n");
}
