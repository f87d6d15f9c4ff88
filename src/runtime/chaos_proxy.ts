/**
 * A fault-injecting TCP proxy for the chaos harness: it listens on each member's address in the
 * cluster file and forwards to where the member really listens (`--listen`), so every link
 * between two members passes through it. It reads whole frames (their length prefix), learns who
 * dialed from the dialer's first frame (its hello, which always passes), and applies the fault set
 * on each direction of each pair of members: frames lost at a rate, delayed, duplicated, swapped
 * with the next (reordered), or all dropped (a one-way partition; both directions for a two-way
 * one). Clients' links pass untouched. Frames are never cut, so a stream stays well framed; what
 * a fault does to the protocol is what message loss, delay, duplication and reordering do.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { NodeId } from "../core/types.ts";
import { nextUniform, type PrngState } from "../model/_prng.ts";
import { decodeFrame, peekFrameLength } from "../wire/frame.ts";
import { decodeMessage } from "../wire/message.ts";
import type { PeerAddress } from "./transport.ts";

/** What happens to the frames of one direction of a link. */
export type LinkFault =
  | { readonly kind: "loss"; readonly rate: number }
  | { readonly kind: "delay"; readonly ms: number }
  | { readonly kind: "duplicate" }
  | { readonly kind: "reorder" }
  | { readonly kind: "partition" };

/** One member behind the proxy. */
export interface ProxiedMember {
  /** The member. */
  readonly id: NodeId;
  /** Its address in the cluster file, where the proxy listens. */
  readonly advertised: PeerAddress;
  /** Where it really listens. */
  readonly actual: PeerAddress;
}

// How long a frame held for reordering waits for the next one.
const REORDER_HOLD_MS = 200;

/** The proxy. */
export class FaultProxy {
  readonly #listeners: Deno.TcpListener[] = [];
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #faults = new Map<string, LinkFault>();
  readonly #members: ReadonlySet<NodeId>;
  readonly #prng: PrngState;
  /** Frames dropped, duplicated, delayed and reordered so far. */
  readonly counts = { dropped: 0, duplicated: 0, delayed: 0, reordered: 0 };
  #closed = false;

  private constructor(members: readonly ProxiedMember[], prng: PrngState) {
    this.#members = new Set(members.map((m) => m.id));
    this.#prng = prng;
  }

  /**
   * Listens on every member's advertised address.
   *
   * @param members The members and where they really listen.
   * @param prng The draws of lost frames.
   * @returns The proxy, forwarding with no fault.
   */
  static start(members: readonly ProxiedMember[], prng: PrngState): FaultProxy {
    const proxy = new FaultProxy(members, prng);
    for (const member of members) {
      const listener = Deno.listen({
        hostname: member.advertised.host,
        port: member.advertised.port,
      });
      proxy.#listeners.push(listener);
      void proxy.#accept(listener, member);
    }
    return proxy;
  }

  /**
   * Sets (or, with `undefined`, heals) the fault on frames from one member to another.
   *
   * @param from The sender.
   * @param to The receiver.
   * @param fault The fault.
   */
  setFault(from: NodeId, to: NodeId, fault: LinkFault | undefined): void {
    if (fault === undefined) this.#faults.delete(`${from}>${to}`);
    else this.#faults.set(`${from}>${to}`, fault);
  }

  /** Heals every link. */
  healAll(): void {
    this.#faults.clear();
  }

  /** Stops listening and closes every proxied connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of this.#listeners) {
      try {
        listener.close();
      } catch { /* closed */ }
    }
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
    this.#conns.clear();
  }

  async #accept(listener: Deno.TcpListener, member: ProxiedMember): Promise<void> {
    for (;;) {
      let inbound: Deno.TcpConn;
      try {
        inbound = await listener.accept();
      } catch {
        return;
      }
      void this.#link(inbound, member);
    }
  }

  async #link(inbound: Deno.TcpConn, member: ProxiedMember): Promise<void> {
    let outbound: Deno.TcpConn;
    try {
      outbound = await Deno.connect({ hostname: member.actual.host, port: member.actual.port });
    } catch {
      try {
        inbound.close();
      } catch { /* closed */ }
      return;
    }
    if (this.#closed) {
      inbound.close();
      outbound.close();
      return;
    }
    this.#conns.add(inbound);
    this.#conns.add(outbound);
    let dialer: string | undefined;
    const closeBoth = () => {
      for (const conn of [inbound, outbound]) {
        this.#conns.delete(conn);
        try {
          conn.close();
        } catch { /* closed */ }
      }
    };
    const toMember = this.#pump(inbound, outbound, (first) => {
      dialer = senderOf(first);
      return undefined;
    }, () => dialer === undefined ? undefined : `${dialer}>${member.id}`);
    const fromMember = this.#pump(
      outbound,
      inbound,
      () => undefined,
      () => dialer === undefined ? undefined : `${member.id}>${dialer}`,
    );
    await Promise.race([toMember, fromMember]);
    closeBoth();
    await Promise.allSettled([toMember, fromMember]);
  }

  // Copies whole frames from `source` to `sink`, each through the link's fault (`link()` names
  // the direction once the dialer is known; the first frame always passes).
  async #pump(
    source: Deno.TcpConn,
    sink: Deno.TcpConn,
    onFirst: (frame: Uint8Array) => void,
    link: () => string | undefined,
  ): Promise<void> {
    let buffer: Uint8Array = new Uint8Array(0);
    let first = true;
    let writes = Promise.resolve();
    let held: Uint8Array | undefined;
    let heldTimer: ReturnType<typeof setTimeout> | undefined;
    // In order; a delayed frame goes `delayMs` after it arrived (not after the one before).
    const write = (frame: Uint8Array, delayMs = 0) => {
      const due = performance.now() + delayMs;
      writes = writes.then(async () => {
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        await writeAll(sink, frame);
      }).catch(() => {});
    };
    const flushHeld = () => {
      clearTimeout(heldTimer);
      if (held !== undefined) write(held);
      held = undefined;
    };
    const chunk = new Uint8Array(64 * 1024);
    for (;;) {
      let read: number | null;
      try {
        read = await source.read(chunk);
      } catch {
        read = null;
      }
      if (read === null) break;
      const joined = new Uint8Array(buffer.length + read);
      joined.set(buffer);
      joined.set(chunk.subarray(0, read), buffer.length);
      const taken = takeFrames(joined);
      buffer = taken.rest;
      for (const frame of taken.frames) {
        if (first) {
          first = false;
          onFirst(frame);
          write(frame);
          continue;
        }
        const name = link();
        const [from, to] = name === undefined ? [] : name.split(">");
        const fault = from !== undefined && this.#members.has(from) && this.#members.has(to!)
          ? this.#faults.get(name!)
          : undefined;
        if (fault?.kind !== "reorder") flushHeld();
        switch (fault?.kind) {
          case undefined:
            write(frame);
            break;
          case "partition":
            this.counts.dropped++;
            break;
          case "loss":
            if (nextUniform(this.#prng) < fault.rate) this.counts.dropped++;
            else write(frame);
            break;
          case "duplicate":
            this.counts.duplicated++;
            write(frame);
            write(frame);
            break;
          case "delay":
            this.counts.delayed++;
            write(frame, fault.ms);
            break;
          case "reorder":
            if (held === undefined) {
              held = frame;
              heldTimer = setTimeout(flushHeld, REORDER_HOLD_MS);
            } else {
              this.counts.reordered++;
              const earlier = held;
              held = undefined;
              clearTimeout(heldTimer);
              write(frame);
              write(earlier);
            }
            break;
        }
      }
      if (taken.unframed) {
        // Not framed (a garbage stream): pass it on as is; the member refuses it.
        flushHeld();
        write(buffer);
        buffer = new Uint8Array(0);
      }
    }
    flushHeld();
    await writes;
  }
}

/**
 * Splits the whole frames off the front of a stream's bytes.
 *
 * @param bytes What was read so far.
 * @returns The frames, the bytes left over, and whether those start with a length no frame may
 *   have (the stream is not framed from there on).
 */
export function takeFrames(
  bytes: Uint8Array,
): { readonly frames: Uint8Array[]; readonly rest: Uint8Array; readonly unframed: boolean } {
  const frames: Uint8Array[] = [];
  let rest = bytes;
  for (;;) {
    const length = peekFrameLength(rest);
    if (!length.ok) return { frames, rest, unframed: true };
    if (length.value === undefined || rest.length < length.value) {
      return { frames, rest, unframed: false };
    }
    frames.push(rest.slice(0, length.value));
    rest = rest.subarray(length.value);
  }
}

// The sender named in a frame's message, if it decodes.
function senderOf(frame: Uint8Array): string | undefined {
  const decoded = decodeFrame(frame);
  if (!decoded.ok) return undefined;
  const message = decodeMessage(decoded.value.body);
  return message.ok ? message.value.from : undefined;
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}
