/**
 * The received set the trace replayer hands the core: the system's network (the spec's `msgs`,
 * one array that only grows) indexed by type, extended as the array grows, and recording which
 * types the guards read. The replayer's enabledness cache relies on it: an action's enabled
 * instances can only change when the node changes or a message of a type its guards and
 * candidates read arrives.
 *
 * @module
 */

import {
  type MessageOfType,
  type ReceivedMessages,
  SPEC_MESSAGE_TYPES,
  type SpecMessageType,
} from "../src/core/received.ts";
import type { SpecMessage } from "../src/core/spec_state.ts";

const TYPE_BIT: Readonly<Record<string, number>> = Object.fromEntries(
  SPEC_MESSAGE_TYPES.map((type, index) => [type, 1 << index]),
);

/** Every type's bit of a read mask (over {@linkcode SPEC_MESSAGE_TYPES}). */
export const ALL_TYPES: number = (1 << SPEC_MESSAGE_TYPES.length) - 1;

const NONE: readonly never[] = Object.freeze([]);

/**
 * A type's bit of a read mask.
 *
 * @param type The type.
 * @returns `1 << k` for `SPEC_MESSAGE_TYPES[k]`.
 */
export function typeBit(type: SpecMessageType): number {
  return TYPE_BIT[type] as number;
}

/**
 * The messages of an array that only grows, read by type; between
 * {@linkcode NetworkReads.startReads} and {@linkcode NetworkReads.stopReads} it records which
 * types were read. An array that shrank, or whose last indexed message is no longer where it
 * was, is indexed again from the start.
 */
export class NetworkReads implements ReceivedMessages {
  readonly #messages: readonly SpecMessage[];
  #count = 0;
  #last: SpecMessage | undefined;
  #byType = new Map<SpecMessageType, SpecMessage[]>();
  #reads = -1;

  /**
   * A view of `messages`, which the caller appends to.
   *
   * @param messages The network.
   */
  constructor(messages: readonly SpecMessage[]) {
    this.#messages = messages;
  }

  /**
   * The messages of one type, in the array's order (shared: do not change them).
   *
   * @param type The type.
   * @returns Its messages.
   */
  ofType<T extends SpecMessageType>(type: T): readonly MessageOfType<T>[] {
    if (this.#reads >= 0) this.#reads |= TYPE_BIT[type] as number;
    return this.#index(type) as readonly MessageOfType<T>[];
  }

  /**
   * How many messages of a type there are, not recorded as a read.
   *
   * @param type The type.
   * @returns The count.
   */
  count(type: SpecMessageType): number {
    return this.#index(type).length;
  }

  /**
   * Starts recording which types are read, forgetting what was recorded before.
   *
   * @returns Nothing.
   */
  startReads(): void {
    this.#reads = 0;
  }

  /**
   * Stops recording.
   *
   * @returns The types read since {@linkcode NetworkReads.startReads}, a mask over
   * {@linkcode SPEC_MESSAGE_TYPES} (0 when nothing was recorded).
   */
  stopReads(): number {
    const reads = this.#reads;
    this.#reads = -1;
    return reads < 0 ? 0 : reads;
  }

  #index(type: SpecMessageType): readonly SpecMessage[] {
    const array = this.#messages;
    if (
      array.length < this.#count ||
      (this.#count > 0 && array[this.#count - 1] !== this.#last)
    ) {
      this.#count = 0;
      this.#last = undefined;
      this.#byType = new Map();
    }
    for (let at = this.#count; at < array.length; at++) {
      const message = array[at] as SpecMessage;
      const list = this.#byType.get(message.type);
      if (list === undefined) this.#byType.set(message.type, [message]);
      else list.push(message);
    }
    if (array.length > this.#count) {
      this.#count = array.length;
      this.#last = array[array.length - 1];
    }
    return this.#byType.get(type) ?? NONE;
  }
}
