/**
 * The wire protocol of `spec/PROTOCOL.md`: canonical CBOR messages, length-prefixed signed
 * frames, ed25519 identities and membership, quorum certificates, equivocation evidence, replay
 * protection, client replies and signed proofs. Another implementation that speaks this module's
 * bytes interoperates with the reference nodes. Importing it loads no native code.
 *
 * @example A frame round trip
 * ```ts
 * import { decodeFrame, encodeFrame } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 *
 * const frame = encodeFrame(new Uint8Array([0xa0]), new Uint8Array(64));
 * assert.ok(decodeFrame(frame).ok);
 * ```
 *
 * @module
 */

export {
  accepted,
  refused,
  WIRE_ERROR_CODES,
  WireError,
  type WireErrorCode,
  type WireResult,
} from "./wire_error.ts";
export {
  type Activation,
  ACTIVATION_RANK_MAX,
  type AssignedStage,
  bytesEqual,
  type CoordinationMessage,
  decodeCanonical,
  decodeMessage,
  type Digest,
  DIGEST_BYTES,
  encodeCanonical,
  encodeMessage,
  type Evidence,
  LIST_ENTRIES_MAX,
  MESSAGE_TYPES,
  type MessageBodies,
  type MessageHeader,
  type MessageOf,
  type MessageType,
  NODE_ID_BYTES_MAX,
  type PreparedClaim,
  type ProofData,
  type ProofLinkData,
  REASON_BYTES_MAX,
  type SamplingRequest,
  SIGNATURE_BYTES,
  type SignedMessage,
  validateMessage,
  type VoteClaim,
  WIRE_INTEGER_MAX,
} from "./message.ts";
export {
  concatBytes,
  createNodeSigner,
  ED25519_KEY_BYTES,
  type MemberKey,
  Membership,
  MEMBERSHIP_NODES_MAX,
  type MembershipOptions,
  MESSAGE_SIGNATURE_TAG,
  type NodeSigner,
  PROOF_LINK_TAG,
} from "./identity.ts";
export { SIGNATURE_CACHE_ENTRIES_DEFAULT, VerifiedSignatureCache } from "./signature_cache.ts";
export {
  decodeFrame,
  encodeFrame,
  type Frame,
  FRAME_BYTES_MAX,
  FRAME_BYTES_MIN,
  FRAME_HEADER_BYTES,
  FRAME_LENGTH_BYTES,
  FRAME_VERSION,
  type OpenedMessage,
  openFrame,
  peekFrameLength,
  sealMessage,
  signMessage,
  verifySignedMessage,
} from "./frame.ts";
export { checkReplay, type ReplayMark } from "./replay.ts";
export {
  type CertificateOptions,
  type CertificateVoteType,
  type VerifiedCertificate,
  verifyCertificate,
} from "./certificate.ts";
export { conflicting, type EquivocationOptions, verifyEquivocation } from "./evidence.ts";
export {
  type ClientReplyOptions,
  type VerifiedClientReply,
  verifyClientReply,
} from "./client_reply.ts";
export {
  type NewViewOptions,
  primaryOfView,
  type VerifiedNewView,
  verifyNewView,
} from "./new_view.ts";
export {
  InferenceResult,
  Proof,
  type ProofExtendOptions,
  type ProofGenerateOptions,
  type ProofStep,
  type ProofVerifyOptions,
} from "./proof.ts";
