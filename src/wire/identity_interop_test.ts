// Interop of the three ed25519 implementations the library measured (bench/wire_bench.ts):
// node:crypto (the verifier), WebCrypto (the signer, NodeSigner) and @noble/ed25519. Every
// signer's signatures must verify under every verifier, and every verifier must refuse the same
// bad ones; a single disagreement fails the test.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  createPrivateKey,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { createNodeSigner, ed25519Der, Membership, MESSAGE_SIGNATURE_TAG } from "./identity.ts";
import { testSecretKey } from "./_test_keys.ts";

ed.hashes.sha512 = sha512;

const ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

type Verifier = (
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => Promise<boolean>;

const verifiers: Record<string, Verifier> = {
  // deno-lint-ignore require-await
  "node:crypto": async (publicKey, message, signature) => {
    const key = createPublicKey({
      key: Buffer.from(ed25519Der("spki", publicKey)),
      format: "der",
      type: "spki",
    });
    return nodeVerify(null, message, key, signature);
  },
  "WebCrypto": async (publicKey, message, signature) => {
    const key = await crypto.subtle.importKey("raw", publicKey.slice(), "Ed25519", false, [
      "verify",
    ]);
    return await crypto.subtle.verify("Ed25519", key, signature.slice(), message.slice());
  },
  // deno-lint-ignore require-await
  "@noble/ed25519": async (publicKey, message, signature) =>
    ed.verify(signature, message, publicKey, { zip215: false }),
  "Membership (library)": async (publicKey, message, signature) => {
    const membership = await Membership.create([{ nodeId: "n", publicKey }], {
      signatureCache: 0,
    });
    return membership.verifySync("n", new Uint8Array(0), message, signature);
  },
};

type Signer = (secretKey: Uint8Array, message: Uint8Array) => Promise<Uint8Array>;

const signers: Record<string, Signer> = {
  // deno-lint-ignore require-await
  "node:crypto": async (secretKey, message) => {
    const key = createPrivateKey({
      key: Buffer.from(ed25519Der("pkcs8", secretKey)),
      format: "der",
      type: "pkcs8",
    });
    return new Uint8Array(nodeSign(null, message, key));
  },
  "WebCrypto (NodeSigner)": async (secretKey, message) =>
    await (await createNodeSigner("n", secretKey)).sign(new Uint8Array(0), message),
  // deno-lint-ignore require-await
  "@noble/ed25519": async (secretKey, message) => ed.sign(message, secretKey),
};

const messages = [
  new Uint8Array(0),
  new Uint8Array([...MESSAGE_SIGNATURE_TAG, 0xa0]),
  new TextEncoder().encode("butterfly interop ".repeat(200)),
];
const secretKeys = ["node-0", "node-1", "node-2", "node-3"].map(testSecretKey);

async function verdicts(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<Record<string, boolean>> {
  const result: Record<string, boolean> = {};
  for (const [name, verify] of Object.entries(verifiers)) {
    try {
      result[name] = await verify(publicKey, message, signature);
    } catch {
      result[name] = false;
    }
  }
  return result;
}

function all(value: boolean): Record<string, boolean> {
  return Object.fromEntries(Object.keys(verifiers).map((name) => [name, value]));
}

Deno.test("each signer's signatures verify under node:crypto, WebCrypto and @noble/ed25519", async () => {
  for (const secretKey of secretKeys) {
    const publicKey = ed.getPublicKey(secretKey);
    for (const message of messages) {
      const signatures = new Map<string, Uint8Array>();
      for (const [name, sign] of Object.entries(signers)) {
        const signature = await sign(secretKey, message);
        signatures.set(name, signature);
        assert.deepEqual(await verdicts(publicKey, message, signature), all(true), name);
      }
      // RFC 8032 signing is deterministic: the three signers give the same bytes.
      const [first, ...rest] = [...signatures.values()];
      for (const other of rest) assert.deepEqual(other, first);
    }
  }
});

Deno.test("node:crypto, WebCrypto and @noble/ed25519 refuse the same bad signatures", async () => {
  const secretKey = secretKeys[0]!;
  const publicKey = ed.getPublicKey(secretKey);
  const message = messages[1]!;
  const signature = ed.sign(message, secretKey);
  const otherKey = ed.getPublicKey(secretKeys[1]!);
  assert.deepEqual(await verdicts(otherKey, message, signature), all(false), "other key");
  assert.deepEqual(await verdicts(publicKey, messages[0]!, signature), all(false), "other bytes");
  for (const index of [0, 31, 32, 63]) {
    const flipped = signature.slice();
    flipped[index]! ^= 1;
    assert.deepEqual(await verdicts(publicKey, message, flipped), all(false), `bit in ${index}`);
  }
  // S + L: the same signature with a non-canonical scalar; RFC 8032 strict verification and all
  // three implementations refuse it (a malleability check).
  let s = 0n;
  for (let index = 63; index >= 32; index--) s = (s << 8n) | BigInt(signature[index]!);
  const malleable = signature.slice();
  let sPlusL = s + ORDER;
  for (let index = 32; index < 64; index++) {
    malleable[index] = Number(sPlusL & 0xffn);
    sPlusL >>= 8n;
  }
  assert.deepEqual(await verdicts(publicKey, message, malleable), all(false), "S + L");
});

Deno.test("Membership.create() refuses the weak keys on which the implementations disagree", async () => {
  // With the identity point as public key, R = identity and S = 0 "sign" every message under
  // node:crypto and WebCrypto but not under @noble/ed25519: a split the membership rules out.
  const identity = new Uint8Array(32);
  identity[0] = 1;
  const universal = new Uint8Array(64);
  universal[0] = 1;
  const raw = await verdicts(identity, messages[1]!, universal);
  assert.equal(raw["node:crypto"], true);
  assert.equal(raw["@noble/ed25519"], false);
  await assert.rejects(
    () => Membership.create([{ nodeId: "n", publicKey: identity }]),
    /weak public key/,
  );
  // A key with a small-order component (an honest key plus a point of order 4).
  const mixed = ed.Point.fromBytes(ed.getPublicKey(secretKeys[0]!)).add(
    ed.Point.fromBytes(new Uint8Array(32)),
  ).toBytes();
  await assert.rejects(
    () => Membership.create([{ nodeId: "n", publicKey: mixed }]),
    /weak public key/,
  );
});

Deno.test("a signer-made R with a small-order component: node:crypto and WebCrypto refuse it", async () => {
  // Only a key's owner can make this signature (it needs the secret scalar): R' = rB + T with T
  // of order 4 and S = r + H(R' || A || M) a. The cofactorless equation SB = R' + kA fails; the
  // cofactored one 8SB = 8R' + 8kA, which @noble/ed25519 uses, holds. BCP specifies the
  // cofactorless check (spec/PROTOCOL.md §4); this test pins the reference verifiers to it.
  const { scalar, pointBytes } = ed.utils.getExtendedPublicKey(secretKeys[2]!);
  const message = messages[1]!;
  const r = 123456789n;
  const torsion = ed.Point.fromBytes(new Uint8Array(32));
  const rPoint = ed.Point.BASE.multiply(r).add(torsion).toBytes();
  const k = ed.etc.mod(
    bytesToNumberLE(sha512(ed.etc.concatBytes(rPoint, pointBytes, message))),
    ORDER,
  );
  const s = ed.etc.mod(r + k * scalar, ORDER);
  const signature = ed.etc.concatBytes(rPoint, numberToBytesLE(s));
  const result = await verdicts(pointBytes, message, signature);
  assert.equal(result["node:crypto"], false);
  assert.equal(result["WebCrypto"], false);
  assert.equal(result["Membership (library)"], false);
  assert.equal(result["@noble/ed25519"], true, "noble is cofactored: documented in PROTOCOL.md");
});

function bytesToNumberLE(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let index = bytes.length - 1; index >= 0; index--) {
    value = (value << 8n) | BigInt(bytes[index]!);
  }
  return value;
}

function numberToBytesLE(value: bigint): Uint8Array {
  const bytes = new Uint8Array(32);
  for (let index = 0; index < 32; index++) {
    bytes[index] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}
