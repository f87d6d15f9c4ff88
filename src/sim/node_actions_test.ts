// Builds node states with known enabled actions and checks the enumeration finds exactly those.
import assert from "node:assert/strict";
import { initialNodeState, type VoteMessage } from "../core/spec_state.ts";
import { enabledTransitions } from "./node_actions.ts";
import { TEST_CLUSTER } from "../core/_test_cluster.ts";

const cluster = TEST_CLUSTER;

Deno.test("enabledTransitions() finds the Prepare vote and the equivocation evidence", () => {
  const node = { ...initialNodeState(2, cluster), seed: 1, tokens: [1] };
  const proposal: VoteMessage = { type: "PrePrepare", view: 0, value: 1, from: 1 };
  const received = [proposal, { ...proposal, value: 2 }];
  const actions = enabledTransitions(node, { cluster, received }).map((a) => a.action);
  // Node 2 replicates stage 1 and has not computed it yet, so ComputeStage is enabled as well.
  assert.deepEqual(actions.sort(), [
    "ComputeStage",
    "ExcludeNode",
    "HandlePrePrepare",
    "TakeCheckpoint",
  ]);
});

Deno.test("enabledTransitions() finds nothing for a node without an assignment", () => {
  assert.deepEqual(enabledTransitions(initialNodeState(3, cluster), { cluster, received: [] }), []);
});
