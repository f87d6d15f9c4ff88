/**
 * One inference on one node: the core's state for it, what the node received and signed, and
 * the shell around `step` that carries out its effects through a host (the node: disk, network,
 * timers, client) and the model (`StageRunner`). It decides nothing the spec decides: every
 * protocol choice is `step`'s; this file translates messages, keeps activations and answers
 * compute effects.
 *
 * Effects are carried out in `step`'s order: the durable fields (and the signed Prepares of a
 * prepared certificate) are on disk, then the messages signed go to the node's log on disk, and
 * a vote, view change or assignment is sent only once it is there. A stage output or a
 * checkpoint leaves while its write is under way: its content is fixed by certified inputs, so a
 * node that crashes first signs the same message again. Steps of one inference run one at a
 * time.
 *
 * @module
 */

import process from "node:process";
import { sha256 } from "@noble/hashes/sha2.js";
import { certifiedOutputs } from "../core/computation.ts";
import {
  type ClusterConfig,
  clusterConfigWith,
  type ClusterConstants,
  durableOf,
  type DurableState,
  initialNodeState,
  isReplica,
  NO_VALUE,
  type NodeState,
  type SpecMessage,
} from "../core/spec_state.ts";
import { MessageLog } from "../core/received.ts";
import { messageKey } from "../core/message_key.ts";
import {
  type CommitEffect,
  type NodeEvent,
  type Ready,
  step,
  type StepEffect,
} from "../core/step.ts";
import type { NodeId } from "../core/types.ts";
import type { Sampling } from "../model/sampling.ts";
import type { Float32Tensor } from "../model/tensor.ts";
import {
  type CoordinationMessage,
  decodeMessage,
  type MessageOf,
  type ProofData,
  type SamplingRequest,
  type SignedMessage,
} from "../wire/message.ts";
import { verifySignedMessage } from "../wire/frame.ts";
import type { Membership } from "../wire/identity.ts";
import { verifyNewView } from "../wire/new_view.ts";
import { verifyClientReply } from "../wire/client_reply.ts";
import { Proof } from "../wire/proof.ts";
import type { NodeSigner } from "../wire/identity.ts";
import { type CostMeter, type Costs, costsBetween } from "./costs.ts";
import type { Logger } from "./log.ts";
import {
  checkpointDigest,
  checkpointState,
  checkpointTokens,
  decodeTokens,
  digestOf,
  type DigestValue,
  encodeTokens,
  fromWire,
  promptValue,
  tokenOfValue,
  tokensValue,
  toWire,
  valueOf,
} from "./spec_wire.ts";
import { samplingOfRequest } from "./sampling_wire.ts";
import type { StageInput, StageOutcome, StageRunner } from "./stage_runner.ts";
import { TRACE_FORMAT, type TraceLine } from "./trace.ts";

/** What a client asked for. */
export interface InferenceRequest {
  /** The inference id (the client's). */
  readonly inferenceId: number;
  /** The client. */
  readonly client: string;
  /** The prompt bytes. */
  readonly prompt: Uint8Array;
  /** Tokens to generate. */
  readonly tokenCount: number;
  /** The client's signed request, relayed to peers that lack it. */
  readonly signed: SignedMessage;
  /** Seeded sampling, as the request carries it (absent: greedy). */
  readonly sampling?: SamplingRequest;
}

/** The cluster an inference runs on. */
export interface InstanceCluster {
  /** The members in the core's order (ids sorted by UTF-8 bytes). */
  readonly membership: Membership;
  /** f. */
  readonly faultsMax: number;
  /** Replicas per stage. */
  readonly replicaCount: number;
  /** Tokens between checkpoints. */
  readonly checkpointIntervalTokens: number;
  /** The last view. */
  readonly viewMax: number;
}

/** What a step writes to the node's disk ({@linkcode InstanceHost.record}). */
export interface StepRecord {
  /** The durable fields, where the step changed one. */
  readonly durable?: DurableState<DigestValue>;
  /** The signed Prepares that prove `durable.prepared` (with `durable`). */
  readonly preparedCertificate?: readonly SignedMessage[];
  /** The messages the step signed, in signing order. */
  readonly signed: readonly SpecMessage<DigestValue>[];
}

/** What an instance asks of its node. */
export interface InstanceHost {
  /** This node's signer. */
  readonly signer: NodeSigner;
  /** The node's logger. */
  readonly log: Logger;
  /**
   * Writes what a step must keep, whole or not at all: the durable fields with the signed
   * Prepares of `prepared` where they changed, then the messages the node signed, in order
   * (resolves once on disk). Calls land in the order made.
   */
  record(inferenceId: number, step: StepRecord): Promise<void>;
  /** Signs a message without sending it; resolves with its signed form. */
  sign(message: CoordinationMessage): Promise<SignedMessage>;
  /** Signs a message and sends it to every member; resolves with its signed form. */
  broadcast(message: CoordinationMessage): Promise<SignedMessage>;
  /** Signs a message and sends it to one peer. */
  sendTo(peer: string, message: CoordinationMessage): Promise<void>;
  /**
   * Starts (or restarts) the view-change timer of `view`, running at least `atLeastMs` (the
   * inference's own pace; the node's base timeout where that is longer).
   */
  startTimer(inferenceId: number, view: number, atLeastMs?: number): void;
  /** Stops the view-change timer. */
  cancelTimer(inferenceId: number): void;
  /** The inference committed: the reply to send to the client. */
  committed(inferenceId: number, reply: MessageOf<"ClientReply">, view: number): void;
  /** A token was accepted (for progress reports). */
  accepted?(inferenceId: number, token: number, tokenId: number): void;
  /** Writes a line of the node's runtime trace (with `--trace`). */
  trace?(line: TraceLine): void;
  /** Runs `run` after `ms` milliseconds, unless the node stops first. */
  later(ms: number, run: () => void): void;
  /** Where the time spent in steps, on disk and waiting in the queue is counted. */
  readonly meter?: CostMeter;
  /** How many inferences the node is running (not yet committed), this one included. */
  running?(): number;
}

/** The sampling seed every inference uses (the spec's `Seeds` = {1}); decoding is greedy. */
export const INFERENCE_SEED = 1;

// Messages whose content the node's certified inputs fix: they may leave before they are in
// the log on disk (see #carryOut).
const DETERMINED_TYPES: ReadonlySet<string> = new Set(["StageOutput", "Checkpoint"]);

// Whether the only durable field a step changed is `committed` (from no value): the commit,
// whose reply need not wait for its record (see #carryOut). Unchanged fields keep their objects
// across a step; any other change is taken as one that must be on disk first.
function onlyCommitted(
  before: NodeState<DigestValue>,
  after: NodeState<DigestValue>,
): boolean {
  const was = durableOf(before);
  const now = durableOf(after);
  return was.committed === NO_VALUE && now.committed !== NO_VALUE &&
    (Object.keys(was) as (keyof typeof was)[]).every((field) =>
      field === "committed" || was[field] === now[field]
    );
}

/** Stages an instance started before their input was certified ({@linkcode Instance.speculation}). */
export interface SpeculationCounts {
  /** Started. */
  started: number;
  /** Asked for by the core with the same input: their outcome was used. */
  used: number;
  /** Asked for with another input: computed again from it. */
  wasted: number;
  /** Not run (the stage's cache had moved on when its turn came, or the inference ended). */
  skipped: number;
}

// The process's CPU time so far (user and system, every thread), in milliseconds; undefined
// where the runtime does not tell.
function cpuMs(): number | undefined {
  try {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  } catch {
    return undefined;
  }
}

// The most inferences a node runs at once and still starts stages before their input is
// certified. Measured on fixed-latency stages (50 blocks of 10 ms, one stage per member): with
// it at any count, 7 nodes with 8 inferences at once fell from 2.7 to 1.3 tokens per second,
// with view changes (a replica behind is never waited for, so its queue only grew, until a
// stage whose other replicas were behind too waited seconds for it); at 4, 7 and 10 nodes
// with 2 to 8 inferences at once stay at 0.92 to 0.98 of N / (R L T) (medians of 5), and 2 or 4
// at once gain up to 0.2 of it.
const SPECULATION_RUNNING_MAX = 4;

/** How long a node waits for a checkpoint's state before it asks another signer. */
const CHECKPOINT_ASK_MS = 1000;

/** An inference on this node. */
export class Instance {
  /** The request. */
  readonly request: InferenceRequest;
  /** The core's cluster constants and values. */
  readonly cluster: ClusterConfig<DigestValue>;
  /** This node's index in the core. */
  readonly self: number;
  /** The core's state of this node for the inference. */
  state: NodeState<DigestValue>;
  /** The token ids accepted, in order. */
  readonly tokenIds: number[] = [];
  /** Whether a commit was reported. */
  done = false;
  /**
   * Milliseconds from the step in which this node accepted the last token to its commit (its
   * reply made), for the commit's latency; `undefined` before, or where it committed without
   * the tokens.
   */
  commitMs: number | undefined;
  /**
   * This node's process CPU time (every thread, milliseconds) over {@linkcode commitMs}: on a
   * machine with fewer cores than busy processes, what bounds the commit from below.
   */
  commitCpuMs: number | undefined;
  /**
   * What this node's counters (`costs.ts`) took over {@linkcode commitMs}: its waits for the
   * disk and in the inference's queue (those that ended in it), and its time verifying, signing,
   * encoding and in steps; `undefined` where {@linkcode commitMs} is, or with no meter.
   */
  commitCosts: Costs | undefined;
  /**
   * Stages this node started before their input was certified: how many, how many the core
   * then asked for with the same input (their outcome was used), and how many it asked for
   * with another input (computed again).
   */
  readonly speculation: SpeculationCounts = { started: 0, used: 0, wasted: 0, skipped: 0 };
  #lastTokenAt: number | undefined;
  #lastTokenCpuMs: number | undefined;
  #lastTokenCosts: Costs | undefined;
  readonly #host: InstanceHost;
  readonly #runner: StageRunner;
  readonly #membership: Membership;
  readonly #faultsMax: number;
  readonly #received = new MessageLog<DigestValue>();
  readonly #signed = new Map<string, SignedMessage>();
  readonly #activations = new Map<DigestValue, Float32Tensor>();
  readonly #tokenByValue = new Map<DigestValue, number>();
  readonly #resolved = new Map<string, readonly DigestValue[]>();
  readonly #parkedCheckpoints = new Map<
    string,
    { message: CoordinationMessage; signed: SignedMessage }[]
  >();
  // When each parked checkpoint's state was last asked for, and of whom since the last round.
  readonly #requested = new Map<string, { at: number; asked: Set<NodeId> }>();
  readonly #parkedComputes = new Map<DigestValue, StepEffect<DigestValue>[]>();
  readonly #computing = new Set<string>();
  // Stages started before their input was certified, by `token/stage` (see #speculate).
  readonly #speculations = new Map<
    string,
    | {
      readonly input: DigestValue;
      readonly given: StageInput;
      readonly tokens: readonly number[];
      readonly outcome: Promise<StageOutcome>;
    }
    | undefined
  >();
  // The request's sampling rule and the prompt's token ids, read once.
  readonly #sampling: Sampling;
  readonly #promptIds: readonly number[];
  #queue: Promise<void> = Promise.resolve();
  // The last append to the log of signed messages (appends run one after another).
  #logTail: Promise<void> = Promise.resolve();

  /**
   * Creates the instance (nothing runs until `start` or `restart`).
   *
   * @param request The client's request.
   * @param cluster The cluster.
   * @param host The node.
   * @param runner The node's model.
   */
  constructor(
    request: InferenceRequest,
    cluster: InstanceCluster,
    host: InstanceHost,
    runner: StageRunner,
  ) {
    this.request = request;
    this.#host = host;
    this.#runner = runner;
    this.#membership = cluster.membership;
    this.#faultsMax = cluster.faultsMax;
    const first = promptValue(request.prompt);
    const constants: ClusterConstants = {
      nodeCount: cluster.membership.size,
      faultsMax: cluster.faultsMax,
      stageCount: runner.stageCount,
      tokenCount: request.tokenCount,
      checkpointIntervalTokens: cluster.checkpointIntervalTokens,
      replicaCount: cluster.replicaCount,
      seeds: [INFERENCE_SEED],
      viewMax: cluster.viewMax,
    };
    this.#sampling = samplingOfRequest(request.sampling);
    this.#promptIds = Array.from(request.prompt);
    this.cluster = clusterConfigWith<DigestValue>(constants, {
      firstInput: () => first,
      // The spec's Result(x), where this node knows it: the last token's value, once it accepted
      // every token (replicas certified it). A new view that pins a prepared value is checked
      // against it; where the node cannot tell, the pinned value is the result of the only seed
      // (§5.1, the core's seedAllowed).
      resultOf: (seed) => this.#knownResult(seed),
    });
    this.self = cluster.membership.nodeIds.indexOf(host.signer.nodeId) + 1;
    if (this.self < 1) throw new RangeError(`${host.signer.nodeId} is not a member`);
    this.state = initialNodeState(this.self, this.cluster);
    host.trace?.({
      kind: "instance",
      format: TRACE_FORMAT,
      node: host.signer.nodeId,
      index: this.self,
      members: cluster.membership.nodeIds,
      inference: request.inferenceId,
      constants,
      firstInput: first,
    });
  }

  // The spec's Result(seed) as far as this node knows it. Computation is deterministic, so a
  // result the node saw in any view is the result: the last token's value once it had every
  // token, or the value it voted for (it votes only for its own last token, and its vote is on
  // disk, so a restarted node still knows).
  #knownResult(seed: number): DigestValue | undefined {
    if (seed !== INFERENCE_SEED) return undefined;
    const { tokens, vote, prepared } = this.state;
    if (tokens.length === this.cluster.tokenCount) this.#resultSeen = tokens[tokens.length - 1];
    if (this.#resultSeen !== undefined) return this.#resultSeen;
    if (vote.value !== NO_VALUE) return vote.value;
    if (prepared.value !== NO_VALUE) return prepared.value;
    return undefined;
  }

  #resultSeen: DigestValue | undefined;

  /** The inference id. */
  get id(): number {
    return this.request.inferenceId;
  }

  /** The node ids in the core's order. */
  get nodeIds(): readonly NodeId[] {
    return this.#membership.nodeIds;
  }

  /**
   * Starts the inference on this node for the first time.
   *
   * @returns When the first step's effects are carried out.
   */
  start(): Promise<void> {
    return this.#enqueue(() => this.#step({ kind: "start" }));
  }

  /**
   * Resumes the inference after a restart, from what the node's disk holds.
   *
   * @param durable The durable fields.
   * @param signedByMe The messages the node signed before.
   * @param preparedCertificate The signed Prepares of its prepared certificate.
   * @returns When the restart step's effects are carried out.
   */
  restart(
    durable: DurableState<DigestValue>,
    signedByMe: readonly SpecMessage<DigestValue>[],
    preparedCertificate: readonly SignedMessage[],
  ): Promise<void> {
    return this.#enqueue(async () => {
      for (const message of signedByMe) {
        if (this.#received.add(message)) this.#indexOutput(message);
      }
      for (const signed of preparedCertificate) await this.#addSigned(signed);
      // The signed forms of its own votes and view changes are gone with the process; sign them
      // again (same content, fresh sequence) for the certificates and NewViews that carry them.
      this.state = { ...this.state, ...durable };
      for (const message of signedByMe) {
        if (!["Prepare", "Commit", "ViewChange"].includes(message.type)) continue;
        try {
          this.#signed.set(messageKey(message), await this.#host.sign(this.#wireOf(message)));
        } catch (error) {
          this.#host.log.warn("an own message could not be signed again", {
            inference: this.id,
            reason: (error as Error).message,
          });
        }
      }
      await this.#step({ kind: "restart", durable });
      // Committed before the crash, with no reply on disk (the node set `done` if there was
      // one): the commit is durable, so no step will commit again; a peer's reply is the way.
      if (!this.done && this.state.committed !== NO_VALUE && this.#pendingCommit === undefined) {
        this.#askForReply();
      }
    });
  }

  /**
   * A verified message of this inference from the network.
   *
   * @param message The message.
   * @param signed Its signed bytes.
   * @param peer Who sent it.
   * @returns When it is handled.
   */
  receive(message: CoordinationMessage, signed: SignedMessage, peer: string): Promise<void> {
    return this.#enqueue(() => this.#receive(message, signed, peer));
  }

  /**
   * The view-change timer of `view` fired.
   *
   * @param view The view.
   * @returns When handled.
   */
  timeout(view: number): Promise<void> {
    return this.#enqueue(async () => {
      await this.#step({ kind: "timeout", view });
      if (this.done) return;
      // The timer fired in a view that has not started yet (the view changes that start it are
      // still on their way, or were lost): ViewTimeout cannot move the node, and nothing else
      // would start the timer again. It runs again, so the node keeps resending, asking and
      // trying to move on.
      if (this.state.view === view && this.state.committed === NO_VALUE) {
        this.#host.startTimer(this.id, view, this.#paceMs());
      }
      // A view without progress may be one where messages were lost on links that stayed up (a
      // reconnect resends, a lost frame does not): this node sends what it signed again, and,
      // not committed, asks for a committed peer's reply, whose votes are a commit certificate
      // (the others may have committed and gone quiet; §8.2).
      for (const peer of this.nodeIds) {
        if (peer !== this.#host.signer.nodeId) void this.resendTo(peer);
      }
      if (this.state.committed === NO_VALUE) this.#askForReply();
    });
  }

  /**
   * The failure detector suspects a member, or heard from it again.
   *
   * @param peer The member.
   * @param suspected Suspected (`true`) or heard from (`false`).
   * @returns When handled.
   */
  detector(peer: NodeId, suspected: boolean): Promise<void> {
    const index = this.nodeIds.indexOf(peer) + 1;
    if (index < 1 || index === this.self) return Promise.resolve();
    return this.#enqueue(() =>
      this.#step(suspected ? { kind: "suspect", peer: index } : { kind: "heartbeat", peer: index })
    );
  }

  /**
   * Sends `peer` the messages this node signed for the inference (signed again, with a fresh
   * sequence) from its latest stable checkpoint on: what a peer that reconnects may have missed.
   *
   * @param peer The member.
   * @returns When queued.
   */
  resendTo(peer: NodeId): Promise<void> {
    return this.#enqueue(async () => {
      // From the latest stable checkpoint on: what it covers, a peer behind restores from the
      // checkpoint (its Checkpoint messages are resent) rather than from every stage output.
      const stable = this.state.stableCheckpoint;
      const own = this.#received.all().filter((message) =>
        message.from === this.self &&
        !(message.type === "StageOutput" && message.seed === stable.seed &&
          message.token <= stable.position) &&
        !(message.type === "Checkpoint" && message.position < stable.position)
      );
      for (const message of own) {
        try {
          await this.#host.sendTo(peer, this.#wireOf(message));
        } catch (error) {
          this.#host.log.debug("not resent", { inference: this.id, peer, reason: String(error) });
        }
      }
    });
  }

  /**
   * Resolves once the steps queued so far and the log appends they started are done (before
   * the node removes the inference's files).
   *
   * @returns When idle.
   */
  async idle(): Promise<void> {
    await this.#queue;
    await this.#logTail;
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    const meter = this.#host.meter;
    const queuedAt = meter === undefined ? 0 : performance.now();
    const run = this.#queue.then(() => {
      meter?.add(this.id, "queue", performance.now() - queuedAt);
      return work();
    });
    this.#queue = run.catch((error) => {
      this.#host.log.error("inference step failed", {
        inference: this.id,
        reason: (error as Error).stack ?? String(error),
      });
    });
    return run;
  }

  async #receive(message: CoordinationMessage, signed: SignedMessage, peer: string): Promise<void> {
    switch (message.type) {
      case "CheckpointRequest":
        return await this.#answerCheckpoint(message, peer);
      case "CheckpointResponse":
        return await this.#takeCheckpointState(message);
      case "StageOutput":
        if (message.activation !== undefined) this.#keepActivation(message);
        break;
      case "NewView": {
        const verified = await verifyNewView(message, {
          membership: this.#membership,
          faultsMax: this.#faultsMax,
          onlySeed: INFERENCE_SEED,
          resultOf: (seed) => {
            const known = this.#knownResult(seed);
            return known === undefined ? undefined : digestOf(known);
          },
        });
        if (!verified.ok) {
          this.#host.log.warn("NewView refused", {
            inference: this.id,
            peer,
            code: verified.error.code,
            reason: verified.error.message,
          });
          return;
        }
        for (const inner of message.viewChanges) await this.#addSigned(inner);
        break;
      }
      case "ViewChange":
        for (const prepare of message.prepared?.certificate ?? []) await this.#addSigned(prepare);
        break;
      case "ClientReply":
        return await this.#learnFromReply(message);
    }
    if (await this.#add(message, signed)) {
      if (message.type === "StageOutput") {
        this.#reportDisagreement(message.view, message.token, message.stage);
        this.#noteCertified(message.view, message.token, message.stage);
        this.#speculateFrom(message);
      }
      await this.#step({ kind: "messages" });
    }
    // An activation may be what a parked computation waits for.
    if (message.type === "StageOutput") this.#runParked(valueOf(message.value));
  }

  // The first output of a stage to arrive starts the next stage here, if this node computes it
  // (#speculate).
  #speculateFrom(message: MessageOf<"StageOutput">): void {
    const { token, stage } = message;
    if (message.view !== this.state.view || this.tokenIds.length < token - 1) return;
    const value = valueOf(message.value);
    const tokens = this.tokenIds.slice(0, token - 1);
    if (stage < this.cluster.stageCount) {
      this.#speculate(token, stage + 1, value, () => {
        const tensor = this.#activations.get(value);
        return tensor === undefined ? undefined : { input: { kind: "activation", tensor }, tokens };
      });
      return;
    }
    this.#speculate(token + 1, 1, value, () => {
      const vocab = this.#runner.pipeline.config.vocabSize;
      const chosen = this.#tokenByValue.get(value) ?? tokenOfValue(tokens, value, vocab);
      if (chosen === undefined) return undefined;
      // Found once: accepting the token needs it too (#learnTokens).
      this.#tokenByValue.set(value, chosen);
      return { input: { kind: "tokens", tokens: [chosen] }, tokens: [...tokens, chosen] };
    });
  }

  // Adds a verified wire message in the core's form; whether the received set changed.
  async #add(message: CoordinationMessage, signed: SignedMessage): Promise<boolean> {
    const form = fromWire(message, {
      indexOf: (id) => {
        const index = this.nodeIds.indexOf(id);
        return index < 0 ? undefined : index + 1;
      },
      checkpointTokens: (seed, position, digest) => this.#checkpointTokens(seed, position, digest),
    }, (inner) => {
      const decoded = decodeMessage(inner.body);
      if (!decoded.ok) return undefined;
      const innerForm = fromWire(decoded.value, {
        indexOf: (id) => {
          const index = this.nodeIds.indexOf(id);
          return index < 0 ? undefined : index + 1;
        },
        checkpointTokens: () => undefined,
      });
      return innerForm.kind === "message" ? innerForm.message : undefined;
    });
    if (form.kind === "unresolved-checkpoint") {
      await this.#parkCheckpoint(message, signed);
      return false;
    }
    if (form.kind === "none") return false;
    this.#signed.set(messageKey(form.message), signed);
    if (!this.#received.add(form.message)) return false;
    this.#indexOutput(form.message);
    return true;
  }

  // A signed message embedded in another (a certificate's Prepare, a NewView's ViewChange):
  // verified on its own, then added.
  async #addSigned(signed: SignedMessage): Promise<void> {
    const verified = await verifySignedMessage(signed, this.#membership);
    if (!verified.ok || verified.value.inferenceId !== this.id) return;
    if (verified.value.type === "ViewChange") {
      for (const prepare of verified.value.prepared?.certificate ?? []) {
        await this.#addSigned(prepare);
      }
    }
    await this.#add(verified.value, signed);
  }

  #checkpointTokens(
    _seed: number,
    position: number,
    digest: Uint8Array,
  ): readonly DigestValue[] | undefined {
    const key = valueOf(digest);
    const known = this.#resolved.get(key);
    if (known !== undefined) return known;
    if (this.state.tokens.length >= position) {
      const own = this.state.tokens.slice(0, position);
      if (valueOf(checkpointDigest(own)) === key) return own;
    }
    return undefined;
  }

  async #parkCheckpoint(message: CoordinationMessage, signed: SignedMessage): Promise<void> {
    if (message.type !== "Checkpoint") return;
    const key = valueOf(message.digest);
    const parked = this.#parkedCheckpoints.get(key);
    // Bounded: a checkpoint digest per member and position is all honest nodes make.
    if (parked === undefined && this.#parkedCheckpoints.size >= 4 * this.nodeIds.length) return;
    const list = parked ?? [];
    if (list.length < this.nodeIds.length) list.push({ message, signed });
    this.#parkedCheckpoints.set(key, list);
    await this.#askCheckpoint(key, Date.now());
  }

  // Asks a member for a parked checkpoint's state, at most once a CHECKPOINT_ASK_MS, one not
  // asked yet each time, and when every one was, from the start again. A signer asked between
  // its view change and its restore has not the tokens yet and answers nothing, and nothing
  // else would ask again once every signature has arrived.
  async #askCheckpoint(key: string, now: number): Promise<void> {
    const parked = this.#parkedCheckpoints.get(key);
    const first = parked?.[0]?.message;
    const previous = this.#requested.get(key);
    if (parked === undefined || first?.type !== "Checkpoint" || this.#resolved.has(key)) return;
    if (previous !== undefined && now - previous.at < CHECKPOINT_ASK_MS) return;
    // The parked signers first, newest first, then every other member: one whose signature
    // came before this node lost its tokens, or one that restored the checkpoint, has the state
    // too, and the digest checks whatever comes.
    const parkedSigners = parked.map((entry) => entry.message.from).reverse();
    const self = this.#host.signer.nodeId;
    const candidates = [
      ...new Set([...parkedSigners, ...this.nodeIds.filter((id) => id !== self)]),
    ];
    let asked = previous?.asked ?? new Set<NodeId>();
    if (candidates.every((candidate) => asked.has(candidate))) asked = new Set();
    const signer = candidates.find((candidate) => !asked.has(candidate))!;
    asked.add(signer);
    this.#requested.set(key, { at: now, asked });
    await this.#host.sendTo(signer, {
      type: "CheckpointRequest",
      inferenceId: this.id,
      from: this.#host.signer.nodeId,
      view: this.state.view,
      epoch: 0,
      sequence: 0,
      seed: first.seed,
      position: first.position,
    });
  }

  /**
   * Asks again for the state of checkpoints this node holds signatures of but cannot resolve
   * (the shell calls it on its heartbeat tick).
   *
   * @param now The time, in milliseconds since the epoch.
   * @returns When queued.
   */
  askParkedCheckpoints(now: number): Promise<void> {
    if (this.#parkedCheckpoints.size === 0) return Promise.resolve();
    return this.#enqueue(async () => {
      for (const key of [...this.#parkedCheckpoints.keys()]) await this.#askCheckpoint(key, now);
    });
  }

  async #answerCheckpoint(message: MessageOf<"CheckpointRequest">, peer: string): Promise<void> {
    // From the tokens it holds or, between a view change and its restore, its stable checkpoint.
    const { tokens: held, stableCheckpoint } = this.state;
    const source = held.length >= message.position ? held : stableCheckpoint.tokens;
    if (source.length < message.position || message.position < 1) return;
    const tokens = source.slice(0, message.position);
    await this.#host.sendTo(peer, {
      type: "CheckpointResponse",
      inferenceId: this.id,
      from: this.#host.signer.nodeId,
      view: this.state.view,
      epoch: 0,
      sequence: 0,
      seed: message.seed,
      position: message.position,
      digest: checkpointDigest(tokens),
      state: checkpointState(tokens),
    });
  }

  async #takeCheckpointState(message: MessageOf<"CheckpointResponse">): Promise<void> {
    // The wire checked that SHA-256(state) is the digest; the state must be the tokens' values.
    const tokens = checkpointTokens(message.state);
    if (tokens === undefined || tokens.length !== message.position) return;
    const key = valueOf(message.digest);
    // Only a state this node asked for is kept.
    if (!this.#requested.has(key) || this.#resolved.has(key)) return;
    this.#resolved.set(key, tokens);
    const parked = this.#parkedCheckpoints.get(key) ?? [];
    this.#parkedCheckpoints.delete(key);
    let changed = false;
    for (const { message: checkpoint, signed } of parked) {
      if (await this.#add(checkpoint, signed)) changed = true;
    }
    if (changed) await this.#step({ kind: "messages" });
  }

  // A stage's output certified in the node's view (the core's certifiedOutputs: an honest replica
  // computed it) is the inference moving on, wherever it is: the view-change timer starts again
  // (see #carryOut). A node that replicates none of the stages being computed would otherwise
  // time a busy inference out between its own tokens.
  #noteCertified(view: number, token: number, stage: number): void {
    if (view !== this.state.view || this.state.committed !== NO_VALUE || this.done) return;
    const slot = `${view}/${token}/${stage}`;
    if (this.#certifiedSlots.has(slot)) return;
    const [value] = certifiedOutputs(this.state, {
      cluster: this.cluster,
      received: this.#received,
      token,
      stage,
    });
    if (value === undefined) return;
    this.#certifiedSlots.add(slot);
    this.#host.startTimer(this.id, view, this.#paceMs());
  }

  readonly #certifiedSlots = new Set<string>();

  // The inference's pace: its slowest token so far (from the start for the first, and from
  // the token before in the same view for the others), which a view-change timer runs at least
  // twice: a node running many inferences at once takes seconds a token, and a view is stuck
  // only if it does not keep its own pace.
  #paceMs(): number {
    return 2 * this.#slowestTokenMs;
  }

  #slowestTokenMs = 0;
  #lastProgressAt: number | undefined = performance.now();

  // Says plainly when the replicas of a stage signed different outputs for one token (a
  // Byzantine replica, or hardware that does not compute bit for bit): stage, token, each digest
  // and who signed it. Once per (view, token, stage) and digest count; it decides nothing.
  #reportDisagreement(view: number, token: number, stage: number): void {
    const slot = `${view}/${token}/${stage}`;
    const signers = this.#outputsBySlot.get(slot);
    if (signers === undefined || signers.size < 2) return;
    const key = `${slot}/${signers.size}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    this.#host.log.warn("replicas of a stage disagree", {
      inference: this.id,
      view,
      token,
      stage,
      outputs: Object.fromEntries(signers),
    });
  }

  // The signers of each output of each (view, token, stage), kept as outputs are received or
  // signed, so a disagreement is seen without rescanning every stage output.
  #indexOutput(message: SpecMessage<DigestValue>): void {
    if (message.type !== "StageOutput") return;
    const slot = `${message.view}/${message.token}/${message.stage}`;
    const signers = this.#outputsBySlot.get(slot) ?? new Map<DigestValue, NodeId[]>();
    signers.set(message.value, [
      ...(signers.get(message.value) ?? []),
      this.nodeIds[message.from - 1]!,
    ]);
    this.#outputsBySlot.set(slot, signers);
  }

  readonly #outputsBySlot = new Map<string, Map<DigestValue, NodeId[]>>();
  readonly #reported = new Set<string>();

  // Keeps the activation a StageOutput carries, if it is one the next stage can take: from a
  // replica of its stage in its view (the core's Replicas), of a token and stage that exist,
  // shaped [1, positions, hidden] for the positions that token runs, and the first one with its
  // digest (the digest covers the bytes, not the shape, so a later copy may not replace it).
  #keepActivation(message: MessageOf<"StageOutput">): void {
    const activation = message.activation!;
    const value = valueOf(message.value);
    if (this.#activations.has(value)) return;
    const from = this.nodeIds.indexOf(message.from) + 1;
    const { tokenCount, stageCount } = this.cluster;
    if (
      from < 1 || !isReplica(from, message.view, message.stage, this.cluster) ||
      message.token > tokenCount || message.stage >= stageCount
    ) return;
    const positions = message.token === 1 ? this.request.prompt.length : 1;
    const hidden = this.#runner.pipeline.config.hiddenSize;
    if (activation.shape.join(",") !== `1,${positions},${hidden}`) {
      this.#host.log.warn("an activation of the wrong shape was dropped", {
        inference: this.id,
        peer: message.from,
        token: message.token,
        stage: message.stage,
        shape: [...activation.shape],
      });
      return;
    }
    const data = new Float32Array(activation.data.length / 4);
    new Uint8Array(data.buffer).set(activation.data);
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
      const view = new DataView(activation.data.buffer, activation.data.byteOffset);
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(4 * i, true);
    }
    this.#activations.set(value, { dtype: "float32", dims: [...activation.shape], data });
  }

  async #step(event: NodeEvent<DigestValue>): Promise<void> {
    const result = this.#host.trace === undefined ? undefined : this.#knownResult(INFERENCE_SEED);
    const meter = this.#host.meter;
    const started = meter === undefined ? 0 : performance.now();
    const ready = step(
      { cluster: this.cluster, state: this.state, received: this.#received },
      event,
    );
    meter?.step(this.id, performance.now() - started);
    if (this.#host.trace !== undefined) {
      // The trace's single point: what entered the received set since the last line, the
      // actions with their parameters, the state after them and what they signed.
      const all = this.#received.all();
      this.#host.trace({
        kind: "step",
        node: this.#host.signer.nodeId,
        inference: this.id,
        event,
        result: result ?? null,
        received: all.slice(this.#traced),
        actions: ready.taken,
        state: ready.state,
        sent: ready.effects.flatMap((effect) => effect.kind === "send" ? [effect.message] : []),
      });
      this.#traced = all.length;
    }
    await this.#carryOut(ready);
  }

  // Messages of the received set already in the trace.
  #traced = 0;

  async #carryOut(ready: Ready<DigestValue>): Promise<void> {
    const before = this.state;
    const sends: SpecMessage<DigestValue>[] = [];
    let persist = false;
    for (const effect of ready.effects) {
      if (effect.kind === "persist") persist = true;
      if (effect.kind === "send") sends.push(effect.message);
    }
    this.state = ready.state;
    if (
      ready.state.tokens.length === this.cluster.tokenCount &&
      before.tokens.length < this.cluster.tokenCount
    ) {
      this.#lastTokenAt = performance.now();
      this.#lastTokenCpuMs = cpuMs();
      this.#lastTokenCosts = this.#host.meter?.peek(this.id);
    }
    if (ready.actions.length > 0 && this.#host.log.enabled("debug")) {
      this.#host.log.debug("step", {
        inference: this.id,
        view: ready.state.view,
        action: ready.actions.join(","),
      });
    }
    // 1. and 2. The durable fields (with the Prepares that prove `prepared`) and the messages
    // signed, in one write to the node's log, in signing order. A step that changed a durable
    // field, or signed a vote, a view change or an assignment, sends nothing until that write
    // is on disk. A stage output or a checkpoint, whose content the certified inputs fix, leaves
    // while it is written: a node that crashes first computes the same output again and signs
    // the same message (the fsync stays off every stage hop's path). So does the client's reply
    // of a step whose only durable change is the commit: the reply's certificate, whose signers
    // each had their vote on disk before they sent it, is what makes the result final, not this
    // node's record of it; a node that crashes before the record is written restarts uncommitted
    // and learns the commit again from that certificate (LearnCommit).
    const meter = this.#host.meter;
    const diskAt = meter === undefined ? 0 : performance.now();
    if (persist || sends.length > 0) {
      const recorded = this.#host.record(this.id, {
        ...(persist
          ? { durable: durableOf(ready.state), preparedCertificate: this.#preparedSigned() }
          : {}),
        signed: sends,
      });
      const earlier = this.#logTail;
      this.#logTail = Promise.all([
        earlier,
        recorded.catch((error) => {
          this.#host.log.error("a step's record could not be written", {
            inference: this.id,
            reason: (error as Error).message,
          });
        }),
      ]).then(() => {});
      const mustWait = persist && !onlyCommitted(before, ready.state);
      if (mustWait || sends.some((message) => !DETERMINED_TYPES.has(message.type))) {
        await recorded;
        meter?.add(this.id, persist ? "persist" : "log", performance.now() - diskAt);
      }
    }
    for (const message of sends) if (this.#received.add(message)) this.#indexOutput(message);
    for (const message of sends) {
      let wire;
      try {
        wire = this.#wireOf(message);
      } catch (error) {
        // A message the node cannot put on the wire (a certificate it lacks) is logged; the
        // others still leave and the step's other effects are still carried out.
        this.#host.log.error("a signed message could not be sent", {
          inference: this.id,
          action: message.type,
          reason: (error as Error).message,
        });
        continue;
      }
      this.#signed.set(messageKey(message), await this.#host.broadcast(wire));
    }
    this.#learnTokens();
    this.#rememberOutput();
    this.#knownResult(INFERENCE_SEED);
    // The view-change timer measures a view that makes no progress, not a long inference: each
    // token accepted, and each stage output this node computed in the view, starts it again (a
    // shell's timer policy; the core decides what a timeout does). A token of a busy node's
    // inference can take longer than the timer (8 inferences at once of 50 blocks of 10 ms on
    // 4 nodes: about 3 s), while its stages go on; both kinds of progress need certified
    // inputs, so no single member can hold a view up with them.
    // The pace counts gaps between tokens of one view only: a gap across a view change is the
    // fault's time, not the inference's pace, and counting it would stretch the next views'
    // timers by as much (n = 4, one Byzantine member and a faulty network: 50 s in a view).
    if (ready.state.view !== before.view) this.#lastProgressAt = undefined;
    else if (ready.state.tokens.length > before.tokens.length) {
      const now = performance.now();
      if (this.#lastProgressAt !== undefined) {
        this.#slowestTokenMs = Math.max(this.#slowestTokenMs, now - this.#lastProgressAt);
      }
      this.#lastProgressAt = now;
    }
    const progressed = ready.state.tokens.length > before.tokens.length ||
      (ready.state.view === before.view &&
        ready.state.progress.some((done, k) => done > (before.progress[k] ?? 0)));
    if (
      progressed && ready.state.committed === NO_VALUE &&
      !ready.effects.some((effect) => effect.kind === "timer")
    ) {
      this.#host.startTimer(this.id, ready.state.view, this.#paceMs());
    }
    // A parked checkpoint whose tokens this node now has is no longer waiting for a response.
    for (const [key, parked] of this.#parkedCheckpoints) {
      const first = parked[0]?.message;
      if (first?.type !== "Checkpoint" || this.state.tokens.length < first.position) continue;
      if (this.#checkpointTokens(first.seed, first.position, first.digest) === undefined) continue;
      this.#parkedCheckpoints.delete(key);
      void this.#enqueue(async () => {
        let changed = false;
        for (const { message, signed } of parked) {
          if (await this.#add(message, signed)) changed = true;
        }
        if (changed) await this.#step({ kind: "messages" });
      });
    }
    for (const effect of ready.effects) {
      switch (effect.kind) {
        case "compute":
          this.#compute(effect);
          break;
        case "timer":
          this.#host.startTimer(this.id, effect.view, this.#paceMs());
          break;
        case "cancelTimer":
          this.#host.cancelTimer(this.id);
          break;
        case "commit":
          this.#pendingCommit = effect;
          break;
        default:
          break;
      }
    }
    // A node may commit before it has the tokens (it learned the commit from a certificate, or
    // a view change reset them): the reply waits until its tokens give the committed value.
    if (this.#pendingCommit !== undefined) await this.#commit(this.#pendingCommit);
    if (ready.actions.includes("RestoreCheckpoint")) {
      this.#host.log.info("caught up from a stable checkpoint", {
        inference: this.id,
        view: ready.state.view,
        action: "RestoreCheckpoint",
        position: ready.state.stableCheckpoint.position,
      });
    }
    if (ready.state.view !== before.view) {
      this.#host.log.info("view changed", {
        inference: this.id,
        view: ready.state.view,
        action: ready.actions.join(","),
      });
    }
  }

  #wireOf(message: SpecMessage<DigestValue>): CoordinationMessage {
    const wire = toWire(message, {
      nodeIds: this.nodeIds,
      inferenceId: this.id,
      currentView: this.state.view,
      signedOf: (key) => this.#signed.get(key),
      preparedCertificate: () => this.#preparedSigned(),
    });
    if (wire.type === "StageOutput" && message.type === "StageOutput") {
      const activation = this.#activations.get(message.value);
      if (activation !== undefined && message.stage < this.cluster.stageCount) {
        return {
          ...wire,
          activation: {
            shape: [...activation.dims],
            // A view: the frame encoder copies the bytes once.
            data: new Uint8Array(
              activation.data.buffer,
              activation.data.byteOffset,
              activation.data.byteLength,
            ),
          },
        };
      }
    }
    return wire;
  }

  // The signed Prepares of the node's prepared certificate: every one it holds for the prepared
  // view and value, one per signer (the core knew them to be a quorum when it prepared).
  #preparedSigned(): SignedMessage[] {
    const { prepared } = this.state;
    if (prepared.view < 0) return [];
    const out: SignedMessage[] = [];
    const signers = new Set<number>();
    for (const vote of this.#received.ofType("Prepare")) {
      if (vote.view !== prepared.view || vote.value !== prepared.value) continue;
      if (signers.has(vote.from)) continue;
      const signed = this.#signed.get(messageKey(vote));
      if (signed === undefined) continue;
      signers.add(vote.from);
      out.push(signed);
    }
    return out;
  }

  // Keeps `tokenIds` in step with the core's accepted tokens (appended, or restored from a
  // checkpoint).
  #learnTokens(): void {
    const values = this.state.tokens;
    let same = 0;
    while (
      same < this.tokenIds.length && same < values.length &&
      this.#tokenByValue.get(values[same]!) === this.tokenIds[same]
    ) same++;
    this.tokenIds.length = same;
    const vocab = this.#runner.pipeline.config.vocabSize;
    for (let index = same; index < values.length; index++) {
      const value = values[index]!;
      const token = this.#tokenByValue.get(value) ?? tokenOfValue(this.tokenIds, value, vocab);
      if (token === undefined) {
        this.#host.log.error("an accepted token has no id", {
          inference: this.id,
          token: index + 1,
        });
        return;
      }
      this.#tokenByValue.set(value, token);
      this.tokenIds.push(token);
      this.#host.accepted?.(this.id, index + 1, token);
    }
  }

  #compute(effect: StepEffect<DigestValue>): void {
    if (effect.kind !== "compute") return;
    const key = `${effect.token}/${effect.stage}/${effect.input}`;
    if (this.#computing.has(key)) return;
    const prompt = this.#promptIds;
    const tokens = this.tokenIds.slice(0, effect.token - 1);
    const speculated = this.#speculations.get(`${effect.token}/${effect.stage}`);
    this.#speculations.delete(`${effect.token}/${effect.stage}`);
    if (speculated !== undefined && speculated.input !== effect.input) {
      this.speculation.wasted++;
    }
    if (speculated?.input === effect.input) {
      this.speculation.used++;
      this.#runner.confirm(this.id, effect.token, effect.stage);
      this.#computing.add(key);
      // Not run (the stage's cache had moved on when its turn came): computed now.
      const outcome = speculated.outcome.catch(() =>
        this.#runner.compute(
          this.id,
          { prompt, tokens: speculated.tokens, sampling: this.#sampling },
          effect.token,
          effect.stage,
          speculated.given,
        )
      );
      this.#answer(effect, speculated.tokens, outcome, key);
      return;
    }
    let input;
    if (effect.stage === 1) {
      const previous = effect.token === 1 ? undefined : this.tokenIds[effect.token - 2];
      if (effect.token > 1 && previous === undefined) return;
      input = { kind: "tokens" as const, tokens: previous === undefined ? prompt : [previous] };
    } else {
      const tensor = this.#activations.get(effect.input);
      if (tensor === undefined) {
        // Wait for the previous stage's activation to arrive.
        const parked = this.#parkedComputes.get(effect.input) ?? [];
        if (
          !parked.some((p) =>
            p.kind === "compute" && p.token === effect.token && p.stage === effect.stage
          )
        ) {
          parked.push(effect);
        }
        this.#parkedComputes.set(effect.input, parked);
        return;
      }
      input = { kind: "activation" as const, tensor };
    }
    this.#computing.add(key);
    const outcome = this.#runner.compute(
      this.id,
      { prompt, tokens, sampling: this.#sampling },
      effect.token,
      effect.stage,
      input,
    );
    this.#answer(effect, tokens, outcome, key);
  }

  // Feeds the model's answer to a compute effect back to the core, and starts the stage this
  // node computes next from it (#speculate).
  #answer(
    effect: StepEffect<DigestValue> & { readonly kind: "compute" },
    tokens: readonly number[],
    outcome: Promise<StageOutcome>,
    key: string,
  ): void {
    void outcome
      .then((outcome) => {
        if (outcome.activation !== undefined) {
          this.#activations.set(outcome.value, outcome.activation);
        }
        if (outcome.token !== undefined) this.#tokenByValue.set(outcome.value, outcome.token);
        this.#speculateNext(effect.token, effect.stage, outcome, tokens);
        return this.#enqueue(() =>
          this.#step({
            kind: "computed",
            token: effect.token,
            stage: effect.stage,
            input: effect.input,
            output: outcome.value,
          })
        );
      })
      .catch((error) => {
        // Committed first: the runner dropped what the inference no longer needs.
        if (this.state.committed !== NO_VALUE || this.done) return;
        this.#host.log.error("stage computation failed", {
          inference: this.id,
          token: effect.token,
          stage: effect.stage,
          reason: String(error),
        });
      })
      .finally(() => this.#computing.delete(key));
  }

  // Starts stage `stage` of token `token` from `value` before the core asks for it: the value
  // came from this node's own computation of the stage before, or from the first replica's
  // output to arrive, and the core asks (a compute effect) only once F + 1 replicas signed it.
  // The outcome is kept until then and used only if the certified input is the same value; else
  // it is dropped, the runner puts the stage's cache back, and the stage is computed again from
  // the certified input. One try per token and stage, so a Byzantine replica's first output
  // costs at most one computation; and only a node with nothing else to do starts one.
  // This is the shell's scheduling, not a protocol decision: what is signed, and when, is the
  // core's.
  #speculate(
    token: number,
    stage: number,
    value: DigestValue,
    inputOf: () => { input: StageInput; tokens: readonly number[] } | undefined,
  ): void {
    const state = this.state;
    if (token > this.cluster.tokenCount || stage > this.cluster.stageCount) return;
    if (state.committed !== NO_VALUE || state.progress[stage - 1] !== token - 1) return;
    const at = `${token}/${stage}`;
    if (this.#speculations.has(at)) return;
    for (const key of this.#computing) if (key.startsWith(`${at}/`)) return;
    if (!isReplica(this.self, state.view, stage, this.cluster)) return;
    // Only on a node with nothing else to compute, running few inferences: with many, the
    // pipeline is full without it, and a replica that ran ahead would keep its peers' certified
    // work waiting (see SPECULATION_RUNNING_MAX).
    if (!this.#runner.idle || (this.#host.running?.() ?? 1) > SPECULATION_RUNNING_MAX) return;
    for (const [key] of this.#speculations) {
      const [speculatedToken, speculatedStage] = key.split("/").map(Number);
      if (speculatedStage === stage && speculatedToken! < token) this.#speculations.delete(key);
    }
    this.#speculations.set(at, undefined);
    const given = inputOf();
    // Only where the stage's cache is already at the token: never a speculative rebuild.
    if (given === undefined || !this.#runner.isAt(this.id, token, stage, this.#promptIds.length)) {
      return;
    }
    const outcome = this.#runner.compute(
      this.id,
      { prompt: this.#promptIds, tokens: given.tokens, sampling: this.#sampling },
      token,
      stage,
      given.input,
      { speculative: true },
    );
    this.speculation.started++;
    // Not run, or failed: the compute effect, if the core asks for it, computes it again.
    outcome.then(
      (outcome) => this.#speculateNext(token, stage, outcome, given.tokens),
      () => this.speculation.skipped++,
    );
    this.#speculations.set(at, { input: value, given: given.input, tokens: given.tokens, outcome });
  }

  // What this node's output of a stage (certified or not) lets it start next: the next stage,
  // or the next token's first stage.
  #speculateNext(
    token: number,
    stage: number,
    outcome: StageOutcome,
    tokens: readonly number[],
  ): void {
    const tensor = outcome.activation;
    if (tensor !== undefined) {
      this.#speculate(token, stage + 1, outcome.value, () => ({
        input: { kind: "activation", tensor },
        tokens,
      }));
    }
    const chosen = outcome.token;
    if (chosen !== undefined) {
      this.#speculate(token + 1, 1, outcome.value, () => ({
        input: { kind: "tokens", tokens: [chosen] },
        tokens: [...tokens, chosen],
      }));
    }
  }

  #runParked(value: DigestValue): void {
    const parked = this.#parkedComputes.get(value);
    if (parked === undefined || !this.#activations.has(value)) return;
    this.#parkedComputes.delete(value);
    for (const effect of parked) this.#compute(effect);
  }

  #pendingCommit: CommitEffect<DigestValue> | undefined;

  // A peer's committed reply, the answer to this node's ReplyRequest: a node that committed
  // without the tokens (it learned the commit from a certificate after a view change reset
  // them, and nobody computes any more) takes the output from it. The reply must verify as a
  // client's would (its commit certificate, its proof); its votes go into the received set, so
  // that the core learns the commit itself if it had not (`LearnCommit`), and the output is used
  // only if it gives the value the core committed.
  async #learnFromReply(reply: MessageOf<"ClientReply">): Promise<void> {
    if (this.done) return;
    const verified = await verifyClientReply(reply, {
      membership: this.#membership,
      faultsMax: this.#faultsMax,
      input: this.request.prompt,
    });
    if (!verified.ok) {
      this.#host.log.warn("a peer's reply refused", {
        inference: this.id,
        peer: reply.from,
        code: verified.error.code,
      });
      return;
    }
    const vocab = this.#runner.pipeline.config.vocabSize;
    const tokens = decodeTokens(reply.output, vocab);
    if (tokens.length !== this.cluster.tokenCount) return;
    this.#peerOutput = {
      value: tokensValue(tokens, vocab),
      tokens,
      proof: reply.proof,
      certificate: reply.certificate,
      view: reply.view,
    };
    let changed = false;
    for (const vote of reply.certificate) {
      const before = this.#received.all().length;
      await this.#addSigned(vote);
      if (this.#received.all().length > before) changed = true;
    }
    if (changed) await this.#step({ kind: "messages" });
    if (this.done) return;
    if (this.#pendingCommit !== undefined) await this.#commit(this.#pendingCommit);
    else if (this.state.committed === this.#peerOutput.value) {
      // Committed before a restart whose reply never reached the disk: the core has nothing
      // more to say (its commit is durable), and the peer's reply is the reply.
      this.#finishFromPeer(this.#peerOutput.view);
    }
  }

  #peerOutput:
    | {
      readonly value: DigestValue;
      readonly tokens: readonly number[];
      readonly proof: ProofData;
      readonly certificate: readonly SignedMessage[];
      readonly view: number;
    }
    | undefined;
  #asking = false;

  // Sends the peers a ReplyRequest, and again each second until the inference is done.
  #askForReply(): void {
    if (this.#asking || this.done) return;
    this.#asking = true;
    this.#host.log.debug("asking the peers for their reply", {
      inference: this.id,
      view: this.state.view,
    });
    void this.#host.broadcast({
      type: "ReplyRequest",
      inferenceId: this.id,
      from: this.#host.signer.nodeId,
      view: this.state.view,
      epoch: 0,
      sequence: 0,
    }).catch(() => {});
    this.#host.later(1000, () => {
      this.#asking = false;
      if (this.done) return;
      if (this.#pendingCommit !== undefined) {
        void this.#enqueue(() => this.#commit(this.#pendingCommit!));
      } else {
        this.#askForReply();
      }
    });
  }

  async #commit(commit: CommitEffect<DigestValue>): Promise<void> {
    const { value, view, certificate } = commit;
    if (this.done) return;
    const vocab = this.#runner.pipeline.config.vocabSize;
    // The output of the committed value: the tokens accepted now, or those this node had when
    // it last had every token of that value (a view change resets them, and a commit learned
    // in the next view still names the value).
    const own = this.tokenIds.length === this.cluster.tokenCount &&
        tokensValue(this.tokenIds, vocab) === value
      ? { tokens: [...this.tokenIds], stageValues: this.#lastStageValues() }
      : this.#completeOutputs.get(value);
    if (own === undefined) {
      // Committed without the output: a peer's verified reply gives it, with its proof and
      // certificate; until one comes, ask.
      if (this.#peerOutput?.value === value) return this.#finishFromPeer(view);
      this.#askForReply();
      return;
    }
    this.#pendingCommit = undefined;
    this.tokenIds.splice(0, this.tokenIds.length, ...own.tokens);
    const output = encodeTokens(own.tokens, vocab);
    const signedVotes: SignedMessage[] = [];
    for (const vote of certificate) {
      const signed = this.#signed.get(messageKey(vote));
      if (signed !== undefined) signedVotes.push(signed);
    }
    // The proof: this node's attestation of the chain of stage values it accepted for the last
    // token, then the output. The commit certificate is what a client trusts.
    let proof = Proof.start(this.id, this.request.prompt);
    for (const [k, stageValue] of own.stageValues.entries()) {
      proof = await proof.extend(digestOf(stageValue), this.#host.signer, { stage: k + 1 });
    }
    proof = await proof.extend(sha256(output), this.#host.signer);
    this.#reply(view, value, output, proof.toData(), signedVotes);
  }

  // The stage values this node accepted for the last token, in stage order (as far as it has
  // them certified).
  #lastStageValues(): DigestValue[] {
    // In the current view or, where a checkpoint that covers the last token restored it after a
    // view change (nothing was computed in this view), the latest earlier view in which every
    // stage's output was certified: computation is deterministic, so it is the same chain.
    let current: DigestValue[] = [];
    for (let view = this.state.view; view >= 0; view--) {
      const values = this.#stageValuesIn(view);
      if (view === this.state.view) current = values;
      if (values.length === this.cluster.stageCount) return values;
    }
    return current;
  }

  #stageValuesIn(view: number): DigestValue[] {
    const values: DigestValue[] = [];
    for (let stage = 1; stage <= this.cluster.stageCount; stage++) {
      const [accepted] = certifiedOutputs({ ...this.state, view }, {
        cluster: this.cluster,
        received: this.#received,
        token: this.cluster.tokenCount,
        stage,
      });
      if (accepted === undefined) break;
      values.push(accepted);
    }
    return values;
  }

  // Remembers the output of a value each time this node has every token of it, so that a
  // commit of that value learned after a view change reset the tokens can still be answered.
  #rememberOutput(): void {
    if (this.tokenIds.length !== this.cluster.tokenCount) return;
    const vocab = this.#runner.pipeline.config.vocabSize;
    const value = tokensValue(this.tokenIds, vocab);
    if (this.#completeOutputs.has(value)) return;
    // Bounded: honest computation gives one value per seed.
    if (this.#completeOutputs.size >= 4) return;
    this.#completeOutputs.set(value, {
      tokens: [...this.tokenIds],
      stageValues: this.#lastStageValues(),
    });
  }

  readonly #completeOutputs = new Map<
    DigestValue,
    { readonly tokens: readonly number[]; readonly stageValues: readonly DigestValue[] }
  >();

  // The reply made of a peer's verified reply for the committed value: its output, its proof
  // (signed by the peer) and its commit certificate.
  #finishFromPeer(view: number): void {
    const peer = this.#peerOutput!;
    this.#pendingCommit = undefined;
    this.tokenIds.splice(0, this.tokenIds.length, ...peer.tokens);
    this.#host.log.info("output taken from a peer's verified reply", { inference: this.id, view });
    const vocab = this.#runner.pipeline.config.vocabSize;
    this.#reply(
      view,
      peer.value,
      encodeTokens(peer.tokens, vocab),
      peer.proof,
      peer.certificate,
    );
  }

  #reply(
    view: number,
    value: DigestValue,
    output: Uint8Array,
    proof: ProofData,
    certificate: readonly SignedMessage[],
  ): void {
    this.done = true;
    if (this.#lastTokenAt !== undefined) this.commitMs = performance.now() - this.#lastTokenAt;
    const cpu = cpuMs();
    if (this.#lastTokenCpuMs !== undefined && cpu !== undefined) {
      this.commitCpuMs = cpu - this.#lastTokenCpuMs;
    }
    const costs = this.#host.meter?.peek(this.id);
    if (costs !== undefined && this.#lastTokenCosts !== undefined) {
      this.commitCosts = costsBetween(costs, this.#lastTokenCosts);
    }
    this.#host.committed(this.id, {
      type: "ClientReply",
      inferenceId: this.id,
      from: this.#host.signer.nodeId,
      view,
      epoch: 0,
      sequence: 0,
      value: digestOf(value),
      output,
      proof,
      certificate,
    }, view);
  }
}
