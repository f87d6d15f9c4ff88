/**
 * The reference node runtime: `ButterflyNode` (TCP transport, failure detection, view-change
 * timers, a durable data directory, ONNX stage execution, one shell around the core's `step` per
 * inference), `DistributedCoordinator` (the seed's face of one node, for callers that carry its
 * frames themselves), `ButterflyClient`, the cluster file, key files, JSON-lines logs and a local
 * cluster of node processes. Loading a model reaches ONNX Runtime, so this entry point needs
 * `--allow-ffi` (and `--allow-read`, `--allow-env`, `--allow-sys`, `--allow-net`).
 *
 * @example Configuration from the environment
 * ```ts
 * import { loadConfigFromEnv } from "@butterfly/bcp/runtime";
 * import assert from "node:assert/strict";
 *
 * assert.equal(loadConfigFromEnv().heartbeatIntervalMs > 0, true);
 * ```
 *
 * @module
 */

export { COST_KINDS, type CostKind, CostMeter, type Costs } from "./costs.ts";
export { loadConfigFromEnv, loadNodeConfig, RUNTIME_VARIABLES, traceDirFromEnv } from "./config.ts";
export {
  CHECKPOINT_FILE_BYTES_MAX,
  CheckpointLoadError,
  type CheckpointLoadProblem,
  type CheckpointLoadResult,
  CheckpointStore,
} from "./checkpoint_store.ts";
export { loadUserModel, type UserModel } from "./user_model.ts";
export {
  type ClusterClient,
  type ClusterFile,
  ClusterFileError,
  clusterFileJson,
  type ClusterModel,
  type ClusterNode,
  loadClusterFile,
  MODEL_PRESETS,
  type ModelPreset,
  parseClusterFile,
} from "./cluster_file.ts";
export { KeyFileError, readKeyFile, SECRET_KEY_BYTES, writeNewKeyFile } from "./keys.ts";
export {
  LOG_LEVELS,
  type LogFields,
  Logger,
  type LogLevel,
  type LogRecord,
  type LogSink,
  parseLogLevel,
} from "./log.ts";
export {
  ButterflyClient,
  type CertificateSummary,
  type ClientOptions,
  type CommittedInference,
  type InferenceOptions,
  InferenceRefusedError,
  InferenceTimeoutError,
  type StreamedToken,
  summarizeCertificate,
} from "./client.ts";
export {
  ButterflyNode,
  COMMITTED_KEPT,
  INSTANCES_MAX_DEFAULT,
  type NetworkHandlers,
  type NodeCluster,
  type NodeNetwork,
  type NodeOptions,
} from "./node.ts";
export {
  DistributedCoordinator,
  type DistributedCoordinatorOptions,
} from "./distributed_coordinator.ts";
export { FrameGate, type FrameGateOptions, type GateResult, type Refusal } from "./frame_gate.ts";
export { type PeerAddress, Sealer, Transport, type TransportOptions } from "./transport.ts";
export { LocalCluster, type LocalClusterOptions } from "./local_cluster.ts";
export { type ModelSourceOptions, openClusterModel, PRESET_CONFIGS } from "./model_source.ts";
export {
  INFERENCE_SEED,
  type InferenceRequest,
  Instance,
  type InstanceCluster,
  type InstanceHost,
  type SpeculationCounts,
  type StepRecord,
} from "./instance.ts";
export {
  type ModelInference,
  type StageInput,
  type StageOutcome,
  StageRunner,
} from "./stage_runner.ts";
export { samplingOfRequest, samplingRequestOf } from "./sampling_wire.ts";
export {
  TRACE_FORMAT,
  type TraceInstanceLine,
  type TraceLine,
  type TraceProblem,
  type TraceReport,
  type TraceStepLine,
  TraceWriter,
  validateTrace,
  validateTraceDir,
  type ValidateTraceOptions,
} from "./trace.ts";
export { NodeStore, NodeStoreError, type StoredInference } from "./node_store.ts";
export {
  checkpointDigest,
  checkpointState,
  checkpointTokens,
  decodeTokens,
  digestOf,
  type DigestValue,
  encodeTokens,
  fromWire,
  promptValue,
  type SpecContext,
  type SpecForm,
  tokenOfValue,
  tokensValue,
  toWire,
  TranslationError,
  valueOf,
  type WireContext,
} from "./spec_wire.ts";
