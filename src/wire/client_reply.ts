/**
 * Client-side verification of a ClientReply: a client trusts no single node, so the reply
 * carries everything needed to check the result with the members' public keys alone.
 *
 * 1. `value` is SHA-256 of `output` (`client_reply_value_mismatch`);
 * 2. `certificate` is a commit certificate for the reply's inference and `value`, all votes in
 *    one view: a quorum of signed Commits, or, on the fast path, signed Prepares from every
 *    member (fewer: `client_reply_fast_path_incomplete`); otherwise the certificate rule's code
 *    (`certificate_*`, `spec/PROTOCOL.md` §9);
 * 3. `proof` proves `output` for the inference, from `input` when the client gives it
 *    (`proof_*`, §8).
 *
 * @module
 */

import { verifyCertificate } from "./certificate.ts";
import type { Membership } from "./identity.ts";
import { bytesEqual, decodeMessage, type Digest, type MessageOf } from "./message.ts";
import { InferenceResult, Proof } from "./proof.ts";
import { hasFastQuorum } from "../core/quorum.ts";
import type { NodeId } from "../core/types.ts";
import { accepted, refused, type WireResult } from "./wire_error.ts";

/** Options of {@linkcode verifyClientReply}. */
export interface ClientReplyOptions {
  /** The cluster membership (the client knows the members' public keys). */
  readonly membership: Membership;
  /** The Byzantine faults the cluster tolerates (f). */
  readonly faultsMax: number;
  /** The input the client sent, to check that the proof starts from it. */
  readonly input?: Uint8Array;
}

/** A ClientReply that passed {@linkcode verifyClientReply}. */
export interface VerifiedClientReply {
  /** The committed result digest. */
  readonly value: Digest;
  /** The output bytes. */
  readonly output: Uint8Array;
  /** How the result was committed: a Commit quorum, or Prepares from every member. */
  readonly path: "commit" | "fast";
  /** The view the certificate's votes were cast in. */
  readonly view: number;
  /** The certificate's signers. */
  readonly signers: readonly NodeId[];
  /** The proof's signers, in chain order. */
  readonly proofSigners: readonly NodeId[];
}

/**
 * Verifies a ClientReply as a client does: output digest, commit certificate, proof.
 *
 * @param reply The decoded reply (for example `openFrame(...).value.message`).
 * @param options The membership, f, and optionally the input the client sent.
 * @returns What was committed and by whom, or the first rule broken.
 *
 * @example A certificate for another value is refused
 * ```ts
 * import { sha256 } from "@noble/hashes/sha2.js";
 * import {
 *   createNodeSigner, Membership, Proof, signMessage, verifyClientReply,
 * } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const signers = await Promise.all(
 *   [1, 2, 3, 4].map((k) => createNodeSigner(`node-${k}`, new Uint8Array(32).fill(k))),
 * );
 * const membership = await Membership.create(signers);
 * const input = new Uint8Array([1]);
 * const output = new Uint8Array([2]);
 * const proof = await Proof.generate(1, {
 *   input, output, steps: [{ output, signer: signers[0]! }],
 * });
 * const commit = (value: Uint8Array) =>
 *   Promise.all(signers.slice(0, 3).map((signer) =>
 *     signMessage({
 *       type: "Commit", inferenceId: 1, from: signer.nodeId, view: 0, epoch: 0, sequence: 5, value,
 *     }, signer)
 *   ));
 * const reply = {
 *   type: "ClientReply", inferenceId: 1, from: "node-1", view: 0, epoch: 0, sequence: 6,
 *   value: sha256(output), output, proof: proof.toData(), certificate: await commit(sha256(output)),
 * } as const;
 * assert.ok((await verifyClientReply(reply, { membership, faultsMax: 1, input })).ok);
 * const forged = { ...reply, certificate: await commit(new Uint8Array(32)) };
 * const result = await verifyClientReply(forged, { membership, faultsMax: 1 });
 * assert.equal(result.ok ? "" : result.error.code, "certificate_mixed_values");
 * ```
 */
export async function verifyClientReply(
  reply: MessageOf<"ClientReply">,
  options: ClientReplyOptions,
): Promise<WireResult<VerifiedClientReply>> {
  const { membership, faultsMax } = options;
  const result = new InferenceResult(reply.inferenceId, reply.output);
  if (!bytesEqual(result.hash, reply.value)) {
    return refused("client_reply_value_mismatch", "ClientReply value is not SHA-256 of its output");
  }
  // The first vote names the path and the view; the certificate rule holds every vote to them.
  const first = reply.certificate.length === 0
    ? undefined
    : decodeMessage(reply.certificate[0]!.body);
  const firstVote = first?.ok === true ? first.value : undefined;
  const fast = firstVote?.type === "Prepare";
  if (fast && !hasFastQuorum({ nodeCount: membership.size, faultsMax }, reply.certificate.length)) {
    return refused(
      "client_reply_fast_path_incomplete",
      `A fast-path certificate needs Prepares from all ${membership.size} members, ` +
        `it has ${reply.certificate.length}`,
    );
  }
  const view = firstVote?.view ?? reply.view;
  const certificate = await verifyCertificate(reply.certificate, {
    type: fast ? "Prepare" : "Commit",
    membership,
    faultsMax,
    inferenceId: reply.inferenceId,
    view,
    value: reply.value,
  });
  if (!certificate.ok) return certificate;
  const proof = await new Proof(reply.proof).verify({
    membership,
    result,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  if (!proof.ok) return proof;
  return accepted({
    value: reply.value,
    output: reply.output,
    path: fast ? "fast" : "commit",
    view,
    signers: certificate.value.signers,
    proofSigners: proof.value,
  });
}
