import assert from "node:assert/strict";
import * as ed from "@noble/ed25519";
import { createNodeSigner, Membership, MESSAGE_SIGNATURE_TAG } from "./identity.ts";
import { testSecretKey } from "./_test_keys.ts";

Deno.test("createNodeSigner() signs exactly as @noble/ed25519 does (RFC 8032 interop)", async () => {
  // Ed25519 is deterministic: WebCrypto and noble must give the same bytes and accept each other's.
  const secretKey = testSecretKey("node-0");
  const signer = await createNodeSigner("node-0", secretKey);
  assert.deepEqual(signer.publicKey, await ed.getPublicKeyAsync(secretKey));
  const bytes = new TextEncoder().encode("interop");
  const signature = await signer.sign(MESSAGE_SIGNATURE_TAG, bytes);
  const signed = new Uint8Array([...MESSAGE_SIGNATURE_TAG, ...bytes]);
  assert.deepEqual(signature, await ed.signAsync(signed, secretKey));
  assert.ok(await ed.verifyAsync(signature, signed, signer.publicKey, { zip215: false }));
});

Deno.test("Membership.verify() rejects a non-member, a short signature and a wrong message", async () => {
  const signer = await createNodeSigner("node-0", testSecretKey("node-0"));
  const membership = await Membership.create([signer]);
  const tag = new Uint8Array([1]);
  const bytes = new Uint8Array([2, 3]);
  const signature = await signer.sign(tag, bytes);
  assert.ok(await membership.verify("node-0", tag, bytes, signature));
  assert.ok(!await membership.verify("node-1", tag, bytes, signature));
  assert.ok(!await membership.verify("node-0", tag, bytes, signature.subarray(0, 63)));
  assert.ok(!await membership.verify("node-0", tag, new Uint8Array([2, 4]), signature));
});

Deno.test("Membership.create() rejects duplicate ids and malformed keys", async () => {
  const signer = await createNodeSigner("node-0", testSecretKey("node-0"));
  await assert.rejects(() => Membership.create([signer, signer]), /twice/);
  await assert.rejects(
    () => Membership.create([{ nodeId: "node-1", publicKey: new Uint8Array(31) }]),
    RangeError,
  );
  await assert.rejects(() => Membership.create([]), RangeError);
});

Deno.test("createNodeSigner() exposes no key material", async () => {
  // Only the node id, the public key and sign() are visible; the JSON form holds no secret.
  const secretKey = testSecretKey("node-0");
  const signer = await createNodeSigner("node-0", secretKey);
  assert.deepEqual(Object.keys(signer).sort(), ["nodeId", "publicKey", "sign"]);
  const hex = [...secretKey].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  assert.ok(!JSON.stringify(signer).includes(hex));
});
