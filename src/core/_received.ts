// The received messages of one type, for guards that read only that type (a vote tally reads
// the Commits, a checkpoint quorum the Checkpoints). Guards read the received set only through
// `ofType`; the trace replayer relies on it (see `beginReads` and `indexOnly`) to know which
// actions' enabledness a new message can change.
//
// A node's received set only grows (the simulator's and the replayer's network is one array
// they append to), so the index of an array is kept between calls, by the array's identity, and
// extended by the messages appended since; an array that shrank, or whose last indexed message
// is no longer where it was, is indexed again from the start. Held weakly: an array no longer
// used is collected with its index.
import type { SpecMessage } from "./spec_state.ts";

/** The message interface whose `type` can be `T` (Prepare: the vote messages). */
export type MessageOfType<T extends SpecMessage["type"]> = SpecMessage extends infer M
  ? M extends SpecMessage ? T extends M["type"] ? M : never : never
  : never;

/** Every message type, in a fixed order: type `MESSAGE_TYPES[k]` is bit `k` of a read mask. */
export const MESSAGE_TYPES: readonly SpecMessage["type"][] = [
  "Assign",
  "StageOutput",
  "PrePrepare",
  "Prepare",
  "Commit",
  "Checkpoint",
  "ViewChange",
  "NewView",
];

const TYPE_BIT: Readonly<Record<string, number>> = Object.fromEntries(
  MESSAGE_TYPES.map((type, index) => [type, 1 << index]),
);

interface Index {
  /** How many of the array's messages are indexed. */
  count: number;
  /** The last message indexed (`array[count - 1]` when the index is current). */
  last: SpecMessage | undefined;
  /** The messages indexed, by type, in the array's order. */
  readonly byType: Map<string, SpecMessage[]>;
}

const INDEXES = new WeakMap<readonly SpecMessage[], Index>();

// Facades made by `indexOnly`, to the arrays they stand for.
const BACKING = new WeakMap<readonly SpecMessage[], readonly SpecMessage[]>();

const NONE: readonly never[] = Object.freeze([]);

// The types read since `beginReads`, or -1 when nothing is being tracked.
let reads = -1;

/**
 * The messages of `received` of one type, in `received`'s order. The result is shared: do not
 * change it.
 */
export function ofType<T extends SpecMessage["type"]>(
  received: readonly SpecMessage[],
  type: T,
): readonly MessageOfType<T>[] {
  if (reads >= 0) reads |= TYPE_BIT[type] as number;
  const array = BACKING.get(received) ?? received;
  let index = INDEXES.get(array);
  if (
    index === undefined || array.length < index.count ||
    (index.count > 0 && array[index.count - 1] !== index.last)
  ) {
    index = { count: 0, last: undefined, byType: new Map() };
    INDEXES.set(array, index);
  }
  for (let at = index.count; at < array.length; at++) {
    const message = array[at] as SpecMessage;
    const list = index.byType.get(message.type);
    if (list === undefined) index.byType.set(message.type, [message]);
    else list.push(message);
  }
  if (array.length > index.count) {
    index.count = array.length;
    index.last = array[array.length - 1];
  }
  return (index.byType.get(type) ?? NONE) as readonly MessageOfType<T>[];
}

/**
 * Starts recording which message types {@linkcode ofType} is asked for, until
 * {@linkcode endReads}. Not reentrant.
 */
export function beginReads(): void {
  if (reads >= 0) throw new Error("beginReads() while reads are already recorded");
  reads = 0;
}

/**
 * Stops recording (see {@linkcode beginReads}).
 *
 * @returns The types read since, as a mask over {@linkcode MESSAGE_TYPES}.
 */
export function endReads(): number {
  const mask = reads;
  reads = -1;
  return mask < 0 ? 0 : mask;
}

/**
 * A stand-in for `messages` that {@linkcode ofType} reads as `messages` and that throws on any
 * other read, so that a guard reading the received set around `ofType` (which would hide what it
 * depends on from {@linkcode readsOf}) fails loudly instead.
 */
export function indexOnly(messages: readonly SpecMessage[]): readonly SpecMessage[] {
  const refuse = (what: string): never => {
    throw new Error(
      `A guard read the received messages (${what}) other than through ofType() (src/core/_received.ts)`,
    );
  };
  const facade = new Proxy([] as SpecMessage[], {
    get: (_target, property) => refuse(`property ${String(property)}`),
    has: (_target, property) => refuse(`property ${String(property)}`),
    ownKeys: () => refuse("its keys"),
    getOwnPropertyDescriptor: (_target, property) => refuse(`property ${String(property)}`),
  });
  BACKING.set(facade, messages);
  return facade;
}
