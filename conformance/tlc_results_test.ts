import assert from "node:assert/strict";
import { formatResults, resultProblems, type TlcResults } from "./tlc_results.ts";

function results(overrides: Partial<TlcResults> = {}): TlcResults {
  return {
    tlcVersion: "TLC2 Version test",
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
        specSha256: "a".repeat(64),
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
        specSha256: "c".repeat(64),
      },
    ],
    ...overrides,
  };
}

const current = new Map([["Safe", "a".repeat(64)], ["BugQuorum", "c".repeat(64)]]);

Deno.test("resultProblems() accepts results of the current spec with expected outcomes", () => {
  assert.deepEqual(resultProblems(results(), current), []);
});

Deno.test("resultProblems() reports a stale model hash and how to rerun that model alone", () => {
  const problems = resultProblems(results(), new Map([...current, ["Safe", "b".repeat(64)]]));
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? "", /Model Safe's TLC result comes from spec aaaaaaaaaaaa/);
  assert.match(problems[0] ?? "", /deno task tlc Safe$/);
});

Deno.test("resultProblems() reports a model with no run and a mutant that was not caught", () => {
  const caughtNothing = results();
  const mutant = { ...caughtNothing.results[1]!, outcome: "pass", invariant: undefined };
  const problems = resultProblems(
    { ...caughtNothing, results: [caughtNothing.results[0]!, mutant] },
    new Map([...current, ["Missing", "d".repeat(64)]]),
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
