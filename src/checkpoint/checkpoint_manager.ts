/**
 * Keeps the last K checkpoints of a node and asks the core when a checkpoint is stable: the
 * reports of one (epoch, tokenPosition) are the spec's Checkpoint messages of one slot (each
 * member is the node of its index in `members`, each checksum's hex the digest), and stability is the
 * core's `CheckpointStable` (`checkpointStable` in `src/core/checkpointing.ts`: a quorum of the
 * cluster, floor((n + f) / 2) + 1, signed the same digest, whoever signed it). Pure: storing on
 * disk is `src/runtime/checkpoint_store.ts`.
 *
 * @module
 */

import { checkpointSigners, type CheckpointSlot, checkpointStable } from "../core/checkpointing.ts";
import { validateClusterSize } from "../core/quorum.ts";
import { MessageLog } from "../core/received.ts";
import {
  type ClusterConfig,
  clusterConfigWith,
  type NodeIndex,
  oneViewConstants,
} from "../core/spec_state.ts";
import type { NodeId } from "../core/types.ts";
import type { Checkpoint } from "./checkpoint.ts";
import { requireKind } from "../core/_arguments.ts";

/** Options of {@linkcode CheckpointManager}. */
export interface CheckpointManagerOptions {
  /** Tokens between checkpoints, for {@linkcode CheckpointManager.shouldCheckpoint}. Default 10. */
  readonly checkpointFrequencyTokens?: number;
  /** The cluster's members, whose checksum reports count towards stability. */
  readonly members?: readonly NodeId[];
  /** Byzantine nodes tolerated (f); with `members` it sets the stability quorum. Default 0. */
  readonly faultsMax?: number;
}

/** Raised when a checkpoint cannot be stored. */
export class CheckpointError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** A node's claim that its checkpoint at (epoch, tokenPosition) has checksum `checksumHex`. */
export interface ChecksumReport {
  /** The checkpoint's epoch. */
  readonly epoch: number;
  /** The checkpoint's token position. */
  readonly tokenPosition: number;
  /** The checksum the node computed, as 64 hex digits. */
  readonly checksumHex: string;
}

/**
 * What became of a checksum report: counted (and whether that made the checkpoint stable),
 * a repeat, a second different checksum from the same node (evidence of equivocation, and
 * counted for its own checksum all the same, as every signed checkpoint is), or a non-member.
 */
export type ReportOutcome =
  | { readonly kind: "counted"; readonly stable: boolean }
  | { readonly kind: "duplicate" }
  | {
    readonly kind: "equivocation";
    readonly firstChecksumHex: string;
    readonly stable: boolean;
  }
  | { readonly kind: "notMember" }
  | { readonly kind: "malformed"; readonly reason: string };

/** Whether a checkpoint position is stable, and under which checksum. */
export type Stability =
  | { readonly kind: "stable"; readonly checksumHex: string }
  | { readonly kind: "pending"; readonly votesMax: number; readonly quorum: number };

const CHECKSUM_HEX_PATTERN = /^[0-9a-f]{64}$/;

/**
 * Distinct checksums kept per member and position. A checkpoint is stable on a quorum of
 * matching signed reports whoever signed them (the spec's `CheckpointStable`): a member that
 * reported a wrong checksum first and the right one after still counts for the right one. Past
 * this bound a member's further checksums are refused, so one equivocating member cannot fill
 * memory; an honest member reports one checksum per position.
 */
export const CHECKSUMS_PER_MEMBER_MAX = 2;

/**
 * Bounded store of a node's recent checkpoints, ordered by (epoch, tokenPosition), with quorum
 * tracking of the checksums the cluster reports.
 *
 * @example The seed's example
 * ```ts
 * import { Checkpoint, CheckpointManager } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 *
 * const manager = new CheckpointManager(10); // keep the last 10 checkpoints
 * const nodeStates = new Map([["node-0", new Uint8Array([1, 2, 3])]]);
 * manager.store(new Checkpoint(0, 0, { nodeStates }));
 * manager.store(new Checkpoint(1, 10, { nodeStates }));
 * manager.store(new Checkpoint(2, 20, { nodeStates }));
 *
 * console.log(`Latest checkpoint at epoch ${manager.latest()?.epoch}`);
 * assert.equal(manager.getAtPosition(15)?.tokenPosition, 10);
 * ```
 */
export class CheckpointManager {
  /** Checkpoints kept; storing one more evicts the oldest. */
  readonly checkpointsMax: number;
  /** Tokens between checkpoints. */
  readonly checkpointFrequencyTokens: number;
  /** Matching reports needed for stability, or `undefined` without `members`. */
  readonly quorum: number | undefined;
  readonly #members: ReadonlyMap<NodeId, NodeIndex>;
  readonly #cluster: ClusterConfig<string> | undefined;
  readonly #checkpoints: Checkpoint[] = [];
  // Checksum reports per position key, and per node its keys oldest first (bounded per node so
  // a Byzantine node flooding future positions only pushes out its own reports).
  readonly #reports = new Map<string, Map<NodeId, string[]>>();
  readonly #keysByNode = new Map<NodeId, string[]>();
  readonly #stable = new Map<string, string>();

  /**
   * Creates a manager.
   *
   * @param checkpointsMax How many checkpoints to keep (a positive integer).
   * @param options Checkpoint frequency and the cluster for stability.
   * @throws {RangeError} If a bound is not a positive integer or the cluster is too small.
   */
  constructor(checkpointsMax: number, options: CheckpointManagerOptions = {}) {
    requireKind("checkpointsMax", checkpointsMax, "number");
    requireKind("options", options, "object");
    if (!Number.isSafeInteger(checkpointsMax) || checkpointsMax < 1) {
      throw new RangeError(`checkpointsMax must be a positive integer, got ${checkpointsMax}`);
    }
    const frequency = options.checkpointFrequencyTokens ?? 10;
    if (!Number.isSafeInteger(frequency) || frequency < 1) {
      throw new RangeError(
        `checkpointFrequencyTokens must be a positive integer, got ${frequency}`,
      );
    }
    this.checkpointsMax = checkpointsMax;
    this.checkpointFrequencyTokens = frequency;
    const members = options.members ?? [];
    this.#members = new Map(members.map((id, k) => [id, k + 1]));
    if (options.members !== undefined && this.#members.size !== options.members.length) {
      throw new RangeError("members must not repeat a node");
    }
    if (options.members === undefined) {
      this.#cluster = undefined;
    } else {
      const faultsMax = options.faultsMax ?? 0;
      validateClusterSize(members.length, faultsMax);
      this.#cluster = clusterConfigWith<string>(oneViewConstants(members.length, faultsMax), {
        firstInput: () => "",
        resultOf: () => undefined,
      });
    }
    this.quorum = this.#cluster?.checkpointQuorum;
  }

  /** Number of checkpoints held. */
  get count(): number {
    return this.#checkpoints.length;
  }

  /**
   * Stores a checkpoint after verifying it. Positions must increase: a checkpoint at or before
   * the latest one is refused, unless it is the very same checkpoint (then nothing changes).
   *
   * @param checkpoint The checkpoint.
   * @returns The checkpoints evicted to stay within `checkpointsMax`, oldest first.
   * @throws {CheckpointError} If it fails verification or does not come after the latest.
   *
   * @example Keeping the last two
   * ```ts
   * import { Checkpoint, CheckpointManager } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const manager = new CheckpointManager(2);
   * manager.store(new Checkpoint(0, 0));
   * manager.store(new Checkpoint(0, 10));
   * const evicted = manager.store(new Checkpoint(0, 20));
   * assert.deepEqual(evicted.map((checkpoint) => checkpoint.tokenPosition), [0]);
   * ```
   */
  store(checkpoint: Checkpoint): readonly Checkpoint[] {
    if (!checkpoint.verify()) {
      throw new CheckpointError(
        `Checkpoint at epoch ${checkpoint.epoch}, position ${checkpoint.tokenPosition} ` +
          "does not match its checksum",
      );
    }
    const latest = this.latest();
    if (latest !== undefined) {
      const order = compareKeys(checkpoint, latest);
      if (order === 0 && checkpoint.checksumHex === latest.checksumHex) return [];
      if (order <= 0) {
        throw new CheckpointError(
          `Checkpoint at epoch ${checkpoint.epoch}, position ${checkpoint.tokenPosition} does ` +
            `not come after the latest (epoch ${latest.epoch}, position ${latest.tokenPosition})`,
        );
      }
    }
    this.#checkpoints.push(checkpoint);
    const evicted = this.#checkpoints.splice(
      0,
      Math.max(0, this.#checkpoints.length - this.checkpointsMax),
    );
    return evicted;
  }

  /**
   * The newest checkpoint.
   *
   * @returns It, or `undefined` if none is stored.
   *
   * @example Usage
   * ```ts
   * import { CheckpointManager } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * assert.equal(new CheckpointManager(3).latest(), undefined);
   * ```
   */
  latest(): Checkpoint | undefined {
    return this.#checkpoints.at(-1);
  }

  /**
   * The newest checkpoint at or before token position `tokenPosition`: where to resume to
   * regenerate from that position.
   *
   * @param tokenPosition The position.
   * @returns The checkpoint, or `undefined` if every stored one is later.
   *
   * @example Usage
   * ```ts
   * import { Checkpoint, CheckpointManager } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const manager = new CheckpointManager(3);
   * manager.store(new Checkpoint(0, 10));
   * assert.equal(manager.getAtPosition(9), undefined);
   * assert.equal(manager.getAtPosition(10)?.tokenPosition, 10);
   * ```
   */
  getAtPosition(tokenPosition: number): Checkpoint | undefined {
    return this.#checkpoints.findLast((checkpoint) => checkpoint.tokenPosition <= tokenPosition);
  }

  /**
   * The stored checkpoints, oldest first.
   *
   * @returns A copy of the list.
   *
   * @example Usage
   * ```ts
   * import { CheckpointManager } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * assert.deepEqual(new CheckpointManager(3).checkpoints(), []);
   * ```
   */
  checkpoints(): readonly Checkpoint[] {
    return [...this.#checkpoints];
  }

  /**
   * Whether a checkpoint is due at `tokenPosition` (every `checkpointFrequencyTokens` tokens).
   *
   * @param tokenPosition The position just generated.
   * @returns `true` at multiples of the frequency.
   *
   * @example Usage
   * ```ts
   * import { CheckpointManager } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const manager = new CheckpointManager(10, { checkpointFrequencyTokens: 5 });
   * assert.deepEqual([0, 5, 7, 10].map((p) => manager.shouldCheckpoint(p)), [true, true, false, true]);
   * ```
   */
  shouldCheckpoint(tokenPosition: number): boolean {
    return tokenPosition % this.checkpointFrequencyTokens === 0;
  }

  /**
   * Counts a member's checksum for a position. Each member counts once per checksum and
   * position; a second, different checksum from the same member is reported as equivocation and
   * counted for its own checksum (stability is judged by the signed reports, whoever signed
   * them: a quorum holds f + 1 honest members), up to {@linkcode CHECKSUMS_PER_MEMBER_MAX}.
   * Reports may arrive before the local checkpoint exists.
   *
   * @param node The member that reports (authenticated by the caller).
   * @param report The position and checksum.
   * @returns What became of the report.
   * @throws {CheckpointError} If the manager was created without `members`.
   *
   * @example A checkpoint becomes stable at the quorum (3 of 4 with f = 1)
   * ```ts
   * import { Checkpoint, CheckpointManager } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const manager = new CheckpointManager(10, { members: ["a", "b", "c", "d"], faultsMax: 1 });
   * const checkpoint = new Checkpoint(0, 10);
   * manager.store(checkpoint);
   * const report = { epoch: 0, tokenPosition: 10, checksumHex: checkpoint.checksumHex };
   * manager.reportChecksum("a", report);
   * manager.reportChecksum("b", report);
   * assert.equal(manager.latestStable(), undefined);
   * assert.deepEqual(manager.reportChecksum("c", report), { kind: "counted", stable: true });
   * assert.equal(manager.latestStable(), checkpoint);
   * ```
   */
  reportChecksum(node: NodeId, report: ChecksumReport): ReportOutcome {
    const cluster = this.#cluster;
    if (cluster === undefined) {
      throw new CheckpointError("Checkpoint stability needs the cluster's members in the options");
    }
    if (!this.#members.has(node)) return { kind: "notMember" };
    if (!CHECKSUM_HEX_PATTERN.test(report.checksumHex)) {
      return { kind: "malformed", reason: "checksumHex must be 64 lowercase hex digits" };
    }
    if (
      !Number.isSafeInteger(report.epoch) || report.epoch < 0 ||
      !Number.isSafeInteger(report.tokenPosition) || report.tokenPosition < 0
    ) {
      return { kind: "malformed", reason: "epoch and tokenPosition must be non-negative integers" };
    }
    const key = positionKey(report);
    const votes = this.#reports.get(key) ?? new Map<NodeId, string[]>();
    const previous = votes.get(node);
    if (previous?.includes(report.checksumHex)) return { kind: "duplicate" };
    const first = previous?.[0];
    if (previous !== undefined && previous.length >= CHECKSUMS_PER_MEMBER_MAX) {
      return { kind: "equivocation", firstChecksumHex: first as string, stable: false };
    }
    votes.set(node, [...(previous ?? []), report.checksumHex]);
    this.#reports.set(key, votes);
    if (previous === undefined) this.#rememberKey(node, key);
    const reports = reportsOf(votes, this.#members);
    const reached = checkpointStable(cluster, reports, slotOf(report.checksumHex));
    if (reached && !this.#stable.has(key)) {
      this.#stable.set(key, report.checksumHex);
      this.#pruneStable();
    }
    // Two quorums share an honest node, and an honest node reports one checksum per position:
    // no second checksum can reach a quorum at the same position. If it did, our own
    // bookkeeping is broken (or honest nodes computed different states).
    const stableChecksum = this.#stable.get(key);
    if (reached && stableChecksum !== report.checksumHex) {
      throw new Error(`Two checksums reached a quorum at ${key}; this is a bug`);
    }
    const stable = stableChecksum === report.checksumHex;
    if (first !== undefined) return { kind: "equivocation", firstChecksumHex: first, stable };
    return { kind: "counted", stable };
  }

  /**
   * Whether the position of (epoch, tokenPosition) is stable, and the agreed checksum.
   *
   * @param epoch The epoch.
   * @param tokenPosition The token position.
   * @returns `stable` with the checksum, or `pending` with the largest count of matching reports.
   *
   * @example Usage
   * ```ts
   * import { CheckpointManager } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const manager = new CheckpointManager(10, { members: ["a", "b", "c", "d"], faultsMax: 1 });
   * assert.deepEqual(manager.stability(0, 10), { kind: "pending", votesMax: 0, quorum: 3 });
   * ```
   */
  stability(epoch: number, tokenPosition: number): Stability {
    const key = positionKey({ epoch, tokenPosition });
    const stable = this.#stable.get(key);
    if (stable !== undefined) return { kind: "stable", checksumHex: stable };
    const votes = this.#reports.get(key) ?? new Map<NodeId, string[]>();
    const reports = reportsOf(votes, this.#members);
    let votesMax = 0;
    for (const checksumHex of new Set([...votes.values()].flat())) {
      votesMax = Math.max(votesMax, checkpointSigners(reports, slotOf(checksumHex)));
    }
    return { kind: "pending", votesMax, quorum: this.quorum ?? 0 };
  }

  /**
   * The newest stored checkpoint whose checksum a quorum confirmed. A local checkpoint whose
   * checksum differs from the quorum's is diverged and never returned.
   *
   * @returns The checkpoint, or `undefined` if none is stable.
   *
   * @example Usage
   * ```ts
   * import { CheckpointManager } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * assert.equal(new CheckpointManager(3, { members: ["a"] }).latestStable(), undefined);
   * ```
   */
  latestStable(): Checkpoint | undefined {
    return this.#checkpoints.findLast((checkpoint) =>
      this.#stable.get(positionKey(checkpoint)) === checkpoint.checksumHex
    );
  }

  #rememberKey(node: NodeId, key: string): void {
    const keys = this.#keysByNode.get(node) ?? [];
    keys.push(key);
    keys.sort(compareKeyStrings);
    // Per-node bound: each member keeps its newest reports only.
    while (keys.length > this.checkpointsMax * 2) {
      const dropped = keys.shift()!;
      const votes = this.#reports.get(dropped);
      votes?.delete(node);
      if (votes?.size === 0) this.#reports.delete(dropped);
    }
    this.#keysByNode.set(node, keys);
  }

  #pruneStable(): void {
    const bound = this.checkpointsMax * 2;
    if (this.#stable.size <= bound) return;
    const keys = [...this.#stable.keys()].sort(compareKeyStrings);
    for (const key of keys.slice(0, keys.length - bound)) this.#stable.delete(key);
  }
}

// A checksum as the core's checkpoint of one slot: the digest is the checksum's hex.
function slotOf(checksumHex: string): CheckpointSlot<string> {
  return { seed: 1, position: 0, digest: [checksumHex] };
}

// One position's reports as the core reads them: each member's signed checkpoints of one slot.
function reportsOf(
  votes: ReadonlyMap<NodeId, readonly string[]>,
  members: ReadonlyMap<NodeId, NodeIndex>,
): MessageLog<string> {
  const log = new MessageLog<string>();
  for (const [node, checksums] of votes) {
    const from = members.get(node) as NodeIndex;
    for (const checksumHex of checksums) {
      log.add({ type: "Checkpoint", ...slotOf(checksumHex), from });
    }
  }
  return log;
}

function positionKey(position: { readonly epoch: number; readonly tokenPosition: number }): string {
  return `${position.epoch}:${position.tokenPosition}`;
}

function compareKeys(
  left: { readonly epoch: number; readonly tokenPosition: number },
  right: { readonly epoch: number; readonly tokenPosition: number },
): number {
  return left.epoch - right.epoch || left.tokenPosition - right.tokenPosition;
}

function compareKeyStrings(left: string, right: string): number {
  const [leftEpoch, leftPosition] = left.split(":").map(Number) as [number, number];
  const [rightEpoch, rightPosition] = right.split(":").map(Number) as [number, number];
  return compareKeys(
    { epoch: leftEpoch, tokenPosition: leftPosition },
    { epoch: rightEpoch, tokenPosition: rightPosition },
  );
}
