import assert from "node:assert/strict";
import { formatResults, resultProblems, type TlcResults } from "./tlc_results.ts";

function results(overrides: Partial<TlcResults> = {}): TlcResults {
  return {
    tlcVersion: "TLC2 Version test",
    specSha256: "a".repeat(64),
    results: [
      {
        name: "Safe",
        config: "MCSafe.cfg",
        mode: "bfs",
        outcome: "pass",
        expected: { outcome: "pass" },
        asExpected: true,
        distinctStates: 10,
        wallSeconds: 1,
      },
      {
        name: "BugQuorum",
        config: "MCBugQuorum.cfg",
        mode: "bfs",
        outcome: "invariant",
        invariant: "Consistency",
        expected: { outcome: "invariant", invariant: "Consistency" },
        asExpected: true,
        counterexampleLength: 12,
        wallSeconds: 1,
      },
    ],
    ...overrides,
  };
}

Deno.test("resultProblems() accepts results of the current spec with expected outcomes", () => {
  assert.deepEqual(resultProblems(results(), "a".repeat(64), ["Safe", "BugQuorum"]), []);
});

Deno.test("resultProblems() reports a stale spec hash and how to regenerate", () => {
  const problems = resultProblems(results(), "b".repeat(64), ["Safe"]);
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? "", /deno task tlc/);
});

Deno.test("resultProblems() reports a model with no run and a mutant that was not caught", () => {
  const caughtNothing = results();
  const mutant = { ...caughtNothing.results[1]!, outcome: "pass", invariant: undefined };
  const problems = resultProblems(
    { ...caughtNothing, results: [caughtNothing.results[0]!, mutant] },
    "a".repeat(64),
    ["Safe", "BugQuorum", "Missing"],
  );
  assert.equal(problems.length, 2);
  assert.match(
    problems[0] ?? "",
    /BugQuorum expected invariant of Consistency but TLC reported pass/,
  );
  assert.match(problems[1] ?? "", /Missing has no recorded TLC run/);
});

Deno.test("formatResults() prints one row per model with its outcome", () => {
  const table = formatResults(results());
  assert.match(table, /ok\s+Safe\s+bfs\s+10 {2}pass/);
  assert.match(table, /BugQuorum.*violates Consistency \(12 states\)/);
});
