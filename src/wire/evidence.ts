/**
 * Equivocation evidence: two messages one node signed that no honest node would both sign. The
 * rule is the TLA+ spec's `Conflicting(m1, m2)`: same signer, same type, different content, in
 * the same slot, where the slot is the view (Assign, PrePrepare, Prepare, Commit, ViewChange,
 * NewView), the view, seed, token and stage (StageOutput), or the seed and position
 * (Checkpoint). Content ignores the replay fields `epoch` and `sequence` (and a Checkpoint's
 * `view`, which is only its sender's current view), so an honest resend of the same vote or
 * checkpoint is not evidence. Other message types cannot be evidence.
 *
 * @module
 */

import { conflictSlot, sameSlot } from "../core/conflicting.ts";
import type { NodeId } from "../core/types.ts";
import { type Membership, MESSAGE_SIGNATURE_TAG } from "./identity.ts";
import {
  bytesEqual,
  type CoordinationMessage,
  decodeMessage,
  encodeCanonical,
  type Evidence,
} from "./message.ts";
import { accepted, refused, type WireResult } from "./wire_error.ts";

/** Options of {@linkcode verifyEquivocation}. */
export interface EquivocationOptions {
  /** The cluster membership. */
  readonly membership: Membership;
  /** The node the suspicion names: both messages must be signed by it. */
  readonly suspect: NodeId;
}

/**
 * Whether two messages conflict (TLA+ `Conflicting`): see the module documentation.
 *
 * @param first A message.
 * @param second Another message.
 * @returns `true` if one honest node would never sign both.
 *
 * @example Two Prepares for different values in one view
 * ```ts
 * import { conflicting } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const header = { inferenceId: 1, from: "node-2", view: 3, epoch: 0 };
 * const a = { ...header, type: "Prepare", sequence: 1, value: new Uint8Array(32) } as const;
 * const b = { ...header, type: "Prepare", sequence: 2, value: new Uint8Array(32).fill(1) } as const;
 * assert.ok(conflicting(a, b));
 * assert.ok(!conflicting(a, { ...a, sequence: 9 })); // a resend is not evidence
 * ```
 */
export function conflicting(first: CoordinationMessage, second: CoordinationMessage): boolean {
  if (
    first.from !== second.from || first.type !== second.type ||
    first.inferenceId !== second.inferenceId
  ) {
    return false;
  }
  // The slot rule is the core's (the spec's Conflicting), shared with src/core/conflicting.ts.
  if (!sameSlot(conflictSlot(first), conflictSlot(second))) return false;
  return !bytesEqual(encodeCanonical(contentOf(first)), encodeCanonical(contentOf(second)));
}

function contentOf(message: CoordinationMessage): unknown {
  const { epoch: _epoch, sequence: _sequence, ...content } = message;
  // A checkpoint's slot and content have no view: its header's view is only the sender's
  // current one (replay protection), so the same checkpoint sent again in a later view is not
  // evidence.
  if (content.type === "Checkpoint") {
    const { view: _view, ...withoutView } = content;
    return withoutView;
  }
  return content;
}

/**
 * Verifies equivocation evidence: both messages decode, both are signed by `suspect` (a member),
 * both signatures verify and the messages conflict.
 *
 * @param evidence The evidence of a Suspicion message.
 * @param options The membership and the suspect.
 * @returns The two messages, or `evidence_malformed`, `evidence_wrong_suspect`,
 * `evidence_not_conflicting` or `evidence_bad_signature`.
 *
 * @example Usage
 * ```ts
 * import { createNodeSigner, Membership, signMessage, verifyEquivocation } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const signer = await createNodeSigner("node-2", new Uint8Array(32).fill(2));
 * const header = { type: "Commit", inferenceId: 1, from: "node-2", view: 0, epoch: 0 } as const;
 * const first = await signMessage({ ...header, sequence: 1, value: new Uint8Array(32) }, signer);
 * const second = await signMessage(
 *   { ...header, sequence: 2, value: new Uint8Array(32).fill(7) },
 *   signer,
 * );
 * const membership = await Membership.create([signer]);
 * const result = await verifyEquivocation(
 *   { kind: "Equivocation", first, second },
 *   { membership, suspect: "node-2" },
 * );
 * assert.ok(result.ok);
 * ```
 */
// deno-lint-ignore require-await
export async function verifyEquivocation(
  evidence: Evidence,
  options: EquivocationOptions,
): Promise<WireResult<readonly [CoordinationMessage, CoordinationMessage]>> {
  if (evidence.kind !== "Equivocation") {
    return refused("evidence_not_conflicting", `Evidence of kind ${evidence.kind} proves nothing`);
  }
  const first = decodeMessage(evidence.first.body);
  const second = decodeMessage(evidence.second.body);
  if (!first.ok || !second.ok) {
    const error = first.ok ? second.ok ? undefined : second.error : first.error;
    return refused("evidence_malformed", `Evidence holds a malformed message: ${error?.message}`);
  }
  for (const message of [first.value, second.value]) {
    if (message.from !== options.suspect || !options.membership.has(message.from)) {
      return refused(
        "evidence_wrong_suspect",
        `Evidence message is signed by ${message.from}, not by member ${options.suspect}`,
      );
    }
  }
  if (!conflicting(first.value, second.value)) {
    return refused("evidence_not_conflicting", "Evidence messages do not conflict");
  }
  const valid = [evidence.first, evidence.second].every((signed) =>
    options.membership.verifySync(
      options.suspect,
      MESSAGE_SIGNATURE_TAG,
      signed.body,
      signed.signature,
    )
  );
  if (!valid) {
    return refused("evidence_bad_signature", "Evidence holds a message with an invalid signature");
  }
  return accepted([first.value, second.value] as const);
}
