/**
 * One TCP connection carrying BCP frames (`spec/PROTOCOL.md` §3): a reader that splits the byte
 * stream into frames, deciding on a frame's size from its 4-byte prefix before buffering it, and
 * a writer with a bounded queue, so a slow or stalled peer costs at most the queue's bytes.
 *
 * The reader does not verify frames; it hands whole frames to its owner and reports the framing
 * errors after which the stream cannot be re-synchronised (it then closes the connection).
 *
 * @module
 */

import { FRAME_LENGTH_BYTES, peekFrameLength } from "../wire/frame.ts";
import type { WireErrorCode } from "../wire/wire_error.ts";

/** The default bound on a connection's queued outgoing bytes. */
export const SEND_QUEUE_BYTES_DEFAULT = 32 * 1024 * 1024;

const READ_CHUNK_BYTES = 64 * 1024;
// The most bytes of queued frames joined into one write.
const WRITE_BATCH_BYTES = 256 * 1024;

/** What a framed connection tells its owner. */
export interface FramedHandlers {
  /**
   * A whole frame arrived (length prefix included). The reader waits for the returned promise
   * before it reads on, so a busy owner slows the peer down rather than buffering without bound.
   */
  readonly onFrame: (frame: Uint8Array) => void | Promise<void>;
  /** A framing error that closes the connection (`frame_oversized`, `frame_undersized`, ...). */
  readonly onFramingError: (code: WireErrorCode, message: string) => void;
  /** The connection closed (by either side, or after an error); called once. */
  readonly onClose: (reason: string) => void;
}

/** Options of a framed connection. */
export interface FramedOptions {
  /** The bound on queued outgoing bytes (default {@linkcode SEND_QUEUE_BYTES_DEFAULT}). */
  readonly sendQueueBytesMax?: number;
}

/**
 * A TCP connection that reads and writes whole frames.
 *
 * @example Two ends on loopback
 * ```ts
 * import { FramedConnection } from "./framed.ts";
 * import { encodeFrame } from "../wire/frame.ts";
 * import assert from "node:assert/strict";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const received = Promise.withResolvers<Uint8Array>();
 * const accepted = listener.accept().then((conn) =>
 *   new FramedConnection(conn, {
 *     onFrame: (frame) => received.resolve(frame),
 *     onFramingError: () => {},
 *     onClose: () => {},
 *   })
 * );
 * const dialed = new FramedConnection(
 *   await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
 *   { onFrame: () => {}, onFramingError: () => {}, onClose: () => {} },
 * );
 * const frame = encodeFrame(new Uint8Array([0xa0]), new Uint8Array(64));
 * assert.ok(dialed.send(frame));
 * assert.deepEqual(await received.promise, frame);
 * dialed.close();
 * (await accepted).close();
 * listener.close();
 * ```
 */
export class FramedConnection {
  /** The peer's address, `host:port`. */
  readonly remote: string;
  /** The bound on queued outgoing bytes. */
  readonly sendQueueBytesMax: number;
  readonly #conn: Deno.TcpConn;
  readonly #handlers: FramedHandlers;
  readonly #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #writing = false;
  #closed = false;
  /** Resolves when the read loop has ended. */
  readonly done: Promise<void>;

  /**
   * Starts reading `conn`.
   *
   * @param conn An open TCP connection.
   * @param handlers What to do with frames and errors.
   * @param options The send queue bound.
   */
  constructor(conn: Deno.TcpConn, handlers: FramedHandlers, options: FramedOptions = {}) {
    this.#conn = conn;
    this.#handlers = handlers;
    this.sendQueueBytesMax = options.sendQueueBytesMax ?? SEND_QUEUE_BYTES_DEFAULT;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.remote = `${addr.hostname}:${addr.port}`;
    try {
      conn.setNoDelay(true);
    } catch {
      // Not every platform's socket takes it; latency only.
    }
    this.done = this.#readLoop();
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes waiting to be written. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /**
   * Queues a frame for writing.
   *
   * @param frame The frame's bytes.
   * @returns `false` (and queues nothing) if the connection is closed or the queue would pass
   * its bound: back-pressure the caller must handle (the node resends from its log later).
   */
  send(frame: Uint8Array): boolean {
    if (this.#closed || this.#queuedBytes + frame.length > this.sendQueueBytesMax) return false;
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (!this.#writing) void this.#writeLoop();
    return true;
  }

  /**
   * Closes the connection (idempotent); queued frames are dropped.
   *
   * @param reason Why, for the close handler.
   */
  close(reason = "closed"): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the other side.
    }
    this.#handlers.onClose(reason);
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        // The frames queued while the last write was under way leave in one write (one system
        // call, not one per frame), up to WRITE_BATCH_BYTES unless a frame alone is larger.
        let count = 1;
        let bytes = this.#queue[0]!.length;
        while (
          count < this.#queue.length && bytes + this.#queue[count]!.length <= WRITE_BATCH_BYTES
        ) {
          bytes += this.#queue[count]!.length;
          count++;
        }
        let batch = this.#queue[0]!;
        if (count > 1) {
          batch = new Uint8Array(bytes);
          let offset = 0;
          for (let k = 0; k < count; k++) {
            batch.set(this.#queue[k]!, offset);
            offset += this.#queue[k]!.length;
          }
        }
        let written = 0;
        while (written < batch.length) written += await this.#conn.write(batch.subarray(written));
        if (this.#closed) break;
        this.#queue.splice(0, count);
        this.#queuedBytes -= bytes;
      }
    } catch (error) {
      this.close(`write failed: ${(error as Error).message}`);
    } finally {
      this.#writing = false;
    }
  }

  async #readLoop(): Promise<void> {
    // A frame's size is known from its 4-byte prefix before any more of it is buffered; then
    // exactly that many bytes are allocated and filled.
    const prefix = new Uint8Array(FRAME_LENGTH_BYTES);
    let prefixFilled = 0;
    let frame: Uint8Array | undefined;
    let frameFilled = 0;
    const chunk = new Uint8Array(READ_CHUNK_BYTES);
    let reason = "closed by peer";
    try {
      while (!this.#closed) {
        const count = await this.#conn.read(chunk);
        if (count === null) {
          if (prefixFilled > 0) {
            reason = "closed by peer mid-frame";
            this.#handlers.onFramingError(
              "frame_truncated",
              `The stream ended ${
                frame === undefined ? prefixFilled : frameFilled
              } bytes into a frame`,
            );
          }
          break;
        }
        let offset = 0;
        while (offset < count) {
          if (frame === undefined) {
            const take = Math.min(FRAME_LENGTH_BYTES - prefixFilled, count - offset);
            prefix.set(chunk.subarray(offset, offset + take), prefixFilled);
            prefixFilled += take;
            offset += take;
            if (prefixFilled < FRAME_LENGTH_BYTES) break;
            const size = peekFrameLength(prefix);
            if (!size.ok) {
              this.#handlers.onFramingError(size.error.code, size.error.message);
              this.close(size.error.code);
              return;
            }
            frame = new Uint8Array(size.value!);
            frame.set(prefix);
            frameFilled = FRAME_LENGTH_BYTES;
          }
          const take = Math.min(frame.length - frameFilled, count - offset);
          frame.set(chunk.subarray(offset, offset + take), frameFilled);
          frameFilled += take;
          offset += take;
          if (frameFilled === frame.length) {
            const whole = frame;
            frame = undefined;
            prefixFilled = 0;
            await this.#handlers.onFrame(whole);
            if (this.#closed) return;
          }
        }
      }
    } catch (error) {
      if (!this.#closed) reason = `read failed: ${(error as Error).message}`;
    }
    this.close(reason);
  }
}
