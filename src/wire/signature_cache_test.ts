import assert from "node:assert/strict";
import { verifyCertificate } from "./certificate.ts";
import { verifySignedMessage } from "./frame.ts";
import { createNodeSigner, Membership, MESSAGE_SIGNATURE_TAG } from "./identity.ts";
import { VerifiedSignatureCache } from "./signature_cache.ts";
import { samplePrepare } from "./_samples.ts";
import { TEST_FAULTS_MAX, testSecretKey, testSigners } from "./_test_keys.ts";

const signers = await testSigners();
const tag = MESSAGE_SIGNATURE_TAG;
const bytes = new TextEncoder().encode("a vote");

Deno.test("Membership.verifySync() caches a verified signature and hits it the second time", async () => {
  const membership = await Membership.create(signers);
  const signature = await signers[0]!.sign(tag, bytes);
  assert.ok(membership.verifySync("node-0", tag, bytes, signature));
  assert.equal(membership.signatureCache.size, 1);
  assert.equal(membership.signatureCache.hits, 0);
  assert.ok(membership.verifySync("node-0", tag, bytes, signature));
  assert.equal(membership.signatureCache.hits, 1);
});

Deno.test("a cached signature does not pass for another message, signer, tag or key", async () => {
  const cache = new VerifiedSignatureCache(16);
  const membership = await Membership.create(signers, { signatureCache: cache });
  const signature = await signers[0]!.sign(tag, bytes);
  assert.ok(membership.verifySync("node-0", tag, bytes, signature));
  // Same signature, different signed bytes: a miss, then a real verification that fails.
  assert.ok(!membership.verifySync("node-0", tag, new TextEncoder().encode("a vote!"), signature));
  // Same signature and bytes claimed by another member.
  assert.ok(!membership.verifySync("node-1", tag, bytes, signature));
  // The same bytes split differently between tag and body are the same signed bytes, and the
  // signature is valid for them: the cache must agree with the verifier, not be stricter.
  const joined = new Uint8Array([...tag, ...bytes]);
  assert.ok(membership.verifySync("node-0", new Uint8Array(0), joined, signature));
  // Another membership that shares the cache but gives node-0 a different key.
  const impostor = await createNodeSigner("node-0", testSecretKey("impostor"));
  const other = await Membership.create([impostor], { signatureCache: cache });
  assert.ok(!other.verifySync("node-0", tag, bytes, signature));
  assert.equal(cache.hits, 1);
});

Deno.test("a failed verification is never cached", async () => {
  const membership = await Membership.create(signers);
  const signature = await signers[0]!.sign(tag, bytes);
  const forged = signature.slice();
  forged[3]! ^= 1;
  assert.ok(!membership.verifySync("node-0", tag, bytes, forged));
  assert.ok(!membership.verifySync("node-0", tag, bytes, forged));
  assert.equal(membership.signatureCache.size, 0);
  assert.equal(membership.signatureCache.hits, 0);
});

Deno.test("VerifiedSignatureCache evicts the least recently used entry", () => {
  const cache = new VerifiedSignatureCache(2);
  const [a, b, c] = [1, 2, 3].map((k) =>
    cache.keyOf(new Uint8Array(32), new Uint8Array(64), new Uint8Array([k]))
  ) as [string, string, string];
  cache.add(a);
  cache.add(b);
  assert.ok(cache.has(a)); // a is now the most recent
  cache.add(c); // evicts b
  assert.equal(cache.size, 2);
  assert.ok(cache.has(a));
  assert.ok(!cache.has(b));
  assert.ok(cache.has(c));
  const disabled = new VerifiedSignatureCache(0);
  disabled.add(a);
  assert.ok(!disabled.has(a));
  assert.throws(() => new VerifiedSignatureCache(-1), RangeError);
});

Deno.test("a certificate whose votes were verified on receipt is not verified again", async () => {
  const membership = await Membership.create(signers);
  const votes = await Promise.all(signers.slice(0, 3).map((signer) => samplePrepare(signer)));
  for (const vote of votes) assert.ok((await verifySignedMessage(vote, membership)).ok);
  assert.equal(membership.signatureCache.hits, 0);
  const options = {
    type: "Prepare",
    membership,
    faultsMax: TEST_FAULTS_MAX,
    inferenceId: 42,
    view: 1,
  } as const;
  assert.ok((await verifyCertificate(votes, options)).ok);
  assert.equal(membership.signatureCache.hits, 3);
  // A vote with a flipped signature bit is not rescued by its cached original.
  const broken = { body: votes[2]!.body, signature: votes[2]!.signature.slice() };
  broken.signature[0]! ^= 1;
  const verdict = await verifyCertificate([votes[0]!, votes[1]!, broken], options);
  assert.equal(verdict.ok ? "" : verdict.error.code, "certificate_bad_signature");
});
