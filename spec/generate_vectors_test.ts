import assert from "node:assert/strict";
import * as ed from "@noble/ed25519";
import { sha256 } from "@noble/hashes/sha2.js";
import { buildVectors, fromHex, fromJson } from "./generate_vectors.ts";
import { verifyCertificate } from "../src/wire/certificate.ts";
import { verifyClientReply } from "../src/wire/client_reply.ts";
import { openFrame } from "../src/wire/frame.ts";
import { Membership } from "../src/wire/identity.ts";
import {
  bytesEqual,
  type CoordinationMessage,
  decodeMessage,
  encodeMessage,
  type ProofData,
  type SignedMessage,
} from "../src/wire/message.ts";
import { InferenceResult, Proof } from "../src/wire/proof.ts";

interface HexValue {
  readonly $hex: string;
}

interface KeysFile {
  readonly members: readonly string[];
  readonly faultsMax: number;
  readonly messageSignatureTag: HexValue;
  readonly keys: readonly { nodeId: string; publicKey: HexValue }[];
}

async function readVectors(name: string): Promise<unknown> {
  return JSON.parse(await Deno.readTextFile(new URL(`./vectors/${name}`, import.meta.url)));
}

const keys = await readVectors("keys.json") as KeysFile;
const publicKeys = new Map(keys.keys.map((key) => [key.nodeId, fromHex(key.publicKey.$hex)]));
// Built from the published public keys only, not from the signers the generator used.
const everyone = await Membership.create(
  [...publicKeys].map(([nodeId, publicKey]) => ({ nodeId, publicKey })),
);
const members = await Membership.create(
  keys.members.map((nodeId) => ({ nodeId, publicKey: publicKeys.get(nodeId)! })),
);

Deno.test("spec/vectors/ equal what the code produces", async () => {
  // Regenerate with `deno task vectors` after a deliberate change, and review the diff.
  for (const [name, content] of await buildVectors()) {
    const committed = await Deno.readTextFile(new URL(`./vectors/${name}`, import.meta.url));
    assert.equal(committed, JSON.stringify(content, null, 2) + "\n", `spec/vectors/${name}`);
  }
});

Deno.test("every message vector encodes, decodes, hashes and verifies as published", async () => {
  // Each vector checks the encoder (fields -> body), the digest, the receiver (frame -> fields)
  // and the signature, the last with @noble/ed25519 as an independent implementation.
  const { vectors } = await readVectors("messages.json") as {
    vectors: {
      name: string;
      fields: unknown;
      body: HexValue;
      bodyDigest: HexValue;
      signature: HexValue;
      frame: HexValue;
    }[];
  };
  assert.equal(new Set(vectors.map((vector) => (vector.fields as { type: string }).type)).size, 20);
  const tag = fromHex(keys.messageSignatureTag.$hex);
  for (const vector of vectors) {
    const fields = fromJson(vector.fields) as CoordinationMessage;
    const body = fromHex(vector.body.$hex);
    assert.deepEqual(encodeMessage(fields), body, vector.name);
    assert.ok(bytesEqual(sha256(body), fromHex(vector.bodyDigest.$hex)), vector.name);
    const opened = await openFrame(fromHex(vector.frame.$hex), everyone);
    assert.ok(opened.ok, `${vector.name}: ${opened.ok ? "" : opened.error.message}`);
    assert.deepEqual(opened.value.message, fields, vector.name);
    const signed = new Uint8Array([...tag, ...body]);
    const publicKey = publicKeys.get(fields.from)!;
    const signature = fromHex(vector.signature.$hex);
    assert.ok(await ed.verifyAsync(signature, signed, publicKey, { zip215: false }), vector.name);
  }
});

Deno.test("every invalid frame vector produces its published error", async () => {
  const { vectors } = await readVectors("invalid_frames.json") as {
    vectors: { name: string; error: string; frame: HexValue }[];
  };
  assert.ok(vectors.length >= 7);
  for (const vector of vectors) {
    const result = await openFrame(fromHex(vector.frame.$hex), everyone);
    assert.equal(result.ok ? "accepted" : result.error.code, vector.error, vector.name);
  }
});

Deno.test("every certificate vector produces its published result", async () => {
  const { check, vectors } = await readVectors("certificates.json") as {
    check: { type: "Prepare"; inferenceId: number; view: number; faultsMax: number };
    vectors: { name: string; result: string; votes: unknown }[];
  };
  for (const vector of vectors) {
    const votes = fromJson(vector.votes) as SignedMessage[];
    const result = await verifyCertificate(votes, { ...check, membership: members });
    assert.equal(result.ok ? "accepted" : result.error.code, vector.result, vector.name);
  }
});

Deno.test("every proof vector produces its published result", async () => {
  const file = await readVectors("proofs.json") as {
    input: HexValue;
    output: HexValue;
    vectors: { name: string; result: string; proof: unknown }[];
  };
  const input = fromHex(file.input.$hex);
  const result = new InferenceResult(42, fromHex(file.output.$hex));
  for (const vector of file.vectors) {
    const proof = new Proof(fromJson(vector.proof) as ProofData);
    const verdict = await proof.verify({ membership: members, result, input });
    assert.equal(verdict.ok ? "accepted" : verdict.error.code, vector.result, vector.name);
  }
});

Deno.test("every client reply vector decodes and produces its published result", async () => {
  const file = await readVectors("client_replies.json") as {
    input: HexValue;
    faultsMax: number;
    vectors: { name: string; result: string; fields: unknown; body: HexValue }[];
  };
  const input = fromHex(file.input.$hex);
  assert.ok(file.vectors.length >= 7);
  for (const vector of file.vectors) {
    const decoded = decodeMessage(fromHex(vector.body.$hex));
    assert.ok(decoded.ok && decoded.value.type === "ClientReply", vector.name);
    assert.deepEqual(decoded.value, fromJson(vector.fields), vector.name);
    const verdict = await verifyClientReply(decoded.value, {
      membership: members,
      faultsMax: file.faultsMax,
      input,
    });
    assert.equal(verdict.ok ? "accepted" : verdict.error.code, vector.result, vector.name);
  }
});
