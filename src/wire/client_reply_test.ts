import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { verifyClientReply } from "./client_reply.ts";
import { signMessage } from "./frame.ts";
import type { MessageOf, SignedMessage } from "./message.ts";
import { sampleMessages } from "./_samples.ts";
import { TEST_FAULTS_MAX, testCluster } from "./_test_keys.ts";

const { signers, membership } = await testCluster();
const reply = (await sampleMessages(signers)).get("ClientReply") as MessageOf<"ClientReply">;
const input = new TextEncoder().encode("the prompt");
const options = { membership, faultsMax: TEST_FAULTS_MAX, input };

async function votes(
  type: "Prepare" | "Commit",
  count: number,
  change: { view?: number; inferenceId?: number; value?: Uint8Array } = {},
): Promise<SignedMessage[]> {
  return await Promise.all(
    signers.slice(0, count).map((signer) =>
      signMessage({
        type,
        inferenceId: change.inferenceId ?? reply.inferenceId,
        from: signer.nodeId,
        view: change.view ?? 1,
        epoch: 2,
        sequence: 29,
        value: change.value ?? reply.value,
      }, signer)
    ),
  );
}

async function codeOf(changed: Partial<MessageOf<"ClientReply">>, extra = {}): Promise<string> {
  const verdict = await verifyClientReply({ ...reply, ...changed }, { ...options, ...extra });
  return verdict.ok ? "accepted" : verdict.error.code;
}

Deno.test("verifyClientReply() accepts the sample: a Commit quorum and a valid proof", async () => {
  const verdict = await verifyClientReply(reply, options);
  assert.ok(verdict.ok, verdict.ok ? "" : verdict.error.message);
  assert.equal(verdict.value.path, "commit");
  assert.equal(verdict.value.view, 1);
  assert.deepEqual(verdict.value.signers, ["node-0", "node-1", "node-2"]);
  assert.deepEqual(verdict.value.proofSigners, ["node-1", "node-2", "node-2"]);
});

Deno.test("verifyClientReply() accepts the fast path: Prepares from every member", async () => {
  const verdict = await verifyClientReply(
    { ...reply, certificate: await votes("Prepare", 4) },
    options,
  );
  assert.ok(verdict.ok && verdict.value.path === "fast");
  // A Commit certificate of another view is as good: commits are unique across views.
  assert.equal(await codeOf({ certificate: await votes("Commit", 3, { view: 0 }) }), "accepted");
});

Deno.test("verifyClientReply() rejects a value that is not SHA-256 of the output", async () => {
  assert.equal(
    await codeOf({ output: new TextEncoder().encode("another output") }),
    "client_reply_value_mismatch",
  );
  assert.equal(await codeOf({ value: new Uint8Array(32) }), "client_reply_value_mismatch");
});

Deno.test("verifyClientReply() rejects a fast path short of every member", async () => {
  assert.equal(
    await codeOf({ certificate: await votes("Prepare", 3) }),
    "client_reply_fast_path_incomplete",
  );
});

Deno.test("verifyClientReply() rejects a Commit certificate that proves something else", async () => {
  assert.equal(await codeOf({ certificate: await votes("Commit", 2) }), "certificate_below_quorum");
  const other = await votes("Commit", 3, { value: sha256(new Uint8Array([1])) });
  assert.equal(await codeOf({ certificate: other }), "certificate_mixed_values");
  const foreign = await votes("Commit", 3, { inferenceId: 7 });
  assert.equal(await codeOf({ certificate: foreign }), "certificate_vote_mismatch");
  const mixedViews = [...(await votes("Commit", 2)), (await votes("Commit", 3, { view: 2 }))[2]!];
  assert.equal(await codeOf({ certificate: mixedViews }), "certificate_vote_mismatch");
  const broken = reply.certificate.map((vote) => ({ ...vote, signature: vote.signature.slice() }));
  broken[1]!.signature[5]! ^= 1;
  assert.equal(await codeOf({ certificate: broken }), "certificate_bad_signature");
  // A certificate of other votes (a NewView's view changes, say) is no commit certificate.
  const heartbeat = await signMessage({
    type: "Heartbeat",
    inferenceId: 42,
    from: "node-0",
    view: 1,
    epoch: 2,
    sequence: 1,
    sentAtMs: 5,
  }, signers[0]!);
  assert.equal(await codeOf({ certificate: [heartbeat] }), "certificate_vote_mismatch");
});

Deno.test("verifyClientReply() rejects a proof of another input or output", async () => {
  assert.equal(
    await codeOf({}, { input: new TextEncoder().encode("another prompt") }),
    "proof_input_mismatch",
  );
  const links = reply.proof.links;
  const proof = {
    ...reply.proof,
    links: [...links.slice(0, -1), { ...links[links.length - 1]!, value: new Uint8Array(32) }],
  };
  assert.equal(await codeOf({ proof }), "proof_output_mismatch");
});
