/**
 * A node's connections to its peers and clients over TCP: one connection per peer pair (the
 * member earlier in the membership's order dials, with backoff), every frame checked in the
 * order of `spec/PROTOCOL.md` §3.1 (size before buffering, version, canonical body, schema,
 * sender, signature, replay) before the node sees it, and each refusal handled as §3.2 says:
 * logged with its code, and the connection closed where the stream cannot be trusted.
 *
 * The transport decides nothing about the protocol. It signs and frames what the node sends,
 * giving each message a sequence number above any the node used before (§6), and hands verified,
 * fresh messages to the node.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { NodeId } from "../core/types.ts";
import { encodeFrame, type OpenedMessage, signMessage } from "../wire/frame.ts";
import { type Membership, MESSAGE_SIGNATURE_TAG, type NodeSigner } from "../wire/identity.ts";
import { type CoordinationMessage, encodeMessage, type SignedMessage } from "../wire/message.ts";
import type { CostMeter } from "./costs.ts";
import type { WireErrorCode } from "../wire/wire_error.ts";
import { FrameGate } from "./frame_gate.ts";
import { FramedConnection } from "./framed.ts";
import type { Logger } from "./log.ts";

/** Where a member listens. */
export interface PeerAddress {
  /** Host name or address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
}

/** Options of {@linkcode Transport.start}. */
export interface TransportOptions {
  /** This node's signer (its id is `signer.nodeId`). */
  readonly signer: NodeSigner;
  /** The members, this node included. */
  readonly membership: Membership;
  /** The known clients, whose `ClientRequest`s are accepted. */
  readonly clients?: Membership;
  /** Every member's address, this node's included. */
  readonly addresses: ReadonlyMap<NodeId, PeerAddress>;
  /** Where to listen (default: this node's address; port 0 picks a free one). */
  readonly listen?: PeerAddress;
  /** The node's logger. */
  readonly log: Logger;
  /**
   * A verified, fresh message. The connection reads on only when the returned promise settles.
   *
   * @param opened The message and its signed bytes.
   * @param peer Who sent it (a member or a client id).
   */
  readonly onMessage: (opened: OpenedMessage, peer: string) => void | Promise<void>;
  /** A member's connection is up (the node resends what the peer may have missed). */
  readonly onPeerUp?: (peer: NodeId) => void;
  /** The bound on each connection's queued outgoing bytes (default 32 MiB). */
  readonly sendQueueBytesMax?: number;
  /** Reconnection delays: the first, doubled up to the last (default 50 and 2000 ms). */
  readonly reconnectMs?: { readonly min: number; readonly max: number };
  /** How long an inbound connection may go without a hello (5000 ms). */
  readonly helloTimeoutMs?: number;
  /** Inbound connections held at once (default 2n + clients + 16). */
  readonly inboundMax?: number;
  /** Refused frames a connection may send before it is closed (default 64). */
  readonly refusalsMax?: number;
  /** Replay marks kept, one per (sender, inference); the oldest go first (default 65,536). */
  readonly replayMarksMax?: number;
  /** The clock, in ms since the epoch (default `Date.now`). */
  readonly clock?: () => number;
  /** The node's sealer, shared with what signs outside the transport (default: a new one). */
  readonly sealer?: Sealer;
  /** Where the time spent opening (decoding and verifying) frames is counted. */
  readonly meter?: CostMeter;
}

/**
 * Signs and frames one node's messages, giving each the next sequence number of its inference:
 * above every one used before, across restarts too (it starts from the clock in microseconds, so
 * a restarted node does not reuse the numbers of its previous run).
 *
 * @example Sequences increase
 * ```ts
 * import { Sealer } from "./transport.ts";
 * import { createNodeSigner } from "../wire/identity.ts";
 * import assert from "node:assert/strict";
 * const sealer = new Sealer(await createNodeSigner("a", new Uint8Array(32).fill(1)));
 * const message = {
 *   type: "Heartbeat", inferenceId: 1, from: "a", view: 0, epoch: 0, sequence: 0, sentAtMs: 1,
 * } as const;
 * const first = await sealer.sign(message);
 * const second = await sealer.sign(message);
 * assert.notDeepEqual(first.body, second.body);
 * ```
 */
export class Sealer {
  /** The signer. */
  readonly signer: NodeSigner;
  readonly #sequences = new Map<number, number>();
  readonly #clock: () => number;
  readonly #meter: CostMeter | undefined;

  /**
   * Creates the sealer of a node.
   *
   * @param signer The node's signer.
   * @param clock Milliseconds since the epoch (default `Date.now`).
   * @param meter Where the time spent encoding and signing is counted.
   */
  constructor(signer: NodeSigner, clock: () => number = Date.now, meter?: CostMeter) {
    this.signer = signer;
    this.#clock = clock;
    this.#meter = meter;
  }

  #next(inferenceId: number): number {
    const sequence = Math.max((this.#sequences.get(inferenceId) ?? 0) + 1, this.#clock() * 1000);
    this.#sequences.set(inferenceId, sequence);
    return sequence;
  }

  /**
   * Signs and frames a message (its `sequence` is replaced).
   *
   * @param message The message; its `from` is this node.
   * @returns The frame.
   */
  async seal(message: CoordinationMessage): Promise<Uint8Array> {
    const { body, signature } = await this.sign(message);
    return encodeFrame(body, signature);
  }

  /**
   * Signs a message without framing it (its `sequence` is replaced).
   *
   * @param message The message; its `from` is this node.
   * @returns Its canonical body and signature.
   */
  async sign(message: CoordinationMessage): Promise<SignedMessage> {
    const numbered = { ...message, sequence: this.#next(message.inferenceId) };
    const meter = this.#meter;
    if (meter === undefined) return await signMessage(numbered, this.signer);
    // signMessage's two halves, timed apart.
    if (numbered.from !== this.signer.nodeId) return await signMessage(numbered, this.signer);
    const started = performance.now();
    const body = encodeMessage(numbered);
    const encoded = performance.now();
    const signature = await this.signer.sign(MESSAGE_SIGNATURE_TAG, body);
    meter.add(message.inferenceId, "encode", encoded - started);
    meter.add(message.inferenceId, "sign", performance.now() - encoded);
    return { body, signature };
  }
}

// After these the stream cannot be trusted to be in step (§3.2): close it.
const CLOSING_CODES: ReadonlySet<WireErrorCode> = new Set([
  "frame_oversized",
  "frame_undersized",
  "frame_truncated",
  "frame_trailing_bytes",
  "unsupported_version",
]);

// Dropped silently (§3.2): the network duplicates and reorders.
const QUIET_CODES: ReadonlySet<WireErrorCode> = new Set(["replayed", "stale"]);

interface Link {
  readonly connection: FramedConnection;
  readonly peer: string;
}

/**
 * The node's side of the network.
 *
 * @example Two nodes exchange a Heartbeat
 * ```ts
 * import { Transport } from "./transport.ts";
 * import { Logger } from "./log.ts";
 * import { createNodeSigner, Membership } from "../wire/identity.ts";
 * import assert from "node:assert/strict";
 * const signers = await Promise.all(
 *   ["a", "b"].map((id, k) => createNodeSigner(id, new Uint8Array(32).fill(k + 1))),
 * );
 * const membership = await Membership.create(signers);
 * const got = Promise.withResolvers<string>();
 * const start = (k: number, addresses: Map<string, { host: string; port: number }>) =>
 *   Transport.start({
 *     signer: signers[k]!,
 *     membership,
 *     addresses,
 *     listen: { host: "127.0.0.1", port: 0 },
 *     log: new Logger(signers[k]!.nodeId, "error"),
 *     onMessage: ({ message }) => {
 *       if (message.type === "Heartbeat" && message.inferenceId === 7) got.resolve(message.from);
 *     },
 *   });
 * const addresses = new Map([["a", { host: "127.0.0.1", port: 0 }], ["b", { host: "127.0.0.1", port: 0 }]]);
 * const b = await start(1, addresses);
 * addresses.set("b", { host: "127.0.0.1", port: b.port });
 * const a = await start(0, addresses);
 * await a.whenConnected("b");
 * const frame = await a.seal({
 *   type: "Heartbeat", inferenceId: 7, from: "a", view: 0, epoch: 0, sequence: 0, sentAtMs: 1,
 * });
 * assert.ok(a.send("b", frame));
 * assert.equal(await got.promise, "a");
 * await a.close();
 * await b.close();
 * ```
 */
export class Transport {
  /** This node. */
  readonly self: NodeId;
  readonly #options: TransportOptions;
  readonly #listener: Deno.TcpListener;
  readonly #gate: FrameGate;
  readonly #links = new Map<string, Link>();
  readonly #inbound = new Set<FramedConnection>();
  // The newest hello's sequence from each member and client (bounded by who may connect).
  readonly #helloMarks = new Map<string, number>();
  readonly #sealer: Sealer;
  readonly #waiters = new Map<string, PromiseWithResolvers<void>[]>();
  readonly #abort = new AbortController();
  readonly #tasks = new Set<Promise<void>>();
  readonly #clock: () => number;
  #closed = false;

  private constructor(
    options: TransportOptions,
    listener: Deno.TcpListener,
    gate: FrameGate,
  ) {
    this.self = options.signer.nodeId;
    this.#options = options;
    this.#listener = listener;
    this.#gate = gate;
    this.#clock = options.clock ?? Date.now;
    this.#sealer = options.sealer ?? new Sealer(options.signer, this.#clock);
  }

  /**
   * Listens, and dials every member after this one in the membership's order.
   *
   * @param options The node, its peers and what to do with messages.
   * @returns The running transport.
   * @throws {RangeError} If this node is not a member or has no address.
   * @throws {Deno.errors.AddrInUse} If the port is taken.
   */
  static async start(options: TransportOptions): Promise<Transport> {
    const self = options.signer.nodeId;
    if (!options.membership.has(self)) throw new RangeError(`${self} is not a member`);
    const own = options.listen ?? options.addresses.get(self);
    if (own === undefined) throw new RangeError(`${self} has no address`);
    const gate = await FrameGate.create({
      self,
      membership: options.membership,
      ...(options.clients === undefined ? {} : { clients: options.clients }),
      ...(options.replayMarksMax === undefined ? {} : { replayMarksMax: options.replayMarksMax }),
    });
    const listener = Deno.listen({ hostname: own.host, port: own.port, transport: "tcp" });
    const transport = new Transport(options, listener, gate);
    transport.#track(transport.#acceptLoop());
    const order = options.membership.nodeIds;
    for (const peer of order.slice(order.indexOf(self) + 1)) {
      transport.#track(transport.#dialLoop(peer));
    }
    return transport;
  }

  /** The port this node listens on. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /**
   * The peers (members and clients) with an open connection.
   *
   * @returns Their ids.
   */
  connected(): string[] {
    return [...this.#links.keys()];
  }

  /**
   * Resolves once `peer` has an open connection.
   *
   * @param peer A member or client id.
   * @returns When it is connected.
   */
  whenConnected(peer: string): Promise<void> {
    if (this.#links.has(peer)) return Promise.resolve();
    const waiter = Promise.withResolvers<void>();
    this.#waiters.set(peer, [...(this.#waiters.get(peer) ?? []), waiter]);
    return waiter.promise;
  }

  /**
   * Signs and frames a message from this node (see {@linkcode Sealer}).
   *
   * @param message The message; its `from` is this node, its `sequence` is replaced.
   * @returns The frame.
   */
  async seal(message: CoordinationMessage): Promise<Uint8Array> {
    return await this.#sealer.seal(message);
  }

  /**
   * Queues a frame to one peer.
   *
   * @param peer A member or a client id.
   * @param frame A frame from {@linkcode Transport.seal}.
   * @returns `false` if the peer is not connected, or its queue is full (the connection is then
   * closed: a peer that falls this far behind reconnects and is sent the node's log again).
   */
  send(peer: string, frame: Uint8Array): boolean {
    const link = this.#links.get(peer);
    if (link === undefined) return false;
    if (link.connection.send(frame)) return true;
    this.#options.log.warn("send queue full, closing", {
      peer,
      queuedBytes: link.connection.queuedBytes,
    });
    link.connection.close("send queue full");
    return false;
  }

  /**
   * Queues a frame to every connected member but this node.
   *
   * @param frame A frame from {@linkcode Transport.seal}.
   * @returns The members it was queued to.
   */
  broadcast(frame: Uint8Array): NodeId[] {
    const sent: NodeId[] = [];
    for (const peer of this.#options.membership.nodeIds) {
      if (peer !== this.self && this.send(peer, frame)) sent.push(peer);
    }
    return sent;
  }

  /** Closes the listener and every connection, and stops dialing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const link of this.#links.values()) link.connection.close("shutting down");
    for (const connection of this.#inbound) connection.close("shutting down");
    await Promise.allSettled(this.#tasks);
  }

  async #acceptLoop(): Promise<void> {
    const inboundMax = this.#options.inboundMax ??
      2 * this.#options.membership.size + (this.#options.clients?.size ?? 0) + 16;
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      if (this.#inbound.size >= inboundMax) {
        const addr = conn.remoteAddr;
        this.#options.log.warn("too many inbound connections, refusing one", {
          peer: `${addr.hostname}:${addr.port}`,
          inboundMax,
        });
        conn.close();
        continue;
      }
      this.#serve(conn, undefined);
    }
  }

  async #dialLoop(peer: NodeId): Promise<void> {
    const address = this.#options.addresses.get(peer);
    if (address === undefined) {
      this.#options.log.error("no address for a member; not dialing it", { peer });
      return;
    }
    const { min, max } = this.#options.reconnectMs ?? { min: 50, max: 2000 };
    let delay = min;
    while (!this.#closed) {
      try {
        const conn = await connectOrAbort(address, this.#abort.signal);
        if (conn === undefined) return;
        delay = min;
        // The first frame names this node to the peer and is for that peer alone (`to`), so
        // nobody can replay it to bind another connection (PROTOCOL.md §3.3).
        const hello = await this.seal({
          type: "Heartbeat",
          inferenceId: 0,
          from: this.self,
          view: 0,
          epoch: 0,
          sequence: 0,
          sentAtMs: this.#clock(),
          to: peer,
        });
        const connection = this.#serve(conn, peer, hello);
        await connection.done;
      } catch (error) {
        if (this.#closed) return;
        this.#options.log.debug("dial failed", { peer, error: (error as Error).message });
      }
      if (this.#closed) return;
      try {
        await sleep(delay, undefined, { signal: this.#abort.signal });
      } catch {
        return;
      }
      delay = Math.min(max, delay * 2);
    }
  }

  // Serves one connection; `dialed` is the member it was dialed to, else it is bound by its
  // first valid frame.
  #serve(conn: Deno.TcpConn, dialed: NodeId | undefined, hello?: Uint8Array): FramedConnection {
    const log = this.#options.log;
    let peer: string | undefined = dialed;
    let refusals = 0;
    const refusalsMax = this.#options.refusalsMax ?? 64;
    const remote = () => peer ?? connection.remote;
    let helloTimer: ReturnType<typeof setTimeout> | undefined;
    const connection: FramedConnection = new FramedConnection(
      conn,
      {
        onFrame: async (frame) => {
          const openedAt = performance.now();
          const opened = await this.#gate.open(frame);
          if (opened.ok) {
            this.#options.meter?.add(
              opened.value.message.inferenceId,
              "verify",
              performance.now() - openedAt,
            );
          }
          if (!opened.ok) {
            refuse(opened.refusal.code, opened.refusal.message);
            return;
          }
          const { message } = opened.value;
          // Only a hello binds a connection to its sender: a member's Heartbeat of inference 0
          // or a client's request, addressed to this node (`to`), which nobody else can make,
          // and newer than the sender's last hello (a replayed hello binds nothing). Other
          // frames are delivered (their signatures prove who sent them) but do not decide where
          // replies go. Hellos have their own marks: a relayed copy of a client's request to
          // another node must not make this node's own copy look replayed.
          const isHello = (message.type === "ClientRequest" && message.to === this.self) ||
            (message.type === "Heartbeat" && message.inferenceId === 0 &&
              message.to === this.self);
          if (isHello && message.sequence > (this.#helloMarks.get(message.from) ?? 0)) {
            this.#helloMarks.set(message.from, message.sequence);
            if (peer === undefined) {
              peer = message.from;
              clearTimeout(helloTimer);
              this.#inbound.delete(connection);
              this.#bind(peer, connection);
            }
          }
          const fresh = this.#gate.admit(message);
          if (!fresh.ok) {
            refuse(fresh.refusal.code, fresh.refusal.message);
            return;
          }
          await this.#options.onMessage(opened.value, message.from);
        },
        onFramingError: (code, message) => refuse(code, message),
        onClose: (reason) => {
          clearTimeout(helloTimer);
          this.#inbound.delete(connection);
          if (peer !== undefined && this.#links.get(peer)?.connection === connection) {
            this.#links.delete(peer);
            if (!this.#closed) log.info("peer disconnected", { peer, reason });
          }
        },
      },
      this.#options.sendQueueBytesMax === undefined ? {} : {
        sendQueueBytesMax: this.#options.sendQueueBytesMax,
      },
    );
    const refuse = (code: WireErrorCode, message: string) => {
      if (QUIET_CODES.has(code)) {
        log.debug("frame dropped", { peer: remote(), code, reason: message });
        return;
      }
      refusals++;
      log.warn("frame refused", { peer: remote(), code, reason: message });
      if (CLOSING_CODES.has(code)) connection.close(code);
      else if (refusals >= refusalsMax) {
        log.warn("too many refused frames, closing", { peer: remote(), refusals });
        connection.close("too many refused frames");
      }
    };
    if (dialed === undefined) {
      this.#inbound.add(connection);
      helloTimer = setTimeout(() => {
        if (peer === undefined) {
          log.warn("no hello in time, closing", { peer: connection.remote });
          connection.close("no hello");
        }
      }, this.#options.helloTimeoutMs ?? 5000);
    } else {
      if (hello !== undefined) connection.send(hello);
      this.#bind(dialed, connection);
    }
    this.#track(connection.done);
    return connection;
  }

  #bind(peer: string, connection: FramedConnection): void {
    const previous = this.#links.get(peer);
    this.#links.set(peer, { connection, peer });
    if (previous !== undefined && previous.connection !== connection) {
      previous.connection.close("replaced by a newer connection");
    }
    this.#options.log.info("peer connected", { peer, address: connection.remote });
    for (const waiter of this.#waiters.get(peer) ?? []) waiter.resolve();
    this.#waiters.delete(peer);
    if (this.#options.membership.has(peer)) this.#options.onPeerUp?.(peer);
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }
}

// Connects, unless the transport closes first (a dial to a member that does not answer can take
// a SYN timeout).
async function connectOrAbort(
  address: PeerAddress,
  signal: AbortSignal,
): Promise<Deno.TcpConn | undefined> {
  const connecting = Deno.connect({ hostname: address.host, port: address.port });
  const aborted = new Promise<undefined>((resolve) => {
    if (signal.aborted) resolve(undefined);
    signal.addEventListener("abort", () => resolve(undefined), { once: true });
  });
  const winner = await Promise.race([connecting, aborted]);
  if (winner === undefined) {
    void connecting.then((conn) => conn.close(), () => {});
    return undefined;
  }
  return winner;
}
