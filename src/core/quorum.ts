/**
 * Cluster sizing for BCP: how many nodes a given number of Byzantine faults needs, and how large
 * a quorum must be. These are the bounds the TLA+ spec (`tla/ButterflyCoordination.tla`) checks:
 * with n < 3f + 1 TLC finds two honest nodes committing different results (see `tla/README.md`).
 *
 * @module
 */

import { requireKind } from "./_arguments.ts";

/** The sizing of a BCP cluster: its node count and the Byzantine faults it tolerates. */
export interface ClusterSize {
  /** Number of nodes in the cluster (n). */
  readonly nodeCount: number;
  /** Maximum number of Byzantine nodes tolerated (f). */
  readonly faultsMax: number;
}

/** Raised when a cluster size cannot be made safe by the protocol. */
export class ClusterSizeError extends Error {
  /** Creates the error with a message naming the violated bound. */
  constructor(message: string) {
    super(message);
    this.name = "ClusterSizeError";
  }
}

/**
 * The smallest cluster that tolerates `faultsMax` Byzantine nodes: 3f + 1.
 *
 * @param faultsMax The number of Byzantine nodes to tolerate (f >= 0).
 * @returns 3f + 1.
 *
 * @example Usage
 * ```ts
 * import { minimumNodeCount } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.equal(minimumNodeCount(1), 4);
 * ```
 */
export function minimumNodeCount(faultsMax: number): number {
  requireKind("faultsMax", faultsMax, "number");
  if (!Number.isSafeInteger(faultsMax) || faultsMax < 0) {
    throw new ClusterSizeError(`faultsMax must be a non-negative integer, got ${faultsMax}`);
  }
  return 3 * faultsMax + 1;
}

/**
 * Checks that `nodeCount` nodes can tolerate `faultsMax` Byzantine nodes and returns the size.
 *
 * BCP's agreement needs n >= 3f + 1: with n = 2f + 1 a Byzantine coordinator equivocates and two
 * honest nodes commit different results (TLC's counterexample is in `tla/results/`).
 *
 * @param nodeCount The number of nodes (n).
 * @param faultsMax The number of Byzantine nodes to tolerate (f).
 * @returns The validated cluster size.
 * @throws {ClusterSizeError} If the numbers are not integers or n < 3f + 1.
 *
 * @example Usage
 * ```ts
 * import { validateClusterSize } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.deepEqual(validateClusterSize(4, 1), { nodeCount: 4, faultsMax: 1 });
 * assert.throws(() => validateClusterSize(3, 1), /3f \+ 1/);
 * ```
 */
export function validateClusterSize(nodeCount: number, faultsMax: number): ClusterSize {
  requireKind("nodeCount", nodeCount, "number");
  const needed = minimumNodeCount(faultsMax);
  if (!Number.isSafeInteger(nodeCount) || nodeCount < 1) {
    throw new ClusterSizeError(`nodeCount must be a positive integer, got ${nodeCount}`);
  }
  if (nodeCount < needed) {
    throw new ClusterSizeError(
      `Cannot tolerate ${faultsMax} Byzantine nodes with ${nodeCount} nodes: ` +
        `BCP needs n >= 3f + 1 = ${needed} (n = 2f + 1 lets a Byzantine coordinator split ` +
        `honest nodes, see tla/README.md)`,
    );
  }
  return { nodeCount, faultsMax };
}

/**
 * The quorum size for a cluster: the smallest number of votes such that any two quorums share
 * at least f + 1 nodes, hence at least one honest node: floor((n + f) / 2) + 1, which is 2f + 1
 * when n = 3f + 1.
 *
 * @param size A validated cluster size.
 * @returns The number of distinct votes that form a quorum certificate.
 *
 * @example Usage
 * ```ts
 * import { quorumSize } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.equal(quorumSize({ nodeCount: 4, faultsMax: 1 }), 3);
 * assert.equal(quorumSize({ nodeCount: 7, faultsMax: 2 }), 5);
 * ```
 */
export function quorumSize(size: ClusterSize): number {
  const { nodeCount, faultsMax } = validateClusterSize(size.nodeCount, size.faultsMax);
  return quorumOf(nodeCount, faultsMax);
}

/**
 * The spec's `Quorum`, floor((n + f) / 2) + 1, for any sizes: the trace replayer runs TLC's
 * n = 2f + 1 models with it too. Everything that counts a quorum takes it from here.
 *
 * @param nodeCount n.
 * @param faultsMax f.
 * @returns The quorum.
 *
 * @example Usage
 * ```ts
 * import { quorumOf } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.equal(quorumOf(3, 1), 3);
 * ```
 */
export function quorumOf(nodeCount: number, faultsMax: number): number {
  return Math.floor((nodeCount + faultsMax) / 2) + 1;
}

/**
 * Whether `signers` distinct members make a quorum certificate of a valid cluster.
 *
 * @param size A cluster size (checked: n >= 3f + 1).
 * @param signers The distinct signers.
 * @returns `signers >= quorumSize(size)`.
 * @throws {ClusterSizeError} If the size is not a valid cluster.
 *
 * @example Usage
 * ```ts
 * import { hasQuorum } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.ok(hasQuorum({ nodeCount: 4, faultsMax: 1 }, 3));
 * assert.ok(!hasQuorum({ nodeCount: 4, faultsMax: 1 }, 2));
 * ```
 */
export function hasQuorum(size: ClusterSize, signers: number): boolean {
  return signers >= quorumSize(size);
}

/**
 * Whether `signers` distinct members make the fast path's certificate: every member (the spec's
 * `FastQuorum`).
 *
 * @param size A cluster size (checked: n >= 3f + 1).
 * @param signers The distinct signers.
 * @returns `signers >= n`.
 * @throws {ClusterSizeError} If the size is not a valid cluster.
 *
 * @example Usage
 * ```ts
 * import { hasFastQuorum } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.ok(!hasFastQuorum({ nodeCount: 4, faultsMax: 1 }, 3));
 * ```
 */
export function hasFastQuorum(size: ClusterSize, signers: number): boolean {
  return signers >= validateClusterSize(size.nodeCount, size.faultsMax).nodeCount;
}

/**
 * Whether `members` distinct members include an honest one: more than f (the spec's F + 1, as in
 * `AcceptToken` and the voted claims of a view change). What that many report, some honest
 * member reported.
 *
 * @param size A cluster size (checked: n >= 3f + 1).
 * @param members The distinct members.
 * @returns `members >= f + 1`.
 * @throws {ClusterSizeError} If the size is not a valid cluster.
 *
 * @example Usage
 * ```ts
 * import { hasHonestMember } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.ok(hasHonestMember({ nodeCount: 4, faultsMax: 1 }, 2));
 * assert.ok(!hasHonestMember({ nodeCount: 4, faultsMax: 1 }, 1));
 * ```
 */
export function hasHonestMember(size: ClusterSize, members: number): boolean {
  return members >= validateClusterSize(size.nodeCount, size.faultsMax).faultsMax + 1;
}

/**
 * The report that more than f of the members agree on, if one does: each member's report counts
 * once, so what it returns some honest member reported.
 *
 * @param size A cluster size (checked: n >= 3f + 1).
 * @param reports Each member's report (one per member).
 * @returns The report more than f members made, or `undefined`.
 * @throws {ClusterSizeError} If the size is not a valid cluster.
 *
 * @example Two of four members name token 7
 * ```ts
 * import { honestlyReported } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const size = { nodeCount: 4, faultsMax: 1 };
 * assert.equal(honestlyReported(size, [7, 3, 7]), 7);
 * assert.equal(honestlyReported(size, [7, 3]), undefined);
 * ```
 */
export function honestlyReported<T>(size: ClusterSize, reports: Iterable<T>): T | undefined {
  const counts = new Map<T, number>();
  for (const report of reports) {
    const count = (counts.get(report) ?? 0) + 1;
    if (hasHonestMember(size, count)) return report;
    counts.set(report, count);
  }
  return undefined;
}

/**
 * The fewest replicas per stage with which the protocol stays live: 2f + 1. A stage's output is
 * accepted once f + 1 replicas agree on it, so with fewer than 2f + 1 replicas, f silent ones
 * leave a stage that never completes (TLC's liveness counterexample, `tla/README.md`). It is
 * also the default.
 *
 * @param faultsMax f.
 * @returns 2f + 1.
 *
 * @example Usage
 * ```ts
 * import { minimumReplicaCount } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.equal(minimumReplicaCount(1), 3);
 * ```
 */
export function minimumReplicaCount(faultsMax: number): number {
  minimumNodeCount(faultsMax);
  return 2 * faultsMax + 1;
}
