/**
 * Verification of a whole NewView message as a node receives it (TLA+ `HandleNewView`'s
 * guards on the message): the sender is the view's primary, its view changes are a valid quorum
 * for the view, and the seed it assigns is one the view changes allow (TLA+ `AllowedSeeds`).
 * Checks, first failure wins, cheap ones before any signature:
 *
 * 1. the view is above 0 and `from` is its primary, `Primary(v) = (v % n) + 1` with 1-based
 *    node ids, that is `membership.nodeIds[v % n]` (ids in their sorted order)
 *    (`new_view_not_primary`);
 * 2. `viewChanges` is a certificate of ViewChange messages for the NewView's inference and view:
 *    distinct member signers, at least a quorum, every signature valid (`certificate_*`, as
 *    `spec/PROTOCOL.md` §9);
 * 3. the seed is allowed (`new_view_seed_not_allowed`): take the view changes' prepared claims
 *    whose certificate verifies (a quorum of signed Prepares for the claim's view and value; a
 *    claim that does not verify is ignored, as the spec's `PreparedCertificate` filter does)
 *    and their highest view `certView`; and the voted claims that F + 1 view changes report
 *    identically, and their highest view `fastView`. The chosen values are those of the
 *    certificates of `certView` if `certView >= fastView` and there is one, else those of the
 *    voted claims of `fastView`. When exactly one value is chosen, the seed's result must be
 *    that value; otherwise any seed is allowed.
 *
 * The wire layer cannot compute a seed's result (that is the inference itself), so the caller
 * supplies `resultOf`: the result digest it knows for a seed, or `undefined` when it does not
 * know it, in which case a NewView whose view changes pin a value is refused (safe: a node that
 * cannot check the seed does not enter the view on the primary's word) unless the seed is
 * `onlySeed`: a pinned value has an honest signer, so it is the result of an assigned seed, and
 * where the cluster assigns one seed only it is that seed's.
 *
 * @module
 */

import { verifyCertificate } from "./certificate.ts";
import type { Membership } from "./identity.ts";
import { bytesEqual, type Digest, type MessageOf, type PreparedClaim } from "./message.ts";
import { seedAllowed, seedChoice } from "../core/_tally.ts";
import type { NodeId } from "../core/types.ts";
import { accepted, refused, type WireResult } from "./wire_error.ts";

/** Options of {@linkcode verifyNewView}. */
export interface NewViewOptions {
  /** The cluster membership; its sorted ids define each view's primary. */
  readonly membership: Membership;
  /** The Byzantine faults the cluster tolerates (f). */
  readonly faultsMax: number;
  /**
   * The result digest of the inference run with `seed` (TLA+ `Result(seed)`), or `undefined`
   * when the node does not know it.
   */
  readonly resultOf: (seed: number) => Digest | undefined;
  /**
   * The one seed the cluster assigns, where it assigns one only (reference nodes do: every view
   * runs the request's own sampling). A NewView for this seed whose view changes pin a value is
   * accepted even where the node does not know the seed's result yet.
   */
  readonly onlySeed?: number | undefined;
}

/** A NewView that passed {@linkcode verifyNewView}. */
export interface VerifiedNewView {
  /** The new view. */
  readonly view: number;
  /** The seed assigned. */
  readonly seed: number;
  /** The view's primary, the NewView's signer. */
  readonly primary: NodeId;
  /** The signers of the view changes. */
  readonly signers: readonly NodeId[];
  /** The one value the view changes pin the seed's result to, or `undefined` (any seed). */
  readonly requiredValue: Digest | undefined;
  /** How many prepared claims were ignored because their certificate did not verify. */
  readonly ignoredClaims: number;
}

/**
 * The primary of `view`: TLA+ `Primary(v) = (v % N) + 1` over 1-based node ids, which are the
 * membership's ids in sorted order.
 *
 * @param view The view.
 * @param membership The membership.
 * @returns The primary's node id.
 *
 * @example Usage
 * ```ts
 * import { createNodeSigner, Membership, primaryOfView } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const signers = await Promise.all(
 *   [0, 1, 2, 3].map((k) => createNodeSigner(`node-${k}`, new Uint8Array(32).fill(k + 1))),
 * );
 * const membership = await Membership.create(signers);
 * assert.equal(primaryOfView(1, membership), "node-1");
 * assert.equal(primaryOfView(5, membership), "node-1");
 * ```
 */
export function primaryOfView(view: number, membership: Membership): NodeId {
  return membership.nodeIds[view % membership.size]!;
}

/**
 * Verifies a NewView: primary, view-change quorum, and the seed against `AllowedSeeds`.
 *
 * @param newView The decoded NewView (its own frame signature is checked by `openFrame`).
 * @param options The membership, f and the seed-to-result lookup.
 * @returns The view, seed and what pinned it, or the first rule broken.
 *
 * @example A NewView from a node that is not the view's primary
 * ```ts
 * import { createNodeSigner, Membership, signMessage, verifyNewView } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const signers = await Promise.all(
 *   [0, 1, 2, 3].map((k) => createNodeSigner(`node-${k}`, new Uint8Array(32).fill(k + 1))),
 * );
 * const membership = await Membership.create(signers);
 * const viewChanges = await Promise.all(signers.slice(1).map((signer) =>
 *   signMessage({
 *     type: "ViewChange", inferenceId: 1, from: signer.nodeId, view: 2, epoch: 0, sequence: 3,
 *   }, signer)
 * ));
 * const newView = {
 *   type: "NewView", inferenceId: 1, view: 2, epoch: 0, sequence: 4, seed: 9, viewChanges,
 * } as const;
 * const options = { membership, faultsMax: 1, resultOf: () => undefined };
 * assert.ok((await verifyNewView({ ...newView, from: "node-2" }, options)).ok);
 * const result = await verifyNewView({ ...newView, from: "node-3" }, options);
 * assert.equal(result.ok ? "" : result.error.code, "new_view_not_primary");
 * ```
 */
export async function verifyNewView(
  newView: MessageOf<"NewView">,
  options: NewViewOptions,
): Promise<WireResult<VerifiedNewView>> {
  const { membership, faultsMax } = options;
  if (newView.view === 0) {
    return refused("new_view_not_primary", "View 0 has no view change, so no NewView");
  }
  const primary = primaryOfView(newView.view, membership);
  if (newView.from !== primary) {
    return refused(
      "new_view_not_primary",
      `NewView for view ${newView.view} is from ${newView.from}, the primary is ${primary}`,
    );
  }
  const quorum = await verifyCertificate(newView.viewChanges, {
    type: "ViewChange",
    membership,
    faultsMax,
    inferenceId: newView.inferenceId,
    view: newView.view,
  });
  if (!quorum.ok) return quorum;
  const viewChanges = quorum.value.votes.map((vote) => vote as MessageOf<"ViewChange">);
  // Prepared claims count only if their certificate verifies (TLA+ PreparedCertificate).
  const certs: PreparedClaim[] = [];
  let ignoredClaims = 0;
  for (const { prepared } of viewChanges) {
    if (prepared === undefined) continue;
    const verdict = await verifyCertificate(prepared.certificate, {
      type: "Prepare",
      membership,
      faultsMax,
      inferenceId: newView.inferenceId,
      view: prepared.view,
      value: prepared.value,
    });
    if (verdict.ok) certs.push(prepared);
    else ignoredClaims++;
  }
  // The core's AllowedSeeds choice over the verified claims: the voted claims that F + 1 view
  // changes report identically (a fast-path commit's trace) and the certified prepared claims.
  const voted = viewChanges.map((vc) => ({ from: vc.from, claim: vc.voted }));
  const choice = seedChoice(certs, voted, faultsMax, bytesEqual);
  const requiredValue = choice.kind === "pinned" ? choice.value : undefined;
  const result = options.resultOf(newView.seed);
  const only = options.onlySeed !== undefined && newView.seed === options.onlySeed;
  if (choice.kind === "pinned" && !seedAllowed(choice, result, bytesEqual, only)) {
    return refused(
      "new_view_seed_not_allowed",
      `Seed ${newView.seed} is not allowed: the view changes pin the result of view ` +
        `${choice.view}, and the seed's result is ` +
        (result === undefined ? "unknown" : "another value"),
    );
  }
  return accepted({
    view: newView.view,
    seed: newView.seed,
    primary,
    signers: quorum.value.signers,
    requiredValue,
    ignoredClaims,
  });
}
