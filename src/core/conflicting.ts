/**
 * Equivocation: two messages one node signed that no honest node would both sign (the spec's
 * `Conflicting(m1, m2)`). The slot rule is shared with the wire layer (`src/wire/evidence.ts`),
 * which applies it to decoded wire messages.
 *
 * @module
 */

import { messageKey } from "./message_key.ts";
import type { SpecMessage, Value } from "./spec_state.ts";

/** The fields that name a message's slot; any message type has a subset of them. */
export interface SlotFields {
  /** The message type. */
  readonly type: string;
  /** The view, if the type has one. */
  readonly view?: number;
  /** The seed, if the type has one. */
  readonly seed?: number;
  /** The token, if the type has one. */
  readonly token?: number;
  /** The stage, if the type has one. */
  readonly stage?: number;
  /** The checkpoint position, if the type has one. */
  readonly position?: number;
}

/**
 * The slot in which a node signs at most one message of a type: the view (Assign, PrePrepare,
 * Prepare, Commit, ViewChange, NewView), the view, seed, token and stage (StageOutput), or the
 * seed and position (Checkpoint); `undefined` for types that cannot be evidence.
 *
 * @param message A message.
 * @returns The slot as a list of numbers, or `undefined`.
 *
 * @example Usage
 * ```ts
 * import { conflictSlot } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.deepEqual(conflictSlot({ type: "Checkpoint", seed: 1, position: 2 }), [1, 2]);
 * ```
 */
export function conflictSlot(message: SlotFields): readonly (number | undefined)[] | undefined {
  switch (message.type) {
    case "Assign":
    case "PrePrepare":
    case "Prepare":
    case "Commit":
    case "ViewChange":
    case "NewView":
      return [message.view];
    case "StageOutput":
      return [message.view, message.seed, message.token, message.stage];
    case "Checkpoint":
      return [message.seed, message.position];
    default:
      return undefined;
  }
}

/**
 * Whether two slots are the same.
 *
 * @param first A slot from {@linkcode conflictSlot}.
 * @param second Another slot.
 * @returns `true` if both are defined and equal element by element.
 *
 * @example Usage
 * ```ts
 * import { sameSlot } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.ok(sameSlot([3], [3]));
 * assert.ok(!sameSlot([3], undefined));
 * ```
 */
export function sameSlot(
  first: readonly (number | undefined)[] | undefined,
  second: readonly (number | undefined)[] | undefined,
): boolean {
  if (first === undefined || second === undefined || first.length !== second.length) return false;
  return first.every((value, index) => value === second[index]);
}

/**
 * The spec's `Conflicting(m1, m2)` on spec messages: same signer, same type, same slot,
 * different messages (`@butterfly/bcp/wire` has its own `conflicting`, on decoded wire
 * messages).
 *
 * @param first A message.
 * @param second Another message.
 * @returns `true` if no honest node would sign both.
 *
 * @example Usage
 * ```ts
 * import { conflicting } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const a = { type: "Prepare", view: 0, value: 1, from: 2 } as const;
 * assert.ok(conflicting(a, { ...a, value: 2 }));
 * assert.ok(!conflicting(a, { ...a, view: 1, value: 2 }));
 * ```
 */
export function conflicting(first: SpecMessage<Value>, second: SpecMessage<Value>): boolean {
  if (first.from !== second.from || first.type !== second.type) return false;
  if (!sameSlotOfType(first, second)) return false;
  return messageKey(first) !== messageKey(second);
}

// `sameSlot(conflictSlot(first), conflictSlot(second))` for two messages of one type, without
// building the slots (this runs for every pair of messages in an enabledness check).
function sameSlotOfType(first: SpecMessage<Value>, second: SpecMessage<Value>): boolean {
  switch (first.type) {
    case "StageOutput": {
      const other = second as typeof first;
      return first.view === other.view && first.seed === other.seed &&
        first.token === other.token && first.stage === other.stage;
    }
    case "Checkpoint": {
      const other = second as typeof first;
      return first.seed === other.seed && first.position === other.position;
    }
    default:
      return first.view === (second as typeof first).view;
  }
}

/**
 * A key that two messages of one type share exactly when they are for one slot as
 * {@linkcode conflicting} compares them ({@linkcode conflictSlot}, as a string): the pairs worth
 * testing are those within one key.
 *
 * @param message A message.
 * @returns Its slot, as a string.
 */
export function slotKeyOfType(message: SpecMessage<Value>): string {
  return String(conflictSlot(message));
}
