// Each test drives one round of agreement with proposals and votes, including a Byzantine
// member's, and checks what is counted, what is refused, and when the round commits.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ByzantineAgreement } from "./byzantine_agreement.ts";
import { voteCount } from "./_tally.ts";
import { commitFast, commitStandard, sendCommit } from "./commitment.ts";
import { MessageLog } from "./received.ts";
import { clusterConfig, initialNodeState, type NodeState, oneViewConstants } from "./spec_state.ts";
import { excludeNode } from "./view_change.ts";

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

// The core, driven directly: an observer node's received votes and exclusions, and the core's
// own actions asked the questions the face answers.
class CoreRound {
  readonly cluster;
  readonly votes = new MessageLog();
  node: NodeState;
  readonly values = new Map<number, number>();
  proposal: number | undefined;
  committed = false;

  constructor(n: number, f: number) {
    this.cluster = clusterConfig(oneViewConstants(n, f));
    this.node = { ...initialNodeState(0, this.cluster), seed: 1 };
  }

  vote(type: "Prepare" | "Commit", from: number, value: number): void {
    if (this.node.excluded.includes(from)) return;
    const message = { type, view: 0, value, from } as const;
    const input = { cluster: this.cluster, received: this.votes };
    for (const earlier of this.votes.ofType(type)) {
      const evidence = excludeNode(this.node, { ...input, first: earlier, second: message });
      if (evidence.enabled) this.node = evidence.state;
    }
    this.votes.add(message);
    this.update();
  }

  voted(): NodeState {
    return { ...this.node, vote: { view: 0, value: this.proposal ?? -1 } };
  }

  prepared(): boolean {
    const input = { cluster: this.cluster, received: this.votes };
    return this.proposal !== undefined && sendCommit(this.voted(), input).enabled;
  }

  update(): void {
    if (this.proposal === undefined) return;
    const input = { cluster: this.cluster, received: this.votes };
    const voted = this.voted();
    const standard = this.prepared() &&
      commitStandard({ ...voted, prepared: voted.vote }, input).enabled;
    if (standard || commitFast(voted, input).enabled) this.committed = true;
  }

  count(type: "Prepare" | "Commit", value: number): number {
    return voteCount(this.node, this.votes, type, 0, value);
  }
}

Deno.test("ByzantineAgreement answers as the core does on the same random votes", () => {
  // Votes mostly for results 1 and 2 (the proposals), so that rounds often come within a vote
  // or two of a quorum or of every member.
  const step = fc.record({
    member: fc.nat(6),
    type: fc.constantFrom("Prepare" as const, "Commit" as const),
    value: fc.constantFrom(1, 1, 2, 2, 3),
  });
  fc.assert(
    fc.property(
      fc.constantFrom([4, 1], [4, 1], [7, 2]),
      fc.array(step, { maxLength: 40 }),
      fc.nat(8),
      fc.constantFrom(1, 2),
      ([n, f], steps, proposeAt, proposal) => {
        const members = Array.from({ length: n }, (_, k) => `m${k}`);
        const face = new ByzantineAgreement<{ hash: Uint8Array }>(members, f);
        const core = new CoreRound(n, f);
        const results = [1, 2, 3].map((v) => ({ hash: new Uint8Array([v]) }));
        steps.forEach(({ member, type, value }, at) => {
          if (at === proposeAt) {
            face.handlePrePrepare(results[proposal - 1] as { hash: Uint8Array });
            core.proposal = proposal;
            core.update();
          }
          const from = member % n;
          const hash = (results[value - 1] as { hash: Uint8Array }).hash;
          if (type === "Prepare") face.recordPrepareVote(members[from] as string, hash);
          else face.recordCommitVote(members[from] as string, hash);
          core.vote(type, from + 1, value);
          for (const v of [1, 2, 3]) {
            const digest = (results[v - 1] as { hash: Uint8Array }).hash;
            assert.equal(face.voteCount("Prepare", digest), core.count("Prepare", v));
            assert.equal(face.voteCount("Commit", digest), core.count("Commit", v));
          }
          assert.equal(face.isPrepared(), core.prepared());
          assert.equal(face.isCommitted(), core.committed);
          assert.deepEqual(
            [...face.excludedNodes()].sort(),
            core.node.excluded.map((i) => members[i - 1]).sort(),
          );
        });
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("ByzantineAgreement takes the seed's cluster size, or refuses it with the 3f + 1 bound", () => {
  // The seed writes ByzantineAgreement::new(5, 2): 5 nodes cannot tolerate 2 faults.
  assert.throws(() => new ByzantineAgreement(5, 2), /BCP needs n >= 3f \+ 1 = 7/);
  const agreement = new ByzantineAgreement(7, 2);
  assert.deepEqual(agreement.members, [
    "node-0",
    "node-1",
    "node-2",
    "node-3",
    "node-4",
    "node-5",
    "node-6",
  ]);
  assert.equal(agreement.quorum, 5);
  assert.equal(agreement.fastQuorum, 7);
  assert.throws(() => new ByzantineAgreement(0, 0), /nodeCount must be a positive integer, got 0/);
});
