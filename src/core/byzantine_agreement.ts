/**
 * The seed's `ByzantineAgreement`: one round of PBFT on an inference result, with the fast path,
 * as an object a caller feeds proposals and votes. It decides nothing itself: it is a face of the
 * core's actions for one view. The members are the nodes `1..n` in the order given; each digest
 * is a value (its hex: the core over digests, as a runtime runs it); each vote is a spec message
 * (`Prepare` or `Commit`, view 0) in a received set; and
 * every answer is the core's: the proposal is `handlePrePrepare`'s check against the accepted
 * result, a vote for a second digest is `excludeNode`'s evidence (`Conflicting`), the counts are
 * `voteCount`'s (distinct signers, the excluded not counted), prepared is `sendCommit`'s quorum of
 * Prepares, and committed is `commitStandard` (prepared and a quorum of Commits) or `commitFast`
 * (Prepares from every member). It is generic over the result type (anything with a `hash`), so
 * the core imports nothing outside `src/core/`; the package uses it with `InferenceResult`.
 *
 * @module
 */

import { voteCount } from "./_tally.ts";
import { commitFast, commitStandard, handlePrePrepare, sendCommit } from "./commitment.ts";
import type { NodeInput } from "./node_input.ts";
import { validateClusterSize } from "./quorum.ts";
import { MessageLog } from "./received.ts";
import {
  type ClusterConfig,
  clusterConfigWith,
  initialNodeState,
  NO_VOTE,
  type NodeIndex,
  type NodeState,
  oneViewConstants,
  primaryOf,
  type VoteMessage,
} from "./spec_state.ts";
import type { NodeId } from "./types.ts";
import { excludeNode } from "./view_change.ts";
import { requireKind } from "./_arguments.ts";

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
 * import { ByzantineAgreement, InferenceResult, Proof } from "@butterfly/bcp";
 * import { createNodeSigner, Membership } from "@butterfly/bcp/wire";
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
  /** The members, in the order given (member `k` is node `k + 1` of the core). */
  readonly members: readonly NodeId[];
  /** Byzantine members tolerated (f). */
  readonly faultsMax: number;
  /** Votes that prepare (Prepare) or commit (Commit) a result: floor((n + f) / 2) + 1. */
  readonly quorum: number;
  /** Prepare votes that commit at once: every member. */
  readonly fastQuorum: number;
  readonly #cluster: ClusterConfig<string>;
  readonly #index: ReadonlyMap<NodeId, NodeIndex>;
  // The votes received, as the core reads them: values are the digests' hex.
  readonly #votes = new MessageLog<string>();
  // The observing node: its exclusions (the core's `excluded`), nothing else.
  #node: NodeState<string>;
  readonly #excludedInOrder: NodeId[] = [];
  #proposal: R | undefined;
  #proposalValue = "";
  #committed: R | undefined;

  /**
   * Creates the round.
   *
   * @param members The members' ids (distinct), or the cluster size: members `node-0` to
   * `node-{n-1}`, as the seed's `ByzantineAgreement::new(5, 2)` names them.
   * @param faultsMax The Byzantine members tolerated.
   * @throws {ClusterSizeError} If n < 3f + 1, or a size is not a positive integer.
   * @throws {RangeError} If a member is listed twice.
   */
  constructor(members: readonly NodeId[] | number, faultsMax: number) {
    if (typeof members !== "number") requireKind("members", members, "array");
    const ids = typeof members === "number"
      ? Array.from(
        { length: validateClusterSize(members, faultsMax).nodeCount },
        (_, k) => `node-${k}`,
      )
      : [...members];
    validateClusterSize(ids.length, faultsMax);
    this.#index = new Map(ids.map((id, k) => [id, k + 1]));
    if (this.#index.size !== ids.length) throw new RangeError("A member is listed twice");
    this.members = ids;
    this.faultsMax = faultsMax;
    // One round, one view; no stage is computed here, so no value is known up front.
    this.#cluster = clusterConfigWith<string>(oneViewConstants(ids.length, faultsMax), {
      firstInput: () => "",
      resultOf: () => undefined,
    });
    this.quorum = this.#cluster.quorum;
    this.fastQuorum = this.#cluster.fastQuorum;
    // An observer outside the membership: it excludes whoever the evidence convicts.
    this.#node = { ...initialNodeState(0, this.#cluster), seed: 1 };
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
    const value = hexOf(result.hash);
    if (this.#proposal !== undefined) {
      if (options.acceptedHash !== undefined && hexOf(options.acceptedHash) !== value) {
        return refused("The proposal differs from the accepted result");
      }
      return this.#proposalValue === value ? ACCEPTED : refused("Another proposal came first");
    }
    // The core's HandlePrePrepare: the node's own result (or, for an observer, the proposal's)
    // is its accepted last token, and the proposal comes from the view's primary.
    const accepted = options.acceptedHash === undefined ? value : hexOf(options.acceptedHash);
    const message: VoteMessage<string> = {
      type: "PrePrepare",
      view: 0,
      value,
      from: primaryOf(0, this.#cluster),
    };
    const node = { ...this.#node, tokens: [accepted], excluded: [] };
    const verdict = handlePrePrepare(node, { ...this.#input(), message });
    if (!verdict.enabled) return refused("The proposal differs from the accepted result");
    this.#proposal = result;
    this.#proposalValue = value;
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
   * How many distinct members, none excluded, cast a vote of `type` for `hash` (the core's
   * `VoteCount`).
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
    return voteCount(this.#node, this.#votes, type, 0, hexOf(hash));
  }

  /**
   * Whether a quorum of Prepare votes names the proposal (the core's `SendCommit` quorum), the
   * excluded not counted.
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
    if (this.#proposal === undefined) return false;
    return sendCommit(this.#voted(), this.#input()).enabled;
  }

  /**
   * Whether the proposal is committed: prepared and a quorum of Commit votes (the core's
   * `CommitStandard`), or Prepare votes from every member (`CommitFast`). Once committed it stays
   * committed.
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
    return [...this.#excludedInOrder];
  }

  #input(): NodeInput<string> {
    return { cluster: this.#cluster, received: this.#votes };
  }

  // The observer with the proposal as its vote, and prepared on it when a quorum of Prepares
  // names it: the node whose CommitStandard and CommitFast say whether the round committed.
  #voted(): NodeState<string> {
    return { ...this.#node, vote: { view: 0, value: this.#proposalValue }, prepared: NO_VOTE };
  }

  #record(type: AgreementVoteType, nodeId: NodeId, hash: Uint8Array): AgreementOutcome {
    const from = this.#index.get(nodeId);
    if (from === undefined) return refused(`${nodeId} is not a member`);
    if (this.#node.excluded.includes(from)) return refused(`${nodeId} is excluded`);
    const vote: VoteMessage<string> = { type, view: 0, value: hexOf(hash), from };
    if (this.#votes.has(vote)) return refused(`${nodeId} already cast this ${type} vote`);
    const earlier = this.#votes.ofType(type).find((m) => m.from === from);
    this.#votes.add(vote);
    if (earlier !== undefined) {
      // Two votes of one type in one round are the spec's Conflicting: evidence of a Byzantine
      // node, whose votes then count for nothing (ExcludeNode).
      const evidence = excludeNode(this.#node, {
        ...this.#input(),
        first: earlier,
        second: vote,
      });
      if (evidence.enabled) {
        this.#node = evidence.state;
        this.#excludedInOrder.push(nodeId);
      }
      this.#update();
      return refused(`${nodeId} voted for two results and is excluded`);
    }
    this.#update();
    return ACCEPTED;
  }

  #update(): void {
    if (this.#committed !== undefined || this.#proposal === undefined) return;
    const voted = this.#voted();
    const input = this.#input();
    const prepared = sendCommit(voted, input).enabled;
    const standard = prepared &&
      commitStandard({ ...voted, prepared: voted.vote }, input).enabled;
    if (standard || commitFast(voted, input).enabled) this.#committed = this.#proposal;
  }
}
