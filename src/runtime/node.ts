/**
 * A reference node: the transport, the failure detector and heartbeats, the view-change timers,
 * the data directory, the model, and one `Instance` per inference, each a shell around the core's
 * `step`. The node decides nothing the spec decides; it feeds events and carries out effects.
 *
 * @module
 */

import type { ButterflyConfig } from "../config/config.ts";
import { DEFAULT_CONFIG } from "../config/config.ts";
import type { NodeId } from "../core/types.ts";
import {
  type NodeHealth,
  PhiAccrualFailureDetector,
} from "../detector/phi_accrual_failure_detector.ts";
import type { ModelPipeline } from "../model/generate.ts";
import { decodeFrame, encodeFrame, type OpenedMessage } from "../wire/frame.ts";
import { Membership, type NodeSigner } from "../wire/identity.ts";
import {
  bytesEqual,
  type CoordinationMessage,
  decodeMessage,
  type MessageOf,
  type SamplingRequest,
  type SignedMessage,
} from "../wire/message.ts";
import { summarizeCertificate } from "./client.ts";
import { type InferenceRequest, Instance, type InstanceHost } from "./instance.ts";
import type { Logger } from "./log.ts";
import { NodeStore } from "./node_store.ts";
import { StageRunner } from "./stage_runner.ts";
import { CacheCheckpoints } from "./cache_checkpoints.ts";
import { CostMeter, type Costs } from "./costs.ts";
import { type TraceLine, TraceWriter } from "./trace.ts";
import { type PeerAddress, Sealer, Transport } from "./transport.ts";

/** The default bound on inferences a node runs at once. */
export const INSTANCES_MAX_DEFAULT = 16;

/** What a node needs of its cluster: a checked cluster file has it all. */
export interface NodeCluster {
  /** The members; each needs a host and port unless the node is given a `network`. */
  readonly nodes: readonly {
    readonly id: NodeId;
    readonly publicKey: Uint8Array;
    readonly host?: string;
    readonly port?: number;
  }[];
  /** `f`. */
  readonly faultsMax: number;
  /** Replicas per stage. */
  readonly replicaCount: number;
  /** Layer indices where a new stage starts (the model's split). */
  readonly boundaries: readonly number[];
  /** The known clients. */
  readonly clients: readonly { readonly id: string; readonly publicKey: Uint8Array }[];
}

/** How a node reaches its peers and clients: the TCP `Transport`, or the caller's own carrier. */
export interface NodeNetwork {
  /** The TCP port the node listens on (0 where it has none). */
  readonly port: number;
  /** Sends a frame to every member connected; returns those it went to. */
  broadcast(frame: Uint8Array): readonly string[];
  /** Sends a frame to one member or client; false where it has no way to it now. */
  send(peer: string, frame: Uint8Array): boolean;
  /** Stops carrying frames. */
  close(): Promise<void>;
}

/** What a network gives the node: verified, fresh messages (see `FrameGate`) and links up. */
export interface NetworkHandlers {
  /** A verified, fresh message from `peer` (a member or a client). */
  onMessage(opened: OpenedMessage, peer: string): Promise<void>;
  /** A member's link is up: the node resends what it may have missed. */
  onPeerUp(peer: NodeId): void;
}

/** Options of {@linkcode ButterflyNode.start}. */
export interface NodeOptions {
  /** The cluster (a checked cluster file, or what an in-process node is given). */
  readonly cluster: NodeCluster;
  /**
   * Creates the network, once the node can take messages (default: a TCP `Transport` on the
   * cluster's addresses).
   */
  readonly network?: (
    handlers: NetworkHandlers,
    membership: Membership,
    clients?: Membership,
  ) => NodeNetwork | Promise<NodeNetwork>;
  /** This node's signer (its id is a member's). */
  readonly signer: NodeSigner;
  /** The data directory. */
  readonly dataDir: string;
  /** The model, split as the cluster file says (the caller closes it). */
  readonly pipeline: ModelPipeline;
  /** Heartbeats, detector thresholds, checkpoint frequency (default: the seed's). */
  readonly config?: ButterflyConfig;
  /** The logger. */
  readonly log: Logger;
  /** Where to listen instead of the cluster file's address (tests). */
  readonly listen?: PeerAddress;
  /** Inferences run at once; a request beyond is refused (default 16). */
  readonly instancesMax?: number;
  /**
   * The view-change timeout of view 0, doubled per view up to four times it (default 20
   * heartbeats, at least 1 s). It restarts at each accepted token.
   */
  readonly viewTimeoutMs?: number;
  /** The last view an inference may reach (default 16). */
  readonly viewMax?: number;
  /** Committed inferences kept to answer late peers and clients (default 64). */
  readonly committedKept?: number;
  /** Where to write the node's runtime trace, `DIR/<node id>.ndjson` (default: none). */
  readonly traceDir?: string;
}

interface Pending {
  readonly message: CoordinationMessage;
  readonly signed: SignedMessage;
  readonly peer: string;
}

/** Committed inferences a node keeps (in memory and on disk) to answer late peers and clients. */
export const COMMITTED_KEPT = 64;

// Messages held for inferences whose request has not arrived: bounded, and dropped after
// PENDING_MS (the sender resends them when the request comes; a bogus id costs only this).
const PENDING_PER_INFERENCE_MAX = 1024;
const PENDING_INFERENCES_MAX = 16;
const PENDING_MS = 30_000;

/**
 * A running node.
 */
export class ButterflyNode {
  /** This node's id. */
  readonly id: NodeId;
  readonly #options: NodeOptions;
  readonly #config: ButterflyConfig;
  readonly #membership: Membership;
  readonly #store: NodeStore;
  readonly #runner: StageRunner;
  readonly #cacheCheckpoints: CacheCheckpoints;
  readonly #trace: TraceWriter | undefined;
  readonly #detector: PhiAccrualFailureDetector;
  readonly #instances = new Map<number, Instance>();
  readonly #pending = new Map<number, { since: number; held: Pending[] }>();
  // Inferences whose request is being written, before their instance exists.
  readonly #starting = new Set<number>();
  readonly #suspected = new Set<NodeId>();
  readonly #viewTimers = new Map<number, ReturnType<typeof setTimeout>>();
  readonly #replies = new Map<number, Uint8Array>();
  // Frames and bytes this node sent for each inference (its protocol traffic, not heartbeats).
  readonly #traffic = new Map<number, { frames: number; bytes: number }>();
  // Committed inferences, oldest first: beyond COMMITTED_KEPT the oldest is forgotten.
  readonly #committedOrder: number[] = [];
  readonly #log: Logger;
  #transport: NodeNetwork | undefined;
  readonly #sealer: Sealer;
  readonly #meter = new CostMeter();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  private constructor(
    options: NodeOptions,
    membership: Membership,
    store: NodeStore,
    trace: TraceWriter | undefined,
  ) {
    this.id = options.signer.nodeId;
    this.#trace = trace;
    this.#options = options;
    this.#config = options.config ?? DEFAULT_CONFIG;
    this.#membership = membership;
    this.#store = store;
    this.#cacheCheckpoints = new CacheCheckpoints({
      directoryOf: (id) => store.cachesDirectory(id),
      everyPasses: this.#config.checkpointFrequencyTokens,
      keep: this.#config.checkpointsMax,
      onProblem: (reason) => this.#log.warn("stage cache checkpoint problem", { reason }),
    });
    this.#runner = new StageRunner(options.pipeline, {
      checkpoints: this.#cacheCheckpoints,
      meter: this.#meter,
      onRebuild: (rebuild) =>
        this.#log.info("stage caches rebuilt", {
          inference: rebuild.inferenceId,
          token: rebuild.token,
          stages: rebuild.stage,
          restoredPasses: rebuild.restoredPasses,
          recomputedPasses: rebuild.recomputedPasses,
          ms: Math.round(rebuild.durationMs * 10) / 10,
        }),
    });
    this.#log = options.log;
    this.#sealer = new Sealer(options.signer, Date.now, this.#meter);
    this.#detector = new PhiAccrualFailureDetector(
      this.#config.heartbeatIntervalMs,
      this.#config.phiSuspect,
      this.#config.phiFailed,
    );
  }

  /**
   * Starts a node: opens its data directory, resumes the inferences on it, listens and dials.
   *
   * @param options The node.
   * @returns The running node.
   */
  static async start(options: NodeOptions): Promise<ButterflyNode> {
    const { cluster, signer } = options;
    const self = cluster.nodes.find((node) => node.id === signer.nodeId);
    if (self === undefined) throw new RangeError(`${signer.nodeId} is not in the cluster file`);
    if (options.pipeline.stages.length !== cluster.boundaries.length + 1) {
      throw new RangeError(
        `The model has ${options.pipeline.stages.length} stages; the cluster file's boundaries ` +
          `make ${cluster.boundaries.length + 1}`,
      );
    }
    const membership = await Membership.create(
      cluster.nodes.map((node) => ({ nodeId: node.id, publicKey: node.publicKey })),
    );
    const clients = cluster.clients.length === 0 ? undefined : await Membership.create(
      cluster.clients.map((client) => ({ nodeId: client.id, publicKey: client.publicKey })),
    );
    const store = await NodeStore.open(options.dataDir);
    const trace = options.traceDir === undefined
      ? undefined
      : await TraceWriter.open(options.traceDir, signer.nodeId);
    const node = new ButterflyNode(options, membership, store, trace);
    const stored = await store.load();
    // Every inference on disk resumes before the node listens: a message or a relayed request
    // for it then finds its instance, never a second one on the same files. What the restart
    // steps send is in the signed log, and peers get it again when they connect.
    for (const inference of stored) {
      const instance = node.#newInstance(inference.request);
      // A reply on disk: done, before the restart step (which would otherwise ask for one).
      if (inference.reply !== undefined) instance.done = true;
      if (inference.durable === undefined) {
        await instance.start();
      } else {
        node.#log.info("resuming inference from disk", {
          inference: inference.request.inferenceId,
          view: inference.durable.view,
          signed: inference.signed.length,
        });
        await instance.restart(inference.durable, inference.signed, inference.preparedCertificate);
      }
      if (inference.reply !== undefined) {
        node.#committedOrder.push(inference.request.inferenceId);
        node.#replies.set(
          inference.request.inferenceId,
          encodeFrame(inference.reply.body, inference.reply.signature),
        );
      }
    }
    const handlers: NetworkHandlers = {
      onMessage: (opened, peer) => node.#onMessage(opened, peer),
      onPeerUp: (peer) => node.#onPeerUp(peer),
    };
    node.#transport = options.network === undefined
      ? await Transport.start({
        signer,
        sealer: node.#sealer,
        membership,
        ...(clients === undefined ? {} : { clients }),
        addresses: addressesOf(cluster),
        ...(options.listen === undefined ? {} : { listen: options.listen }),
        log: options.log,
        meter: node.#meter,
        ...handlers,
      })
      : await options.network(handlers, membership, clients);
    await node.#forgetOldest();
    node.#heartbeat = setInterval(() => void node.#tick(), node.#config.heartbeatIntervalMs);
    node.#log.info("node started", {
      port: node.port,
      members: membership.size,
      stages: options.pipeline.stages.length,
      resumed: stored.length,
    });
    return node;
  }

  /** The port the node listens on (0 where its network is not TCP). */
  get port(): number {
    return this.#transport!.port;
  }

  /**
   * How this node's failure detector sees a member now.
   *
   * @param peer A member.
   * @returns Its health.
   */
  health(peer: NodeId): NodeHealth {
    return this.#detector.health(peer);
  }

  /**
   * The inference `id` on this node, if it has it.
   *
   * @param id The inference id.
   * @returns Its instance.
   */
  instance(id: number): Instance | undefined {
    return this.#instances.get(id);
  }

  /** Stops the node: timers, connections; what is on disk stays. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const timer of this.#viewTimers.values()) clearTimeout(timer);
    this.#viewTimers.clear();
    for (const timer of this.#later) clearTimeout(timer);
    this.#later.clear();
    await this.#transport?.close();
    await this.#cacheCheckpoints.close();
    await this.#store.close();
    this.#trace?.close();
    this.#log.info("node stopped");
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    const now = Date.now();
    // A tick this late means this process itself stalled (paused, swapped out): the silence it
    // sees is its own, and the heartbeats waiting in its sockets are not read yet. It raises no
    // suspicion until a few intervals after it runs again.
    const interval = this.#config.heartbeatIntervalMs;
    if (this.#lastTick !== undefined && now - this.#lastTick > 5 * interval) {
      this.#quietUntil = now + 3 * interval;
      this.#log.info("this node stalled; suspicions wait", { stalledMs: now - this.#lastTick });
    }
    this.#lastTick = now;
    for (const [id, pending] of this.#pending) {
      if (now - pending.since > PENDING_MS) this.#pending.delete(id);
    }
    const transport = this.#transport!;
    transport.broadcast(
      await this.#sealer.seal({
        type: "Heartbeat",
        inferenceId: 0,
        from: this.id,
        view: 0,
        epoch: 0,
        sequence: 0,
        sentAtMs: Date.now(),
      }),
    );
    for (const instance of this.#instances.values()) {
      if (!instance.done) void instance.askParkedCheckpoints(now);
    }
    if (now < this.#quietUntil) return;
    for (const peer of this.#membership.nodeIds) {
      if (peer === this.id) continue;
      const health = this.#detector.health(peer);
      const suspected = health === "suspected" || health === "failed";
      if (suspected === this.#suspected.has(peer)) continue;
      if (suspected) this.#suspected.add(peer);
      else this.#suspected.delete(peer);
      this.#log.info(suspected ? "peer suspected" : "peer trusted again", {
        peer,
        phi: this.#detector.phi(peer),
      });
      for (const instance of this.#instances.values()) {
        if (!instance.done) void instance.detector(peer, suspected);
      }
    }
  }

  #onPeerUp(peer: NodeId): void {
    const transport = this.#transport!;
    for (const instance of this.#instances.values()) {
      transport.send(
        peer,
        encodeFrame(instance.request.signed.body, instance.request.signed.signature),
      );
      void instance.resendTo(peer);
    }
  }

  async #onMessage(opened: OpenedMessage, peer: string): Promise<void> {
    const { message, signed } = opened;
    if (message.type === "Heartbeat" && message.inferenceId === 0) {
      this.#detector.recordHeartbeat(message.from);
      return;
    }
    if (message.type === "ClientRequest") return await this.#onRequest(message, signed, peer);
    if (message.type === "ReplyRequest") return await this.#onReplyRequest(message);
    const instance = this.#instances.get(message.inferenceId);
    if (instance !== undefined) {
      // A failure in this node's step is this node's to log, not a reason to drop the peer.
      return await instance.receive(message, signed, peer).catch(() => {});
    }
    // A message for an inference whose request has not arrived yet (peers relay it): keep a
    // bounded number.
    const pending = this.#pending.get(message.inferenceId);
    if (pending === undefined) {
      if (this.#pending.size >= PENDING_INFERENCES_MAX) return;
      this.#pending.set(message.inferenceId, {
        since: Date.now(),
        held: [{ message, signed, peer }],
      });
    } else if (pending.held.length < PENDING_PER_INFERENCE_MAX) {
      pending.held.push({ message, signed, peer });
    }
  }

  // A peer committed without the output: it gets our reply (at most twice a second each).
  async #onReplyRequest(message: MessageOf<"ReplyRequest">): Promise<void> {
    const frame = this.#replies.get(message.inferenceId);
    if (frame === undefined) return;
    const key = `${message.from}\u0000${message.inferenceId}`;
    const now = Date.now();
    if (now - (this.#repliedAt.get(key) ?? 0) < 500) return;
    this.#repliedAt.set(key, now);
    if (this.#repliedAt.size > 4096) this.#repliedAt.delete(this.#repliedAt.keys().next().value!);
    // Signed again, in this node's current view of the inference: the stored frame's sequence,
    // and its view (the commit's), are below what the peer has since seen from this node, so
    // the peer would drop it as replayed or stale (§3.2). The reply's certificate carries the
    // commit's view.
    const parts = decodeFrame(frame);
    if (!parts.ok) return;
    const decoded = decodeMessage(parts.value.body);
    if (!decoded.ok) return;
    const view = Math.max(
      decoded.value.view,
      this.#instances.get(message.inferenceId)?.state.view ?? 0,
    );
    const resealed = await this.#sealer.seal({ ...decoded.value, view });
    const sent = this.#transport?.send(message.from, resealed) ?? false;
    this.#log.debug("reply sent to a peer that asked", {
      inference: message.inferenceId,
      peer: message.from,
      sent,
    });
  }

  readonly #repliedAt = new Map<string, number>();
  #lastTick: number | undefined;
  #quietUntil = 0;
  readonly #later = new Set<ReturnType<typeof setTimeout>>();

  async #onRequest(
    message: MessageOf<"ClientRequest">,
    signed: SignedMessage,
    peer: string,
  ): Promise<void> {
    // A second copy of a request that is starting (the client's own and a relayed one can
    // arrive together, while the first is being written to disk) is the same request.
    if (this.#starting.has(message.inferenceId)) return;
    const existing = this.#instances.get(message.inferenceId);
    if (existing !== undefined) {
      const same = existing.request.client === message.from &&
        existing.request.tokenCount === message.tokenCount &&
        bytesEqual(existing.request.prompt, message.input) &&
        sameSampling(existing.request.sampling, message.sampling);
      if (!same) {
        return await this.#refuse(
          message,
          peer,
          `inference id ${message.inferenceId} is taken by another request`,
          "request refused: its inference id is taken",
        );
      }
      // The client asks again (it reconnected): the committed reply, if there is one.
      const reply = this.#replies.get(message.inferenceId);
      if (reply !== undefined && peer === message.from) this.#transport!.send(peer, reply);
      return;
    }
    const refusal = this.#refusal(message);
    if (refusal !== undefined) return await this.#refuse(message, peer, refusal);
    const request: InferenceRequest = {
      inferenceId: message.inferenceId,
      client: message.from,
      prompt: message.input,
      tokenCount: message.tokenCount,
      signed,
      ...(message.sampling === undefined ? {} : { sampling: message.sampling }),
    };
    this.#starting.add(request.inferenceId);
    let instance: Instance;
    try {
      await this.#store.writeRequest(request);
      instance = this.#newInstance(request);
    } finally {
      this.#starting.delete(request.inferenceId);
    }
    this.#log.info("inference started", {
      inference: request.inferenceId,
      peer: request.client,
      tokens: request.tokenCount,
      promptBytes: request.prompt.length,
    });
    // Peers that did not get the request from the client learn it from us.
    this.#transport!.broadcast(encodeFrame(signed.body, signed.signature));
    await instance.start();
    const pending = this.#pending.get(request.inferenceId)?.held ?? [];
    this.#pending.delete(request.inferenceId);
    for (const held of pending) {
      await instance.receive(held.message, held.signed, held.peer).catch(() => {});
    }
  }

  // The inferences running here (not yet committed).
  #running(): number {
    let count = 0;
    for (const instance of this.#instances.values()) if (!instance.done) count++;
    return count;
  }

  #refusal(message: MessageOf<"ClientRequest">): string | undefined {
    const config = this.#options.pipeline.config;
    const active = this.#running();
    const max = this.#options.instancesMax ?? INSTANCES_MAX_DEFAULT;
    if (active >= max) return `${active} inferences are running, the most this node runs`;
    if (message.input.length < 1) return "the prompt is empty";
    if (message.input.length + message.tokenCount - 1 > config.sequenceLengthMax) {
      return `${message.input.length} prompt bytes and ${message.tokenCount} tokens exceed the ` +
        `model's ${config.sequenceLengthMax} positions`;
    }
    if (message.inferenceId === 0) return "inference id 0 is the nodes' own";
    return undefined;
  }

  #newInstance(request: InferenceRequest): Instance {
    const instance = new Instance(
      request,
      {
        membership: this.#membership,
        faultsMax: this.#options.cluster.faultsMax,
        replicaCount: this.#options.cluster.replicaCount,
        checkpointIntervalTokens: this.#config.checkpointFrequencyTokens,
        viewMax: this.#options.viewMax ?? 16,
      },
      this.#host(),
      this.#runner,
    );
    this.#instances.set(request.inferenceId, instance);
    return instance;
  }

  #host(): InstanceHost {
    const transport = () => this.#transport;
    const signedOf = (frame: Uint8Array): SignedMessage => {
      const parts = decodeFrame(frame);
      if (!parts.ok) throw new Error(parts.error.message);
      return { body: parts.value.body.slice(), signature: parts.value.signature.slice() };
    };
    const trace = this.#trace;
    return {
      signer: this.#options.signer,
      log: this.#log,
      meter: this.#meter,
      ...(trace === undefined ? {} : { trace: (line: TraceLine) => trace.write(line) }),
      later: (ms, run) => {
        if (this.#closed) return;
        const timer = setTimeout(() => {
          this.#later.delete(timer);
          if (!this.#closed) run();
        }, ms);
        this.#later.add(timer);
      },
      record: (id, step) => this.#store.record(id, step),
      running: () => this.#running(),
      sign: (message) => this.#sealer.sign(message),
      broadcast: async (message) => {
        const frame = await this.#sealer.seal(message);
        const sent = transport()?.broadcast(frame) ?? [];
        this.#count(message.inferenceId, sent.length, frame.length);
        return signedOf(frame);
      },
      sendTo: async (peer, message) => {
        const frame = await this.#sealer.seal(message);
        if (transport()?.send(peer, frame)) this.#count(message.inferenceId, 1, frame.length);
      },
      startTimer: (id, view, atLeastMs = 0) => {
        clearTimeout(this.#viewTimers.get(id));
        if (this.#closed) return;
        const base = Math.max(
          atLeastMs,
          this.#options.viewTimeoutMs ?? Math.max(1000, 20 * this.#config.heartbeatIntervalMs),
        );
        // Doubling gives a slow view more time; capped, so a run of false suspicions on a loaded
        // machine costs seconds, not minutes.
        this.#viewTimers.set(
          id,
          setTimeout(() => {
            this.#viewTimers.delete(id);
            this.#log.info("view timer fired", { inference: id, view });
            void this.#instances.get(id)?.timeout(view);
          }, base * 2 ** Math.min(view, 2)),
        );
      },
      cancelTimer: (id) => {
        clearTimeout(this.#viewTimers.get(id));
        this.#viewTimers.delete(id);
      },
      committed: (id, reply, view) =>
        void this.#committed(id, reply, view).catch((error) => {
          this.#log.error("the committed reply could not be kept or sent", {
            inference: id,
            reason: (error as Error).message,
          });
        }),
      accepted: (id, token, tokenId) => {
        this.#log.info("token accepted", { inference: id, token, tokenId });
        const client = this.#instances.get(id)?.request.client;
        if (client !== undefined) {
          void this.#tellClient(client, id, { type: "ClientProgress", token, tokenId });
        }
      },
    };
  }

  // Logs a refused request and tells its client why. The client hears it from each node it
  // asked; a relayed copy's refusal is this node's alone, so it goes to nobody.
  async #refuse(
    message: MessageOf<"ClientRequest">,
    peer: string,
    reason: string,
    logMessage = "request refused",
  ): Promise<void> {
    this.#log.warn(logMessage, { inference: message.inferenceId, peer, reason });
    if (peer !== message.from) return;
    await this.#tellClient(peer, message.inferenceId, { type: "ClientRefusal", reason });
  }

  // Signs and sends a progress report or a refusal to a client, if it is connected.
  async #tellClient(
    client: string,
    inferenceId: number,
    body:
      | Pick<MessageOf<"ClientProgress">, "type" | "token" | "tokenId">
      | Pick<MessageOf<"ClientRefusal">, "type" | "reason">,
  ): Promise<void> {
    if (this.#closed) return;
    const frame = await this.#sealer.seal({
      ...body,
      inferenceId,
      from: this.id,
      view: 0,
      epoch: 0,
      sequence: 0,
    } as CoordinationMessage);
    this.#transport?.send(client, frame);
  }

  #count(inferenceId: number, frames: number, frameBytes: number): void {
    const traffic = this.#traffic.get(inferenceId) ?? { frames: 0, bytes: 0 };
    traffic.frames += frames;
    traffic.bytes += frames * frameBytes;
    this.#traffic.set(inferenceId, traffic);
  }

  async #committed(id: number, reply: MessageOf<"ClientReply">, view: number): Promise<void> {
    const instance = this.#instances.get(id);
    const commitMs = instance?.commitMs;
    const frame = await this.#sealer.seal(reply);
    const parts = decodeFrame(frame);
    this.#replies.set(id, frame);
    // The reply leaves before it is on disk, and may leave before the commit's record is (see
    // Instance's carrying out of a step): its certificate makes it final, and a node that
    // crashes before either is written learns the commit, and asks its peers for their reply,
    // when it restarts.
    const sent = instance !== undefined && this.#transport?.send(instance.request.client, frame);
    if (parts.ok) {
      await this.#store.writeReply(id, {
        body: parts.value.body.slice(),
        signature: parts.value.signature.slice(),
      });
    }
    // The line says the commit is on disk: its record may still be being written.
    await instance?.idle();
    this.#runner.release(id);
    const { path, signers } = summarizeCertificate(reply.certificate);
    this.#log.info("inference committed", {
      inference: id,
      view,
      path,
      tokens: instance?.tokenIds.length,
      certificate: reply.certificate.length,
      signers,
      framesSent: this.#traffic.get(id)?.frames ?? 0,
      bytesSent: this.#traffic.get(id)?.bytes ?? 0,
      costs: roundedCosts(this.#meter.take(id)),
      ...(instance === undefined ? {} : { speculation: { ...instance.speculation } }),
      ...(commitMs === undefined ? {} : { commitMs: Math.round(commitMs * 1000) / 1000 }),
      ...(instance?.commitCpuMs === undefined
        ? {}
        : { commitCpuMs: Math.round(instance.commitCpuMs * 1000) / 1000 }),
      ...(instance?.commitCosts === undefined
        ? {}
        : { commitCosts: roundedCosts(instance.commitCosts) }),
    });
    if (instance !== undefined && !sent) {
      this.#log.info("client not connected; the reply waits on disk", {
        inference: id,
        peer: instance.request.client,
      });
    }
    this.#committedOrder.push(id);
    await this.#forgetOldest();
  }

  // Forgets committed inferences beyond the newest COMMITTED_KEPT: memory, timers and files.
  async #forgetOldest(): Promise<void> {
    while (this.#committedOrder.length > (this.#options.committedKept ?? COMMITTED_KEPT)) {
      const id = this.#committedOrder.shift()!;
      const instance = this.#instances.get(id);
      this.#instances.delete(id);
      this.#replies.delete(id);
      this.#traffic.delete(id);
      this.#meter.forget(id);
      clearTimeout(this.#viewTimers.get(id));
      this.#viewTimers.delete(id);
      this.#runner.release(id);
      try {
        // A step or a log append still under way would write into the directory.
        await instance?.idle();
        // A checkpoint still being written would put the directory back.
        await this.#cacheCheckpoints.flush(id);
        await this.#store.remove(id);
      } catch (error) {
        this.#log.warn("could not remove a committed inference's files", {
          inference: id,
          reason: (error as Error).message,
        });
      }
    }
  }
}

// Every member's address, for the TCP transport.
function addressesOf(cluster: NodeCluster): Map<NodeId, PeerAddress> {
  return new Map(cluster.nodes.map((node) => {
    if (node.host === undefined || node.port === undefined) {
      throw new RangeError(`${node.id} has no address, and the node was given no network`);
    }
    return [node.id, { host: node.host, port: node.port }];
  }));
}

// Whether two requests ask for the same sampling (absent: greedy).
function sameSampling(a: SamplingRequest | undefined, b: SamplingRequest | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.temperatureMilli === b.temperatureMilli && a.topK === b.topK && a.seed === b.seed;
}

// An inference's costs as its commit line logs them: milliseconds to the microsecond.
function roundedCosts(costs: Costs): Record<string, number> {
  return Object.fromEntries(
    Object.entries(costs).map(([kind, value]) => [kind, Math.round(value * 1000) / 1000]),
  );
}
