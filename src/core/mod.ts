/**
 * The pure core of the Butterfly Coordination Protocol: one function per action of the TLA+ spec
 * (`tla/ButterflyCoordination.tla`), the table of those actions, the `step` entry point that
 * runs them on an event and returns effects as data, the spec's invariants, and the quorum
 * arithmetic. Nothing here does I/O, reads a clock or draws randomness; importing it loads no
 * native code.
 *
 * @example The coordinator of view 0 starts: it assigns, and takes its own assignment
 * ```ts
 * import { clusterConfig, initialNodeState, messageLog, step } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 *
 * const cluster = clusterConfig({
 *   nodeCount: 4, faultsMax: 1, stageCount: 1, tokenCount: 1, checkpointIntervalTokens: 1,
 *   replicaCount: 3, seeds: [1], viewMax: 1,
 * });
 * const ready = step(
 *   { cluster, state: initialNodeState(1, cluster), received: messageLog() },
 *   { kind: "start" },
 * );
 * assert.deepEqual(ready.actions, ["SendAssign", "HandleAssign"]);
 * ```
 *
 * @module
 */

export {
  type ClusterSize,
  ClusterSizeError,
  hasFastQuorum,
  hasHonestMember,
  hasQuorum,
  honestlyReported,
  minimumNodeCount,
  minimumReplicaCount,
  quorumOf,
  quorumSize,
  validateClusterSize,
} from "./quorum.ts";

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
  type ValueDomain,
  valuesAt,
  type ViewChangeMessage,
  type Vote,
  type VoteMessage,
} from "./spec_state.ts";
export {
  type Disabled,
  disabled,
  type Effect,
  type Enabled,
  enabled,
  type PersistEffect,
  type SendEffect,
  type Transition,
} from "./transition.ts";
export type { MessageInput, NodeInput, StageModel } from "./node_input.ts";
export {
  type CancelTimerEffect,
  type CheckpointEffect,
  type CommitEffect,
  type ComputeEffect,
  type NodeEvent,
  type Ready,
  step,
  type StepEffect,
  type StepNode,
  type TakenAction,
  type TimerEffect,
} from "./step.ts";
export {
  MessageLog,
  messageLog,
  type MessageOfType,
  type ReceivedMessages,
  SPEC_MESSAGE_TYPES,
  type SpecMessageType,
} from "./received.ts";
export { messageKey, messageSetKey } from "./message_key.ts";
export { conflicting, conflictSlot, sameSlot, type SlotFields } from "./conflicting.ts";
export {
  type AgreedResult,
  type AgreementOutcome,
  type AgreementVoteType,
  ByzantineAgreement,
  type HandlePrePrepareOptions,
} from "./byzantine_agreement.ts";
export {
  commitStableViolations,
  type InvariantInput,
  invariantViolations,
  valueFreeViolations,
} from "./invariants.ts";
export { handleAssign, sendAssign, type SendAssignInput } from "./assignment.ts";
export {
  acceptToken,
  type AcceptTokenInput,
  certifiedOutputs,
  computeStage,
  type ComputeStageInput,
} from "./computation.ts";
export {
  checkpointSigners,
  type CheckpointSlot,
  checkpointStable,
  handleCheckpoint,
  restoreCheckpoint,
  takeCheckpoint,
  type TakeCheckpointInput,
} from "./checkpointing.ts";
export {
  commitFast,
  commitStandard,
  handlePrePrepare,
  learnCommit,
  type LearnCommitInput,
  sendCommit,
  sendPrePrepare,
} from "./commitment.ts";
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
} from "./view_change.ts";

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
} from "./actions.ts";
export type { LayerInfo, LayerType, NodeId } from "./types.ts";
