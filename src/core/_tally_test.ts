import assert from "node:assert/strict";
import { allowedSeeds, seedAllowed, seedChoice } from "./_tally.ts";
import { MessageLog } from "./received.ts";
import { clusterConfigWith, NO_VOTE } from "./spec_state.ts";
import { TEST_CLUSTER } from "./_test_cluster.ts";
import type { ViewChangeMessage } from "./spec_state.ts";

// Two view changes (F + 1) report the same vote of view 0, so the view changes pin its value.
const voted = { view: 0, value: "result" };
const viewChanges: ViewChangeMessage<string>[] = [1, 2, 3].map((from) => ({
  type: "ViewChange",
  view: 1,
  prepared: NO_VOTE,
  voted: from < 3 ? voted : NO_VOTE,
  from,
}));

function allowed(seeds: number[], resultOf: (seed: number) => string | undefined): number[] {
  const cluster = clusterConfigWith<string>({ ...TEST_CLUSTER, seeds }, {
    firstInput: () => "prompt",
    resultOf,
  });
  return [...allowedSeeds(cluster, new MessageLog<string>(viewChanges), viewChanges)];
}

Deno.test("allowedSeeds() pins the seed whose result is the value F + 1 view changes voted for", () => {
  assert.deepEqual(allowed([5, 6], (seed) => seed === 5 ? "result" : "other"), [5]);
  assert.deepEqual(allowed([5], () => "other"), []);
});

Deno.test("allowedSeeds() allows a cluster's only seed whose result the node does not know yet", () => {
  assert.deepEqual(allowed([5], () => undefined), [5]);
  // With two seeds, an unknown result cannot be told apart from the other seed's: refused.
  assert.deepEqual(allowed([5, 6], () => undefined), []);
  assert.deepEqual(allowed([5, 6], (seed) => seed === 6 ? "other" : undefined), []);
});

Deno.test("seedAllowed() allows any seed when nothing is pinned, and decides by a known result", () => {
  const same = (a: string, b: string) => a === b;
  const claims = [1, 2, 3].map((from) => ({ from, claim: from < 3 ? voted : undefined }));
  const pinned = seedChoice([], claims, 1, same);
  assert.deepEqual(pinned, { kind: "pinned", value: "result", view: 0 });
  assert.equal(seedAllowed({ kind: "any" }, undefined, same), true);
  assert.equal(seedAllowed(pinned, "result", same), true);
  assert.equal(seedAllowed(pinned, "other", same, true), false);
  assert.equal(seedAllowed(pinned, undefined, same), false);
  assert.equal(seedAllowed(pinned, undefined, same, true), true);
});
