/**
 * Replay protection. Every message carries `view`, `epoch` and `sequence`; a sender increases
 * `sequence` with every message it sends for an inference and never lowers its view or epoch.
 * A receiver keeps, per sender and inference, the mark of the newest message it accepted and
 * drops a frame that is not newer: a replayed or reordered duplicate cannot count twice, and a
 * message signed in an old view cannot be injected into a newer one.
 *
 * @module
 */

import type { CoordinationMessage } from "./message.ts";
import { accepted, refused, type WireResult } from "./wire_error.ts";

/** The newest view, epoch and sequence accepted from one sender for one inference. */
export interface ReplayMark {
  /** The newest view seen. */
  readonly view: number;
  /** The newest epoch seen. */
  readonly epoch: number;
  /** The highest sequence number accepted. */
  readonly sequence: number;
}

/**
 * Decides whether a message from a sender is fresh, given the mark kept for that sender and
 * inference. Pure: the caller stores the returned mark.
 *
 * @param last The mark of the newest accepted message, or `undefined` for the first one.
 * @param message The verified message.
 * @returns The new mark, or `replayed` (sequence not above the mark) or `stale` (view or epoch
 * below the mark).
 *
 * @example A replayed frame is dropped
 * ```ts
 * import { checkReplay } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const message = {
 *   type: "Heartbeat", inferenceId: 1, from: "node-1", view: 0, epoch: 0, sequence: 5,
 *   sentAtMs: 10,
 * } as const;
 * const first = checkReplay(undefined, message);
 * assert.ok(first.ok);
 * const again = checkReplay(first.value, message);
 * assert.equal(again.ok ? "" : again.error.code, "replayed");
 * ```
 */
export function checkReplay(
  last: ReplayMark | undefined,
  message: CoordinationMessage,
): WireResult<ReplayMark> {
  const mark = { view: message.view, epoch: message.epoch, sequence: message.sequence };
  if (last === undefined) return accepted(mark);
  if (message.sequence <= last.sequence) {
    return refused(
      "replayed",
      `Sequence ${message.sequence} from ${message.from} is not above ${last.sequence}`,
    );
  }
  if (message.view < last.view || message.epoch < last.epoch) {
    return refused(
      "stale",
      `Message from ${message.from} is for view ${message.view} epoch ${message.epoch}, ` +
        `behind view ${last.view} epoch ${last.epoch}`,
    );
  }
  return accepted(mark);
}
