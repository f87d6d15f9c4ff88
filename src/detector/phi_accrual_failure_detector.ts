/**
 * The phi accrual failure detector of Hayashibara et al. (SRDS 2004), as Akka implements it.
 * Instead of a yes/no verdict it reports phi, the suspicion level:
 *
 *     phi(t) = -log10(1 - F(t - lastHeartbeat))
 *
 * where F is the normal distribution fitted to the recent heartbeat inter-arrival times, its mean
 * raised by an acceptable heartbeat pause and its standard deviation floored at a minimum. phi 8
 * means that, were the node alive, a silence this long would happen with probability 1e-8.
 * The seed had phi = -log10(F): infinite right after a heartbeat and zero for a silent node.
 *
 * Pure: time comes from an injected clock, and nothing here touches timers or the network.
 *
 * @module
 */

import type { NodeId } from "../core/types.ts";
import { requireKind } from "../core/_arguments.ts";

/** Default size of the inter-arrival sample window per node (Akka's `max-sample-size`). */
export const DETECTOR_SAMPLES_MAX = 1000;
/** Default bound on the number of nodes one detector tracks. */
export const DETECTOR_NODES_MAX = 4096;

/** What the detector can say about a node. */
export type NodeHealth = "unknown" | "alive" | "suspected" | "failed";

/** Options of {@linkcode PhiAccrualFailureDetector}; every field has a default. */
export interface PhiAccrualFailureDetectorOptions {
  /** The clock, in milliseconds; use a monotonic one (`performance.now`). Default `Date.now`. */
  readonly clock?: () => number;
  /**
   * Extra silence tolerated before suspicion grows, added to the mean inter-arrival time
   * (Akka's `acceptable-heartbeat-pause`). Default: three base intervals, Akka's ratio (3 s for
   * its 1 s heartbeats), which rides out most GC-like pauses. The seed's "detection in about
   * 300 ms" needs 0 here, and then every pause above about 200 ms is suspected: see
   * `bench/detector_report.ts` for both sides of that trade.
   */
  readonly acceptableHeartbeatPauseMs?: number;
  /**
   * Floor of the standard deviation (Akka's `min-std-deviation`), so that a perfectly regular
   * history does not make the detector trigger-happy. Default: a tenth of the base interval,
   * Akka's ratio (100 ms for its 1 s heartbeats).
   */
  readonly minStdDeviationMs?: number;
  /** Inter-arrival samples kept per node (a sliding window). Default {@linkcode DETECTOR_SAMPLES_MAX}. */
  readonly samplesMax?: number;
  /** Nodes tracked at most; recording one more throws. Default {@linkcode DETECTOR_NODES_MAX}. */
  readonly nodesMax?: number;
  /**
   * Estimate of the first inter-arrival time, used before real samples exist (Akka's bootstrap:
   * two samples at mean +- mean / 4). Default: the base interval.
   */
  readonly firstHeartbeatEstimateMs?: number;
}

/** Raised when asking for the verdict on a node that never sent a heartbeat. */
export class UnknownNodeError extends Error {
  /** The node that has no heartbeat history. */
  readonly node: NodeId;
  /** Creates the error for `node`. */
  constructor(node: NodeId) {
    super(
      `Node ${
        JSON.stringify(node)
      } has never sent a heartbeat, so it is neither alive nor suspected`,
    );
    this.name = "UnknownNodeError";
    this.node = node;
  }
}

/** A fixed-size window of inter-arrival times with running sums for mean and variance. */
class IntervalWindow {
  readonly #samples: Float64Array;
  #start = 0;
  #count = 0;
  #sum = 0;
  #sumOfSquares = 0;

  constructor(capacity: number) {
    this.#samples = new Float64Array(capacity);
  }

  add(intervalMs: number): void {
    const capacity = this.#samples.length;
    if (this.#count === capacity) {
      const dropped = this.#samples[this.#start]!;
      this.#sum -= dropped;
      this.#sumOfSquares -= dropped * dropped;
      this.#samples[this.#start] = intervalMs;
      this.#start = (this.#start + 1) % capacity;
    } else {
      this.#samples[(this.#start + this.#count) % capacity] = intervalMs;
      this.#count++;
    }
    this.#sum += intervalMs;
    this.#sumOfSquares += intervalMs * intervalMs;
  }

  get mean(): number {
    return this.#sum / this.#count;
  }

  get stdDeviation(): number {
    const mean = this.mean;
    // Running sums can leave a tiny negative variance from rounding; it is zero.
    return Math.sqrt(Math.max(0, this.#sumOfSquares / this.#count - mean * mean));
  }
}

interface NodeHistory {
  lastHeartbeatMs: number;
  readonly intervals: IntervalWindow;
}

/**
 * Phi accrual failure detector: call `recordHeartbeat(node)` on each heartbeat and ask
 * `phi(node)`, `isSuspected(node)` or `isFailed(node)` whenever a verdict is needed.
 *
 * @example The seed's example, with a simulated clock
 * ```ts
 * import { PhiAccrualFailureDetector } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 *
 * let nowMs = 0;
 * const detector = new PhiAccrualFailureDetector(100, 8, 12, { clock: () => nowMs });
 * for (let i = 0; i < 20; i++) {
 *   detector.recordHeartbeat("node-0");
 *   nowMs += 100;
 * }
 * assert.equal(detector.isSuspected("node-0"), false);
 * nowMs += 1_000; // a second of silence
 * assert.equal(detector.isSuspected("node-0"), true);
 * console.log(`Node 0 suspected of failure (phi = ${detector.phi("node-0")?.toFixed(1)})`);
 * ```
 */
export class PhiAccrualFailureDetector {
  /** The expected heartbeat interval, in milliseconds. */
  readonly baseIntervalMs: number;
  /** Phi at or above which a node is suspected. */
  readonly phiSuspect: number;
  /** Phi at or above which a node is declared failed. */
  readonly phiFailed: number;
  /** Extra silence tolerated before suspicion grows, in milliseconds. */
  readonly acceptableHeartbeatPauseMs: number;
  /** Floor of the inter-arrival standard deviation, in milliseconds. */
  readonly minStdDeviationMs: number;
  /** Inter-arrival samples kept per node. */
  readonly samplesMax: number;
  /** Nodes tracked at most. */
  readonly nodesMax: number;
  readonly #firstHeartbeatEstimateMs: number;
  readonly #clock: () => number;
  readonly #histories = new Map<NodeId, NodeHistory>();

  /**
   * Creates a detector.
   *
   * @param baseIntervalMs The heartbeat interval the nodes use, in milliseconds (> 0).
   * @param phiSuspect Suspicion threshold (seed default 8).
   * @param phiFailed Failure threshold (seed default 12), at least `phiSuspect`.
   * @param options Clock, pause, minimum deviation, window and bounds.
   * @throws {RangeError} If a parameter is not a positive finite number or suspect > failed.
   * @throws {TypeError} If `clock` is given and is not a function.
   */
  constructor(
    baseIntervalMs: number,
    phiSuspect: number,
    phiFailed: number,
    options: PhiAccrualFailureDetectorOptions = {},
  ) {
    requirePositive("baseIntervalMs", baseIntervalMs);
    requirePositive("phiSuspect", phiSuspect);
    requirePositive("phiFailed", phiFailed);
    if (phiSuspect > phiFailed) {
      throw new RangeError(`phiSuspect (${phiSuspect}) must not exceed phiFailed (${phiFailed})`);
    }
    this.baseIntervalMs = baseIntervalMs;
    this.phiSuspect = phiSuspect;
    this.phiFailed = phiFailed;
    this.acceptableHeartbeatPauseMs = options.acceptableHeartbeatPauseMs ?? 3 * baseIntervalMs;
    if (
      !(this.acceptableHeartbeatPauseMs >= 0 && Number.isFinite(this.acceptableHeartbeatPauseMs))
    ) {
      throw new RangeError(
        `acceptableHeartbeatPauseMs must be a non-negative finite number, got ${this.acceptableHeartbeatPauseMs}`,
      );
    }
    this.minStdDeviationMs = options.minStdDeviationMs ?? baseIntervalMs / 10;
    requirePositive("minStdDeviationMs", this.minStdDeviationMs);
    this.samplesMax = options.samplesMax ?? DETECTOR_SAMPLES_MAX;
    requirePositiveInteger("samplesMax", this.samplesMax);
    this.nodesMax = options.nodesMax ?? DETECTOR_NODES_MAX;
    requirePositiveInteger("nodesMax", this.nodesMax);
    this.#firstHeartbeatEstimateMs = options.firstHeartbeatEstimateMs ?? baseIntervalMs;
    requirePositive("firstHeartbeatEstimateMs", this.#firstHeartbeatEstimateMs);
    // A plain-JavaScript caller may pass anything: refuse it here, not at the first heartbeat.
    if (options.clock !== undefined && typeof options.clock !== "function") {
      throw new TypeError(
        `clock must be a function returning milliseconds, got ${typeof options.clock}`,
      );
    }
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Records a heartbeat from `node` at the clock's current time.
   *
   * @param node The node the heartbeat came from (authenticated by the caller).
   * @throws {RangeError} If the clock went backwards or `nodesMax` nodes are already tracked.
   *
   * @example Usage
   * ```ts
   * import { PhiAccrualFailureDetector } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const detector = new PhiAccrualFailureDetector(100, 8, 12, { clock: () => 0 });
   * detector.recordHeartbeat("node-1");
   * assert.equal(detector.health("node-1"), "alive");
   * ```
   */
  recordHeartbeat(node: NodeId): void {
    const nowMs = this.#clock();
    const history = this.#histories.get(node);
    if (history === undefined) {
      if (this.#histories.size >= this.nodesMax) {
        throw new RangeError(`Cannot track more than ${this.nodesMax} nodes (nodesMax)`);
      }
      const intervals = new IntervalWindow(this.samplesMax);
      // Akka's bootstrap: until real samples exist, pretend two inter-arrivals were seen at
      // estimate -+ estimate / 4, so phi is defined from the first heartbeat on.
      const estimateMs = this.#firstHeartbeatEstimateMs;
      intervals.add(estimateMs - estimateMs / 4);
      intervals.add(estimateMs + estimateMs / 4);
      this.#histories.set(node, { lastHeartbeatMs: nowMs, intervals });
      return;
    }
    const intervalMs = nowMs - history.lastHeartbeatMs;
    if (intervalMs < 0) {
      throw new RangeError(`Clock went backwards by ${-intervalMs} ms; use a monotonic clock`);
    }
    history.intervals.add(intervalMs);
    history.lastHeartbeatMs = nowMs;
  }

  /**
   * The suspicion level of `node` now: -log10 of the probability that a live node stays silent
   * this long. Near 0 right after a heartbeat, growing without bound with silence.
   *
   * @param node The node.
   * @returns phi (>= 0, finite), or `undefined` if the node never sent a heartbeat.
   *
   * @example Usage
   * ```ts
   * import { PhiAccrualFailureDetector } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * let nowMs = 0;
   * const detector = new PhiAccrualFailureDetector(100, 8, 12, { clock: () => nowMs });
   * assert.equal(detector.phi("node-1"), undefined);
   * detector.recordHeartbeat("node-1");
   * assert.ok(detector.phi("node-1")! < 0.01);
   * nowMs = 1_000;
   * assert.ok(detector.phi("node-1")! > 8);
   * ```
   */
  phi(node: NodeId): number | undefined {
    const history = this.#histories.get(node);
    if (history === undefined) return undefined;
    const elapsedMs = this.#clock() - history.lastHeartbeatMs;
    const meanMs = history.intervals.mean + this.acceptableHeartbeatPauseMs;
    const stdDeviationMs = Math.max(history.intervals.stdDeviation, this.minStdDeviationMs);
    return phiOfSilence(elapsedMs, meanMs, stdDeviationMs);
  }

  /**
   * The verdict on `node`: `"unknown"` if it never sent a heartbeat, else by phi against the
   * thresholds.
   *
   * @param node The node.
   * @returns `"unknown"`, `"alive"`, `"suspected"` (phi >= phiSuspect) or `"failed"` (phi >= phiFailed).
   *
   * @example Usage
   * ```ts
   * import { PhiAccrualFailureDetector } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const detector = new PhiAccrualFailureDetector(100, 8, 12, { clock: () => 0 });
   * assert.equal(detector.health("node-9"), "unknown");
   * ```
   */
  health(node: NodeId): NodeHealth {
    const phi = this.phi(node);
    if (phi === undefined) return "unknown";
    if (phi >= this.phiFailed) return "failed";
    if (phi >= this.phiSuspect) return "suspected";
    return "alive";
  }

  /**
   * Whether `node` is suspected: phi >= phiSuspect (a failed node is also suspected).
   *
   * @param node The node.
   * @returns `true` if suspected.
   * @throws {UnknownNodeError} If the node never sent a heartbeat: it is not known to be alive.
   *
   * @example Usage
   * ```ts
   * import { PhiAccrualFailureDetector } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * let nowMs = 0;
   * const detector = new PhiAccrualFailureDetector(100, 8, 12, { clock: () => nowMs });
   * detector.recordHeartbeat("node-1");
   * assert.equal(detector.isSuspected("node-1"), false);
   * nowMs = 10_000;
   * assert.equal(detector.isSuspected("node-1"), true);
   * assert.throws(() => detector.isSuspected("node-2"), /never sent a heartbeat/);
   * ```
   */
  isSuspected(node: NodeId): boolean {
    const phi = this.phi(node);
    if (phi === undefined) throw new UnknownNodeError(node);
    return phi >= this.phiSuspect;
  }

  /**
   * Whether `node` is declared failed: phi >= phiFailed.
   *
   * @param node The node.
   * @returns `true` if failed.
   * @throws {UnknownNodeError} If the node never sent a heartbeat.
   *
   * @example Usage
   * ```ts
   * import { PhiAccrualFailureDetector } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * let nowMs = 0;
   * const detector = new PhiAccrualFailureDetector(100, 8, 12, { clock: () => nowMs });
   * detector.recordHeartbeat("node-1");
   * nowMs = 10_000;
   * assert.equal(detector.isFailed("node-1"), true);
   * ```
   */
  isFailed(node: NodeId): boolean {
    const phi = this.phi(node);
    if (phi === undefined) throw new UnknownNodeError(node);
    return phi >= this.phiFailed;
  }

  /**
   * Forgets `node` (for example after it left the cluster), freeing its slot.
   *
   * @param node The node.
   * @returns `true` if the node was tracked.
   *
   * @example Usage
   * ```ts
   * import { PhiAccrualFailureDetector } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const detector = new PhiAccrualFailureDetector(100, 8, 12, { clock: () => 0 });
   * detector.recordHeartbeat("node-1");
   * assert.equal(detector.remove("node-1"), true);
   * assert.equal(detector.health("node-1"), "unknown");
   * ```
   */
  remove(node: NodeId): boolean {
    return this.#histories.delete(node);
  }
}

/**
 * phi for a silence of `elapsedMs` under a normal distribution of inter-arrival times:
 * -log10(1 - F(elapsedMs)) = -log10(Q(y)) with y = (elapsedMs - meanMs) / stdDeviationMs and
 * Q the standard normal tail. Computed in log space, so it stays finite and accurate for any
 * silence (a naive 1 - F rounds to 0 beyond y of about 8, giving phi = Infinity).
 *
 * @param elapsedMs Time since the last heartbeat.
 * @param meanMs Mean inter-arrival time (including any acceptable pause).
 * @param stdDeviationMs Standard deviation of the inter-arrival time (> 0).
 * @returns phi, >= 0.
 *
 * @example Usage
 * ```ts
 * import { phiOfSilence } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 * // At the mean, half of live nodes would still be silent: phi = log10(2).
 * assert.ok(Math.abs(phiOfSilence(100, 100, 10) - Math.log10(2)) < 1e-6);
 * ```
 */
export function phiOfSilence(elapsedMs: number, meanMs: number, stdDeviationMs: number): number {
  const y = (elapsedMs - meanMs) / stdDeviationMs;
  if (y >= 0) return -logNormalTail(y) / Math.LN10;
  // Q(y) = 1 - Q(-y) is close to 1 here; log1p keeps phi accurate near 0.
  return Math.max(0, -Math.log1p(-Math.exp(logNormalTail(-y))) / Math.LN10);
}

/**
 * ln Q(y) for y >= 0, where Q(y) = erfc(y / sqrt 2) / 2, using the Chebyshev fit of erfc from
 * Numerical Recipes (fractional error below 1.2e-7 everywhere), kept in log space.
 */
function logNormalTail(y: number): number {
  const z = y / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const polynomial = -z * z - 1.26551223 +
    t * (1.00002368 +
        t * (0.37409196 +
            t * (0.09678418 +
                t * (-0.18628806 +
                    t * (0.27886807 +
                        t *
                          (-1.13520398 +
                            t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(0.5) + Math.log(t) + polynomial;
}

function requirePositive(name: string, value: number): void {
  requireKind(name, value, "number");
  if (!(value > 0 && Number.isFinite(value))) {
    throw new RangeError(`${name} must be a positive finite number, got ${value}`);
  }
}

function requirePositiveInteger(name: string, value: number): void {
  requireKind(name, value, "number");
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}
