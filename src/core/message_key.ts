/**
 * A canonical text key for a spec message, so that messages can be kept in sets and compared
 * by value (TLA+ records are equal when their fields are).
 *
 * @module
 */

import type { SpecMessage, Value, Vote } from "./spec_state.ts";

function voteKey(vote: Vote<Value>): string {
  return `${vote.view}/${vote.value}`;
}

/**
 * The canonical key of a message: equal keys if and only if equal messages.
 *
 * @param message A spec message.
 * @returns The key.
 *
 * @example Usage
 * ```ts
 * import { messageKey } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   messageKey({ type: "Prepare", view: 1, value: 2, from: 3 }),
 *   messageKey({ from: 3, value: 2, view: 1, type: "Prepare" }),
 * );
 * ```
 */
export function messageKey(message: SpecMessage<Value>): string {
  let key = KEYS.get(message);
  if (key === undefined) {
    key = computeKey(message);
    KEYS.set(message, key);
  }
  return key;
}

// Keys of the messages seen so far, by identity: a message is immutable (its fields are
// read-only), so its key is computed once however often guards and replays ask for it. Held
// weakly, so a message no longer referenced elsewhere is collected with its key.
const KEYS = new WeakMap<SpecMessage<Value>, string>();

function computeKey(message: SpecMessage<Value>): string {
  switch (message.type) {
    case "Assign":
      return `A|${message.view}|${message.seed}|${message.from}`;
    case "StageOutput":
      return `S|${message.view}|${message.seed}|${message.token}|${message.stage}|${message.value}|${message.from}`;
    case "PrePrepare":
    case "Prepare":
    case "Commit":
      return `${message.type}|${message.view}|${message.value}|${message.from}`;
    case "Checkpoint":
      return `C|${message.seed}|${message.position}|${message.digest.join(",")}|${message.from}`;
    case "ViewChange":
      return `V|${message.view}|${voteKey(message.prepared)}|${
        voteKey(message.voted)
      }|${message.from}`;
    case "NewView":
      return `N|${message.view}|${message.seed}|${message.from}|[${
        messageSetKey(message.viewChanges)
      }]`;
  }
}

/**
 * The canonical key of a set of messages: its members' keys, sorted, joined by `;` (equal for
 * the same messages in any order).
 *
 * @param messages The messages.
 * @returns The key.
 *
 * @example Usage
 * ```ts
 * import { messageSetKey } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const a = { type: "Prepare", view: 0, value: 1, from: 2 } as const;
 * const b = { ...a, from: 3 };
 * assert.equal(messageSetKey([a, b]), messageSetKey([b, a]));
 * ```
 */
export function messageSetKey(messages: readonly SpecMessage<Value>[]): string {
  return messages.map(messageKey).sort().join(";");
}
