import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { type CertificateOptions, verifyCertificate } from "./certificate.ts";
import { signMessage } from "./frame.ts";
import { createNodeSigner } from "./identity.ts";
import type { SignedMessage } from "./message.ts";
import { samplePrepare } from "./_samples.ts";
import { TEST_FAULTS_MAX, testCluster, testSecretKey } from "./_test_keys.ts";
import type { WireResult } from "./wire_error.ts";

const { signers, membership } = await testCluster();
const result = sha256(new TextEncoder().encode("result"));
const options: CertificateOptions = {
  type: "Prepare",
  membership,
  faultsMax: TEST_FAULTS_MAX,
  inferenceId: 42,
  view: 1,
};
const votes: SignedMessage[] = await Promise.all(signers.map((signer) => samplePrepare(signer)));

async function codeOf(certificate: readonly SignedMessage[], extra = {}): Promise<string> {
  const verdict: WireResult<unknown> = await verifyCertificate(certificate, {
    ...options,
    ...extra,
  });
  return verdict.ok ? "accepted" : verdict.error.code;
}

Deno.test("verifyCertificate() accepts a quorum of distinct member signers (3 of 4)", async () => {
  const verdict = await verifyCertificate(votes.slice(0, 3), options);
  assert.ok(verdict.ok);
  assert.deepEqual(verdict.value.signers, ["node-0", "node-1", "node-2"]);
  assert.deepEqual(verdict.value.value, result);
  assert.equal(await codeOf(votes), "accepted");
  assert.equal(await codeOf(votes.slice(0, 3), { value: result }), "accepted");
});

Deno.test("verifyCertificate() rejects fewer than quorumSize signers", async () => {
  assert.equal(await codeOf(votes.slice(0, 2)), "certificate_below_quorum");
  assert.equal(await codeOf([]), "certificate_below_quorum");
});

Deno.test("verifyCertificate() rejects a duplicate signer even with a quorum of others", async () => {
  assert.equal(await codeOf([...votes.slice(0, 3), votes[1]!]), "certificate_duplicate_signer");
  // A second, different vote by the same node is a duplicate too.
  const again = await samplePrepare(signers[0]!, 1);
  const resent = { body: again.body.slice(), signature: again.signature };
  assert.equal(await codeOf([votes[0]!, resent, votes[1]!]), "certificate_duplicate_signer");
});

Deno.test("verifyCertificate() rejects a non-member signer", async () => {
  const stranger = await createNodeSigner("node-9", testSecretKey("node-9"));
  const vote = await samplePrepare(stranger);
  assert.equal(await codeOf([...votes.slice(0, 2), vote]), "certificate_non_member");
});

Deno.test("verifyCertificate() rejects mixed values", async () => {
  const other = await signMessage({
    type: "Prepare",
    inferenceId: 42,
    from: "node-3",
    view: 1,
    epoch: 2,
    sequence: 10,
    value: new Uint8Array(32),
  }, signers[3]!);
  assert.equal(await codeOf([...votes.slice(0, 3), other]), "certificate_mixed_values");
  assert.equal(
    await codeOf(votes.slice(0, 3), { value: new Uint8Array(32) }),
    "certificate_mixed_values",
  );
});

Deno.test("verifyCertificate() rejects a bad signature", async () => {
  const broken = { body: votes[2]!.body, signature: votes[2]!.signature.slice() };
  broken.signature[10]! ^= 1;
  assert.equal(await codeOf([votes[0]!, votes[1]!, broken]), "certificate_bad_signature");
});

Deno.test("verifyCertificate() rejects votes of another type, view or inference", async () => {
  assert.equal(await codeOf(votes.slice(0, 3), { view: 2 }), "certificate_vote_mismatch");
  assert.equal(await codeOf(votes.slice(0, 3), { inferenceId: 7 }), "certificate_vote_mismatch");
  assert.equal(await codeOf(votes.slice(0, 3), { type: "Commit" }), "certificate_vote_mismatch");
});

Deno.test("verifyCertificate() rejects a malformed vote and more votes than members", async () => {
  const garbage = { body: new Uint8Array([0xff]), signature: new Uint8Array(64) };
  assert.equal(await codeOf([garbage, ...votes.slice(0, 3)]), "certificate_malformed_vote");
  assert.equal(await codeOf([...votes, votes[0]!]), "certificate_too_large");
});
