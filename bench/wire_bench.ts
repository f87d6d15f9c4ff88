/**
 * Wire throughput: encode+sign and decode+verify of a Prepare vote and of a StageOutput frame
 * carrying 768 float32 activations; a certificate of 3 Prepares with a cold and a warm
 * verified-signature cache; and ed25519 signing and verification by node:crypto (synchronous,
 * the library's signer and verifier), Deno's WebCrypto and @noble/ed25519 side by side, all on
 * the same signature, one at a time and 64 in a row or in flight (how a certificate's votes are
 * verified).
 *
 *     deno bench --frozen bench/wire_bench.ts
 *     taskset -c 0 deno bench --frozen bench/wire_bench.ts   # one core
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  createPrivateKey,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { openFrame, sealMessage } from "../src/wire/frame.ts";
import { ed25519Der, Membership, MESSAGE_SIGNATURE_TAG } from "../src/wire/identity.ts";
import { encodeMessage } from "../src/wire/message.ts";
import { verifyCertificate } from "../src/wire/certificate.ts";
import { sampleMessages, samplePrepare } from "../src/wire/_samples.ts";
import { TEST_FAULTS_MAX, testSecretKey, testSigners } from "../src/wire/_test_keys.ts";

// noble's synchronous API needs a SHA-512; the async one uses WebCrypto's.
ed.hashes.sha512 = sha512;

const signers = await testSigners();
const signer = signers[0]!;
// No cache: every iteration verifies (the cold figures). `warm` shares one warmed cache.
const membership = await Membership.create(signers, { signatureCache: 0 });
const warm = await Membership.create(signers);
const samples = await sampleMessages(signers);
const prepare = samples.get("Prepare")!;
const activation = { ...samples.get("StageOutput.activation")!, from: "node-0" };
const prepareFrame = await sealMessage(prepare, signer);
const activationFrame = await sealMessage(activation, signer);
const votes = await Promise.all(signers.slice(0, 3).map((node) => samplePrepare(node)));

const secretKey = testSecretKey("node-0");
const body = encodeMessage(prepare);
const signedBytes = new Uint8Array([...MESSAGE_SIGNATURE_TAG, ...body]);
const signature = ed.sign(signedBytes, secretKey);
const publicKey = ed.getPublicKey(secretKey);
const cryptoKey = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, [
  "verify",
]);
const nodeKey = createPublicKey({
  key: Buffer.from(ed25519Der("spki", publicKey)),
  format: "der",
  type: "spki",
});
const nodePrivateKey = createPrivateKey({
  key: Buffer.from(ed25519Der("pkcs8", secretKey)),
  format: "der",
  type: "pkcs8",
});
const webCryptoPrivateKey = await crypto.subtle.importKey(
  "pkcs8",
  ed25519Der("pkcs8", secretKey),
  { name: "Ed25519" },
  false,
  ["sign"],
);
const inFlight = 64;

// All three verify the same signature, and it must be the one each signer makes.
if (
  !nodeVerify(null, signedBytes, nodeKey, signature) ||
  !await crypto.subtle.verify("Ed25519", cryptoKey, signature, signedBytes) ||
  !ed.verify(signature, signedBytes, publicKey, { zip215: false }) ||
  !Buffer.from(nodeSign(null, signedBytes, nodePrivateKey)).equals(Buffer.from(signature)) ||
  !Buffer.from(await signer.sign(MESSAGE_SIGNATURE_TAG, body)).equals(Buffer.from(signature))
) throw new Error("The three ed25519 implementations disagree");

console.log(`Prepare frame ${prepareFrame.length} B, activation frame ${activationFrame.length} B`);

Deno.bench("Prepare: encode + sign", { group: "prepare" }, async () => {
  await sealMessage(prepare, signer);
});
Deno.bench("Prepare: decode + verify", { group: "prepare" }, async () => {
  const result = await openFrame(prepareFrame, membership);
  if (!result.ok) throw result.error;
});
Deno.bench("Activation 768 x f32: encode + sign", { group: "activation" }, async () => {
  await sealMessage(activation, signer);
});
Deno.bench("Activation 768 x f32: decode + verify", { group: "activation" }, async () => {
  const result = await openFrame(activationFrame, membership);
  if (!result.ok) throw result.error;
});
const certificateOptions = {
  type: "Prepare",
  faultsMax: TEST_FAULTS_MAX,
  inferenceId: 42,
  view: 1,
} as const;
const warmed = await verifyCertificate(votes, { ...certificateOptions, membership: warm });
if (!warmed.ok) throw warmed.error;
Deno.bench(
  "Certificate of 3 Prepares (n = 4): verify, cold cache",
  { group: "certificate", baseline: true },
  async () => {
    const result = await verifyCertificate(votes, { ...certificateOptions, membership });
    if (!result.ok) throw result.error;
  },
);
Deno.bench(
  "Certificate of 3 Prepares (n = 4): verify, warm cache",
  { group: "certificate" },
  async () => {
    const result = await verifyCertificate(votes, { ...certificateOptions, membership: warm });
    if (!result.ok) throw result.error;
  },
);

Deno.bench(
  "ed25519 verify: node:crypto (sync)",
  { group: "verify", baseline: true },
  () => {
    if (!nodeVerify(null, signedBytes, nodeKey, signature)) throw new Error();
  },
);
Deno.bench("ed25519 verify: @noble/ed25519 (sync)", { group: "verify" }, () => {
  if (!ed.verify(signature, signedBytes, publicKey, { zip215: false })) throw new Error();
});
Deno.bench(
  "ed25519 verify: WebCrypto, one awaited",
  { group: "verify" },
  async () => {
    if (
      !await crypto.subtle.verify("Ed25519", cryptoKey, signature, signedBytes)
    ) throw new Error();
  },
);
Deno.bench(`ed25519 verify: node:crypto, ${inFlight} in a row`, {
  group: "verify batch",
  baseline: true,
  n: 200,
}, () => {
  for (let index = 0; index < inFlight; index++) {
    if (!nodeVerify(null, signedBytes, nodeKey, signature)) throw new Error();
  }
});
Deno.bench(`ed25519 verify: WebCrypto, ${inFlight} in flight`, {
  group: "verify batch",
  n: 200,
}, async () => {
  const results = await Promise.all(
    Array.from(
      { length: inFlight },
      () => crypto.subtle.verify("Ed25519", cryptoKey, signature, signedBytes),
    ),
  );
  if (results.includes(false)) throw new Error();
});
Deno.bench(`ed25519 verify: @noble/ed25519, ${inFlight} in a row`, {
  group: "verify batch",
  n: 20,
}, () => {
  for (let index = 0; index < inFlight; index++) {
    if (!ed.verify(signature, signedBytes, publicKey, { zip215: false })) throw new Error();
  }
});
Deno.bench("ed25519 sign: @noble/ed25519 (sync)", { group: "sign" }, () => {
  ed.sign(signedBytes, secretKey);
});
Deno.bench("ed25519 sign: node:crypto (sync)", { group: "sign" }, () => {
  nodeSign(null, signedBytes, nodePrivateKey);
});
Deno.bench("ed25519 sign: WebCrypto, one awaited", { group: "sign" }, async () => {
  await crypto.subtle.sign("Ed25519", webCryptoPrivateKey, signedBytes);
});
Deno.bench(
  "ed25519 sign: NodeSigner (node:crypto)",
  { group: "sign", baseline: true },
  async () => {
    await signer.sign(MESSAGE_SIGNATURE_TAG, body);
  },
);
