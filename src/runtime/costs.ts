/**
 * Where a node's time goes, per inference: the model, the core's steps, the disk (the durable
 * fields, and the log of signed messages), encoding, signing, verifying and waiting in the
 * inference's queue. The node logs the totals with
 * `inference committed`, so that a benchmark (`bench/cluster_report.ts`) shows per token what a
 * change made dearer. Heartbeats (inference 0) are not counted.
 *
 * @module
 */

/** What a node spends time on. */
export const COST_KINDS = [
  "compute",
  "step",
  "persist",
  "log",
  "encode",
  "sign",
  "verify",
  "queue",
] as const;

/** One of {@linkcode COST_KINDS}. */
export type CostKind = typeof COST_KINDS[number];

/** An inference's totals, in milliseconds, and how many core steps it took. */
export type Costs = { readonly [K in CostKind]: number } & { readonly steps: number };

/**
 * Totals per inference.
 *
 * @example Usage
 * ```ts
 * import { CostMeter } from "./costs.ts";
 * import assert from "node:assert/strict";
 * const meter = new CostMeter();
 * meter.add(7, "sign", 0.03);
 * meter.add(7, "sign", 0.02);
 * meter.step(7, 0.1);
 * const costs = meter.take(7);
 * assert.equal(costs.steps, 1);
 * assert.ok(Math.abs(costs.sign - 0.05) < 1e-9);
 * assert.equal(meter.take(7).sign, 0);
 * ```
 */
export class CostMeter {
  readonly #totals = new Map<number, Float64Array>();

  /**
   * Adds time to an inference's total of one kind.
   *
   * @param inferenceId The inference (0, the node's own, is not counted).
   * @param kind What the time went on.
   * @param ms Milliseconds.
   */
  add(inferenceId: number, kind: CostKind, ms: number): void {
    if (inferenceId === 0) return;
    this.#of(inferenceId)[COST_KINDS.indexOf(kind)]! += ms;
  }

  /**
   * Counts a core step and its time.
   *
   * @param inferenceId The inference.
   * @param ms Milliseconds in `step`.
   */
  step(inferenceId: number, ms: number): void {
    if (inferenceId === 0) return;
    const totals = this.#of(inferenceId);
    totals[COST_KINDS.indexOf("step")]! += ms;
    totals[COST_KINDS.length]! += 1;
  }

  /**
   * An inference's totals so far, which it forgets.
   *
   * @param inferenceId The inference.
   * @returns Its totals (zero where nothing was counted).
   */
  take(inferenceId: number): Costs {
    const totals = this.#totals.get(inferenceId) ?? new Float64Array(COST_KINDS.length + 1);
    this.#totals.delete(inferenceId);
    return costsOf(totals);
  }

  /**
   * An inference's totals so far, which it keeps counting.
   *
   * @param inferenceId The inference.
   * @returns Its totals (zero where nothing was counted).
   */
  peek(inferenceId: number): Costs {
    return costsOf(this.#totals.get(inferenceId) ?? new Float64Array(COST_KINDS.length + 1));
  }

  /**
   * Forgets an inference's totals.
   *
   * @param inferenceId The inference.
   */
  forget(inferenceId: number): void {
    this.#totals.delete(inferenceId);
  }

  #of(inferenceId: number): Float64Array {
    let totals = this.#totals.get(inferenceId);
    if (totals === undefined) {
      totals = new Float64Array(COST_KINDS.length + 1);
      this.#totals.set(inferenceId, totals);
    }
    return totals;
  }
}

function costsOf(totals: Float64Array): Costs {
  const costs: Record<string, number> = {};
  COST_KINDS.forEach((kind, k) => costs[kind] = totals[k]!);
  costs.steps = totals[COST_KINDS.length]!;
  return costs as Costs;
}

/**
 * What was counted between two readings of one inference's totals.
 *
 * @param later The later reading.
 * @param earlier The earlier reading.
 * @returns Each kind's difference, and the steps taken between.
 */
export function costsBetween(later: Costs, earlier: Costs): Costs {
  const costs: Record<string, number> = {};
  for (const kind of [...COST_KINDS, "steps"] as const) costs[kind] = later[kind] - earlier[kind];
  return costs as Costs;
}
