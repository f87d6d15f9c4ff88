// A short chaos run of each size in CI: real node processes killed, restarted and paused while
// three inferences run; every result, every node's commit and every trace is checked
// (`deno task chaos --runs 100` is the long sweep, reported in the closing notes).
import assert from "node:assert/strict";
import { chaosRun } from "./chaos.ts";

for (const nodeCount of [4, 7] as const) {
  Deno.test(`a chaos run with n = ${nodeCount} commits everything as one process computes, and its traces check`, async () => {
    const report = await chaosRun({ seed: 11, nodeCount, inferences: 3, tokens: 40 });
    assert.deepEqual(report.violations, [], `rerun: ${report.command}`);
    assert.equal(report.committed, 3);
    assert.ok(report.faults.some((f) => f.kind === "kill" || f.kind === "pause"), "no fault");
    assert.ok(report.trace !== undefined && report.trace.actions > 0);
    assert.equal(report.dir, undefined, "a passing run leaves no directory");
  });
}

Deno.test("a chaos run with an equivocating member: it is excluded by every honest node, on evidence", async () => {
  // Seed 15 with n = 4 draws node-2, equivocating.
  const report = await chaosRun({
    seed: 15,
    nodeCount: 4,
    inferences: 2,
    tokens: 24,
    byzantine: 1,
  });
  assert.deepEqual(report.byzantine, [{ node: "node-2", mode: "equivocate" }]);
  assert.deepEqual(report.violations, [], `rerun: ${report.command}`);
  assert.equal(report.committed, 2);
  assert.deepEqual(report.excludedBy, { "node-2": ["node-1", "node-3", "node-4"] });
});

Deno.test("a chaos run with n = 7 and two Byzantine members still commits as one process computes", async () => {
  const report = await chaosRun({
    seed: 3,
    nodeCount: 7,
    inferences: 2,
    tokens: 24,
    byzantine: 2,
  });
  assert.equal(report.byzantine.length, 2);
  assert.deepEqual(report.violations, [], `rerun: ${report.command}`);
  assert.equal(report.committed, 2);
  // Kills and pauses take at most f - 2 = 0 at once.
  assert.deepEqual(report.faults, []);
});

Deno.test("chaosRun() refuses more Byzantine members than f", async () => {
  await assert.rejects(chaosRun({ seed: 1, nodeCount: 4, byzantine: 2 }), RangeError);
});

Deno.test("a chaos run with network faults between members commits as one process computes", async () => {
  const report = await chaosRun({
    seed: 1,
    nodeCount: 4,
    inferences: 2,
    tokens: 24,
    network: true,
  });
  assert.deepEqual(report.violations, [], `rerun: ${report.command}`);
  assert.equal(report.committed, 2);
  assert.ok(report.faults.some((f) => f.kind === "link"), "no link fault");
  const frames = report.frames!;
  assert.ok(frames.dropped + frames.duplicated + frames.delayed + frames.reordered > 0);
});
