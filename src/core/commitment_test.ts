// Each test builds a node, its vote and the votes it received, runs one commitment action, and
// checks that the guard refuses or allows as the spec's action does; votes are attributed to
// their signers, so a signer counts once.
import assert from "node:assert/strict";
import {
  commitFast,
  commitStandard,
  handlePrePrepare,
  learnCommit,
  sendCommit,
  sendPrePrepare,
} from "./commitment.ts";
import { initialNodeState, type VoteMessage } from "./spec_state.ts";
import { receivedOf, TEST_CLUSTER } from "./_test_cluster.ts";

const cluster = TEST_CLUSTER;

function votes(type: VoteMessage["type"], value: number, from: readonly number[]): VoteMessage[] {
  return from.map((signer) => ({ type, view: 0, value, from: signer }));
}

const accepted = { ...initialNodeState(2, cluster), seed: 1, tokens: [1] };

Deno.test("sendPrePrepare() refuses a node that is not the primary, or lacks tokens", () => {
  assert.ok(!sendPrePrepare(accepted, { cluster, received: receivedOf([]) }).enabled);
  const primary = { ...initialNodeState(1, cluster), seed: 1 };
  assert.ok(!sendPrePrepare(primary, { cluster, received: receivedOf([]) }).enabled);
});

Deno.test("sendPrePrepare() refuses a second proposal in a view", () => {
  const primary = { ...initialNodeState(1, cluster), seed: 1, tokens: [1] };
  const received = votes("PrePrepare", 1, [1]);
  assert.ok(!sendPrePrepare(primary, { cluster, received: receivedOf(received) }).enabled);
});

Deno.test("handlePrePrepare() refuses a proposal that differs from the accepted result", () => {
  const message = votes("PrePrepare", 2, [1])[0] as VoteMessage;
  const next = handlePrePrepare(accepted, { cluster, received: receivedOf([message]), message });
  assert.ok(!next.enabled);
  assert.match(next.reason, /differs from the accepted result/);
});

Deno.test("handlePrePrepare() refuses a proposal not from the primary or from an excluded one", () => {
  const forged = votes("PrePrepare", 1, [3])[0] as VoteMessage;
  assert.ok(
    !handlePrePrepare(accepted, { cluster, received: receivedOf([forged]), message: forged })
      .enabled,
  );
  const message = votes("PrePrepare", 1, [1])[0] as VoteMessage;
  const excluding = { ...accepted, excluded: [1] };
  assert.ok(
    !handlePrePrepare(excluding, { cluster, received: receivedOf([message]), message }).enabled,
  );
});

Deno.test("handlePrePrepare() votes once per view", () => {
  const message = votes("PrePrepare", 1, [1])[0] as VoteMessage;
  const next = handlePrePrepare(accepted, { cluster, received: receivedOf([message]), message });
  assert.ok(next.enabled);
  assert.deepEqual(next.state.vote, { view: 0, value: 1 });
  assert.ok(
    !handlePrePrepare(next.state, { cluster, received: receivedOf([message]), message }).enabled,
  );
});

Deno.test("sendCommit() counts each signer once and ignores other values", () => {
  const node = { ...accepted, vote: { view: 0, value: 1 } };
  // The same Prepare delivered twice, and node 4 voting for another value: two signers of 1.
  const twice = [...votes("Prepare", 1, [2, 3, 3]), ...votes("Prepare", 2, [4])];
  assert.ok(!sendCommit(node, { cluster, received: receivedOf(twice) }).enabled);
  assert.ok(
    sendCommit(node, { cluster, received: receivedOf(votes("Prepare", 1, [2, 3, 4])) }).enabled,
  );
});

Deno.test("sendCommit() ignores the votes of an excluded node", () => {
  const node = { ...accepted, vote: { view: 0, value: 1 }, excluded: [4] };
  assert.ok(
    !sendCommit(node, { cluster, received: receivedOf(votes("Prepare", 1, [2, 3, 4])) }).enabled,
  );
});

Deno.test("commitStandard() refuses without a quorum of Commits, or once committed", () => {
  const node = { ...accepted, vote: { view: 0, value: 1 }, prepared: { view: 0, value: 1 } };
  assert.ok(
    !commitStandard(node, { cluster, received: receivedOf(votes("Commit", 1, [2, 3])) }).enabled,
  );
  const received = votes("Commit", 1, [2, 3, 4]);
  const next = commitStandard(node, { cluster, received: receivedOf(received) });
  assert.ok(next.enabled);
  assert.equal(next.state.committed, 1);
  assert.ok(!commitStandard(next.state, { cluster, received: receivedOf(received) }).enabled);
});

Deno.test("commitFast() refuses with one Prepare short of every node", () => {
  const node = { ...accepted, vote: { view: 0, value: 1 } };
  assert.ok(
    !commitFast(node, { cluster, received: receivedOf(votes("Prepare", 1, [1, 2, 3])) }).enabled,
  );
  assert.ok(
    commitFast(node, { cluster, received: receivedOf(votes("Prepare", 1, [1, 2, 3, 4])) }).enabled,
  );
});

Deno.test("learnCommit() adopts a result certified in an earlier view, from any view", () => {
  const alone = { ...initialNodeState(4, cluster), view: 1 };
  const received = votes("Commit", 1, [1, 2, 3]);
  const next = learnCommit(alone, { cluster, received: receivedOf(received), view: 0, value: 1 });
  assert.ok(next.enabled);
  assert.equal(next.state.committed, 1);
  assert.equal(next.state.view, 1);
  assert.deepEqual(next.effects, [{ kind: "persist", fields: ["committed"] }]);
  assert.ok(
    !learnCommit(next.state, { cluster, received: receivedOf(received), view: 0, value: 1 })
      .enabled,
  );
});

Deno.test("learnCommit() refuses a certificate short of a quorum, for another value or view", () => {
  const alone = { ...initialNodeState(4, cluster), view: 1 };
  const received = votes("Commit", 1, [1, 2, 3]);
  assert.ok(
    !learnCommit(alone, { cluster, received: receivedOf(received.slice(1)), view: 0, value: 1 })
      .enabled,
  );
  assert.ok(
    !learnCommit(alone, { cluster, received: receivedOf(received), view: 0, value: 2 }).enabled,
  );
  assert.ok(
    !learnCommit(alone, { cluster, received: receivedOf(received), view: 1, value: 1 }).enabled,
  );
  const twice = [...received.slice(1), ...received.slice(1)];
  assert.ok(
    !learnCommit(alone, { cluster, received: receivedOf(twice), view: 0, value: 1 }).enabled,
  );
});

Deno.test("learnCommit() judges a certificate by its signatures, excluded signers included", () => {
  // Node 3 signed, then was excluded (it equivocated): its Commit is still a signature of the
  // certificate, and a quorum of 3 holds F + 1 = 2 honest signers whoever node 3 is. Counting
  // only the non-excluded signers left a node in view 1 that never committed
  // (MCBugCertificateHonorsExclusion in TLC).
  const node = { ...initialNodeState(4, cluster), view: 1, excluded: [3] };
  const received = votes("Commit", 1, [1, 2, 3]);
  const next = learnCommit(node, { cluster, received: receivedOf(received), view: 0, value: 1 });
  assert.ok(next.enabled);
  assert.equal(next.state.committed, 1);
  const fast = learnCommit(node, {
    cluster,
    received: receivedOf(votes("Prepare", 1, [1, 2, 3, 4])),
    view: 0,
    value: 1,
  });
  assert.ok(fast.enabled);
  const short = learnCommit(node, {
    cluster,
    received: receivedOf(received.slice(1)),
    view: 0,
    value: 1,
  });
  assert.ok(!short.enabled);
  assert.match(short.reason, /2 Commit votes are short of a quorum/);
});

Deno.test("commitStandard() still counts only the Commits of signers the node does not exclude", () => {
  // Committing by voting uses the node's own tally; only state transfer judges a certificate
  // by its signatures (the node can still learn the result with learnCommit()).
  const node = { ...initialNodeState(2, cluster), prepared: { view: 0, value: 1 }, excluded: [3] };
  const received = votes("Commit", 1, [1, 2, 3]);
  assert.ok(!commitStandard(node, { cluster, received: receivedOf(received) }).enabled);
  assert.ok(
    learnCommit(node, { cluster, received: receivedOf(received), view: 0, value: 1 }).enabled,
  );
});

Deno.test("learnCommit() accepts Prepare votes from every node (the fast path)", () => {
  const node = { ...initialNodeState(4, cluster), view: 1 };
  const all = votes("Prepare", 1, [1, 2, 3, 4]);
  assert.ok(learnCommit(node, { cluster, received: receivedOf(all), view: 0, value: 1 }).enabled);
  const three = all.slice(1);
  assert.ok(
    !learnCommit(node, { cluster, received: receivedOf(three), view: 0, value: 1 }).enabled,
  );
});
