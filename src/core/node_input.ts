/**
 * The input every node action gets besides the node's state: the cluster and the messages the
 * node has received. In the spec a guard reads the global set `msgs`; in the implementation it
 * reads the node's received set, which includes the messages the node sent itself. The trace
 * replayer passes the spec's `msgs` as the received set (see `tla/README.md`).
 *
 * @module
 */

import type { ReceivedMessages } from "./received.ts";
import type { ClusterConfig, Value } from "./spec_state.ts";

/** What every node action reads besides the node's state. */
export interface NodeInput<V extends Value = number> {
  /** The cluster's constants and rules. */
  readonly cluster: ClusterConfig<V>;
  /**
   * The signed messages the node has received (and sent), without duplicates, read by type. It
   * only grows while the node runs; the shell keeps it (`MessageLog` in `received.ts`).
   */
  readonly received: ReceivedMessages<V>;
  /**
   * What the model returns for a stage, where the shell computes stages at once (the trace
   * replayer: the spec's `Compute`, `computeValue`). Absent in a runtime, whose model answers
   * later: `step` then asks for the stage with a `compute` effect.
   */
  readonly model?: StageModel<V>;
}

/** A model: the output (digest) of stage `stage` of token `token` from `input`. */
export type StageModel<V extends Value = number> = (input: V, token: number, stage: number) => V;

/** A node action's input with one message: the one the node handles. */
export interface MessageInput<M, V extends Value = number> extends NodeInput<V> {
  /** The message handled; it must be one of `received`. */
  readonly message: M;
}
