// Builds states that break one safety property each and checks that exactly it is reported.
import assert from "node:assert/strict";
import { commitStableViolations, invariantViolations } from "./invariants.ts";
import { initialNodeState, resultOf, type SpecMessage } from "./spec_state.ts";
import { TEST_CLUSTER } from "./_test_cluster.ts";

const cluster = TEST_CLUSTER;
const nodes = [1, 2, 3, 4].map((id) => initialNodeState(id, cluster));
// One token, one stage: seed 1's only token is its result.
const result = resultOf(1, cluster);
const assign: SpecMessage = { type: "Assign", view: 0, seed: 1, from: 1 };
const output: SpecMessage = {
  type: "StageOutput",
  view: 0,
  seed: 1,
  token: 1,
  stage: 1,
  value: result,
  from: 2,
};

Deno.test("invariantViolations() holds in a clean commit", () => {
  const committed = nodes.map((n) => ({ ...n, seed: 1, tokens: [result], committed: result }));
  const input = { cluster, nodes: committed, messages: [assign, output], byzantine: [] };
  assert.deepEqual(invariantViolations(input), []);
});

Deno.test("invariantViolations() reports a result only a Byzantine replica computed", () => {
  const committed = nodes.map((n) => ({ ...n, committed: result }));
  const input = { cluster, nodes: committed, messages: [assign, output], byzantine: [2] };
  assert.deepEqual(invariantViolations(input), [
    `ByzantineResistance: no honest replica computed ${result}`,
  ]);
});

Deno.test("invariantViolations() reports an unassigned result, wrong tokens and wrong exclusions", () => {
  const bad = [
    { ...nodes[0]!, seed: 1, tokens: [2] },
    { ...nodes[1]!, excluded: [3] },
    { ...nodes[2]!, stableCheckpoint: { seed: 1, position: 1, tokens: [0] } },
    { ...nodes[3]!, committed: 2 },
  ];
  const found = invariantViolations({ cluster, nodes: bad, messages: [output], byzantine: [] });
  const names = found.map((line) => line.split(":")[0]);
  assert.deepEqual(names.sort(), [
    "ByzantineResistance",
    "CheckpointIntegrity",
    "CheckpointIntegrity",
    "ExclusionAccuracy",
    "Validity",
  ]);
});

Deno.test("invariantViolations() reports two values with commit certificates", () => {
  const commits: SpecMessage[] = [];
  for (const value of [1, 2]) {
    for (const from of [1, 2, 3]) commits.push({ type: "Commit", view: 0, value, from });
  }
  const found = invariantViolations({ cluster, nodes, messages: commits, byzantine: [1] });
  assert.ok(found.some((line) => line.startsWith("Agreement")));
});

Deno.test("commitStableViolations() ignores a first commit and reports a change", () => {
  const before = nodes.map((n) => ({ ...n, committed: n.id === 1 ? 1 : -1 }));
  const after = before.map((n) => ({ ...n, committed: 1 }));
  assert.deepEqual(commitStableViolations(before, after, []), []);
  assert.equal(commitStableViolations(after, before, []).length, 3);
});
