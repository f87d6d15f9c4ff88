/**
 * A small seeded pseudo-random generator (SplitMix32), so that every fault of a simulation run
 * follows from one 32-bit seed and a failing run can be replayed exactly.
 *
 * @module
 */

/** A seeded pseudo-random number generator. */
export class Prng {
  #state: number;

  /**
   * Creates the generator.
   *
   * @param seed Any integer; only its low 32 bits matter.
   */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /**
   * The next 32-bit value.
   *
   * @returns An integer in `0..2^32 - 1`.
   *
   * @example The same seed gives the same sequence
   * ```ts
   * import { Prng } from "@butterfly/bcp/sim";
   * import assert from "node:assert/strict";
   * assert.equal(new Prng(7).nextUint32(), new Prng(7).nextUint32());
   * ```
   */
  nextUint32(): number {
    this.#state = (this.#state + 0x9e3779b9) >>> 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /**
   * A uniform integer below a bound.
   *
   * @param bound The exclusive upper bound (at least 1).
   * @returns An integer in `0..bound - 1`.
   *
   * @example Usage
   * ```ts
   * import { Prng } from "@butterfly/bcp/sim";
   * import assert from "node:assert/strict";
   * const value = new Prng(1).below(6);
   * assert.ok(value >= 0 && value < 6);
   * ```
   */
  below(bound: number): number {
    if (!Number.isSafeInteger(bound) || bound < 1) throw new RangeError(`Bad bound ${bound}`);
    return Math.floor((this.nextUint32() / 0x1_0000_0000) * bound);
  }

  /**
   * True with the given probability.
   *
   * @param probability Between 0 and 1.
   * @returns Whether the event happens.
   *
   * @example Usage
   * ```ts
   * import { Prng } from "@butterfly/bcp/sim";
   * import assert from "node:assert/strict";
   * assert.equal(new Prng(1).chance(0), false);
   * ```
   */
  chance(probability: number): boolean {
    return this.nextUint32() / 0x1_0000_0000 < probability;
  }

  /**
   * A uniformly chosen element.
   *
   * @param items A non-empty list.
   * @returns One of its elements.
   *
   * @example Usage
   * ```ts
   * import { Prng } from "@butterfly/bcp/sim";
   * import assert from "node:assert/strict";
   * assert.ok(["a", "b"].includes(new Prng(3).pick(["a", "b"])));
   * ```
   */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Cannot pick from an empty list");
    return items[this.below(items.length)] as T;
  }
}
