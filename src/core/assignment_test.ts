// Each test builds a node and the messages it received, runs one action, and checks that the
// guard refuses (with its reason) or allows exactly as the spec's action does.
import assert from "node:assert/strict";
import { handleAssign, sendAssign } from "./assignment.ts";
import { initialNodeState } from "./spec_state.ts";
import { receivedOf, TEST_CLUSTER } from "./_test_cluster.ts";

const cluster = TEST_CLUSTER;

Deno.test("sendAssign() refuses a node that is not the primary of view 0", () => {
  const next = sendAssign(initialNodeState(2, cluster), {
    cluster,
    received: receivedOf([]),
    seed: 1,
  });
  assert.ok(!next.enabled);
  assert.match(next.reason, /not the primary/);
});

Deno.test("sendAssign() refuses a second assignment and a seed outside Seeds", () => {
  const node = initialNodeState(1, cluster);
  const sent = { type: "Assign", view: 0, seed: 1, from: 1 } as const;
  assert.ok(!sendAssign(node, { cluster, received: receivedOf([sent]), seed: 2 }).enabled);
  assert.ok(!sendAssign(node, { cluster, received: receivedOf([]), seed: 3 }).enabled);
  const next = sendAssign(node, { cluster, received: receivedOf([]), seed: 2 });
  assert.ok(next.enabled);
  assert.deepEqual(next.effects, [{ kind: "send", message: { ...sent, seed: 2 } }]);
});

Deno.test("handleAssign() refuses an Assign that is not from the primary", () => {
  const message = { type: "Assign", view: 0, seed: 1, from: 3 } as const;
  const next = handleAssign(initialNodeState(2, cluster), {
    cluster,
    received: receivedOf([message]),
    message,
  });
  assert.ok(!next.enabled);
});

Deno.test("handleAssign() refuses a second seed and an excluded primary", () => {
  const message = { type: "Assign", view: 0, seed: 2, from: 1 } as const;
  const seeded = { ...initialNodeState(2, cluster), seed: 1 };
  assert.ok(!handleAssign(seeded, { cluster, received: receivedOf([message]), message }).enabled);
  const excluding = { ...initialNodeState(2, cluster), excluded: [1] };
  assert.ok(
    !handleAssign(excluding, { cluster, received: receivedOf([message]), message }).enabled,
  );
});

Deno.test("handleAssign() takes the seed and persists it", () => {
  const message = { type: "Assign", view: 0, seed: 2, from: 1 } as const;
  const next = handleAssign(initialNodeState(3, cluster), {
    cluster,
    received: receivedOf([message]),
    message,
  });
  assert.ok(next.enabled);
  assert.equal(next.state.seed, 2);
  assert.deepEqual(next.effects, [{ kind: "persist", fields: ["seed"] }]);
});

Deno.test("handleAssign() refuses an Assign of a later view, even from that view's primary", () => {
  // A later view's seed comes with its NewView; a bare Assign would let a Byzantine primary
  // assign past the prepared value. The spec's AssignMsg has view 0 only.
  const node = { ...initialNodeState(3, cluster), view: 1 };
  const message = { type: "Assign", view: 1, seed: 2, from: 2 } as const;
  const next = handleAssign(node, { cluster, received: receivedOf([message]), message });
  assert.ok(!next.enabled);
  assert.match(next.reason, /not of view 0/);
});
