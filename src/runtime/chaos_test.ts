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
