/**
 * Butterfly: the reference implementation of the Butterfly Coordination Protocol (BCP),
 * Byzantine-fault-tolerant coordination for transformer inference split across machines.
 *
 * This entry point holds the names of the seed's README: the agreement, checkpoint, failure
 * detection, work assignment and barrier components, the inference result and its proof, the
 * configuration read from `BUTTERFLY_*` variables, cluster sizing, the client of a cluster of
 * reference nodes (`ButterflyClient`, with the cluster file and key files it reads), and their
 * error types.
 * Importing it needs no permission and loads no native code. The rest lives in subpaths:
 *
 * - `@butterfly/bcp/core`: the pure protocol core, one function per TLA+ action, and `step`;
 * - `@butterfly/bcp/wire`: the wire protocol of `spec/PROTOCOL.md`;
 * - `@butterfly/bcp/sim`: the deterministic simulator;
 * - `@butterfly/bcp/model`: ONNX model execution (loads ONNX Runtime, needs `--allow-ffi`);
 * - `@butterfly/bcp/runtime`: the reference node (`ButterflyNode`), its transport, logs and data
 *   directory, and a local cluster of node processes.
 *
 * @example Cluster sizing
 * ```ts
 * import { quorumSize, validateClusterSize } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 *
 * const size = validateClusterSize(4, 1);
 * assert.equal(quorumSize(size), 3);
 * assert.throws(() => validateClusterSize(5, 2), /n >= 3f \+ 1/);
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
export {
  type AgreedResult,
  type AgreementOutcome,
  type AgreementVoteType,
  ByzantineAgreement,
  type HandlePrePrepareOptions,
} from "./src/core/byzantine_agreement.ts";
export {
  InferenceResult,
  Proof,
  type ProofExtendOptions,
  type ProofGenerateOptions,
  type ProofStep,
  type ProofVerifyOptions,
} from "./src/wire/proof.ts";
export type { CoordinationMessage } from "./src/wire/message.ts";
export type { LayerInfo, LayerType, NodeId } from "./src/core/types.ts";
export {
  type Assignment,
  AssignmentError,
  type AssignmentStrategy,
  type AssignOptions,
  type DependencyEdge,
  type DependencyGraph,
  type Rebalance,
  type RebalanceOptions,
  type Stage,
  WorkAssigner,
  type WorkAssignerOptions,
} from "./src/assign/work_assigner.ts";
export {
  type NodeHealth,
  PhiAccrualFailureDetector,
  type PhiAccrualFailureDetectorOptions,
  phiOfSilence,
  UnknownNodeError,
} from "./src/detector/phi_accrual_failure_detector.ts";
export {
  Checkpoint,
  CheckpointFormatError,
  type CheckpointFormatProblem,
  type CheckpointOptions,
  decodeCheckpoint,
  encodeCheckpoint,
} from "./src/checkpoint/checkpoint.ts";
export {
  CheckpointError,
  CheckpointManager,
  type CheckpointManagerOptions,
  type ChecksumReport,
  type ReportOutcome,
  type Stability,
} from "./src/checkpoint/checkpoint_manager.ts";
export {
  type ArrivalOutcome,
  BarrierCoordinator,
  type BarrierCoordinatorOptions,
  type BarrierStatus,
} from "./src/barrier/barrier_coordinator.ts";
export {
  type ButterflyConfig,
  CONFIG_VARIABLES,
  ConfigError,
  DEFAULT_CONFIG,
  parseConfig,
  type ParseConfigOptions,
} from "./src/config/config.ts";
export { loadConfigFromEnv } from "./src/runtime/config.ts";
export { WireError, type WireErrorCode } from "./src/wire/wire_error.ts";
export {
  ButterflyClient,
  type ClientOptions,
  type CommittedInference,
  type InferenceOptions,
  InferenceRefusedError,
  InferenceTimeoutError,
  type StreamedToken,
} from "./src/runtime/client.ts";
export {
  type ClusterFile,
  ClusterFileError,
  loadClusterFile,
  parseClusterFile,
} from "./src/runtime/cluster_file.ts";
export { KeyFileError, readKeyFile } from "./src/runtime/keys.ts";
