/**
 * BCP messages and their one canonical encoding: deterministic CBOR (RFC 8949 §4.2.1) written
 * and read by `cborg`, never by hand. A message is a CBOR map with text keys; integers are
 * unsigned and at most 2^53 - 1; digests and payloads are byte strings; there are no floats,
 * tags, indefinite lengths or `undefined`. The decoder accepts a body only if re-encoding what it
 * decoded gives back the same bytes, so every message has exactly one encoding, and signatures,
 * digests and equivocation checks can work on bytes. `spec/PROTOCOL.md` is the normative text.
 *
 * @module
 */

import { decode, encode, rfc8949EncodeOptions } from "cborg";
import { createHash } from "node:crypto";
import type { NodeId } from "../core/types.ts";
import { accepted, refused, WireError, type WireResult } from "./wire_error.ts";

// SHA-256 by node:crypto (native; several times faster than a JS implementation on the
// kilobytes of an activation, which every StageOutput checks).
function sha256(data: Uint8Array): Uint8Array {
  const digest = createHash("sha256").update(data).digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

/** Largest integer a field may hold: 2^53 - 1, exact in every language's number type. */
export const WIRE_INTEGER_MAX: number = Number.MAX_SAFE_INTEGER;
/** Length of every digest on the wire: SHA-256, in bytes. */
export const DIGEST_BYTES = 32;
/** Length of an ed25519 signature, in bytes. */
export const SIGNATURE_BYTES = 64;
/** Longest node id, in UTF-8 bytes. */
export const NODE_ID_BYTES_MAX = 64;
/** Most entries in any list a message carries (votes, view changes, nodes, stages, links). */
export const LIST_ENTRIES_MAX = 1024;
/** Most dimensions of an activation tensor. */
export const ACTIVATION_RANK_MAX = 4;

/** A SHA-256 digest: exactly {@linkcode DIGEST_BYTES} bytes. */
export type Digest = Uint8Array;

/**
 * A message as its signer produced it: the exact canonical body and the signature over it. This
 * is how votes travel inside certificates, view changes and evidence, so that a receiver can
 * check each one against its signer's key.
 */
export interface SignedMessage {
  /** The canonical CBOR encoding of the message. */
  readonly body: Uint8Array;
  /** The sender's ed25519 signature over the message domain tag followed by `body`. */
  readonly signature: Uint8Array;
}

/** Fields every message carries: which inference, who signed, and the replay-protection fields. */
export interface MessageHeader {
  /** The inference the message belongs to. */
  readonly inferenceId: number;
  /** The signer. */
  readonly from: NodeId;
  /** The sender's current view. */
  readonly view: number;
  /** The sender's current epoch (barrier round). */
  readonly epoch: number;
  /** Strictly increasing per sender and inference: a receiver drops anything not newer. */
  readonly sequence: number;
}

/** An activation tensor: float32 values, little-endian, row-major. */
export interface Activation {
  /** Dimensions, outermost first; their product times 4 is the length of `data`. */
  readonly shape: readonly number[];
  /** The values as IEEE 754 binary32, little-endian. */
  readonly data: Uint8Array;
}

/** A vote a view-change message reports: the view and the result digest voted for. */
export interface VoteClaim {
  /** The view of the vote. */
  readonly view: number;
  /** The result digest voted for. */
  readonly value: Digest;
}

/** A prepared claim in a view change: the vote plus the quorum of signed Prepares proving it. */
export interface PreparedClaim extends VoteClaim {
  /** Signed Prepare messages for `view` and `value`, one per distinct member. */
  readonly certificate: readonly SignedMessage[];
}

/** One pipeline stage of a work assignment. */
export interface AssignedStage {
  /** The nodes running the stage, primary first. */
  readonly nodes: readonly NodeId[];
  /** The model layers of the stage, in order. */
  readonly layerIds: readonly number[];
}

/** Evidence attached to a suspicion. */
export type Evidence =
  | {
    /** Two messages the suspect signed that no honest node would both sign. */
    readonly kind: "Equivocation";
    /** The first signed message. */
    readonly first: SignedMessage;
    /** The second signed message. */
    readonly second: SignedMessage;
  }
  | {
    /** The failure detector's verdict: unverifiable, so it never excludes a node by itself. */
    readonly kind: "Timeout";
    /** The phi value times 1000, rounded down. */
    readonly phiMilli: number;
  };

/** One signed link of a {@linkcode ProofData} chain. */
export interface ProofLinkData {
  /** The inference the link belongs to. */
  readonly inferenceId: number;
  /** The hash of the previous link, or the input digest for the first link. */
  readonly previous: Digest;
  /** The pipeline stage (from 1); absent on the final output link. */
  readonly stage?: number;
  /** The digest of the stage's output, or of the final output. */
  readonly value: Digest;
  /** The node that computed and signed the link. */
  readonly signer: NodeId;
  /** The signer's signature over the proof-link tag followed by the link's canonical body. */
  readonly signature: Uint8Array;
}

/** A proof of an inference as it travels: see `src/wire/proof.ts`. */
export interface ProofData {
  /** The inference proven. */
  readonly inferenceId: number;
  /** SHA-256 of the input. */
  readonly input: Digest;
  /** Stage links in pipeline order, then the output link. */
  readonly links: readonly ProofLinkData[];
}

/** The payload of each message type, without the header. */
export interface MessageBodies {
  /** The coordinator of view 0 assigns the inference (TLA+ `Assign`). */
  Assign: { readonly seed: number };
  /** A replica's output for one stage of one token (TLA+ `StageOutput`). */
  StageOutput: {
    readonly seed: number;
    readonly token: number;
    readonly stage: number;
    readonly value: Digest;
    readonly activation?: Activation;
  };
  /** The coordinator proposes a result digest (TLA+ `PrePrepare`). */
  PrePrepare: { readonly value: Digest };
  /** A vote for a proposal (TLA+ `Prepare`). */
  Prepare: { readonly value: Digest };
  /** A vote to commit a prepared result (TLA+ `Commit`). */
  Commit: { readonly value: Digest };
  /** A digest of the tokens up to a position (TLA+ `Checkpoint`). */
  Checkpoint: { readonly seed: number; readonly position: number; readonly digest: Digest };
  /** A node moves to `view` (the header's) and reports its prepared and voted claims. */
  ViewChange: { readonly prepared?: PreparedClaim; readonly voted?: VoteClaim };
  /** The new coordinator proves the view change and assigns a seed (TLA+ `NewView`). */
  NewView: { readonly seed: number; readonly viewChanges: readonly SignedMessage[] };
  /** The stage plan: stage k (from 1) is entry k - 1. */
  WorkAssignment: { readonly stages: readonly AssignedStage[] };
  /** The sender reached the barrier of the header's epoch. */
  BarrierReady: Record<never, never>;
  /** The coordinator releases the barrier of the header's epoch. */
  BarrierRelease: { readonly participants: readonly NodeId[] };
  /** Liveness signal for the failure detector. */
  Heartbeat: {
    readonly sentAtMs: number;
    /** On a hello (the first frame of a connection): the member it is for. */
    readonly to?: NodeId;
  };
  /** The sender suspects `suspect`, with evidence. */
  Suspicion: { readonly suspect: NodeId; readonly evidence: Evidence };
  /** Asks for the stable checkpoint of `seed` at `position`. */
  CheckpointRequest: { readonly seed: number; readonly position: number };
  /** A checkpoint's state; `digest` is SHA-256 of `state`. */
  CheckpointResponse: {
    readonly seed: number;
    readonly position: number;
    readonly digest: Digest;
    readonly state: Uint8Array;
  };
  /** A client asks for an inference of `tokenCount` tokens on `input`. */
  ClientRequest: {
    readonly input: Uint8Array;
    readonly tokenCount: number;
    /** The member this copy of the request was sent to (it binds the client's connection). */
    readonly to?: NodeId;
    /** Seeded sampling; absent: greedy decoding. */
    readonly sampling?: SamplingRequest;
  };
  /** A member accepted token `token` (from 1) of the inference: its id (a progress report). */
  ClientProgress: { readonly token: number; readonly tokenId: number };
  /** A member refuses the client's request of the header's inference, and says why. */
  ClientRefusal: { readonly reason: string };
  /** A member that committed without the output asks its peers for their `ClientReply`. */
  ReplyRequest: Record<never, never>;
  /**
   * The committed result: digest, output bytes, the proof, and the commit certificate (a quorum
   * of signed Commits, or Prepares from every member on the fast path) so that a client can
   * check the result with the members' public keys alone (`verifyClientReply`).
   */
  ClientReply: {
    readonly value: Digest;
    readonly output: Uint8Array;
    readonly proof: ProofData;
    readonly certificate: readonly SignedMessage[];
  };
}

/** The name of a message type. */
export type MessageType = keyof MessageBodies;

/** How a client asks the replicas of the last stage to choose tokens (see `Sampling`). */
export interface SamplingRequest {
  /** The temperature in thousandths (800 is 0.8). */
  readonly temperatureMilli: number;
  /** Keep only the k most likely tokens (absent: all). */
  readonly topK?: number;
  /** The seed of the draws, an unsigned 32-bit integer. */
  readonly seed: number;
}

/** The most UTF-8 bytes of a `ClientRefusal`'s reason. */
export const REASON_BYTES_MAX = 256;

/** A message of type `T`: header, type tag and payload. */
export type MessageOf<T extends MessageType> =
  & MessageHeader
  & { readonly type: T }
  & MessageBodies[T];

/** Any BCP message (the seed's `CoordinationMessage`, with the TLA+ spec's additions). */
export type CoordinationMessage = { [T in MessageType]: MessageOf<T> }[MessageType];

// ---- Schema -------------------------------------------------------------------------------

type Check = (value: unknown, path: string) => WireError | undefined;

interface Field {
  readonly check: Check;
  readonly optional?: boolean;
}

function invalid(path: string, what: string): WireError {
  return new WireError("invalid_field", `Field ${path} must be ${what}`);
}

function integerAtLeast(minimum: number): Check {
  return function checkInteger(value, path) {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < minimum) {
      return invalid(path, `an integer from ${minimum} to 2^53 - 1`);
    }
  };
}

const uint = integerAtLeast(0);
const positive = integerAtLeast(1);

function uint32(value: unknown, path: string): WireError | undefined {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    return invalid(path, "an integer from 0 to 2^32 - 1");
  }
}

function byteString(lengthMin: number, lengthMax: number): Check {
  return function checkBytes(value, path) {
    if (!(value instanceof Uint8Array) || value.length < lengthMin || value.length > lengthMax) {
      return invalid(path, `a byte string of ${lengthMin} to ${lengthMax} bytes`);
    }
  };
}

const digest = byteString(DIGEST_BYTES, DIGEST_BYTES);
const signature = byteString(SIGNATURE_BYTES, SIGNATURE_BYTES);
const anyBytes = byteString(0, WIRE_INTEGER_MAX);
const utf8 = new TextEncoder();

function nodeId(value: unknown, path: string): WireError | undefined {
  // A lone surrogate cannot come out of CBOR text; checking keeps the encoder honest too.
  if (typeof value !== "string" || value.length === 0 || !value.isWellFormed()) {
    return invalid(path, "a non-empty node id");
  }
  if (utf8.encode(value).length > NODE_ID_BYTES_MAX) {
    return invalid(path, `a node id of at most ${NODE_ID_BYTES_MAX} UTF-8 bytes`);
  }
}

function reason(value: unknown, path: string): WireError | undefined {
  if (typeof value !== "string" || value.length === 0 || !value.isWellFormed()) {
    return invalid(path, "a non-empty text");
  }
  if (utf8.encode(value).length > REASON_BYTES_MAX) {
    return invalid(path, `a text of at most ${REASON_BYTES_MAX} UTF-8 bytes`);
  }
}

function list(item: Check, lengthMin = 0): Check {
  return function checkList(value, path) {
    if (!Array.isArray(value) || value.length < lengthMin || value.length > LIST_ENTRIES_MAX) {
      return invalid(path, `a list of ${lengthMin} to ${LIST_ENTRIES_MAX} entries`);
    }
    for (let index = 0; index < value.length; index++) {
      const error = item(value[index], `${path}[${index}]`);
      if (error !== undefined) return error;
    }
  };
}

function record(fields: Readonly<Record<string, Field>>): Check {
  return function checkRecord(value, path) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return invalid(path, "a map");
    }
    if (value instanceof Uint8Array) return invalid(path, "a map");
    return checkFields(value as Record<string, unknown>, fields, path);
  };
}

function checkFields(
  value: Readonly<Record<string, unknown>>,
  fields: Readonly<Record<string, Field>>,
  path: string,
): WireError | undefined {
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(fields, key)) {
      return new WireError("unexpected_field", `Field ${path}.${key} is not part of the message`);
    }
  }
  for (const [key, field] of Object.entries(fields)) {
    const fieldValue = Object.hasOwn(value, key) ? value[key] : undefined;
    if (fieldValue === undefined) {
      if (field.optional === true) continue;
      return new WireError("missing_field", `Field ${path}.${key} is missing`);
    }
    const error = field.check(fieldValue, `${path}.${key}`);
    if (error !== undefined) return error;
  }
}

const signedMessage = record({ body: { check: anyBytes }, signature: { check: signature } });
const voteClaimFields = { view: { check: uint }, value: { check: digest } };

function activation(value: unknown, path: string): WireError | undefined {
  const error = record({
    shape: { check: list(positive, 1) },
    data: { check: anyBytes },
  })(value, path);
  if (error !== undefined) return error;
  const { shape, data } = value as Activation;
  if (shape.length > ACTIVATION_RANK_MAX) {
    return invalid(`${path}.shape`, `at most ${ACTIVATION_RANK_MAX} dimensions`);
  }
  const elementCount = shape.reduce((product, dimension) => product * dimension, 1);
  if (elementCount * 4 !== data.length) {
    return invalid(`${path}.data`, `${elementCount} float32 values (${elementCount * 4} bytes)`);
  }
}

function evidence(value: unknown, path: string): WireError | undefined {
  const kind = typeof value === "object" && value !== null
    ? (value as Record<string, unknown>).kind
    : undefined;
  if (kind === "Equivocation") {
    return record({
      kind: { check: constant },
      first: { check: signedMessage },
      second: { check: signedMessage },
    })(value, path);
  }
  if (kind === "Timeout") {
    return record({ kind: { check: constant }, phiMilli: { check: uint } })(value, path);
  }
  return invalid(`${path}.kind`, `"Equivocation" or "Timeout"`);
}

function constant(): undefined {
  return undefined;
}

const proofLinkFields: Readonly<Record<string, Field>> = {
  inferenceId: { check: uint },
  previous: { check: digest },
  stage: { check: positive, optional: true },
  value: { check: digest },
  signer: { check: nodeId },
  signature: { check: anyBytes },
};

// The fields of a proof as it travels in a ClientReply.
const PROOF_FIELDS: Readonly<Record<string, Field>> = {
  inferenceId: { check: uint },
  input: { check: digest },
  links: { check: list(record(proofLinkFields), 1) },
};

const HEADER_FIELDS: Readonly<Record<string, Field>> = {
  type: { check: constant },
  inferenceId: { check: uint },
  from: { check: nodeId },
  view: { check: uint },
  epoch: { check: uint },
  sequence: { check: uint },
};

const BODY_FIELDS: { readonly [T in MessageType]: Readonly<Record<string, Field>> } = {
  Assign: { seed: { check: positive } },
  StageOutput: {
    seed: { check: positive },
    token: { check: positive },
    stage: { check: positive },
    value: { check: digest },
    activation: { check: activation, optional: true },
  },
  PrePrepare: { value: { check: digest } },
  Prepare: { value: { check: digest } },
  Commit: { value: { check: digest } },
  Checkpoint: {
    seed: { check: positive },
    position: { check: positive },
    digest: { check: digest },
  },
  ViewChange: {
    prepared: {
      check: record({ ...voteClaimFields, certificate: { check: list(signedMessage, 1) } }),
      optional: true,
    },
    voted: { check: record(voteClaimFields), optional: true },
  },
  NewView: { seed: { check: positive }, viewChanges: { check: list(signedMessage, 1) } },
  WorkAssignment: {
    stages: {
      check: list(
        record({ nodes: { check: list(nodeId, 1) }, layerIds: { check: list(uint) } }),
        1,
      ),
    },
  },
  BarrierReady: {},
  BarrierRelease: { participants: { check: list(nodeId) } },
  Heartbeat: { sentAtMs: { check: uint }, to: { check: nodeId, optional: true } },
  Suspicion: { suspect: { check: nodeId }, evidence: { check: evidence } },
  CheckpointRequest: { seed: { check: positive }, position: { check: positive } },
  CheckpointResponse: {
    seed: { check: positive },
    position: { check: positive },
    digest: { check: digest },
    state: { check: anyBytes },
  },
  ClientRequest: {
    input: { check: anyBytes },
    tokenCount: { check: positive },
    to: { check: nodeId, optional: true },
    sampling: {
      check: record({
        temperatureMilli: { check: positive },
        topK: { check: positive, optional: true },
        seed: { check: uint32 },
      }),
      optional: true,
    },
  },
  ClientProgress: { token: { check: positive }, tokenId: { check: uint } },
  ClientRefusal: { reason: { check: reason } },
  ReplyRequest: {},
  ClientReply: {
    value: { check: digest },
    output: { check: anyBytes },
    proof: { check: record(PROOF_FIELDS) },
    certificate: { check: list(signedMessage, 1) },
  },
};

/** Every message type, in the order `spec/PROTOCOL.md` lists them. */
export const MESSAGE_TYPES: readonly MessageType[] = Object.keys(BODY_FIELDS) as MessageType[];

const FIELDS: ReadonlyMap<string, Readonly<Record<string, Field>>> = new Map(
  MESSAGE_TYPES.map((type) => [type, { ...HEADER_FIELDS, ...BODY_FIELDS[type] }]),
);

const DECODE_OPTIONS = {
  strict: false, // non-shortest forms are caught by the re-encoding check, as non_canonical
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: true,
  useMaps: false,
  tags: [],
} as const;

/**
 * Checks a value against the schema of its message type, without encoding it.
 *
 * @param value A candidate message (for example a decoded CBOR map).
 * @returns The message, or why it is not one.
 *
 * @example Usage
 * ```ts
 * import { validateMessage } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const result = validateMessage({ type: "Heartbeat", inferenceId: 1, from: "node-0" });
 * assert.equal(result.ok, false);
 * if (!result.ok) assert.equal(result.error.code, "missing_field");
 * ```
 */
export function validateMessage(value: unknown): WireResult<CoordinationMessage> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return refused("invalid_field", "A message must be a CBOR map");
  }
  if (value instanceof Uint8Array) return refused("invalid_field", "A message must be a CBOR map");
  const type = (value as Record<string, unknown>).type;
  if (typeof type !== "string" || !Object.hasOwn(value, "type")) {
    return refused("missing_field", "Field message.type is missing or not text");
  }
  const fields = FIELDS.get(type);
  if (fields === undefined) {
    return refused("unknown_type", `Message type ${JSON.stringify(type.slice(0, 64))} is unknown`);
  }
  const error = checkFields(value as Record<string, unknown>, fields, "message");
  if (error !== undefined) return { ok: false, error };
  const message = value as CoordinationMessage;
  if (message.type === "StageOutput" && message.activation !== undefined) {
    if (!bytesEqual(sha256(message.activation.data), message.value)) {
      return refused("digest_mismatch", "StageOutput value is not SHA-256 of its activation data");
    }
  }
  if (message.type === "CheckpointResponse" && !bytesEqual(sha256(message.state), message.digest)) {
    return refused("digest_mismatch", "CheckpointResponse digest is not SHA-256 of its state");
  }
  return accepted(message);
}

/**
 * Encodes a message canonically (deterministic CBOR, RFC 8949 §4.2.1).
 *
 * @param message The message; it must satisfy the schema.
 * @returns The canonical body bytes, which are what the sender signs.
 * @throws {WireError} If the message breaks the schema (a bug of the caller, not of a peer).
 *
 * @example Usage
 * ```ts
 * import { decodeMessage, encodeMessage } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const message = {
 *   type: "Heartbeat", inferenceId: 1, from: "node-0", view: 0, epoch: 0, sequence: 7,
 *   sentAtMs: 1000,
 * } as const;
 * const decoded = decodeMessage(encodeMessage(message));
 * assert.ok(decoded.ok);
 * assert.deepEqual(decoded.value, message);
 * ```
 */
export function encodeMessage(message: CoordinationMessage): Uint8Array {
  const result = validateMessage(message);
  if (!result.ok) throw result.error;
  return encodeCanonical(message);
}

/**
 * Deterministic CBOR of any plain value (maps sorted by encoded key, shortest forms). Used for
 * messages and for proof links; it does not check a schema.
 *
 * @param value Maps, lists, text, byte strings, unsigned integers.
 * @returns The canonical bytes.
 *
 * @example Keys come out sorted, shortest first
 * ```ts
 * import { encodeCanonical } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * assert.deepEqual(encodeCanonical({ bb: 1, a: 2 }), encodeCanonical({ a: 2, bb: 1 }));
 * ```
 */
export function encodeCanonical(value: unknown): Uint8Array {
  const bytes = encode(value, rfc8949EncodeOptions);
  // cborg hands back a Node Buffer for some sizes; callers get a plain Uint8Array view.
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes a canonical CBOR value without a schema, refusing anything not in canonical form.
 *
 * @param bytes Untrusted bytes.
 * @returns The decoded value, or `malformed_cbor` / `non_canonical`.
 *
 * @example Usage
 * ```ts
 * import { decodeCanonical } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const result = decodeCanonical(new Uint8Array([0x18, 0x01])); // 1, not in shortest form
 * assert.equal(result.ok, false);
 * ```
 */
export function decodeCanonical(bytes: Uint8Array): WireResult<unknown> {
  let value: unknown;
  try {
    value = decode(bytes, DECODE_OPTIONS);
  } catch (error) {
    // cborg throws plain Errors (and a RangeError for absurd nesting); any of them means the
    // bytes are not CBOR we accept.
    const reason = error instanceof Error ? error.message : String(error);
    return refused("malformed_cbor", `Body is not valid CBOR: ${reason.slice(0, 160)}`);
  }
  if (typeof value === "bigint") return refused("invalid_field", "Integer is above 2^53 - 1");
  let again: Uint8Array;
  try {
    again = encodeCanonical(value);
  } catch {
    return refused("non_canonical", "Body holds values outside the BCP data model");
  }
  if (!bytesEqual(again, bytes)) {
    return refused("non_canonical", "Body is not in deterministic CBOR form (RFC 8949 §4.2.1)");
  }
  return accepted(value);
}

/**
 * Decodes and validates a message body (no frame, no signature check).
 *
 * @param bytes Untrusted bytes; never throws on any input.
 * @returns The message, or a {@linkcode WireError} naming the first rule broken.
 *
 * @example Unknown types are named
 * ```ts
 * import { decodeMessage, encodeCanonical } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const result = decodeMessage(encodeCanonical({ type: "Hello" }));
 * assert.equal(result.ok ? "" : result.error.code, "unknown_type");
 * ```
 */
export function decodeMessage(bytes: Uint8Array): WireResult<CoordinationMessage> {
  const value = decodeCanonical(bytes);
  if (!value.ok) return value;
  return validateMessage(value.value);
}

/**
 * Compares two byte arrays in constant-shape code.
 *
 * @param left First bytes.
 * @param right Second bytes.
 * @returns Whether they are equal.
 *
 * @example Usage
 * ```ts
 * import { bytesEqual } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * assert.ok(bytesEqual(new Uint8Array([1]), new Uint8Array([1])));
 * ```
 */
export function bytesEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) {
    if (left[index] !== right[index]) return false;
  }
  return true;
}
