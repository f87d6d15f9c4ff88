/**
 * What every frame passes before a node acts on it, whatever carried it (the TCP transport, or
 * the caller of `DistributedCoordinator.handleMessage`): the frame is decoded and its signature
 * verified against the members and the known clients (§3), its sender may send its type (a
 * client only `ClientRequest`; nobody this node's own frames), and it is fresh (§3.2, one replay
 * mark per sender and inference).
 *
 * @module
 */

import type { NodeId } from "../core/types.ts";
import { type OpenedMessage, openFrame } from "../wire/frame.ts";
import { Membership } from "../wire/identity.ts";
import type { CoordinationMessage } from "../wire/message.ts";
import { checkReplay, type ReplayMark } from "../wire/replay.ts";
import type { WireErrorCode } from "../wire/wire_error.ts";

/** A frame the gate refused: the documented code (§3.2) and a one-line reason. */
export interface Refusal {
  /** The code. */
  readonly code: WireErrorCode;
  /** Why, in one line. */
  readonly message: string;
}

/** What the gate says about a frame or a message. */
export type GateResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly refusal: Refusal };

/** Options of {@linkcode FrameGate.create}. */
export interface FrameGateOptions {
  /** This node. */
  readonly self: NodeId;
  /** The members, this node included. */
  readonly membership: Membership;
  /** The known clients, whose `ClientRequest`s are accepted. */
  readonly clients?: Membership;
  /** Replay marks kept, one per (sender, inference); the oldest go first (default 65,536). */
  readonly replayMarksMax?: number;
}

/**
 * Verifies frames and keeps the replay marks of one node.
 *
 * @example A frame signed by a stranger is refused
 * ```ts
 * import { FrameGate } from "./frame_gate.ts";
 * import { createNodeSigner, Membership } from "../wire/identity.ts";
 * import { sealMessage } from "../wire/frame.ts";
 * import assert from "node:assert/strict";
 * const a = await createNodeSigner("a", new Uint8Array(32).fill(1));
 * const stranger = await createNodeSigner("b", new Uint8Array(32).fill(2));
 * const membership = await Membership.create([{ nodeId: "a", publicKey: a.publicKey }]);
 * const gate = await FrameGate.create({ self: "a", membership });
 * const frame = await sealMessage({
 *   type: "Heartbeat", inferenceId: 0, from: "b", view: 0, epoch: 0, sequence: 1, sentAtMs: 0,
 * }, stranger);
 * const opened = await gate.open(frame);
 * assert.equal(opened.ok, false);
 * ```
 */
export class FrameGate {
  /** This node. */
  readonly self: NodeId;
  readonly #openWith: Membership;
  readonly #clients: Membership | undefined;
  readonly #marks = new Map<string, ReplayMark>();
  readonly #marksMax: number;

  private constructor(options: FrameGateOptions, openWith: Membership) {
    this.self = options.self;
    this.#openWith = openWith;
    this.#clients = options.clients;
    this.#marksMax = options.replayMarksMax ?? 65_536;
  }

  /**
   * Creates the gate of one node.
   *
   * @param options The node, its members and clients.
   * @returns The gate.
   */
  static async create(options: FrameGateOptions): Promise<FrameGate> {
    const { membership, clients } = options;
    // One membership to open frames with: the members, and the clients for ClientRequests.
    const keysOf = (of: Membership) =>
      of.nodeIds.map((nodeId) => ({ nodeId, publicKey: of.publicKey(nodeId)! }));
    const openWith = clients === undefined || clients.size === 0
      ? membership
      : await Membership.create([...keysOf(membership), ...keysOf(clients)], {
        signatureCache: membership.signatureCache,
      });
    return new FrameGate(options, openWith);
  }

  /**
   * Decodes and verifies a frame, and checks that its sender may send it. Keeps no mark: call
   * {@linkcode FrameGate.admit} before acting on the message.
   *
   * @param frame The frame's bytes.
   * @returns The verified message, or why it is refused.
   */
  async open(frame: Uint8Array): Promise<GateResult<OpenedMessage>> {
    const opened = await openFrame(frame, this.#openWith);
    if (!opened.ok) {
      return { ok: false, refusal: { code: opened.error.code, message: opened.error.message } };
    }
    const { message } = opened.value;
    const fromClient = this.#clients?.has(message.from) === true;
    if (fromClient !== (message.type === "ClientRequest")) {
      return {
        ok: false,
        refusal: {
          code: "unknown_sender",
          message: fromClient
            ? `Client ${message.from} may send only ClientRequest, not ${message.type}`
            : `${message.from} is not a known client`,
        },
      };
    }
    if (message.from === this.self) {
      return {
        ok: false,
        refusal: {
          code: "unknown_sender",
          message: "A frame signed by this node came from the network",
        },
      };
    }
    return { ok: true, value: opened.value };
  }

  /**
   * Checks that a verified message is fresh (§3.2) and marks it seen.
   *
   * @param message A message {@linkcode FrameGate.open} verified.
   * @returns Whether it is fresh, or why not (`replayed`, `stale`).
   */
  admit(message: CoordinationMessage): GateResult<CoordinationMessage> {
    const key = `${message.from}\u0000${message.inferenceId}`;
    const mark = checkReplay(this.#marks.get(key), message);
    if (!mark.ok) {
      return { ok: false, refusal: { code: mark.error.code, message: mark.error.message } };
    }
    this.#marks.delete(key);
    this.#marks.set(key, mark.value);
    if (this.#marks.size > this.#marksMax) this.#marks.delete(this.#marks.keys().next().value!);
    return { ok: true, value: message };
  }
}
