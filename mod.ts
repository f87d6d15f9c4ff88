/**
 * Butterfly: the reference implementation of the Butterfly Coordination Protocol (BCP),
 * Byzantine-fault-tolerant coordination for transformer inference split across machines.
 *
 * @example Cluster sizing
 * ```ts
 * import { quorumSize, validateClusterSize } from "@butterfly/bcp";
 * const size = validateClusterSize(4, 1);
 * console.log(quorumSize(size)); // 3
 * ```
 *
 * @module
 */

export {
  type ClusterSize,
  ClusterSizeError,
  minimumNodeCount,
  quorumSize,
  validateClusterSize,
} from "./src/core/quorum.ts";
