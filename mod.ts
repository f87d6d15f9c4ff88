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
  hasFastQuorum,
  hasQuorum,
  minimumNodeCount,
  quorumOf,
  quorumSize,
  validateClusterSize,
} from "./src/core/quorum.ts";

// The pure core (src/core/): one function per TLA+ action of tla/ButterflyCoordination.tla,
// guards that say why they refuse, effects as data.
export {
  type AssignMessage,
  type CheckpointMessage,
  type CheckpointRecord,
  type ClusterConfig,
  clusterConfig,
  clusterConfigWith,
  type ClusterConstants,
  computeValue,
  DURABLE_FIELDS,
  type DurableField,
  durableOf,
  type DurableState,
  GARBAGE,
  initialNodeState,
  inputValues,
  isReplica,
  type NewViewMessage,
  NO_CHECKPOINT,
  NO_SEED,
  NO_VALUE,
  NO_VOTE,
  type NodeIndex,
  type NodeState,
  type NoValue,
  oneViewConstants,
  primaryOf,
  resultOf,
  seedOfValue,
  type SpecMessage,
  type StageOutputMessage,
  stageValue,
  type Value,
  VALUE_DIGIT_MAX,
  type ValueDomain,
  valuesAt,
  type ViewChangeMessage,
  type Vote,
  type VoteMessage,
} from "./src/core/spec_state.ts";
export {
  type Disabled,
  disabled,
  type Effect,
  type Enabled,
  enabled,
  type PersistEffect,
  type SendEffect,
  type Transition,
} from "./src/core/transition.ts";
export type { MessageInput, NodeInput, StageModel } from "./src/core/node_input.ts";
export {
  type CancelTimerEffect,
  type CheckpointEffect,
  type CommitEffect,
  type ComputeEffect,
  type NodeEvent,
  type Ready,
  step,
  STEP_ACTIONS_MAX,
  type StepEffect,
  type StepNode,
  type TimerEffect,
} from "./src/core/step.ts";
export {
  MessageLog,
  messageLog,
  type MessageOfType,
  type ReceivedMessages,
  SPEC_MESSAGE_TYPES,
  type SpecMessageType,
} from "./src/core/received.ts";
export { messageKey, messageSetKey } from "./src/core/message_key.ts";
export {
  conflicting as conflictingSpecMessages,
  conflictSlot,
  sameSlot,
  type SlotFields,
} from "./src/core/conflicting.ts";
export {
  type AgreedResult,
  type AgreementOutcome,
  type AgreementVoteType,
  ByzantineAgreement,
  type HandlePrePrepareOptions,
} from "./src/core/byzantine_agreement.ts";
export {
  commitStableViolations,
  type InvariantInput,
  invariantViolations,
} from "./src/core/invariants.ts";
export { handleAssign, sendAssign, type SendAssignInput } from "./src/core/assignment.ts";
export {
  acceptToken,
  type AcceptTokenInput,
  computeStage,
  type ComputeStageInput,
} from "./src/core/computation.ts";
export {
  checkpointSigners,
  type CheckpointSlot,
  checkpointStable,
  handleCheckpoint,
  restoreCheckpoint,
  takeCheckpoint,
  type TakeCheckpointInput,
} from "./src/core/checkpointing.ts";
export {
  commitFast,
  commitStandard,
  handlePrePrepare,
  learnCommit,
  type LearnCommitInput,
  sendCommit,
  sendPrePrepare,
} from "./src/core/commitment.ts";
export {
  type EvidenceInput,
  excludeNode,
  handleHeartbeat,
  handleNewView,
  joinViewChange,
  type JoinViewChangeInput,
  type PeerInput,
  sendNewView,
  type SendNewViewInput,
  startViewChange,
  suspect,
  viewTimeout,
} from "./src/core/view_change.ts";

// The deterministic system (src/sim/): the environment's actions and the lift to the spec.
export {
  applyStep,
  applyTransition,
  byzantineSend,
  crash,
  deliver,
  DurabilityError,
  EffectError,
  type EnvironmentConfig,
  type EnvironmentResult,
  initialSystem,
  isByzantineMessage,
  isUp,
  liftSystem,
  mayHeartbeat,
  maySuspect,
  mayTimeOut,
  type NodeStatus,
  recover,
  type SpecVariables,
  type SystemState,
} from "./src/sim/system.ts";
export { Prng } from "./src/sim/prng.ts";
export {
  type ActionGate,
  type ActionParams,
  ACTIONS,
  type Apply,
  enabledTransitions,
  type Enumerate,
  type NamedTransition,
  NODE_ACTIONS,
  type NodeAction,
  nodeAction,
  type NodeActionName,
  type ParamValue,
  PROTOCOL_ACTIONS,
  type ProtocolAction,
  type Visit,
} from "./src/core/actions.ts";
export {
  simulate,
  type SimulateOptions,
  SIMULATION_BYZANTINE_MESSAGES_MAX,
  SIMULATION_CRASHES_MAX,
  SIMULATION_FALSE_SUSPICIONS_MAX,
  SIMULATION_IN_FLIGHT_MAX,
  SIMULATION_LIVENESS_ROUNDS_MAX,
  SIMULATION_NODE_COUNT,
  SIMULATION_VIEW_MAX,
  type SimulationReport,
} from "./src/sim/simulator.ts";

// Model execution (src/model/): the transformer as ONNX stages, run by ONNX Runtime.
export {
  DEFAULT_MODEL_CONFIG,
  GPT2_SMALL_SHAPED_CONFIG,
  MODEL_DIMENSION_MAX,
  type ModelConfig,
  ModelConfigError,
  parameterCount,
  TINY_MODEL_CONFIG,
  validateModelConfig,
} from "./src/model/config.ts";
export {
  embeddingParameterSpecs,
  generateParameter,
  headParameterSpecs,
  layerParameterSpecs,
  type ParameterSpec,
  WEIGHT_STD,
} from "./src/model/weights.ts";
export {
  ATTENTION_MASK_VALUE,
  buildStageModel,
  type CacheTensorNames,
  cacheTensorNames,
  type Dim,
  HIDDEN_INPUT_NAME,
  HIDDEN_OUTPUT_NAME,
  LAYER_NORM_EPSILON,
  type LayerRange,
  LOGITS_OUTPUT_NAME,
  stageSignature,
  type TensorDtype,
  type TensorSpec,
  TOKEN_INPUT_NAME,
  validateLayerRange,
} from "./src/model/transformer.ts";
export {
  type Float32Tensor,
  type Int32Tensor,
  type StageTensor,
  tensorBytes,
  tensorDigest,
  tokenTensor,
} from "./src/model/tensor.ts";
export {
  deserializeKvCache,
  emptyKvCache,
  type EmptyKvCacheOptions,
  KV_CACHE_FORMAT_VERSION,
  KV_CACHE_MAGIC,
  type KvCache,
  kvCacheDigest,
  KvCacheFormatError,
  type LayerKvCache,
  serializeKvCache,
} from "./src/model/kv_cache.ts";
export {
  type ExecutionProvider,
  INTRA_OP_THREAD_COUNT_MAX,
  StageExecutor,
  type StageExecutorOptions,
  StageInputError,
  type StageResult,
} from "./src/model/stage_executor.ts";
export {
  referenceForward,
  type ReferenceForwardOptions,
  referenceWeights,
} from "./src/model/reference.ts";
export {
  createSampler,
  type GreedySampling,
  type Sampler,
  sampleToken,
  type Sampling,
  type SeededSampling,
} from "./src/model/sampling.ts";
export {
  closePipeline,
  createPipeline,
  emptyPipelineCaches,
  generate,
  type GeneratedToken,
  type GenerateOptions,
  type ModelPipeline,
  type PipelineOptions,
  type PipelineStep,
  runPipeline,
  stageRanges,
} from "./src/model/generate.ts";
export {
  checkStageFiles,
  exportStageModels,
  type ExportStageModelsOptions,
  MANIFEST_STAGE_COUNT_MAX,
  ManifestError,
  type ModelManifest,
  parseModelManifest,
  STAGE_MANIFEST_FORMAT,
  type StageManifest,
  type TensorManifest,
} from "./src/model/manifest.ts";

// Node components (src/config/, src/detector/, src/runtime/config.ts): configuration from
// BUTTERFLY_* variables and the phi accrual failure detector.
export {
  type ButterflyConfig,
  CHECKPOINT_FREQUENCY_TOKENS_MAX,
  CHECKPOINTS_MAX,
  CONFIG_VARIABLES,
  ConfigError,
  DEFAULT_CONFIG,
  HEARTBEAT_INTERVAL_MS_MAX,
  HEARTBEAT_INTERVAL_MS_MIN,
  parseConfig,
  PHI_MAX,
  PHI_MIN,
} from "./src/config/config.ts";
export { loadConfigFromEnv } from "./src/runtime/config.ts";
export {
  DETECTOR_NODES_MAX,
  DETECTOR_SAMPLES_MAX,
  type NodeHealth,
  PhiAccrualFailureDetector,
  type PhiAccrualFailureDetectorOptions,
  phiOfSilence,
  UnknownNodeError,
} from "./src/detector/phi_accrual_failure_detector.ts";
export type { LayerInfo, LayerType, NodeId } from "./src/core/types.ts";

// Checkpoints (src/checkpoint/, src/runtime/checkpoint_store.ts): canonical checksums, the
// bounded manager with quorum stability, and the durable on-disk store.
export {
  Checkpoint,
  CHECKPOINT_CHECKSUM_BYTES,
  CHECKPOINT_ENTRIES_MAX,
  CHECKPOINT_FORMAT_VERSION,
  CHECKPOINT_MAGIC,
  CHECKPOINT_NODE_ID_BYTES_MAX,
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
  CHECKPOINT_FILE_BYTES_MAX,
  CheckpointLoadError,
  type CheckpointLoadProblem,
  type CheckpointLoadResult,
  CheckpointStore,
} from "./src/runtime/checkpoint_store.ts";

// Work assignment (src/assign/): exact contiguous pipeline stages per node.
export {
  ASSIGN_LAYERS_MAX,
  type Assignment,
  AssignmentError,
  type AssignmentStrategy,
  type AssignOptions,
  CLASS_STATES_MAX,
  DEFAULT_CAPACITY_FLOPS_PER_MS,
  type DependencyEdge,
  type DependencyGraph,
  type Rebalance,
  type RebalanceOptions,
  REPLICATION_FACTOR_MAX,
  type Stage,
  TOPOLOGY_UNITS_MAX,
  WorkAssigner,
  type WorkAssignerOptions,
} from "./src/assign/work_assigner.ts";

// Barrier (src/barrier/): the per-epoch aggregation barrier.
export {
  type ArrivalOutcome,
  BARRIER_PARTICIPANTS_MAX,
  BarrierCoordinator,
  type BarrierCoordinatorOptions,
  type BarrierStatus,
} from "./src/barrier/barrier_coordinator.ts";

// Wire protocol (src/wire/): canonical CBOR messages, frames, ed25519 identities, quorum
// certificates, equivocation evidence, replay protection and signed proofs (spec/PROTOCOL.md).
export {
  accepted,
  refused,
  WIRE_ERROR_CODES,
  WireError,
  type WireErrorCode,
  type WireResult,
} from "./src/wire/wire_error.ts";
export {
  type Activation,
  ACTIVATION_RANK_MAX,
  type AssignedStage,
  bytesEqual,
  type CoordinationMessage,
  decodeCanonical,
  decodeMessage,
  type Digest,
  DIGEST_BYTES,
  encodeCanonical,
  encodeMessage,
  type Evidence,
  LIST_ENTRIES_MAX,
  MESSAGE_TYPES,
  type MessageBodies,
  type MessageHeader,
  type MessageOf,
  type MessageType,
  NODE_ID_BYTES_MAX,
  type PreparedClaim,
  type ProofData,
  type ProofLinkData,
  SIGNATURE_BYTES,
  type SignedMessage,
  validateMessage,
  type VoteClaim,
  WIRE_INTEGER_MAX,
} from "./src/wire/message.ts";
export {
  concatBytes,
  createNodeSigner,
  ED25519_KEY_BYTES,
  type MemberKey,
  Membership,
  MEMBERSHIP_NODES_MAX,
  type MembershipOptions,
  MESSAGE_SIGNATURE_TAG,
  type NodeSigner,
  PROOF_LINK_TAG,
} from "./src/wire/identity.ts";
export {
  SIGNATURE_CACHE_ENTRIES_DEFAULT,
  VerifiedSignatureCache,
} from "./src/wire/signature_cache.ts";
export {
  decodeFrame,
  encodeFrame,
  type Frame,
  FRAME_BYTES_MAX,
  FRAME_BYTES_MIN,
  FRAME_HEADER_BYTES,
  FRAME_LENGTH_BYTES,
  FRAME_VERSION,
  type OpenedMessage,
  openFrame,
  peekFrameLength,
  sealMessage,
  signMessage,
  verifySignedMessage,
} from "./src/wire/frame.ts";
export { checkReplay, type ReplayMark } from "./src/wire/replay.ts";
export {
  type CertificateOptions,
  type CertificateVoteType,
  type VerifiedCertificate,
  verifyCertificate,
} from "./src/wire/certificate.ts";
export { conflicting, type EquivocationOptions, verifyEquivocation } from "./src/wire/evidence.ts";
export {
  type ClientReplyOptions,
  type VerifiedClientReply,
  verifyClientReply,
} from "./src/wire/client_reply.ts";
export {
  type NewViewOptions,
  primaryOfView,
  type VerifiedNewView,
  verifyNewView,
} from "./src/wire/new_view.ts";
export {
  InferenceResult,
  Proof,
  type ProofExtendOptions,
  type ProofGenerateOptions,
  type ProofStep,
  type ProofVerifyOptions,
} from "./src/wire/proof.ts";
