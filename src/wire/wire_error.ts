/**
 * Typed rejections of the wire layer. Byzantine input is an expected condition, so every
 * decoder and verifier in `src/wire/` reports it as a value ({@linkcode WireResult}) carrying a
 * {@linkcode WireError}: a stable reason code for logs and peers' scorecards, and a sentence that
 * says what the peer did. `spec/PROTOCOL.md` lists every code with the receiver's action.
 *
 * @module
 */

/** Every reason a frame, message, certificate, proof or evidence can be rejected for. */
export const WIRE_ERROR_CODES = [
  // Framing (spec/PROTOCOL.md, "Frames").
  "frame_truncated",
  "frame_oversized",
  "frame_undersized",
  "frame_trailing_bytes",
  "unsupported_version",
  // Message body (spec/PROTOCOL.md, "Encoding").
  "malformed_cbor",
  "non_canonical",
  "unknown_type",
  "missing_field",
  "unexpected_field",
  "invalid_field",
  "digest_mismatch",
  // Authentication and replay protection.
  "unknown_sender",
  "bad_signature",
  "replayed",
  "stale",
  // Quorum certificates.
  "certificate_too_large",
  "certificate_malformed_vote",
  "certificate_vote_mismatch",
  "certificate_non_member",
  "certificate_duplicate_signer",
  "certificate_mixed_values",
  "certificate_below_quorum",
  "certificate_bad_signature",
  // Proofs.
  "proof_malformed",
  "proof_inference_mismatch",
  "proof_input_mismatch",
  "proof_output_mismatch",
  "proof_chain_broken",
  "proof_foreign_link",
  "proof_signature_missing",
  "proof_unknown_signer",
  "proof_bad_signature",
  // Client replies.
  "client_reply_value_mismatch",
  "client_reply_fast_path_incomplete",
  // NewView messages.
  "new_view_not_primary",
  "new_view_seed_not_allowed",
  // Equivocation evidence.
  "evidence_malformed",
  "evidence_wrong_suspect",
  "evidence_not_conflicting",
  "evidence_bad_signature",
] as const;

/** A reason code: one of {@linkcode WIRE_ERROR_CODES}. */
export type WireErrorCode = typeof WIRE_ERROR_CODES[number];

/**
 * A rejection with a stable code and a sentence naming what was wrong.
 *
 * @example Usage
 * ```ts
 * import { WireError } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const error = new WireError("unknown_type", "Message type \"Hello\" is not a BCP message");
 * assert.equal(error.code, "unknown_type");
 * assert.ok(error instanceof Error);
 * ```
 */
export class WireError extends Error {
  /** The reason code, stable across versions of this library and across implementations. */
  readonly code: WireErrorCode;

  /**
   * Creates the error.
   *
   * @param code The reason code.
   * @param message What the peer did, in sentence case without a final period.
   */
  constructor(code: WireErrorCode, message: string) {
    super(message);
    this.name = "WireError";
    this.code = code;
  }
}

/** The outcome of decoding or verifying untrusted input: a value, or the reason it was refused. */
export type WireResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: WireError };

/**
 * Wraps a value as an accepted {@linkcode WireResult}.
 *
 * @param value The accepted value.
 * @returns `{ ok: true, value }`.
 *
 * @example Usage
 * ```ts
 * import { accepted } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * assert.deepEqual(accepted(3), { ok: true, value: 3 });
 * ```
 */
export function accepted<T>(value: T): WireResult<T> {
  return { ok: true, value };
}

/**
 * Builds a refused {@linkcode WireResult}.
 *
 * @param code The reason code.
 * @param message What the peer did.
 * @returns `{ ok: false, error }`.
 *
 * @example Usage
 * ```ts
 * import { refused } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const result = refused("replayed", "Sequence 3 was already seen");
 * assert.equal(result.ok, false);
 * ```
 */
export function refused<T = never>(code: WireErrorCode, message: string): WireResult<T> {
  return { ok: false, error: new WireError(code, message) };
}
