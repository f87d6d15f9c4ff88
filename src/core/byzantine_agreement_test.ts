// Each test drives one round of agreement with proposals and votes, including a Byzantine
// member's, and checks what is counted, what is refused, and when the round commits.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ByzantineAgreement } from "./byzantine_agreement.ts";

const MEMBERS = ["a", "b", "c", "d"];
const ONE = { hash: new Uint8Array([1]) };
const TWO = { hash: new Uint8Array([2]) };

Deno.test("ByzantineAgreement() refuses n < 3f + 1 and a member listed twice", () => {
  assert.throws(() => new ByzantineAgreement(["a", "b", "c", "d", "e"], 2), /3f \+ 1/);
  assert.throws(() => new ByzantineAgreement(["a", "a", "c", "d"], 1), /twice/);
});

Deno.test("handlePrePrepare() refuses a proposal that differs from the accepted result", () => {
  const agreement = new ByzantineAgreement<typeof ONE>(MEMBERS, 1);
  const outcome = agreement.handlePrePrepare(TWO, { acceptedHash: ONE.hash });
  assert.ok(!outcome.ok);
  assert.match(outcome.reason, /differs from the accepted result/);
  assert.ok(agreement.handlePrePrepare(ONE, { acceptedHash: ONE.hash }).ok);
  assert.ok(!agreement.handlePrePrepare(TWO).ok, "a second, different proposal");
});

Deno.test("recordPrepareVote() refuses non-members and does not count a second vote", () => {
  const agreement = new ByzantineAgreement<typeof ONE>(MEMBERS, 1);
  agreement.handlePrePrepare(ONE);
  assert.ok(!agreement.recordPrepareVote("z", ONE.hash).ok);
  for (const node of ["a", "a", "b", "b"]) agreement.recordPrepareVote(node, ONE.hash);
  assert.equal(agreement.voteCount("Prepare", ONE.hash), 2);
  assert.ok(!agreement.isPrepared());
});

Deno.test("recordPrepareVote() excludes a member that votes for two results", () => {
  const agreement = new ByzantineAgreement<typeof ONE>(MEMBERS, 1);
  agreement.handlePrePrepare(ONE);
  for (const node of ["a", "b"]) agreement.recordPrepareVote(node, ONE.hash);
  assert.ok(agreement.recordPrepareVote("d", ONE.hash).ok);
  assert.ok(agreement.isPrepared());
  assert.ok(!agreement.recordPrepareVote("d", TWO.hash).ok);
  assert.deepEqual(agreement.excludedNodes(), ["d"]);
  // d's first vote no longer counts: two of the quorum of three.
  assert.ok(!agreement.isPrepared());
  assert.ok(!agreement.recordCommitVote("d", ONE.hash).ok);
});

Deno.test("isCommitted() needs every member's Prepare for the fast path", () => {
  const agreement = new ByzantineAgreement<typeof ONE>(MEMBERS, 1);
  agreement.handlePrePrepare(ONE);
  for (const node of ["a", "b", "c"]) agreement.recordPrepareVote(node, ONE.hash);
  agreement.recordPrepareVote("d", TWO.hash);
  assert.ok(!agreement.isCommitted());
  agreement.recordCommitVote("a", ONE.hash);
  agreement.recordCommitVote("b", ONE.hash);
  assert.ok(!agreement.isCommitted(), "two Commit votes are short of the quorum");
  agreement.recordCommitVote("c", ONE.hash);
  assert.equal(agreement.committedResult(), ONE);
});

Deno.test("isCommitted() never commits two results, whatever f Byzantine members vote", () => {
  // The honest members vote for the proposal they accepted; the Byzantine ones vote at random
  // (and may equivocate). No order of votes may commit anything but the honest proposal.
  const members = ["a", "b", "c", "d", "e", "f", "g"];
  const vote = fc.record({
    node: fc.constantFrom(...members),
    type: fc.constantFrom("Prepare" as const, "Commit" as const),
    value: fc.constantFrom(1, 2),
  });
  fc.assert(
    fc.property(fc.array(vote, { maxLength: 60 }), fc.boolean(), (votes, honestProposal) => {
      const agreement = new ByzantineAgreement<typeof ONE>(members, 2);
      const byzantine = new Set(["f", "g"]);
      agreement.handlePrePrepare(honestProposal ? ONE : TWO);
      for (const { node, type, value } of votes) {
        const hash = byzantine.has(node) ? new Uint8Array([value]) : ONE.hash;
        if (type === "Prepare") agreement.recordPrepareVote(node, hash);
        else agreement.recordCommitVote(node, hash);
      }
      const committed = agreement.committedResult();
      assert.ok(committed === undefined || committed === ONE);
    }),
  );
});
