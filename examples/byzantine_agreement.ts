// The seed's "Byzantine Agreement" example. The seed used 5 nodes and 2 faults, which BCP
// refuses (n >= 3f + 1: 2 faults take 7 nodes), so this one runs 7 nodes.
//
//     deno run examples/byzantine_agreement.ts
import { ByzantineAgreement, ClusterSizeError, InferenceResult, Proof } from "@butterfly/bcp";
import { createNodeSigner, Membership } from "@butterfly/bcp/wire";

try {
  new ByzantineAgreement(5, 2);
} catch (error) {
  if (!(error instanceof ClusterSizeError)) throw error;
  console.log(`ByzantineAgreement(5, 2) is refused: ${error.message}`);
}

const agreement = new ByzantineAgreement<InferenceResult>(7, 2); // members node-0 to node-6

// The coordinator proposes a result, with a proof signed by the node that computed it.
const input = new TextEncoder().encode("input");
const output = new Uint8Array([1, 2, 3, 4, 5]);
const result = new InferenceResult(0, output);
const signer = await createNodeSigner("node-1", new Uint8Array(32).fill(1));
const proof = await Proof.generate(0, { input, output, steps: [{ output, signer }] });

// Every node checks the proof before it takes the proposal.
const membership = await Membership.create([signer]);
const checked = await proof.verify({ membership, result, input });
if (!checked.ok) throw new Error(`The proof does not verify: ${checked.error.message}`);
const proposal = agreement.handlePrePrepare(result);
if (!proposal.ok) throw new Error(proposal.reason);

// Nodes vote.
for (let i = 0; i < 7; i++) {
  const vote = agreement.recordPrepareVote(`node-${i}`, result.hash);
  if (!vote.ok) throw new Error(vote.reason);
}

// Check if committed.
if (agreement.isCommitted()) {
  console.log(`Result committed: ${agreement.committedResult()?.hashHex}`);
}
