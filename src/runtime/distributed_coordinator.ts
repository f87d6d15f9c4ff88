/**
 * The seed's `DistributedCoordinator`: one reference node in the caller's process, for callers
 * that carry frames themselves (their own sockets, a message bus, or a test wiring nodes
 * together in memory). It is a `ButterflyNode` whose network is the caller: frames come in
 * through {@linkcode DistributedCoordinator.handleMessage}, which checks them exactly as the TCP
 * transport does (`FrameGate`), and go out through the `send` callback. Everything else, the
 * failure detector and heartbeats, the view timers, the data directory, the model and the
 * core's `step`, is the node's.
 *
 * @module
 */

import { requireKind } from "../core/_arguments.ts";
import { minimumReplicaCount, validateClusterSize } from "../core/quorum.ts";
import type { ClusterSize } from "../core/quorum.ts";
import type { NodeId } from "../core/types.ts";
import type { ButterflyConfig } from "../config/config.ts";
import type { NodeHealth } from "../detector/phi_accrual_failure_detector.ts";
import type { ModelPipeline } from "../model/generate.ts";
import type { MemberKey, NodeSigner } from "../wire/identity.ts";
import type { CoordinationMessage } from "../wire/message.ts";
import { WireError, type WireResult } from "../wire/wire_error.ts";
import { FrameGate, type Refusal } from "./frame_gate.ts";
import type { Instance } from "./instance.ts";
import { Logger } from "./log.ts";
import { ButterflyNode, type NetworkHandlers } from "./node.ts";

/** Options of {@linkcode DistributedCoordinator}. */
export interface DistributedCoordinatorOptions {
  /** This node's signer; its id is the coordinator's `nodeId`. */
  readonly signer: NodeSigner;
  /** Every member's id and public key, this node's included: `clusterSize` of them. */
  readonly members: readonly MemberKey[];
  /** The clients whose requests the node accepts (default: none). */
  readonly clients?: readonly MemberKey[];
  /** The model, split into the cluster's stages (the caller closes it). */
  readonly pipeline: ModelPipeline;
  /** The data directory (the node's durable state lives there). */
  readonly dataDir: string;
  /**
   * Carries a frame to a member or a client. Return false where there is no way to it now (the
   * node resends what matters when `peerConnected` says the link is back).
   */
  readonly send: (peer: string, frame: Uint8Array) => boolean | void;
  /** Replicas per stage (default 2f + 1). */
  readonly replicasPerStage?: number;
  /** Heartbeats, detector thresholds, checkpoint frequency (default: the seed's). */
  readonly config?: ButterflyConfig;
  /** The logger (default: warnings and errors on stderr). */
  readonly log?: Logger;
  /** The view-change timeout of view 0 (see `NodeOptions.viewTimeoutMs`). */
  readonly viewTimeoutMs?: number;
  /** Inferences run at once (default 16). */
  readonly instancesMax?: number;
  /** Where to write the node's runtime trace (see `NodeOptions.traceDir`). */
  readonly traceDir?: string;
}

/**
 * One node of a BCP cluster, driven by the caller's frames.
 *
 * @example A node takes a member's heartbeat, once
 * ```ts
 * import { DistributedCoordinator } from "@butterfly/bcp/runtime";
 * import { closePipeline, createPipeline, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * import { createNodeSigner, sealMessage } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 *
 * const [self, peer, ...rest] = await Promise.all(
 *   ["node-0", "node-1", "node-2", "node-3"].map((id, k) =>
 *     createNodeSigner(id, new Uint8Array(32).fill(k + 1))
 *   ),
 * );
 * const pipeline = await createPipeline(TINY_MODEL_CONFIG);
 * const dataDir = await Deno.makeTempDir();
 * const coordinator = new DistributedCoordinator("node-0", 4, 1, {
 *   signer: self!,
 *   members: [self!, peer!, ...rest].map(({ nodeId, publicKey }) => ({ nodeId, publicKey })),
 *   pipeline,
 *   dataDir,
 *   send: () => true,
 * });
 * const heartbeat = await sealMessage({
 *   type: "Heartbeat", inferenceId: 0, from: "node-1", view: 0, epoch: 0, sequence: 1,
 *   sentAtMs: Date.now(),
 * }, peer!);
 * assert.equal((await coordinator.handleMessage(heartbeat)).ok, true);
 * assert.equal(await coordinator.health("node-1"), "alive");
 * const again = await coordinator.handleMessage(heartbeat);
 * assert.equal(again.ok ? "accepted" : again.error.code, "replayed");
 * await coordinator.close();
 * await closePipeline(pipeline);
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 */
export class DistributedCoordinator {
  /** This node's id. */
  readonly nodeId: NodeId;
  /** n and f, checked (n >= 3f + 1). */
  readonly clusterSize: ClusterSize;
  readonly #options: DistributedCoordinatorOptions;
  readonly #replicaCount: number;
  readonly #log: Logger;
  #started:
    | Promise<{ node: ButterflyNode; handlers: NetworkHandlers; gate: FrameGate }>
    | undefined;
  #closed = false;

  /**
   * Creates the coordinator of one node (it starts on the first `start` or `handleMessage`).
   *
   * @param nodeId This node's id.
   * @param clusterSize The members, n.
   * @param f The Byzantine members tolerated.
   * @param options Keys, model, data directory and the outgoing carrier.
   * @throws {ClusterSizeError} If n < 3f + 1 (the seed's 5 nodes with f = 2 among them).
   * @throws {RangeError} If the members are not `clusterSize` distinct ids including `nodeId`,
   *   or the signer is another node's.
   */
  constructor(
    nodeId: NodeId,
    clusterSize: number,
    f: number,
    options: DistributedCoordinatorOptions,
  ) {
    requireKind("nodeId", nodeId, "string");
    this.clusterSize = validateClusterSize(clusterSize, f);
    requireKind("options", options, "object");
    requireKind("options.members", options.members, "array");
    requireKind("options.send", options.send, "function");
    const ids = new Set(options.members.map((member) => member.nodeId));
    if (options.members.length !== clusterSize || ids.size !== clusterSize) {
      throw new RangeError(
        `DistributedCoordinator needs ${clusterSize} distinct members, got ` +
          `${options.members.length} (${ids.size} distinct)`,
      );
    }
    if (!ids.has(nodeId)) throw new RangeError(`${nodeId} is not among the members`);
    if (options.signer.nodeId !== nodeId) {
      throw new RangeError(`The signer is ${options.signer.nodeId}'s, not ${nodeId}'s`);
    }
    const replicasMin = minimumReplicaCount(f);
    const replicas = options.replicasPerStage ?? replicasMin;
    if (!Number.isSafeInteger(replicas) || replicas < replicasMin || replicas > clusterSize) {
      throw new RangeError(
        `replicasPerStage must be an integer from 2f + 1 = ${replicasMin} to ` +
          `${clusterSize}, got ${replicas}`,
      );
    }
    this.#replicaCount = replicas;
    this.nodeId = nodeId;
    this.#options = options;
    this.#log = options.log ?? new Logger(nodeId, "warn");
  }

  /**
   * Starts the node: opens its data directory and resumes the inferences on it. Idempotent.
   *
   * @returns When the node takes messages.
   */
  async start(): Promise<void> {
    await this.#node();
  }

  /**
   * Handles one frame from the network: checks it as `spec/PROTOCOL.md` §3.1 says (size,
   * version, canonical body, schema, a known sender allowed to send it, signature, freshness),
   * then hands it to the node. A refused frame changes nothing.
   *
   * @param frame The frame's bytes, length prefix included.
   * @returns The message, or the `WireError` that refused it (its code is §3.2's).
   */
  async handleMessage(frame: Uint8Array): Promise<WireResult<CoordinationMessage>> {
    requireKind("frame", frame, "bytes");
    if (this.#closed) throw new Error(`The coordinator of ${this.nodeId} is closed`);
    const { handlers, gate } = await this.#node();
    const opened = await gate.open(frame);
    if (!opened.ok) return this.#refused(opened.refusal);
    const fresh = gate.admit(opened.value.message);
    if (!fresh.ok) return this.#refused(fresh.refusal);
    await handlers.onMessage(opened.value, opened.value.message.from);
    return { ok: true, value: opened.value.message };
  }

  #refused({ code, message }: Refusal): WireResult<never> {
    // Duplicates and reordering are the network's doing (§3.2): not worth a warning.
    if (code === "replayed" || code === "stale") {
      this.#log.debug("frame dropped", { code, reason: message });
    } else this.#log.warn("frame refused", { code, reason: message });
    return { ok: false, error: new WireError(code, message) };
  }

  /**
   * Tells the node that its link to a member is up again: it resends what the member may have
   * missed (the requests it runs, its own votes).
   *
   * @param peer A member.
   */
  async peerConnected(peer: NodeId): Promise<void> {
    const { handlers } = await this.#node();
    handlers.onPeerUp(peer);
  }

  /**
   * How this node's failure detector sees a member now.
   *
   * @param peer A member.
   * @returns Its health.
   */
  async health(peer: NodeId): Promise<NodeHealth> {
    return (await this.#node()).node.health(peer);
  }

  /**
   * An inference on this node.
   *
   * @param inferenceId The inference id.
   * @returns Its instance, if the node has it.
   */
  async instance(inferenceId: number): Promise<Instance | undefined> {
    return (await this.#node()).node.instance(inferenceId);
  }

  /** Stops the node: timers and the outgoing carrier; what is on disk stays. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#started === undefined) return;
    const { node } = await this.#started;
    await node.close();
  }

  #node(): Promise<{ node: ButterflyNode; handlers: NetworkHandlers; gate: FrameGate }> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<{ node: ButterflyNode; handlers: NetworkHandlers; gate: FrameGate }> {
    const options = this.#options;
    const { members, clients = [] } = options;
    let wired: { handlers: NetworkHandlers; gate: FrameGate } | undefined;
    const node = await ButterflyNode.start({
      cluster: {
        nodes: members.map((member) => ({ id: member.nodeId, publicKey: member.publicKey })),
        faultsMax: this.clusterSize.faultsMax,
        replicaCount: this.#replicaCount,
        boundaries: options.pipeline.stages.slice(1).map((stage) => stage.range.layerStart),
        clients: clients.map((client) => ({ id: client.nodeId, publicKey: client.publicKey })),
      },
      signer: options.signer,
      dataDir: options.dataDir,
      pipeline: options.pipeline,
      log: this.#log,
      ...(options.config === undefined ? {} : { config: options.config }),
      ...(options.viewTimeoutMs === undefined ? {} : { viewTimeoutMs: options.viewTimeoutMs }),
      ...(options.instancesMax === undefined ? {} : { instancesMax: options.instancesMax }),
      ...(options.traceDir === undefined ? {} : { traceDir: options.traceDir }),
      network: async (handlers, membership, clientMembership) => {
        wired = {
          handlers,
          gate: await FrameGate.create({
            self: this.nodeId,
            membership,
            ...(clientMembership === undefined ? {} : { clients: clientMembership }),
          }),
        };
        const others = membership.nodeIds.filter((id) => id !== this.nodeId);
        let open = true;
        const send = (peer: string, frame: Uint8Array): boolean =>
          open && options.send(peer, frame) !== false;
        return {
          port: 0,
          broadcast: (frame) => others.filter((peer) => send(peer, frame)),
          send,
          close: () => {
            open = false;
            return Promise.resolve();
          },
        };
      },
    });
    return { node, ...wired! };
  }
}
