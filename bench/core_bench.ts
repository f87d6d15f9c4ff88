/**
 * Vote handling in the pure core: how many transitions per second the commitment guards take
 * for a 4-node cluster (target: at least 500,000 per second), and the seed's ByzantineAgreement
 * recording votes of a 7-node cluster. Each iteration is one transition on a node that has
 * received a realistic inbox (a full round of Prepare and Commit votes plus a proposal).
 *
 *     deno bench bench/core_bench.ts
 *
 * @module
 */

import { ByzantineAgreement } from "../src/core/byzantine_agreement.ts";
import {
  commitFast,
  commitStandard,
  handlePrePrepare,
  sendCommit,
} from "../src/core/commitment.ts";
import { MessageLog } from "../src/core/received.ts";
import { initialNodeState, type VoteMessage } from "../src/core/spec_state.ts";
import { TEST_CLUSTER } from "../src/core/_test_cluster.ts";

const cluster = TEST_CLUSTER;
const proposal: VoteMessage = { type: "PrePrepare", view: 0, value: 1, from: 1 };
const received: VoteMessage[] = [proposal];
for (const type of ["Prepare", "Commit"] as const) {
  for (const from of [1, 2, 3, 4]) received.push({ type, view: 0, value: 1, from });
}
const accepted = { ...initialNodeState(2, cluster), seed: 1, tokens: [1] };
const voted = { ...accepted, vote: { view: 0, value: 1 } };
const prepared = { ...voted, prepared: { view: 0, value: 1 } };
const input = { cluster, received: new MessageLog(received) };

Deno.bench("handlePrePrepare(): vote Prepare on a proposal", { group: "core" }, () => {
  handlePrePrepare(accepted, { ...input, message: proposal });
});
Deno.bench("sendCommit(): count a quorum of Prepares", { group: "core" }, () => {
  sendCommit(voted, input);
});
Deno.bench("commitStandard(): count a quorum of Commits", { group: "core" }, () => {
  commitStandard(prepared, input);
});
Deno.bench("commitFast(): count every node's Prepare", { group: "core" }, () => {
  commitFast(voted, input);
});

const members = ["a", "b", "c", "d", "e", "f", "g"];
const result = { hash: new Uint8Array(32).fill(7) };
Deno.bench("ByzantineAgreement: a round of 7 Prepare and 7 Commit votes", {
  group: "agreement",
}, () => {
  const agreement = new ByzantineAgreement<typeof result>(members, 2);
  agreement.handlePrePrepare(result);
  for (const member of members) agreement.recordPrepareVote(member, result.hash);
  for (const member of members) agreement.recordCommitVote(member, result.hash);
});
