/**
 * The messages a node has received, as its guards read them: by type only
 * ({@linkcode ReceivedMessages.ofType}). A vote tally reads the Commits, a checkpoint quorum the
 * Checkpoints. The core never holds the set itself: the shell (the runtime, the simulator, the
 * trace replayer) keeps it, appends each verified message, and passes it with every call. The
 * core's own implementation is {@linkcode MessageLog}; the trace replayer brings one of its own
 * that also records which types each guard read (`conformance/replay.ts`).
 *
 * @module
 */

import { slotKeyOfType } from "./conflicting.ts";
import { messageKey } from "./message_key.ts";
import type { NodeIndex, SpecMessage, Value } from "./spec_state.ts";

/** A message type. */
export type SpecMessageType = SpecMessage["type"];

/** The message interface whose `type` can be `T` (Prepare: the vote messages), values `V`. */
export type MessageOfType<T extends SpecMessageType, V extends Value = number> =
  SpecMessage<V> extends infer M ? M extends SpecMessage<V> ? T extends M["type"] ? M : never
    : never
    : never;

/** Every message type, in a fixed order. */
export const SPEC_MESSAGE_TYPES: readonly SpecMessageType[] = [
  "Assign",
  "StageOutput",
  "PrePrepare",
  "Prepare",
  "Commit",
  "Checkpoint",
  "ViewChange",
  "NewView",
];

/**
 * The signed messages a node has received (and sent), without duplicates, read by type. The set
 * only grows while a node runs: what `ofType` returned keeps its entries, in the order received.
 */
export interface ReceivedMessages<V extends Value = number> {
  /**
   * The messages of one type, in the order received. The result is shared: do not change it.
   *
   * @param type The message type.
   * @returns The messages of that type.
   */
  ofType<T extends SpecMessageType>(type: T): readonly MessageOfType<T, V>[];
  /**
   * The signers with two messages of one type for one slot (`slotKeyOfType`): the only ones
   * `Conflicting` can hold for. Optional: a set that keeps it as messages arrive lets
   * `ExcludeNode` skip its scan of every message; where it is absent the core scans.
   */
  readonly twiceInASlot?: () => ReadonlySet<NodeIndex>;
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * An append-only set of messages indexed by type: what a node has received, or what a network
 * carried. Equal messages (the same canonical key, {@linkcode messageKey}) are kept once.
 *
 * @example Usage
 * ```ts
 * import { MessageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * const log = new MessageLog([{ type: "Prepare", view: 0, value: 1, from: 2 }]);
 * assert.ok(!log.add({ type: "Prepare", view: 0, value: 1, from: 2 }));
 * assert.ok(log.add({ type: "Commit", view: 0, value: 1, from: 2 }));
 * assert.equal(log.ofType("Prepare").length, 1);
 * assert.equal(log.size, 2);
 * ```
 */
export class MessageLog<V extends Value = number> implements ReceivedMessages<V> {
  readonly #all: SpecMessage<V>[] = [];
  readonly #keys = new Set<string>();
  readonly #byType = new Map<SpecMessageType, SpecMessage<V>[]>();
  // Each (type, signer, slot) held, and the signers holding one twice.
  readonly #slots = new Set<string>();
  readonly #twice = new Set<NodeIndex>();

  /**
   * A log holding `messages` (duplicates once).
   *
   * @param messages The first messages, in order.
   */
  constructor(messages: Iterable<SpecMessage<V>> = []) {
    for (const message of messages) this.add(message);
  }

  /**
   * Appends a message unless an equal one is there.
   *
   * @param message The message.
   * @returns Whether it was new.
   */
  add(message: SpecMessage<V>): boolean {
    const key = messageKey(message);
    if (this.#keys.has(key)) return false;
    this.#keys.add(key);
    this.#all.push(message);
    const list = this.#byType.get(message.type);
    if (list === undefined) this.#byType.set(message.type, [message]);
    else list.push(message);
    const slot = `${message.type}|${message.from}|${slotKeyOfType(message)}`;
    if (this.#slots.has(slot)) this.#twice.add(message.from);
    else this.#slots.add(slot);
    return true;
  }

  /**
   * The signers with two messages of one type for one slot, kept as messages are added.
   *
   * @returns The signers (shared: do not change it).
   */
  twiceInASlot(): ReadonlySet<NodeIndex> {
    return this.#twice;
  }

  /**
   * Whether an equal message is in the log.
   *
   * @param message The message.
   * @returns `true` if one with the same canonical key was added.
   */
  has(message: SpecMessage<V>): boolean {
    return this.#keys.has(messageKey(message));
  }

  /** How many messages the log holds. */
  get size(): number {
    return this.#all.length;
  }

  /**
   * Every message, in the order added. Shared: do not change it.
   *
   * @returns The messages.
   */
  all(): readonly SpecMessage<V>[] {
    return this.#all;
  }

  /**
   * The messages of one type, in the order added. Shared: do not change it.
   *
   * @param type The message type.
   * @returns The messages of that type.
   */
  ofType<T extends SpecMessageType>(type: T): readonly MessageOfType<T, V>[] {
    return (this.#byType.get(type) ?? NONE) as readonly MessageOfType<T, V>[];
  }
}

/**
 * A {@linkcode MessageLog} of `messages`: a shorthand for examples and tests.
 *
 * @param messages The messages.
 * @returns The log.
 *
 * @example Usage
 * ```ts
 * import { messageLog } from "@butterfly/bcp/core";
 * import assert from "node:assert/strict";
 * assert.equal(messageLog([]).size, 0);
 * ```
 */
export function messageLog<V extends Value = number>(
  messages: Iterable<SpecMessage<V>> = [],
): MessageLog<V> {
  return new MessageLog(messages);
}
