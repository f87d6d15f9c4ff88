/**
 * Frames: how a signed message travels on a byte stream.
 *
 * ```text
 * offset 0        length    u32 big-endian: bytes that follow (version + body + signature)
 * offset 4        version   u8, FRAME_VERSION = 1
 * offset 5        body      canonical CBOR message (src/wire/message.ts)
 * last 64 bytes   signature ed25519 by body.from over MESSAGE_SIGNATURE_TAG || body
 * ```
 *
 * The domain tag names the protocol version, so a signature never verifies under another
 * version or as a proof link. `spec/PROTOCOL.md` says what a receiver does with each rejection.
 *
 * @module
 */

import {
  type CoordinationMessage,
  decodeMessage,
  encodeMessage,
  SIGNATURE_BYTES,
  type SignedMessage,
} from "./message.ts";
import { type Membership, MESSAGE_SIGNATURE_TAG, type NodeSigner } from "./identity.ts";
import { accepted, refused, type WireResult } from "./wire_error.ts";

/** The protocol version this library speaks (frame byte 4, and `v1` in the domain tags). */
export const FRAME_VERSION = 1;
/** Bytes of the length prefix. */
export const FRAME_LENGTH_BYTES = 4;
/** Bytes before the body: the length prefix and the version. */
export const FRAME_HEADER_BYTES: number = FRAME_LENGTH_BYTES + 1;
/** Largest frame, prefix included: 4 MiB, room for a prompt's activations with margin. */
export const FRAME_BYTES_MAX = 4 * 1024 * 1024;
/** Smallest frame: header, a one-byte body and a signature. */
export const FRAME_BYTES_MIN: number = FRAME_HEADER_BYTES + 1 + SIGNATURE_BYTES;

/** A frame split into its parts, before any check of the body or the signature. */
export interface Frame {
  /** The protocol version byte. */
  readonly version: number;
  /** The message body bytes. */
  readonly body: Uint8Array;
  /** The signature bytes. */
  readonly signature: Uint8Array;
}

/** A message that passed every check of {@linkcode openFrame}. */
export interface OpenedMessage {
  /** The decoded message. */
  readonly message: CoordinationMessage;
  /** The exact signed body and its signature, to relay inside certificates or evidence. */
  readonly signed: SignedMessage;
}

/**
 * Lays out a frame from a body and its signature.
 *
 * @param body The canonical message body.
 * @param signature The 64-byte signature.
 * @returns The frame bytes.
 * @throws {RangeError} If the signature is not 64 bytes or the frame would exceed
 * {@linkcode FRAME_BYTES_MAX}.
 *
 * @example Usage
 * ```ts
 * import { decodeFrame, encodeFrame } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const frame = encodeFrame(new Uint8Array([0xa0]), new Uint8Array(64));
 * assert.equal(frame.length, 70);
 * assert.ok(decodeFrame(frame).ok);
 * ```
 */
export function encodeFrame(body: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) {
    throw new RangeError(`A signature has ${SIGNATURE_BYTES} bytes, got ${signature.length}`);
  }
  const total = FRAME_HEADER_BYTES + body.length + SIGNATURE_BYTES;
  if (total > FRAME_BYTES_MAX || body.length === 0) {
    throw new RangeError(
      `A frame has ${FRAME_BYTES_MIN} to ${FRAME_BYTES_MAX} bytes, got ${total}`,
    );
  }
  const frame = new Uint8Array(total);
  new DataView(frame.buffer).setUint32(0, total - FRAME_LENGTH_BYTES);
  frame[FRAME_LENGTH_BYTES] = FRAME_VERSION;
  frame.set(body, FRAME_HEADER_BYTES);
  frame.set(signature, FRAME_HEADER_BYTES + body.length);
  return frame;
}

/**
 * Reads the total size of the frame at the start of a stream buffer, so a reader knows how many
 * bytes to wait for. An oversized length is refused before any of the frame is buffered.
 *
 * @param bytes The start of the stream buffer.
 * @returns The frame's total size, `undefined` while fewer than 4 bytes are buffered, or
 * `frame_oversized` / `frame_undersized`.
 *
 * @example Usage
 * ```ts
 * import { peekFrameLength } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * assert.deepEqual(peekFrameLength(new Uint8Array([0, 0, 0, 70])), { ok: true, value: 74 });
 * assert.equal(peekFrameLength(new Uint8Array([0xff, 0, 0, 0])).ok, false);
 * ```
 */
export function peekFrameLength(bytes: Uint8Array): WireResult<number | undefined> {
  if (bytes.length < FRAME_LENGTH_BYTES) return accepted(undefined);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, FRAME_LENGTH_BYTES).getUint32(0);
  const total = FRAME_LENGTH_BYTES + declared;
  if (total > FRAME_BYTES_MAX) {
    return refused(
      "frame_oversized",
      `Frame declares ${total} bytes, more than ${FRAME_BYTES_MAX}`,
    );
  }
  if (total < FRAME_BYTES_MIN) {
    return refused(
      "frame_undersized",
      `Frame declares ${total} bytes, fewer than ${FRAME_BYTES_MIN}`,
    );
  }
  return accepted(total);
}

/**
 * Splits exactly one frame into version, body and signature, checking the length prefix and the
 * version. The body and the signature are not checked here (see {@linkcode openFrame}).
 *
 * @param bytes Untrusted bytes; never throws on any input.
 * @returns The frame's parts, or why the bytes are not one frame.
 *
 * @example A truncated frame is named
 * ```ts
 * import { decodeFrame, encodeFrame } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const frame = encodeFrame(new Uint8Array([0xa0]), new Uint8Array(64));
 * const result = decodeFrame(frame.subarray(0, 20));
 * assert.equal(result.ok ? "" : result.error.code, "frame_truncated");
 * ```
 */
export function decodeFrame(bytes: Uint8Array): WireResult<Frame> {
  const length = peekFrameLength(bytes);
  if (!length.ok) return length;
  const total = length.value;
  if (total === undefined || bytes.length < total) {
    return refused("frame_truncated", `Frame is cut short at ${bytes.length} bytes`);
  }
  if (bytes.length > total) {
    return refused("frame_trailing_bytes", `Frame of ${total} bytes is followed by more bytes`);
  }
  const version = bytes[FRAME_LENGTH_BYTES]!;
  if (version !== FRAME_VERSION) {
    return refused("unsupported_version", `Protocol version ${version} is not ${FRAME_VERSION}`);
  }
  return accepted({
    version,
    body: bytes.subarray(FRAME_HEADER_BYTES, total - SIGNATURE_BYTES),
    signature: bytes.subarray(total - SIGNATURE_BYTES, total),
  });
}

/**
 * Encodes a message and signs it, for embedding in a certificate or evidence.
 *
 * @param message The message; `message.from` must be the signer's node.
 * @param signer The sender's signer.
 * @returns The canonical body and its signature.
 * @throws {WireError} If the message breaks the schema.
 * @throws {RangeError} If the signer is not `message.from`.
 *
 * @example Usage
 * ```ts
 * import { createNodeSigner, Membership, signMessage, verifySignedMessage } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const signer = await createNodeSigner("node-0", new Uint8Array(32).fill(1));
 * const signed = await signMessage({
 *   type: "Prepare", inferenceId: 1, from: "node-0", view: 0, epoch: 0, sequence: 1,
 *   value: new Uint8Array(32),
 * }, signer);
 * const result = await verifySignedMessage(signed, await Membership.create([signer]));
 * assert.ok(result.ok);
 * ```
 */
export async function signMessage(
  message: CoordinationMessage,
  signer: NodeSigner,
): Promise<SignedMessage> {
  if (message.from !== signer.nodeId) {
    throw new RangeError(`Node ${signer.nodeId} cannot sign a message from ${message.from}`);
  }
  const body = encodeMessage(message);
  return { body, signature: await signer.sign(MESSAGE_SIGNATURE_TAG, body) };
}

/**
 * Encodes, signs and frames a message: what a node writes to a peer's stream.
 *
 * @param message The message; `message.from` must be the signer's node.
 * @param signer The sender's signer.
 * @returns The frame bytes.
 * @throws {WireError} If the message breaks the schema.
 * @throws {RangeError} If the signer is not `message.from` or the frame is too large.
 *
 * @example Round trip
 * ```ts
 * import { createNodeSigner, Membership, openFrame, sealMessage } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const signer = await createNodeSigner("node-0", new Uint8Array(32).fill(1));
 * const frame = await sealMessage({
 *   type: "Heartbeat", inferenceId: 1, from: "node-0", view: 0, epoch: 0, sequence: 2,
 *   sentAtMs: 100,
 * }, signer);
 * const opened = await openFrame(frame, await Membership.create([signer]));
 * assert.ok(opened.ok && opened.value.message.type === "Heartbeat");
 * ```
 */
export async function sealMessage(
  message: CoordinationMessage,
  signer: NodeSigner,
): Promise<Uint8Array> {
  const { body, signature } = await signMessage(message, signer);
  return encodeFrame(body, signature);
}

/**
 * Checks a signed message: its body, its sender's membership and the signature.
 *
 * @param signed The body and signature.
 * @param membership The cluster membership (plus known clients, for a ClientRequest).
 * @returns The message, or `unknown_sender`, `bad_signature` or a body error.
 *
 * @example A flipped signature bit is refused
 * ```ts
 * import { createNodeSigner, Membership, signMessage, verifySignedMessage } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const signer = await createNodeSigner("node-0", new Uint8Array(32).fill(1));
 * const signed = await signMessage({
 *   type: "Commit", inferenceId: 1, from: "node-0", view: 0, epoch: 0, sequence: 1,
 *   value: new Uint8Array(32),
 * }, signer);
 * signed.signature[0]! ^= 1;
 * const result = await verifySignedMessage(signed, await Membership.create([signer]));
 * assert.equal(result.ok ? "" : result.error.code, "bad_signature");
 * ```
 */
// deno-lint-ignore require-await
export async function verifySignedMessage(
  signed: SignedMessage,
  membership: Membership,
): Promise<WireResult<CoordinationMessage>> {
  const decoded = decodeMessage(signed.body);
  if (!decoded.ok) return decoded;
  const message = decoded.value;
  if (!membership.has(message.from)) {
    return refused("unknown_sender", `Sender ${JSON.stringify(message.from)} is not a member`);
  }
  const valid = membership.verifySync(
    message.from,
    MESSAGE_SIGNATURE_TAG,
    signed.body,
    signed.signature,
  );
  if (!valid) {
    return refused("bad_signature", `Signature of ${message.type} from ${message.from} is invalid`);
  }
  return accepted(message);
}

/**
 * Everything a receiver checks on a frame, in the order `spec/PROTOCOL.md` gives: length,
 * version, canonical body, schema, sender, signature. Replay protection is the caller's next
 * step ({@linkcode checkReplay}).
 *
 * @param bytes One frame; never throws on any input.
 * @param membership The cluster membership.
 * @returns The message with its signed bytes, or the first rule the frame broke.
 *
 * @example Wrong protocol version
 * ```ts
 * import { createNodeSigner, Membership, openFrame, sealMessage } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const signer = await createNodeSigner("node-0", new Uint8Array(32).fill(1));
 * const frame = await sealMessage({
 *   type: "BarrierReady", inferenceId: 1, from: "node-0", view: 0, epoch: 3, sequence: 9,
 * }, signer);
 * frame[4] = 2;
 * const result = await openFrame(frame, await Membership.create([signer]));
 * assert.equal(result.ok ? "" : result.error.code, "unsupported_version");
 * ```
 */
export async function openFrame(
  bytes: Uint8Array,
  membership: Membership,
): Promise<WireResult<OpenedMessage>> {
  const frame = decodeFrame(bytes);
  if (!frame.ok) return frame;
  const signed = { body: frame.value.body, signature: frame.value.signature };
  const message = await verifySignedMessage(signed, membership);
  if (!message.ok) return message;
  return accepted({ message: message.value, signed });
}
