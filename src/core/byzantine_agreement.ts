/**
 * The seed's `ByzantineAgreement`: one round of PBFT on an inference result, with the fast path,
 * as an object a caller feeds proposals and votes. It applies the same rules as the spec's
 * `HandlePrePrepare`, `SendCommit`, `CommitStandard`, `CommitFast` and `ExcludeNode` (see
 * `commitment.ts`): votes are attributed to their signers, a signer counts once, non-members
 * and excluded nodes are refused, and a node that votes for two results in one round is
 * excluded. It is generic over the result type (anything with a `hash`), so the core imports
 * nothing outside `src/core/`; the package uses it with `InferenceResult`.
 *
 * @module
 */

import { quorumSize, validateClusterSize } from "./quorum.ts";
import type { NodeId } from "./types.ts";

/** What the nodes agree on: anything with a digest, such as `InferenceResult`. */
export interface AgreedResult {
  /** The digest the votes name (SHA-256 of the output for `InferenceResult`). */
  readonly hash: Uint8Array;
}

/** The verdict on a proposal or a vote: counted, or refused with the reason. */
export type AgreementOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string };

/** Options of {@linkcode ByzantineAgreement.handlePrePrepare}. */
export interface HandlePrePrepareOptions {
  /**
   * The digest of the result this node accepted itself (the spec's `ProposalValid`); a proposal
   * that differs is refused. Omit it only where the node computed nothing (an observer).
   */
  readonly acceptedHash?: Uint8Array;
}

/** The kind of vote: Prepare (first round, and the fast path) or Commit (second round). */
export type AgreementVoteType = "Prepare" | "Commit";

const ACCEPTED: AgreementOutcome = Object.freeze({ ok: true });

function refused(reason: string): AgreementOutcome {
  return { ok: false, reason };
}

const HEX_OF_BYTE: readonly string[] = Array.from(
  { length: 256 },
  (_, byte) => byte.toString(16).padStart(2, "0"),
);

function hexOf(bytes: Uint8Array): string {
  let out = "";
  for (let index = 0; index < bytes.length; index++) out += HEX_OF_BYTE[bytes[index] as number];
  return out;
}

/**
 * One round of Byzantine agreement on a result among a fixed membership tolerating
 * `faultsMax` Byzantine nodes: a quorum (floor((n + f) / 2) + 1) of Prepare votes prepares the
 * proposal, a quorum of Commit votes commits it, and Prepare votes from every member commit it
 * at once (the fast path).
 *
 * @typeParam R The result type.
 *
 * @example The seed's example
 * ```ts
 * import {
 *   ByzantineAgreement, createNodeSigner, InferenceResult, Membership, Proof,
 * } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 * // The seed used 5 nodes and 2 faults; BCP needs n >= 3f + 1, so 2 faults take 7 nodes.
 * const members = [0, 1, 2, 3, 4, 5, 6].map((k) => `node-${k}`);
 * const agreement = new ByzantineAgreement<InferenceResult>(members, 2);
 *
 * // The coordinator proposes a result with its proof; the node checks the proof first.
 * const output = new Uint8Array([1, 2, 3, 4, 5]);
 * const result = new InferenceResult(0, output);
 * const signer = await createNodeSigner("node-1", new Uint8Array(32).fill(1));
 * const input = new TextEncoder().encode("input");
 * const proof = await Proof.generate(0, { input, output, steps: [{ output, signer }] });
 * const membership = await Membership.create([signer]);
 * assert.ok((await proof.verify({ membership, result, input })).ok);
 * assert.ok(agreement.handlePrePrepare(result, { acceptedHash: result.hash }).ok);
 *
 * // Nodes vote; every member's Prepare is the fast path.
 * for (const member of members) assert.ok(agreement.recordPrepareVote(member, result.hash).ok);
 * assert.ok(agreement.isCommitted());
 * assert.equal(agreement.committedResult(), result);
 * ```
 */
export class ByzantineAgreement<R extends AgreedResult> {
  /** The members, in the order given. */
  readonly members: readonly NodeId[];
  /** Byzantine members tolerated (f). */
  readonly faultsMax: number;
  /** Votes that prepare (Prepare) or commit (Commit) a result: floor((n + f) / 2) + 1. */
  readonly quorum: number;
  /** Prepare votes that commit at once: every member. */
  readonly fastQuorum: number;
  readonly #memberSet: ReadonlySet<NodeId>;
  readonly #excluded = new Set<NodeId>();
  // Per vote type, each member's vote (digest as hex): one entry per member, so bounded by n.
  readonly #votes: Record<AgreementVoteType, Map<NodeId, string>> = {
    Prepare: new Map(),
    Commit: new Map(),
  };
  // Per vote type, how many counted (non-excluded) members voted for each digest.
  readonly #counts: Record<AgreementVoteType, Map<string, number>> = {
    Prepare: new Map(),
    Commit: new Map(),
  };
  #proposal: R | undefined;
  #proposalHex = "";
  #committed: R | undefined;

  /**
   * Creates the round.
   *
   * @param members The members' ids (distinct).
   * @param faultsMax The Byzantine members tolerated.
   * @throws {ClusterSizeError} If n < 3f + 1.
   * @throws {RangeError} If a member is listed twice.
   */
  constructor(members: readonly NodeId[], faultsMax: number) {
    const size = validateClusterSize(members.length, faultsMax);
    this.#memberSet = new Set(members);
    if (this.#memberSet.size !== members.length) throw new RangeError("A member is listed twice");
    this.members = [...members];
    this.faultsMax = faultsMax;
    this.quorum = quorumSize(size);
    this.fastQuorum = members.length;
  }

  /**
   * The coordinator's proposal (PrePrepare): accepted when it is the result this node accepted
   * itself and no other proposal came first.
   *
   * @param result The proposed result (check its proof first: `Proof.verify`).
   * @param options The result this node accepted.
   * @returns Accepted, or why not.
   *
   * @example A proposal that differs from the accepted result is refused
   * ```ts
   * import { ByzantineAgreement } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const agreement = new ByzantineAgreement(["a", "b", "c", "d"], 1);
   * const proposed = { hash: new Uint8Array([2]) };
   * const outcome = agreement.handlePrePrepare(proposed, { acceptedHash: new Uint8Array([1]) });
   * assert.ok(!outcome.ok);
   * ```
   */
  handlePrePrepare(result: R, options: HandlePrePrepareOptions = {}): AgreementOutcome {
    const hex = hexOf(result.hash);
    if (options.acceptedHash !== undefined && hexOf(options.acceptedHash) !== hex) {
      return refused("The proposal differs from the accepted result");
    }
    if (this.#proposal !== undefined) {
      return this.#proposalHex === hex ? ACCEPTED : refused("Another proposal came first");
    }
    this.#proposal = result;
    this.#proposalHex = hex;
    this.#update();
    return ACCEPTED;
  }

  /**
   * Records a member's Prepare vote for a digest.
   *
   * @param nodeId The voter.
   * @param hash The digest voted for.
   * @returns Counted, or why not (a non-member, an excluded node, a repeated vote; a vote for a
   * second digest excludes the voter).
   *
   * @example A second vote is not counted twice
   * ```ts
   * import { ByzantineAgreement } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const agreement = new ByzantineAgreement(["a", "b", "c", "d"], 1);
   * const hash = new Uint8Array([1]);
   * assert.ok(agreement.recordPrepareVote("a", hash).ok);
   * assert.ok(!agreement.recordPrepareVote("a", hash).ok);
   * assert.equal(agreement.voteCount("Prepare", hash), 1);
   * ```
   */
  recordPrepareVote(nodeId: NodeId, hash: Uint8Array): AgreementOutcome {
    return this.#record("Prepare", nodeId, hash);
  }

  /**
   * Records a member's Commit vote for a digest.
   *
   * @param nodeId The voter.
   * @param hash The digest voted for.
   * @returns Counted, or why not (as {@linkcode ByzantineAgreement.recordPrepareVote}).
   *
   * @example Refuses a node that is not a member
   * ```ts
   * import { ByzantineAgreement } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const agreement = new ByzantineAgreement(["a", "b", "c", "d"], 1);
   * assert.ok(!agreement.recordCommitVote("z", new Uint8Array([1])).ok);
   * ```
   */
  recordCommitVote(nodeId: NodeId, hash: Uint8Array): AgreementOutcome {
    return this.#record("Commit", nodeId, hash);
  }

  /**
   * How many distinct members, none excluded, cast a vote of `type` for `hash`.
   *
   * @param type Prepare or Commit.
   * @param hash The digest.
   * @returns The count.
   *
   * @example Usage
   * ```ts
   * import { ByzantineAgreement } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const agreement = new ByzantineAgreement(["a", "b", "c", "d"], 1);
   * assert.equal(agreement.voteCount("Commit", new Uint8Array([1])), 0);
   * ```
   */
  voteCount(type: AgreementVoteType, hash: Uint8Array): number {
    return this.#counts[type].get(hexOf(hash)) ?? 0;
  }

  /**
   * Whether a quorum of Prepare votes names the proposal.
   *
   * @returns `true` once prepared.
   *
   * @example Usage
   * ```ts
   * import { ByzantineAgreement } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const agreement = new ByzantineAgreement(["a", "b", "c", "d"], 1);
   * const result = { hash: new Uint8Array([1]) };
   * agreement.handlePrePrepare(result);
   * for (const node of ["a", "b", "c"]) agreement.recordPrepareVote(node, result.hash);
   * assert.ok(agreement.isPrepared());
   * ```
   */
  isPrepared(): boolean {
    return this.#proposal !== undefined &&
      (this.#counts.Prepare.get(this.#proposalHex) ?? 0) >= this.quorum;
  }

  /**
   * Whether the proposal is committed: prepared and a quorum of Commit votes, or Prepare votes
   * from every member. Once committed it stays committed.
   *
   * @returns `true` once committed.
   *
   * @example The standard path
   * ```ts
   * import { ByzantineAgreement } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const agreement = new ByzantineAgreement(["a", "b", "c", "d"], 1);
   * const result = { hash: new Uint8Array([1]) };
   * agreement.handlePrePrepare(result);
   * for (const node of ["a", "b", "c"]) agreement.recordPrepareVote(node, result.hash);
   * assert.ok(!agreement.isCommitted());
   * for (const node of ["b", "c", "d"]) agreement.recordCommitVote(node, result.hash);
   * assert.ok(agreement.isCommitted());
   * ```
   */
  isCommitted(): boolean {
    return this.#committed !== undefined;
  }

  /**
   * The committed result.
   *
   * @returns The result, or `undefined` before commit.
   *
   * @example Usage
   * ```ts
   * import { ByzantineAgreement } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * assert.equal(new ByzantineAgreement(["a", "b", "c", "d"], 1).committedResult(), undefined);
   * ```
   */
  committedResult(): R | undefined {
    return this.#committed;
  }

  /**
   * The members excluded for voting for two digests in one round.
   *
   * @returns Their ids, in the order they were caught.
   *
   * @example Usage
   * ```ts
   * import { ByzantineAgreement } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const agreement = new ByzantineAgreement(["a", "b", "c", "d"], 1);
   * agreement.recordPrepareVote("d", new Uint8Array([1]));
   * agreement.recordPrepareVote("d", new Uint8Array([2]));
   * assert.deepEqual(agreement.excludedNodes(), ["d"]);
   * ```
   */
  excludedNodes(): readonly NodeId[] {
    return [...this.#excluded];
  }

  #record(type: AgreementVoteType, nodeId: NodeId, hash: Uint8Array): AgreementOutcome {
    if (!this.#memberSet.has(nodeId)) return refused(`${nodeId} is not a member`);
    if (this.#excluded.has(nodeId)) return refused(`${nodeId} is excluded`);
    const hex = hexOf(hash);
    const previous = this.#votes[type].get(nodeId);
    if (previous === hex) return refused(`${nodeId} already cast this ${type} vote`);
    if (previous !== undefined) {
      // Two votes of one type in one round are the spec's Conflicting: evidence of a Byzantine
      // node, whose votes then count for nothing (ExcludeNode).
      this.#excluded.add(nodeId);
      for (const voteType of ["Prepare", "Commit"] as const) {
        const counted = this.#votes[voteType].get(nodeId);
        if (counted !== undefined) this.#add(voteType, counted, -1);
      }
      return refused(`${nodeId} voted for two results and is excluded`);
    }
    this.#votes[type].set(nodeId, hex);
    this.#add(type, hex, 1);
    this.#update();
    return ACCEPTED;
  }

  #add(type: AgreementVoteType, hex: string, delta: number): void {
    this.#counts[type].set(hex, (this.#counts[type].get(hex) ?? 0) + delta);
  }

  #update(): void {
    if (this.#committed !== undefined || this.#proposal === undefined) return;
    const prepares = this.#counts.Prepare.get(this.#proposalHex) ?? 0;
    const commits = this.#counts.Commit.get(this.#proposalHex) ?? 0;
    const fast = prepares >= this.fastQuorum;
    const standard = prepares >= this.quorum && commits >= this.quorum;
    if (fast || standard) this.#committed = this.#proposal;
  }
}
