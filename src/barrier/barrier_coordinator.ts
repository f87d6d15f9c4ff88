/**
 * The aggregation barrier of BCP: per epoch, wait until every expected participant has
 * arrived. Duplicates are ignored, arrivals from an old epoch are rejected, arrivals one epoch
 * early are held for the next barrier, and a timeout reports exactly which nodes are missing.
 * Pure: time comes from an injected clock and nothing here sets timers.
 *
 * @module
 */

import type { NodeId } from "../core/types.ts";
import { requireKind } from "../core/_arguments.ts";

/** Most participants one barrier accepts. */
export const BARRIER_PARTICIPANTS_MAX = 4096;

/** Options of {@linkcode BarrierCoordinator}. */
export interface BarrierCoordinatorOptions {
  /** The clock, in milliseconds. Default `Date.now`. */
  readonly clock?: () => number;
  /** How long a barrier waits after `begin` before it times out, in ms. Default 5000. */
  readonly timeoutMs?: number;
}

/** What became of an arrival. */
export type ArrivalOutcome =
  /** Counted; others are still missing. */
  | { readonly kind: "waiting"; readonly missing: readonly NodeId[] }
  /** Counted, and it was the last one: the barrier is complete. */
  | { readonly kind: "complete" }
  /** This node already arrived for this epoch; ignored. */
  | { readonly kind: "duplicate" }
  /** For an epoch before the current one; rejected. */
  | { readonly kind: "stale"; readonly currentEpoch: number }
  /** For the next epoch; held until it begins. */
  | { readonly kind: "early" }
  /** For an epoch further ahead than the next one; rejected. */
  | { readonly kind: "tooEarly"; readonly currentEpoch: number }
  /** From a node that is not an expected participant; rejected. */
  | { readonly kind: "notParticipant" }
  /** The current barrier already timed out or completed; ignored. */
  | { readonly kind: "closed" };

/** The state of the current barrier. */
export type BarrierStatus =
  | { readonly kind: "idle" }
  | {
    readonly kind: "waiting";
    readonly epoch: number;
    readonly missing: readonly NodeId[];
    readonly remainingMs: number;
  }
  | { readonly kind: "complete"; readonly epoch: number }
  | { readonly kind: "timedOut"; readonly epoch: number; readonly missing: readonly NodeId[] };

/**
 * A barrier per epoch over a fixed set of participants.
 *
 * @example A barrier that completes, and one that times out
 * ```ts
 * import { BarrierCoordinator } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 *
 * let nowMs = 0;
 * const barrier = new BarrierCoordinator(["a", "b", "c"], { clock: () => nowMs, timeoutMs: 500 });
 * barrier.begin(1);
 * barrier.arrive("a", 1);
 * barrier.arrive("b", 1);
 * assert.deepEqual(barrier.arrive("c", 1), { kind: "complete" });
 *
 * barrier.begin(2);
 * barrier.arrive("b", 2);
 * nowMs += 600;
 * assert.deepEqual(barrier.status(), { kind: "timedOut", epoch: 2, missing: ["a", "c"] });
 * ```
 */
export class BarrierCoordinator {
  /** The expected participants, sorted. */
  readonly participants: readonly NodeId[];
  /** The timeout of each barrier, in ms. */
  readonly timeoutMs: number;
  readonly #clock: () => number;
  readonly #participantSet: ReadonlySet<NodeId>;
  #epoch = -1;
  #startedMs = 0;
  #arrived = new Set<NodeId>();
  #early = new Set<NodeId>();
  #closed: "complete" | "timedOut" | undefined;
  #missingAtTimeout: readonly NodeId[] = [];

  /**
   * Creates a coordinator; no barrier is open until {@linkcode BarrierCoordinator.begin}.
   *
   * @param participants The nodes expected at every barrier (no repeats, at least one).
   * @param options Clock and timeout.
   * @throws {RangeError} If the participants repeat, are empty or too many, or the timeout is not positive.
   */
  constructor(participants: readonly NodeId[], options: BarrierCoordinatorOptions = {}) {
    requireKind("participants", participants, "array");
    requireKind("options", options, "object");
    const unique = new Set(participants);
    if (unique.size !== participants.length) {
      throw new RangeError("participants must not repeat a node");
    }
    if (unique.size === 0 || unique.size > BARRIER_PARTICIPANTS_MAX) {
      throw new RangeError(
        `A barrier needs between 1 and ${BARRIER_PARTICIPANTS_MAX} participants, got ${unique.size}`,
      );
    }
    const timeoutMs = options.timeoutMs ?? 5000;
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) {
      throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    }
    this.participants = [...unique].sort();
    this.#participantSet = unique;
    this.timeoutMs = timeoutMs;
    this.#clock = options.clock ?? Date.now;
  }

  /** The epoch of the current barrier, or -1 before the first. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Opens the barrier of `epoch`, which must come after the current one. Arrivals held as early
   * for this epoch count at once.
   *
   * @param epoch The new epoch (an integer above the current one).
   * @returns The barrier's status right after opening.
   * @throws {RangeError} If `epoch` does not come after the current epoch.
   *
   * @example Usage
   * ```ts
   * import { BarrierCoordinator } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const barrier = new BarrierCoordinator(["a", "b"], { clock: () => 0 });
   * assert.deepEqual(barrier.arrive("a", 0), { kind: "early" });
   * assert.deepEqual(barrier.begin(0), { kind: "waiting", epoch: 0, missing: ["b"], remainingMs: 5000 });
   * ```
   */
  begin(epoch: number): BarrierStatus {
    if (!Number.isSafeInteger(epoch) || epoch <= this.#epoch) {
      throw new RangeError(`Epoch ${epoch} does not come after the current epoch ${this.#epoch}`);
    }
    const early = epoch === this.#epoch + 1 ? this.#early : new Set<NodeId>();
    this.#epoch = epoch;
    this.#startedMs = this.#clock();
    this.#arrived = early;
    this.#early = new Set();
    this.#closed = this.#arrived.size === this.participants.length ? "complete" : undefined;
    return this.status();
  }

  /**
   * Records that `node` reached the barrier of `epoch`.
   *
   * @param node The arriving node (authenticated by the caller).
   * @param epoch The epoch it arrived for.
   * @returns What became of the arrival.
   *
   * @example Duplicates and stale arrivals
   * ```ts
   * import { BarrierCoordinator } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const barrier = new BarrierCoordinator(["a", "b"], { clock: () => 0 });
   * barrier.begin(3);
   * assert.deepEqual(barrier.arrive("a", 3), { kind: "waiting", missing: ["b"] });
   * assert.deepEqual(barrier.arrive("a", 3), { kind: "duplicate" });
   * assert.deepEqual(barrier.arrive("b", 2), { kind: "stale", currentEpoch: 3 });
   * ```
   */
  arrive(node: NodeId, epoch: number): ArrivalOutcome {
    if (!this.#participantSet.has(node)) return { kind: "notParticipant" };
    if (epoch < this.#epoch) return { kind: "stale", currentEpoch: this.#epoch };
    if (epoch === this.#epoch + 1) {
      if (this.#early.has(node)) return { kind: "duplicate" };
      this.#early.add(node);
      return { kind: "early" };
    }
    if (epoch !== this.#epoch) return { kind: "tooEarly", currentEpoch: this.#epoch };
    if (this.#arrived.has(node)) return { kind: "duplicate" };
    if (this.#checkTimeout() !== undefined) return { kind: "closed" };
    this.#arrived.add(node);
    const missing = this.#missing();
    if (missing.length === 0) {
      this.#closed = "complete";
      return { kind: "complete" };
    }
    return { kind: "waiting", missing };
  }

  /**
   * The current barrier's state, checking the clock for a timeout. Once timed out, the missing
   * list is frozen: late arrivals do not change it.
   *
   * @returns The status.
   *
   * @example Usage
   * ```ts
   * import { BarrierCoordinator } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * assert.deepEqual(new BarrierCoordinator(["a"]).status(), { kind: "idle" });
   * ```
   */
  status(): BarrierStatus {
    if (this.#epoch < 0) return { kind: "idle" };
    const closed = this.#checkTimeout();
    if (closed === "complete") return { kind: "complete", epoch: this.#epoch };
    if (closed === "timedOut") {
      return { kind: "timedOut", epoch: this.#epoch, missing: this.#missingAtTimeout };
    }
    const remainingMs = this.timeoutMs - (this.#clock() - this.#startedMs);
    return { kind: "waiting", epoch: this.#epoch, missing: this.#missing(), remainingMs };
  }

  #checkTimeout(): "complete" | "timedOut" | undefined {
    if (this.#closed === undefined && this.#clock() - this.#startedMs >= this.timeoutMs) {
      this.#closed = "timedOut";
      this.#missingAtTimeout = this.#missing();
    }
    return this.#closed;
  }

  #missing(): NodeId[] {
    return this.participants.filter((node) => !this.#arrived.has(node));
  }
}
