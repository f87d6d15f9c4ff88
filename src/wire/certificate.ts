/**
 * Quorum certificates: sets of signed votes that prove a quorum agreed. The rule, in the order
 * a verifier applies it (cheap checks before any signature is verified, so a hostile peer cannot
 * make a node spend signature checks on a certificate that is already wrong):
 *
 * 1. at most n votes (`certificate_too_large`);
 * 2. each vote is a canonical message of the expected type, inference and view
 *    (`certificate_malformed_vote`, `certificate_vote_mismatch`);
 * 3. each signer is a member (`certificate_non_member`) and signs once
 *    (`certificate_duplicate_signer`);
 * 4. every vote names the same value (`certificate_mixed_values`);
 * 5. at least `quorumSize` distinct signers (`certificate_below_quorum`);
 * 6. every signature verifies (`certificate_bad_signature`).
 *
 * Duplicates are refused, not ignored: an honest node never puts one in, so a certificate with
 * one was built by a faulty node.
 *
 * @module
 */

import { hasQuorum, quorumSize } from "../core/quorum.ts";
import type { NodeId } from "../core/types.ts";
import { type Membership, MESSAGE_SIGNATURE_TAG } from "./identity.ts";
import {
  bytesEqual,
  type CoordinationMessage,
  decodeMessage,
  type Digest,
  type SignedMessage,
} from "./message.ts";
import { accepted, refused, type WireResult } from "./wire_error.ts";

/** The message types a certificate may collect. */
export type CertificateVoteType = "Prepare" | "Commit" | "ViewChange";

/** What a certificate must prove. */
export interface CertificateOptions {
  /** The type of every vote. */
  readonly type: CertificateVoteType;
  /** The cluster membership: signers must be members, n is its size. */
  readonly membership: Membership;
  /** The Byzantine faults the cluster tolerates (f); the threshold is `quorumSize(n, f)`. */
  readonly faultsMax: number;
  /** The inference every vote must belong to. */
  readonly inferenceId: number;
  /** The view every vote must name. */
  readonly view: number;
  /** The value every vote must name; when absent, the first vote's value (none for ViewChange). */
  readonly value?: Digest;
}

/** A certificate that passed {@linkcode verifyCertificate}. */
export interface VerifiedCertificate {
  /** The signers, in the certificate's order. */
  readonly signers: readonly NodeId[];
  /** The value the votes agree on (`undefined` for view changes). */
  readonly value: Digest | undefined;
  /** The decoded votes. */
  readonly votes: readonly CoordinationMessage[];
}

/**
 * Verifies a quorum certificate.
 *
 * @param votes The signed votes.
 * @param options What the certificate must prove.
 * @returns The certificate's signers and value, or the first rule it broke.
 * @throws {ClusterSizeError} If the membership is too small for `faultsMax` (a configuration
 * bug, not a peer's).
 *
 * @example A duplicate signer is refused
 * ```ts
 * import { createNodeSigner, Membership, signMessage, verifyCertificate } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const signers = await Promise.all(
 *   [1, 2, 3, 4].map((k) => createNodeSigner(`node-${k}`, new Uint8Array(32).fill(k))),
 * );
 * const membership = await Membership.create(signers);
 * const value = new Uint8Array(32);
 * const votes = await Promise.all(signers.slice(0, 3).map((signer) =>
 *   signMessage({
 *     type: "Prepare", inferenceId: 1, from: signer.nodeId, view: 0, epoch: 0, sequence: 1, value,
 *   }, signer)
 * ));
 * const options = { type: "Prepare", membership, faultsMax: 1, inferenceId: 1, view: 0 } as const;
 * assert.ok((await verifyCertificate(votes, options)).ok);
 * const result = await verifyCertificate([...votes.slice(0, 2), votes[0]!], options);
 * assert.equal(result.ok ? "" : result.error.code, "certificate_duplicate_signer");
 * ```
 */
// deno-lint-ignore require-await
export async function verifyCertificate(
  votes: readonly SignedMessage[],
  options: CertificateOptions,
): Promise<WireResult<VerifiedCertificate>> {
  const { membership } = options;
  const size = { nodeCount: membership.size, faultsMax: options.faultsMax };
  const threshold = quorumSize(size);
  if (votes.length > membership.size) {
    return refused(
      "certificate_too_large",
      `Certificate has ${votes.length} votes for ${membership.size} members`,
    );
  }
  const checked = checkVotes(votes, options);
  if (!checked.ok) return checked;
  const { signers, value, messages } = checked.value;
  if (!hasQuorum(size, signers.length)) {
    return refused(
      "certificate_below_quorum",
      `Certificate has ${signers.length} distinct signers, the quorum is ${threshold}`,
    );
  }
  const bad = votes.findIndex((vote, index) =>
    !membership.verifySync(signers[index]!, MESSAGE_SIGNATURE_TAG, vote.body, vote.signature)
  );
  if (bad >= 0) {
    return refused(
      "certificate_bad_signature",
      `Vote ${bad} of the certificate has an invalid signature from ${signers[bad]}`,
    );
  }
  return accepted({ signers, value, votes: messages });
}

interface CheckedVotes {
  readonly signers: NodeId[];
  readonly value: Digest | undefined;
  readonly messages: CoordinationMessage[];
}

function checkVotes(
  votes: readonly SignedMessage[],
  options: CertificateOptions,
): WireResult<CheckedVotes> {
  const signers: NodeId[] = [];
  const messages: CoordinationMessage[] = [];
  const seen = new Set<NodeId>();
  let value = options.value;
  for (let index = 0; index < votes.length; index++) {
    const decoded = decodeMessage(votes[index]!.body);
    if (!decoded.ok) {
      return refused(
        "certificate_malformed_vote",
        `Vote ${index} of the certificate is malformed: ${decoded.error.message}`,
      );
    }
    const vote = decoded.value;
    if (
      vote.type !== options.type || vote.inferenceId !== options.inferenceId ||
      vote.view !== options.view
    ) {
      return refused(
        "certificate_vote_mismatch",
        `Vote ${index} is a ${vote.type} for inference ${vote.inferenceId} view ${vote.view}, ` +
          `not a ${options.type} for inference ${options.inferenceId} view ${options.view}`,
      );
    }
    if (!options.membership.has(vote.from)) {
      return refused(
        "certificate_non_member",
        `Vote ${index} is signed by non-member ${vote.from}`,
      );
    }
    if (seen.has(vote.from)) {
      return refused("certificate_duplicate_signer", `Vote ${index} repeats signer ${vote.from}`);
    }
    seen.add(vote.from);
    const voteValue = votedValue(vote);
    if (voteValue !== undefined) {
      value ??= voteValue;
      if (!bytesEqual(value, voteValue)) {
        return refused(
          "certificate_mixed_values",
          `Vote ${index} from ${vote.from} names a different value`,
        );
      }
    }
    signers.push(vote.from);
    messages.push(vote);
  }
  return accepted({ signers, value, messages });
}

function votedValue(vote: CoordinationMessage): Digest | undefined {
  if (vote.type === "Prepare" || vote.type === "Commit") return vote.value;
  return undefined;
}
