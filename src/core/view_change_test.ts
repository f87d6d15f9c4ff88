// Each test builds a node and the view-change messages it received, runs one action of failure
// detection, exclusion or view change, and checks that the guard refuses or allows as the spec's.
import assert from "node:assert/strict";
import {
  clusterConfig,
  initialNodeState,
  NO_VOTE,
  resultOf,
  type ViewChangeMessage,
  type Vote,
  type VoteMessage,
} from "./spec_state.ts";
import {
  excludeNode,
  handleHeartbeat,
  handleNewView,
  joinViewChange,
  sendNewView,
  startViewChange,
  suspect,
  viewTimeout,
} from "./view_change.ts";
import { receivedOf, TEST_CLUSTER } from "./_test_cluster.ts";

const cluster = TEST_CLUSTER;

function viewChange(from: number, prepared: Vote = NO_VOTE): ViewChangeMessage {
  return { type: "ViewChange", view: 1, prepared, voted: prepared, from };
}

Deno.test("suspect() refuses the node itself and a peer already suspected", () => {
  const node = { ...initialNodeState(2, cluster), suspected: [1] };
  assert.ok(!suspect(node, { cluster, received: receivedOf([]), peer: 2 }).enabled);
  assert.ok(!suspect(node, { cluster, received: receivedOf([]), peer: 1 }).enabled);
  assert.ok(handleHeartbeat(node, { cluster, received: receivedOf([]), peer: 1 }).enabled);
  assert.ok(!handleHeartbeat(node, { cluster, received: receivedOf([]), peer: 3 }).enabled);
});

Deno.test("startViewChange() refuses a node that trusts its primary, or at the last view", () => {
  const trusting = { ...initialNodeState(2, cluster), suspected: [3] };
  assert.ok(!startViewChange(trusting, { cluster, received: receivedOf([]) }).enabled);
  const last = { ...initialNodeState(2, cluster), view: 1, suspected: [2] };
  assert.ok(!startViewChange(last, { cluster, received: receivedOf([]) }).enabled);
});

Deno.test("startViewChange() drops the view's work and reports the vote", () => {
  const node = {
    ...initialNodeState(2, cluster),
    seed: 1,
    tokens: [1],
    vote: { view: 0, value: 1 },
    excluded: [1],
  };
  const next = startViewChange(node, { cluster, received: receivedOf([]) });
  assert.ok(next.enabled);
  assert.equal(next.state.seed, 0);
  assert.deepEqual(next.state.tokens, []);
  assert.deepEqual(next.effects[1], {
    kind: "send",
    message: { type: "ViewChange", view: 1, prepared: NO_VOTE, voted: node.vote, from: 2 },
  });
});

Deno.test("viewTimeout() moves an uncommitted node on whoever it suspects", () => {
  // The coordinator is up and trusted, yet the view cannot commit: the timer, not the failure
  // detector, replaces it.
  const node = {
    ...initialNodeState(3, cluster),
    seed: 1,
    tokens: [1],
    vote: { view: 0, value: 1 },
  };
  const next = viewTimeout(node, { cluster, received: receivedOf([]) });
  assert.ok(next.enabled);
  assert.equal(next.state.view, 1);
  assert.equal(next.state.seed, 0);
  assert.deepEqual(next.state.tokens, []);
  assert.deepEqual(next.state.suspected, []);
  assert.deepEqual(next.effects, [
    { kind: "persist", fields: ["view", "seed"] },
    {
      kind: "send",
      message: { type: "ViewChange", view: 1, prepared: NO_VOTE, voted: node.vote, from: 3 },
    },
  ]);
});

Deno.test("viewTimeout() refuses a committed node and the last view", () => {
  const committed = { ...initialNodeState(3, cluster), committed: 1 };
  const done = viewTimeout(committed, { cluster, received: receivedOf([]) });
  assert.ok(!done.enabled);
  assert.match(done.reason, /already committed/);
  const last = viewTimeout({ ...initialNodeState(3, cluster), view: 1 }, {
    cluster,
    received: receivedOf([]),
  });
  assert.ok(!last.enabled);
  assert.match(last.reason, /last view/);
});

Deno.test("startViewChange() and viewTimeout() leave only a view that started", () => {
  // A node alone in view 1 (only its own view change) may not race on to view 2, however many
  // primaries it suspects: PBFT starts the timer on a quorum of view changes for the view.
  const wide = clusterConfig({ ...TEST_CLUSTER, viewMax: 3 });
  const alone = { ...initialNodeState(3, wide), view: 1, suspected: [2] };
  const own = [viewChange(3)];
  for (const step of [startViewChange, viewTimeout]) {
    const refused = step(alone, { cluster: wide, received: receivedOf(own) });
    assert.ok(!refused.enabled);
    assert.match(refused.reason, /has not started/);
    const quorum = [viewChange(1), viewChange(3), viewChange(4)];
    const moved = step(alone, { cluster: wide, received: receivedOf(quorum) });
    assert.ok(moved.enabled);
    assert.equal(moved.state.view, 2);
  }
});

Deno.test("joinViewChange() refuses F view changes and counts a signer once", () => {
  const node = initialNodeState(2, cluster);
  const one = [viewChange(3), viewChange(3, { view: 0, value: 1 })];
  assert.ok(!joinViewChange(node, { cluster, received: receivedOf(one), view: 1 }).enabled);
  assert.ok(
    joinViewChange(node, { cluster, received: receivedOf([...one, viewChange(4)]), view: 1 })
      .enabled,
  );
});

Deno.test("excludeNode() refuses two messages that do not conflict", () => {
  const first: VoteMessage = { type: "Prepare", view: 0, value: 1, from: 1 };
  const node = initialNodeState(2, cluster);
  const input = { cluster, received: receivedOf([first]) };
  assert.ok(!excludeNode(node, { ...input, first, second: first }).enabled);
  const otherView = { ...first, view: 1, value: 2 };
  assert.ok(!excludeNode(node, { ...input, first, second: otherView }).enabled);
  const otherSigner = { ...first, value: 2, from: 3 };
  assert.ok(!excludeNode(node, { ...input, first, second: otherSigner }).enabled);
});

Deno.test("sendNewView() refuses fewer than a quorum of view changes", () => {
  const viewChanges = [viewChange(2), viewChange(3)];
  const node = { ...initialNodeState(2, cluster), view: 1 };
  const next = sendNewView(node, {
    cluster,
    received: receivedOf(viewChanges),
    viewChanges,
    seed: 1,
  });
  assert.ok(!next.enabled);
});

Deno.test("sendNewView() refuses a seed that a prepared certificate rules out", () => {
  const value = resultOf(1, cluster);
  const prepares: VoteMessage[] = [1, 2, 3].map((from) => ({
    type: "Prepare",
    view: 0,
    value,
    from,
  }));
  const viewChanges = [viewChange(2, { view: 0, value }), viewChange(3), viewChange(4)];
  const received = [...prepares, ...viewChanges];
  const node = { ...initialNodeState(2, cluster), view: 1 };
  assert.ok(
    !sendNewView(node, { cluster, received: receivedOf(received), viewChanges, seed: 2 }).enabled,
  );
  assert.ok(
    sendNewView(node, { cluster, received: receivedOf(received), viewChanges, seed: 1 }).enabled,
  );
});

Deno.test("sendNewView() refuses view changes the node never received", () => {
  const viewChanges = [viewChange(2), viewChange(3), viewChange(4)];
  const node = { ...initialNodeState(2, cluster), view: 1 };
  const received = viewChanges.slice(0, 2);
  assert.ok(
    !sendNewView(node, { cluster, received: receivedOf(received), viewChanges, seed: 1 }).enabled,
  );
});

Deno.test("handleNewView() refuses a NewView for an earlier view", () => {
  const viewChanges = [viewChange(2), viewChange(3), viewChange(4)];
  const message = { type: "NewView", view: 1, viewChanges, seed: 1, from: 2 } as const;
  const received = [...viewChanges, message];
  const entered = { ...initialNodeState(3, cluster), view: 1, seed: 1 };
  assert.ok(!handleNewView(entered, { cluster, received: receivedOf(received), message }).enabled);
  const forged = { ...message, from: 3 };
  assert.ok(
    !handleNewView(initialNodeState(4, cluster), {
      cluster,
      received: receivedOf(received),
      message: forged,
    }).enabled,
  );
});
