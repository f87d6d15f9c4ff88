import assert from "node:assert/strict";
import {
  decodeFrame,
  encodeFrame,
  FRAME_BYTES_MAX,
  openFrame,
  peekFrameLength,
  sealMessage,
  signMessage,
  verifySignedMessage,
} from "./frame.ts";
import { createNodeSigner, Membership } from "./identity.ts";
import { encodeMessage, SIGNATURE_BYTES } from "./message.ts";
import { sampleMessages } from "./_samples.ts";
import { TEST_CLIENT_ID, testCluster, testSecretKey, testSigners } from "./_test_keys.ts";
import type { WireResult } from "./wire_error.ts";

const { signers, membership } = await testCluster();
const [client] = await testSigners([TEST_CLIENT_ID]);
const withClient = await Membership.create([...signers, client!]);
const samples = await sampleMessages(signers);
const heartbeat = samples.get("Heartbeat")!;
const signerOf = new Map([...signers, client!].map((signer) => [signer.nodeId, signer]));

function codeOf<T>(result: WireResult<T>): string {
  return result.ok ? "accepted" : result.error.code;
}

Deno.test("openFrame() accepts a sealed sample of every message type", async () => {
  // Each sample is sealed by its sender's test key and opened against the membership.
  for (const [name, message] of samples) {
    const frame = await sealMessage(message, signerOf.get(message.from)!);
    const opened = await openFrame(frame, withClient);
    assert.ok(opened.ok, `${name}: ${opened.ok ? "" : opened.error.message}`);
    assert.deepEqual(opened.value.message, message);
  }
});

Deno.test("decodeFrame() rejects an oversized frame", () => {
  // The length prefix alone decides: the frame is refused before its bytes are buffered.
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, FRAME_BYTES_MAX - 3);
  assert.equal(codeOf(decodeFrame(prefix)), "frame_oversized");
  assert.equal(codeOf(peekFrameLength(prefix)), "frame_oversized");
  new DataView(prefix.buffer).setUint32(0, FRAME_BYTES_MAX - 4);
  assert.equal(codeOf(peekFrameLength(prefix)), "accepted");
});

Deno.test("decodeFrame() rejects a truncated frame, trailing bytes and an undersized length", async () => {
  const frame = await sealMessage(heartbeat, signers[0]!);
  for (const cut of [0, 3, 4, 5, frame.length - 1]) {
    assert.equal(codeOf(decodeFrame(frame.subarray(0, cut))), "frame_truncated", `cut ${cut}`);
  }
  const longer = new Uint8Array(frame.length + 1);
  longer.set(frame);
  assert.equal(codeOf(decodeFrame(longer)), "frame_trailing_bytes");
  assert.equal(codeOf(decodeFrame(new Uint8Array([0, 0, 0, 65]))), "frame_undersized");
});

Deno.test("decodeFrame() rejects a wrong protocol version", async () => {
  const frame = await sealMessage(heartbeat, signers[0]!);
  for (const version of [0, 2, 255]) {
    frame[4] = version;
    assert.equal(codeOf(decodeFrame(frame)), "unsupported_version");
  }
});

Deno.test("openFrame() rejects a flipped bit in the body or the signature as bad_signature", async () => {
  // Flipping the last byte of a digest keeps the body canonical, so only the signature catches it.
  const prepare = samples.get("Prepare")!;
  const frame = await sealMessage(prepare, signers[0]!);
  const bodyEnd = frame.length - SIGNATURE_BYTES;
  const inBody = frame.slice();
  inBody[bodyEnd - 1]! ^= 1;
  assert.equal(codeOf(await openFrame(inBody, membership)), "bad_signature");
  const inSignature = frame.slice();
  inSignature[frame.length - 1]! ^= 0x40;
  assert.equal(codeOf(await openFrame(inSignature, membership)), "bad_signature");
});

Deno.test("openFrame() rejects a message signed by another node's key as bad_signature", async () => {
  // node-1 signs a body that claims to come from node-0.
  const body = encodeMessage(heartbeat);
  const forged = encodeFrame(body, await signers[1]!.sign(new TextEncoder().encode("x"), body));
  assert.equal(codeOf(await openFrame(forged, membership)), "bad_signature");
});

Deno.test("openFrame() rejects an unknown sender", async () => {
  const stranger = await createNodeSigner("node-9", testSecretKey("node-9"));
  const frame = await sealMessage({ ...heartbeat, from: "node-9" }, stranger);
  assert.equal(codeOf(await openFrame(frame, membership)), "unknown_sender");
});

Deno.test("signMessage() refuses to sign for another node", async () => {
  await assert.rejects(() => signMessage(heartbeat, signers[1]!), RangeError);
});

Deno.test("verifySignedMessage() rejects a signature over the proof-link domain", async () => {
  // Domain separation: the same key signing the same bytes under another tag does not verify.
  const body = encodeMessage(heartbeat);
  const { PROOF_LINK_TAG } = await import("./identity.ts");
  const signature = await signers[0]!.sign(PROOF_LINK_TAG, body);
  assert.equal(codeOf(await verifySignedMessage({ body, signature }, membership)), "bad_signature");
});
