/**
 * The runtime's values and the translation between the core's messages (the spec's, with node
 * indices and opaque values) and the wire's (`spec/PROTOCOL.md`, with node ids and digests).
 *
 * Values (the core's `V`) are 64 lowercase hex digits, a SHA-256 digest:
 *
 * - the first stage's input of the inference, `promptValue`: SHA-256 of the prompt bytes;
 * - a stage's output that is not the last: SHA-256 of the output activation's float32 bytes
 *   (`tensorDigest`), the tensor the next stage's replicas take;
 * - the last stage's output for token `t`, `tokensValue`: SHA-256 of the token ids 1..t as
 *   output bytes (`encodeTokens`). A token's value commits to every token before it, and the
 *   result, the last token's value, is SHA-256 of the whole output: what a client reply's `value`
 *   must be (§8.1);
 * - a checkpoint's digest on the wire: SHA-256 of its tokens' values, 32 bytes each, in order.
 *   The core's checkpoint digest is the values themselves; `CheckpointResponse.state` carries
 *   them, so a node behind can check them against the digest.
 *
 * Node `k` of the core (1-based) is the membership's `nodeIds[k - 1]` (ids sorted by their UTF-8
 * bytes, as §5.1 orders them).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import {
  type CheckpointMessage,
  NO_VALUE,
  type NodeIndex,
  type SpecMessage,
  type ViewChangeMessage,
  type Vote,
} from "../core/spec_state.ts";
import { messageKey } from "../core/message_key.ts";
import type { NodeId } from "../core/types.ts";
import type {
  CoordinationMessage,
  MessageHeader,
  PreparedClaim,
  SignedMessage,
  VoteClaim,
} from "../wire/message.ts";

/** A value of the runtime: 64 lowercase hex digits. */
export type DigestValue = string;

/**
 * The value of a digest.
 *
 * @param digest 32 bytes.
 * @returns Its hex.
 */
export function valueOf(digest: Uint8Array): DigestValue {
  return bytesToHex(digest);
}

/**
 * The digest of a value.
 *
 * @param value 64 hex digits.
 * @returns The 32 bytes.
 */
export function digestOf(value: DigestValue): Uint8Array {
  return hexToBytes(value);
}

/**
 * The first stage's input of an inference (the spec's `Out(x, 0, 0)`).
 *
 * @param prompt The prompt bytes.
 * @returns SHA-256 of them.
 */
export function promptValue(prompt: Uint8Array): DigestValue {
  return bytesToHex(sha256(prompt));
}

/**
 * The output bytes of a run of tokens: one byte per token for a vocabulary of at most 256 ids
 * (the text, for the byte-level models), else four bytes per token, little-endian.
 *
 * @param tokens Token ids.
 * @param vocabSize The model's vocabulary size.
 * @returns The bytes.
 */
export function encodeTokens(tokens: readonly number[], vocabSize: number): Uint8Array {
  if (vocabSize <= 256) return Uint8Array.from(tokens);
  const bytes = new Uint8Array(4 * tokens.length);
  const view = new DataView(bytes.buffer);
  tokens.forEach((token, index) => view.setUint32(4 * index, token, true));
  return bytes;
}

/**
 * The inverse of {@linkcode encodeTokens}.
 *
 * @param bytes Output bytes.
 * @param vocabSize The vocabulary size.
 * @returns The token ids.
 */
export function decodeTokens(bytes: Uint8Array, vocabSize: number): number[] {
  if (vocabSize <= 256) return Array.from(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 4 }, (_, index) => view.getUint32(4 * index, true));
}

/**
 * The last stage's output value for the tokens so far.
 *
 * @param tokens Token ids 1..t.
 * @param vocabSize The vocabulary size.
 * @returns SHA-256 of their output bytes.
 */
export function tokensValue(tokens: readonly number[], vocabSize: number): DigestValue {
  return createHash("sha256").update(encodeTokens(tokens, vocabSize)).digest("hex");
}

/**
 * Finds the token whose value, after `prefix`, is `value`: how a node that did not compute the
 * last stage learns the token id the replicas signed.
 *
 * @param prefix The token ids before it.
 * @param value The signed value.
 * @param vocabSize The vocabulary size.
 * @returns The token id, or `undefined` if no id gives the value.
 */
export function tokenOfValue(
  prefix: readonly number[],
  value: DigestValue,
  vocabSize: number,
): number | undefined {
  const head = createHash("sha256").update(encodeTokens(prefix, vocabSize));
  for (let token = 0; token < vocabSize; token++) {
    if (head.copy().update(encodeTokens([token], vocabSize)).digest("hex") === value) return token;
  }
  return undefined;
}

/**
 * The wire digest of a checkpoint: SHA-256 of its tokens' values in order.
 *
 * @param tokens The core's checkpoint digest (the values of the first `position` tokens).
 * @returns The 32-byte digest.
 */
export function checkpointDigest(tokens: readonly DigestValue[]): Uint8Array {
  return sha256(checkpointState(tokens));
}

/**
 * The state a `CheckpointResponse` carries: the tokens' values, 32 bytes each.
 *
 * @param tokens The values.
 * @returns The bytes (SHA-256 of them is the checkpoint's digest).
 */
export function checkpointState(tokens: readonly DigestValue[]): Uint8Array {
  const state = new Uint8Array(32 * tokens.length);
  tokens.forEach((token, index) => state.set(hexToBytes(token), 32 * index));
  return state;
}

/**
 * The values of a checkpoint state.
 *
 * @param state The bytes of {@linkcode checkpointState}.
 * @returns The values, or `undefined` if the length is not a multiple of 32.
 */
export function checkpointTokens(state: Uint8Array): DigestValue[] | undefined {
  if (state.length % 32 !== 0) return undefined;
  return Array.from(
    { length: state.length / 32 },
    (_, index) => bytesToHex(state.subarray(32 * index, 32 * index + 32)),
  );
}

/** What the translation needs to know of the cluster and of what the node received. */
export interface WireContext {
  /** The members' ids in the core's order: node `k` is entry `k - 1`. */
  readonly nodeIds: readonly NodeId[];
  /** The inference. */
  readonly inferenceId: number;
  /**
   * The sender's current view: the header view of a message the spec gives none (a
   * Checkpoint), so that it is not `stale` at a receiver that saw the sender's later views.
   */
  readonly currentView?: number;
  /**
   * The signed form of a spec message the node received or signed, by its `messageKey`, for the
   * certificates a ViewChange or a NewView carries.
   */
  readonly signedOf: (key: string) => SignedMessage | undefined;
  /** The signed Prepares that prove `prepared` (a quorum), or `undefined` if the node lacks them. */
  readonly preparedCertificate: (prepared: Vote<DigestValue>) => SignedMessage[] | undefined;
}

/** Thrown when the node cannot put a message of its own on the wire (a missing certificate). */
export class TranslationError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is missing.
   */
  constructor(message: string) {
    super(message);
    this.name = "TranslationError";
  }
}

/**
 * A core message on the wire (its header's `sequence` is the transport's to set).
 *
 * @param message The core's message, signed by this node.
 * @param context The cluster and the signed messages.
 * @returns The wire message.
 * @throws {TranslationError} If a certificate it must carry is missing.
 */
export function toWire(
  message: SpecMessage<DigestValue>,
  context: WireContext,
): CoordinationMessage {
  const from = context.nodeIds[message.from - 1];
  if (from === undefined) throw new TranslationError(`No member ${message.from}`);
  const view = "view" in message ? message.view : context.currentView ?? 0;
  const header: MessageHeader = {
    inferenceId: context.inferenceId,
    from,
    view,
    epoch: 0,
    sequence: 0,
  };
  switch (message.type) {
    case "Assign":
      return { ...header, type: "Assign", seed: message.seed };
    case "StageOutput":
      return {
        ...header,
        type: "StageOutput",
        seed: message.seed,
        token: message.token,
        stage: message.stage,
        value: digestOf(message.value),
      };
    case "PrePrepare":
    case "Prepare":
    case "Commit":
      return { ...header, type: message.type, value: digestOf(message.value) };
    case "Checkpoint":
      return {
        ...header,
        type: "Checkpoint",
        seed: message.seed,
        position: message.position,
        digest: checkpointDigest(message.digest),
      };
    case "ViewChange":
      return { ...header, type: "ViewChange", ...viewChangeClaims(message, context) };
    case "NewView":
      return {
        ...header,
        type: "NewView",
        seed: message.seed,
        viewChanges: message.viewChanges.map((viewChange) => {
          const signed = context.signedOf(messageKey(viewChange));
          if (signed === undefined) {
            throw new TranslationError(`No signed ViewChange from node ${viewChange.from}`);
          }
          return signed;
        }),
      };
  }
}

function viewChangeClaims(
  message: ViewChangeMessage<DigestValue>,
  context: WireContext,
): { prepared?: PreparedClaim; voted?: VoteClaim } {
  let prepared: PreparedClaim | undefined;
  if (message.prepared.value !== NO_VALUE) {
    const certificate = context.preparedCertificate(message.prepared);
    if (certificate === undefined || certificate.length === 0) {
      throw new TranslationError(
        `No signed Prepares for the prepared claim of view ${message.prepared.view}`,
      );
    }
    prepared = {
      view: message.prepared.view,
      value: digestOf(message.prepared.value),
      certificate,
    };
  }
  const voted = message.voted.value === NO_VALUE
    ? undefined
    : { view: message.voted.view, value: digestOf(message.voted.value) };
  return {
    ...(prepared === undefined ? {} : { prepared }),
    ...(voted === undefined ? {} : { voted }),
  };
}

/** What {@linkcode fromWire} needs to resolve a wire message into the core's form. */
export interface SpecContext {
  /** Node `k` of the core for a member id (1-based), `undefined` for a non-member. */
  readonly indexOf: (id: NodeId) => NodeIndex | undefined;
  /**
   * The core's digest (the token values) of a wire checkpoint digest, when the node knows it: its
   * own tokens hash to it, or a `CheckpointResponse` carried them.
   */
  readonly checkpointTokens: (
    seed: number,
    position: number,
    digest: Uint8Array,
  ) => readonly DigestValue[] | undefined;
}

/** The core's form of a wire message: the message, or why it has none yet. */
export type SpecForm =
  | { readonly kind: "message"; readonly message: SpecMessage<DigestValue> }
  | { readonly kind: "unresolved-checkpoint"; readonly seed: number; readonly position: number }
  | { readonly kind: "none"; readonly reason: string };

/**
 * A verified wire message in the core's form. A NewView's view changes come out as spec messages
 * too; the signed Prepares of a ViewChange's certificate and the ViewChanges of a NewView are the
 * caller's to verify and add on their own (they are signed messages in their own right).
 *
 * @param message A verified wire message of a spec type.
 * @param context The membership's order and the known checkpoints.
 * @param embedded The core's form of a signed message embedded in it (a NewView's ViewChanges).
 * @returns The core's message, or why there is none.
 */
export function fromWire(
  message: CoordinationMessage,
  context: SpecContext,
  embedded: (signed: SignedMessage) => SpecMessage<DigestValue> | undefined = () => undefined,
): SpecForm {
  const from = context.indexOf(message.from);
  if (from === undefined) return { kind: "none", reason: `${message.from} is not a member` };
  const view = message.view;
  switch (message.type) {
    case "Assign":
      return { kind: "message", message: { type: "Assign", view, seed: message.seed, from } };
    case "StageOutput":
      return {
        kind: "message",
        message: {
          type: "StageOutput",
          view,
          seed: message.seed,
          token: message.token,
          stage: message.stage,
          value: valueOf(message.value),
          from,
        },
      };
    case "PrePrepare":
    case "Prepare":
    case "Commit":
      return {
        kind: "message",
        message: { type: message.type, view, value: valueOf(message.value), from },
      };
    case "Checkpoint": {
      const tokens = context.checkpointTokens(message.seed, message.position, message.digest);
      if (tokens === undefined) {
        return { kind: "unresolved-checkpoint", seed: message.seed, position: message.position };
      }
      const spec: CheckpointMessage<DigestValue> = {
        type: "Checkpoint",
        seed: message.seed,
        position: message.position,
        digest: tokens,
        from,
      };
      return { kind: "message", message: spec };
    }
    case "ViewChange":
      return {
        kind: "message",
        message: {
          type: "ViewChange",
          view,
          prepared: message.prepared === undefined
            ? { view: -1, value: NO_VALUE }
            : { view: message.prepared.view, value: valueOf(message.prepared.value) },
          voted: message.voted === undefined
            ? { view: -1, value: NO_VALUE }
            : { view: message.voted.view, value: valueOf(message.voted.value) },
          from,
        },
      };
    case "NewView": {
      const viewChanges: ViewChangeMessage<DigestValue>[] = [];
      for (const signed of message.viewChanges) {
        const spec = embedded(signed);
        if (spec === undefined || spec.type !== "ViewChange") {
          return { kind: "none", reason: "a view change it carries does not verify" };
        }
        viewChanges.push(spec);
      }
      return {
        kind: "message",
        message: { type: "NewView", view, viewChanges, seed: message.seed, from },
      };
    }
    default:
      return { kind: "none", reason: `${message.type} is not a message of the spec` };
  }
}
