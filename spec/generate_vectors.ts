/**
 * Builds the interop test vectors of `spec/vectors/` from the code, deterministically (ed25519
 * signatures are deterministic and the keys are published). `deno task vectors` rewrites the
 * files; `spec/generate_vectors_test.ts` fails if the committed files differ from what the code
 * produces, and checks every vector against the decoder and verifiers.
 *
 * JSON conventions: a CBOR byte string is `{ "$hex": "<lowercase hex>" }`; everything else is
 * plain JSON (integers are all below 2^53).
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { readArgs } from "../src/cli/args.ts";
import { encodeFrame, FRAME_BYTES_MAX, sealMessage, signMessage } from "../src/wire/frame.ts";
import {
  createNodeSigner,
  MESSAGE_SIGNATURE_TAG,
  type NodeSigner,
  PROOF_LINK_TAG,
} from "../src/wire/identity.ts";
import {
  encodeCanonical,
  encodeMessage,
  type MessageOf,
  type SignedMessage,
} from "../src/wire/message.ts";
import { Proof } from "../src/wire/proof.ts";
import { sampleMessages, samplePrepare } from "../src/wire/_samples.ts";
import {
  TEST_CLIENT_ID,
  TEST_FAULTS_MAX,
  TEST_NODE_IDS,
  testSecretKey,
  testSigners,
} from "../src/wire/_test_keys.ts";

/** The vector files, by file name, as JSON values. */
export type VectorFiles = ReadonlyMap<string, unknown>;

/**
 * Converts a value to the vectors' JSON form: byte strings become `{ "$hex": ... }`.
 *
 * @param value A message, a certificate or a proof.
 * @returns The JSON-ready value.
 */
export function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $hex: toHex(value) };
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toJson(item)]));
  }
  return value;
}

/**
 * Converts the vectors' JSON form back: `{ "$hex": ... }` becomes a byte string.
 *
 * @param value A JSON value from a vector file.
 * @returns The value with byte strings restored.
 */
export function fromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJson);
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.$hex === "string" && Object.keys(record).length === 1) {
      return fromHex(record.$hex);
    }
    return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, fromJson(item)]));
  }
  return value;
}

/**
 * Lowercase hex of bytes.
 *
 * @param bytes The bytes.
 * @returns The hex string.
 */
export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/**
 * Bytes of a hex string.
 *
 * @param hex Lowercase or uppercase hex of even length.
 * @returns The bytes.
 */
export function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let index = 0; index < bytes.length; index++) {
    bytes[index] = parseInt(hex.slice(2 * index, 2 * index + 2), 16);
  }
  return bytes;
}

/**
 * Builds every vector file.
 *
 * @returns The files by name.
 */
export async function buildVectors(): Promise<VectorFiles> {
  const signers = await testSigners([...TEST_NODE_IDS, TEST_CLIENT_ID]);
  const bySender = new Map(signers.map((signer) => [signer.nodeId, signer]));
  const nodes = signers.slice(0, TEST_NODE_IDS.length);
  return new Map<string, unknown>([
    ["keys.json", keysFile(signers)],
    ["messages.json", await messagesFile(nodes, bySender)],
    ["invalid_frames.json", await invalidFramesFile(nodes)],
    ["certificates.json", await certificatesFile(nodes)],
    ["proofs.json", await proofsFile(nodes)],
    ["client_replies.json", await clientRepliesFile(nodes)],
  ]);
}

function keysFile(signers: readonly NodeSigner[]): unknown {
  return {
    description: "Published test keys: secretKey = SHA-256(UTF-8 'butterfly-bcp/v1/test-key/' " +
      "|| nodeId). The cluster is node-0..node-3 (n = 4, f = 1, quorum 3); client-0 signs " +
      "ClientRequests and is known to the nodes but is not a cluster member. Never use these " +
      "keys outside tests.",
    faultsMax: TEST_FAULTS_MAX,
    members: TEST_NODE_IDS,
    clients: [TEST_CLIENT_ID],
    messageSignatureTag: { $hex: toHex(MESSAGE_SIGNATURE_TAG) },
    proofLinkTag: { $hex: toHex(PROOF_LINK_TAG) },
    keys: signers.map((signer) => ({
      nodeId: signer.nodeId,
      secretKey: { $hex: toHex(testSecretKey(signer.nodeId)) },
      publicKey: { $hex: toHex(signer.publicKey) },
    })),
  };
}

async function messagesFile(
  nodes: readonly NodeSigner[],
  bySender: ReadonlyMap<string, NodeSigner>,
): Promise<unknown> {
  const vectors = [];
  for (const [name, message] of await sampleMessages(nodes)) {
    const signer = bySender.get(message.from)!;
    const body = encodeMessage(message);
    const frame = await sealMessage(message, signer);
    vectors.push({
      name,
      type: message.type,
      fields: toJson(message),
      body: { $hex: toHex(body) },
      bodyDigest: { $hex: toHex(sha256(body)) },
      signature: { $hex: toHex(frame.subarray(frame.length - 64)) },
      frame: { $hex: toHex(frame) },
    });
  }
  return {
    description: "One valid message per type: fields, canonical body, SHA-256 of the body, " +
      "the sender's signature over messageSignatureTag || body, and the whole frame. A receiver " +
      "must decode `frame` to `fields` and accept it; an encoder must produce `body` from `fields`.",
    vectors,
  };
}

async function signRaw(signer: NodeSigner, body: Uint8Array): Promise<Uint8Array> {
  return encodeFrame(body, await signer.sign(MESSAGE_SIGNATURE_TAG, body));
}

async function invalidFramesFile(nodes: readonly NodeSigner[]): Promise<unknown> {
  const [node0] = nodes as [NodeSigner];
  const samples = await sampleMessages(nodes);
  const prepare = samples.get("Prepare")!;
  const frame = await sealMessage(prepare, node0);
  const badSignature = frame.slice();
  badSignature[badSignature.length - 1]! ^= 0x01;
  const wrongVersion = frame.slice();
  wrongVersion[4] = 2;
  const trailing = new Uint8Array(frame.length + 1);
  trailing.set(frame);
  const oversized = new Uint8Array(5);
  new DataView(oversized.buffer).setUint32(0, FRAME_BYTES_MAX - 3);
  oversized[4] = 1;
  const stranger = await createNodeSigner("node-9", testSecretKey("node-9"));
  const nonCanonical = encodeCanonical({ ...prepare }).slice();
  // Re-encode the sequence (10, one byte 0x0a) in the two-byte form 0x18 0x0a.
  const index = findSequence(nonCanonical);
  const longForm = new Uint8Array([
    ...nonCanonical.subarray(0, index),
    0x18,
    ...nonCanonical.subarray(index),
  ]);
  const cases: [string, string, Uint8Array][] = [
    ["truncated frame", "frame_truncated", frame.subarray(0, frame.length - 10)],
    ["oversized frame (length prefix only)", "frame_oversized", oversized],
    ["undersized frame", "frame_undersized", new Uint8Array([0, 0, 0, 1, 1])],
    ["trailing bytes after the frame", "frame_trailing_bytes", trailing],
    ["wrong protocol version", "unsupported_version", wrongVersion],
    ["bad signature", "bad_signature", badSignature],
    [
      "unknown type",
      "unknown_type",
      await signRaw(node0, encodeCanonical({ ...prepare, type: "Hello" })),
    ],
    [
      "unknown sender",
      "unknown_sender",
      await sealMessage({ ...prepare, from: "node-9" }, stranger),
    ],
    ["non-canonical body", "non_canonical", await signRaw(node0, longForm)],
    ["body is not CBOR", "malformed_cbor", await signRaw(node0, new Uint8Array([0xff]))],
    [
      "missing field",
      "missing_field",
      await signRaw(node0, encodeCanonical(withoutValue(prepare))),
    ],
  ];
  return {
    description: "Frames a receiver must refuse, with the error code each must produce. Check " +
      "them with the members and clients of keys.json.",
    vectors: cases.map(([name, error, bytes]) => ({ name, error, frame: { $hex: toHex(bytes) } })),
  };
}

function withoutValue(message: object): object {
  return Object.fromEntries(Object.entries(message).filter(([key]) => key !== "value"));
}

function findSequence(body: Uint8Array): number {
  // "sequence" (text of 8 bytes: 0x68 "sequence") is followed by its value.
  const key = new Uint8Array([0x68, ...new TextEncoder().encode("sequence")]);
  for (let index = 0; index + key.length < body.length; index++) {
    if (key.every((byte, offset) => body[index + offset] === byte)) return index + key.length;
  }
  throw new Error("The sample has no sequence field");
}

async function certificatesFile(nodes: readonly NodeSigner[]): Promise<unknown> {
  const votes = await Promise.all(nodes.map((signer) => samplePrepare(signer)));
  const stranger = await createNodeSigner("node-9", testSecretKey("node-9"));
  const otherValue = await signMessage({
    type: "Prepare",
    inferenceId: 42,
    from: "node-3",
    view: 1,
    epoch: 2,
    sequence: 10,
    value: new Uint8Array(32),
  }, nodes[3]!);
  const badSignature = { body: votes[2]!.body, signature: votes[2]!.signature.slice() };
  badSignature.signature[0]! ^= 0x01;
  const cases: [string, string, SignedMessage[]][] = [
    ["quorum of 3 distinct members", "accepted", votes.slice(0, 3)],
    ["all 4 members", "accepted", votes],
    ["below quorum", "certificate_below_quorum", votes.slice(0, 2)],
    ["duplicate signer", "certificate_duplicate_signer", [votes[0]!, votes[1]!, votes[0]!]],
    ["non-member signer", "certificate_non_member", [
      votes[0]!,
      votes[1]!,
      await samplePrepare(stranger),
    ]],
    ["mixed values", "certificate_mixed_values", [...votes.slice(0, 3), otherValue]],
    ["bad signature", "certificate_bad_signature", [votes[0]!, votes[1]!, badSignature]],
  ];
  return {
    description: "Prepare certificates for inference 42, view 1, value SHA-256('result'), " +
      "checked against members node-0..node-3 with f = 1 (quorum 3).",
    check: { type: "Prepare", inferenceId: 42, view: 1, faultsMax: TEST_FAULTS_MAX },
    vectors: cases.map(([name, result, certificate]) => ({
      name,
      result,
      votes: toJson(certificate),
    })),
  };
}

async function proofsFile(nodes: readonly NodeSigner[]): Promise<unknown> {
  const encoder = new TextEncoder();
  const input = encoder.encode("the prompt");
  const output = encoder.encode("the output");
  const steps = [
    { output: encoder.encode("stage 1 output"), signer: nodes[1]! },
    { output: encoder.encode("stage 2 output"), signer: nodes[2]! },
  ];
  const proof = await Proof.generate(42, { input, output, steps });
  const other = await Proof.generate(43, { input, output, steps });
  const stranger = await createNodeSigner("node-9", testSecretKey("node-9"));
  const foreignSigner = await Proof.generate(42, {
    input,
    output,
    steps: [steps[0]!, { ...steps[1]!, signer: stranger }],
  });
  const links = proof.links;
  const cases: [string, string, Proof][] = [
    ["valid", "accepted", proof],
    [
      "wrong link",
      "proof_chain_broken",
      new Proof({
        ...proof.toData(),
        links: [{ ...links[0]!, value: sha256(encoder.encode("forged")) }, ...links.slice(1)],
      }),
    ],
    [
      "missing signature",
      "proof_signature_missing",
      new Proof({
        ...proof.toData(),
        links: [links[0]!, { ...links[1]!, signature: new Uint8Array() }, links[2]!],
      }),
    ],
    ["signer outside the cluster", "proof_unknown_signer", foreignSigner],
    [
      "link reused from inference 43",
      "proof_foreign_link",
      new Proof({
        ...proof.toData(),
        links: [other.links[0]!, ...links.slice(1)],
      }),
    ],
  ];
  return {
    description: "Proofs for inference 42 with input 'the prompt' and output 'the output' " +
      "(UTF-8), checked against members node-0..node-3. Link body = canonical CBOR of the link " +
      "without `signature`; hash = SHA-256(proofLinkTag || body); signature over the same bytes.",
    input: { $hex: toHex(input) },
    output: { $hex: toHex(output) },
    vectors: cases.map(([name, result, item]) => ({ name, result, proof: toJson(item.toData()) })),
  };
}

async function clientRepliesFile(nodes: readonly NodeSigner[]): Promise<unknown> {
  const reply = (await sampleMessages(nodes)).get("ClientReply") as MessageOf<"ClientReply">;
  const vote = (signer: NodeSigner, type: "Prepare" | "Commit", value = reply.value) =>
    signMessage({
      type,
      inferenceId: reply.inferenceId,
      from: signer.nodeId,
      view: 1,
      epoch: 2,
      sequence: 29,
      value,
    }, signer);
  const prepares = await Promise.all(nodes.map((signer) => vote(signer, "Prepare")));
  const otherValue = await Promise.all(
    nodes.slice(0, 3).map((signer) => vote(signer, "Commit", new Uint8Array(32))),
  );
  const badSignature = reply.certificate.map((signed) => ({
    body: signed.body,
    signature: signed.signature.slice(),
  }));
  badSignature[2]!.signature[0]! ^= 0x01;
  const cases: [string, string, MessageOf<"ClientReply">][] = [
    ["Commit quorum (3 of 4)", "accepted", reply],
    ["fast path: Prepares from all 4", "accepted", { ...reply, certificate: prepares }],
    ["value is not SHA-256 of output", "client_reply_value_mismatch", {
      ...reply,
      output: new TextEncoder().encode("another output"),
    }],
    ["fast path with 3 Prepares", "client_reply_fast_path_incomplete", {
      ...reply,
      certificate: prepares.slice(0, 3),
    }],
    ["2 Commits", "certificate_below_quorum", {
      ...reply,
      certificate: reply.certificate.slice(0, 2),
    }],
    ["Commits for another value", "certificate_mixed_values", {
      ...reply,
      certificate: otherValue,
    }],
    ["bad Commit signature", "certificate_bad_signature", {
      ...reply,
      certificate: badSignature,
    }],
  ];
  return {
    description: "ClientReply messages as a client checks them (verifyClientReply): value = " +
      "SHA-256(output); certificate = a quorum of Commits or Prepares from all members, for " +
      "the reply's inference and value, in one view; proof from input 'the prompt' (UTF-8). " +
      "Members node-0..node-3, f = 1.",
    input: { $hex: toHex(new TextEncoder().encode("the prompt")) },
    faultsMax: TEST_FAULTS_MAX,
    vectors: cases.map(([name, result, message]) => ({
      name,
      result,
      fields: toJson(message),
      body: { $hex: toHex(encodeMessage(message)) },
    })),
  };
}

const COMMAND = {
  name: "vectors",
  usage: "deno task vectors",
  description: "Rewrites spec/vectors/ from the code (deterministically: the keys are published).",
  options: {},
} as const;

if (import.meta.main) {
  const read = readArgs(COMMAND, Deno.args);
  if ("exit" in read) Deno.exit(read.exit);
  for (const [name, content] of await buildVectors()) {
    await Deno.writeTextFile(
      new URL(`./vectors/${name}`, import.meta.url),
      JSON.stringify(content, null, 2) + "\n",
    );
  }
  console.log("Wrote spec/vectors/");
}
