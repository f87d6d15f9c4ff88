import assert from "node:assert/strict";
import {
  branchCounts,
  coverageTable,
  type GuardCount,
  guardKey,
  guardsOf,
} from "./guard_coverage.ts";

Deno.test("guardsOf() finds each if that returns disabled, on one line or in its block", () => {
  const text = [
    "export function f(node, input) {",
    '  if (node.view !== 0) return disabled("past view 0");',
    "  if (node.seed === 0) {",
    '    return disabled("no seed");',
    "  }",
    "  if (node.tokens.length > 0) {",
    "    count += 1;",
    "  }",
    "  return enabled(node, []);",
    "}",
  ].join("\n");
  assert.deepEqual(guardsOf(text), [
    { line: 2, source: "if (node.view !== 0)" },
    { line: 3, source: "if (node.seed === 0)" },
  ]);
});

Deno.test("branchCounts() reads lcov's BRDA lines per file and line", () => {
  const lcov = "SF:/a.ts\nBRDA:2,1,0,0\nBRDA:2,1,1,7\nend_of_record\nSF:/b.ts\nBRDA:5,1,0,-\n";
  const counts = branchCounts(lcov);
  assert.deepEqual(counts.get("/a.ts")?.get(2), [0, 7]);
  assert.deepEqual(counts.get("/b.ts")?.get(5), [0]);
});

Deno.test("coverageTable() fails a guard seen one way unless explained, and a stale exception", () => {
  const guard = (source: string, refused: number, passed: number): GuardCount => ({
    file: "src/core/commitment.ts",
    line: 1,
    source,
    refused,
    passed,
  });
  const guards = [guard("if (a)", 3, 4), guard("if (b)", 0, 9), guard("if (c)", 2, 0)];
  const plain = coverageTable(guards, {});
  assert.equal(plain.problems.length, 2);
  assert.ok(
    plain.lines.some((line) => line.startsWith("MISSING") && line.includes("never refused")),
  );
  const explained = coverageTable(guards, {
    [guardKey(guards[1] as GuardCount)]: "unreachable",
    [guardKey(guards[2] as GuardCount)]: "unreachable",
  });
  assert.deepEqual(explained.problems, []);
  const stale = coverageTable(guards, { [guardKey(guards[0] as GuardCount)]: "was unreachable" });
  assert.ok(stale.problems.some((p) => p.includes("drop its exception")));
  const gone = coverageTable(guards, { "src/core/x.ts: if (z)": "?" });
  assert.ok(gone.problems.some((p) => p.includes("no longer exists")));
});
