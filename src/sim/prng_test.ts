// Checks the generator's range and that its sequence depends on the seed only.
import assert from "node:assert/strict";
import { Prng } from "./prng.ts";

Deno.test("Prng.below() stays in range and reaches every value", () => {
  const prng = new Prng(123);
  const seen = new Set<number>();
  for (let k = 0; k < 1000; k++) {
    const value = prng.below(6);
    assert.ok(Number.isInteger(value) && value >= 0 && value < 6);
    seen.add(value);
  }
  assert.equal(seen.size, 6);
  assert.throws(() => prng.below(0), /Bad bound/);
});

Deno.test("Prng() sequences differ between seeds and repeat for one seed", () => {
  const sequence = (seed: number): number[] => {
    const prng = new Prng(seed);
    return Array.from({ length: 8 }, () => prng.nextUint32());
  };
  assert.deepEqual(sequence(5), sequence(5));
  assert.notDeepEqual(sequence(5), sequence(6));
});
