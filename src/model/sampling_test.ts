import assert from "node:assert/strict";
import fc from "fast-check";
import { createSampler, samplerAt, sampleToken } from "./sampling.ts";

Deno.test("sampleToken() greedy picks the largest logit and the lowest id among ties", () => {
  const greedy = createSampler({ kind: "greedy" });
  assert.equal(sampleToken(greedy, new Float32Array([0, 3, 1, 3])), 1);
  assert.equal(sampleToken(greedy, new Float32Array([-5])), 0);
  assert.throws(() => sampleToken(greedy, new Float32Array(0)), /empty/);
});

Deno.test("sampleToken() with top-k 1 is greedy for any logits and seed", () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ noNaN: true, min: -10, max: 10 }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      (values, seed) => {
        const logits = Float32Array.from(values);
        const topOne = createSampler({ kind: "sample", temperature: 0.7, topK: 1, seed });
        assert.equal(
          sampleToken(topOne, logits),
          sampleToken(createSampler({ kind: "greedy" }), logits),
        );
      },
    ),
  );
});

Deno.test("sampleToken() seeded draws repeat for the same seed and differ across seeds", () => {
  const logits = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i));
  const draws = (seed: number): number[] => {
    const sampler = createSampler({ kind: "sample", temperature: 1.5, seed });
    return Array.from({ length: 30 }, () => sampleToken(sampler, logits));
  };
  assert.deepEqual(draws(11), draws(11));
  assert.notDeepEqual(draws(11), draws(12));
});

Deno.test("sampleToken() follows softmax(logits / temperature) restricted to the top k", () => {
  // 20,000 seeded draws: frequencies within 0.02 of the probabilities (about 6 standard
  // deviations at p = 0.5), and tokens outside the top k never drawn.
  const logits = new Float32Array([2, 1, 0, 3, -1]);
  const temperature = 2;
  const sampler = createSampler({ kind: "sample", temperature, topK: 3, seed: 5 });
  const counts = new Array(5).fill(0);
  const draws = 20_000;
  for (let i = 0; i < draws; i++) counts[sampleToken(sampler, logits)]++;
  const kept = [3, 0, 1];
  const weights = kept.map((id) => Math.exp(logits[id]! / temperature));
  const total = weights.reduce((a, b) => a + b);
  kept.forEach((id, index) => {
    assert.ok(Math.abs(counts[id] / draws - weights[index]! / total) < 0.02, `token ${id}`);
  });
  assert.equal(counts[2], 0);
  assert.equal(counts[4], 0);
});

Deno.test("createSampler() refuses non-positive temperature, bad top-k and bad seeds", () => {
  assert.throws(() => createSampler({ kind: "sample", temperature: 0, seed: 1 }), /temperature/);
  assert.throws(
    () => createSampler({ kind: "sample", temperature: Infinity, seed: 1 }),
    /temperature/,
  );
  assert.throws(() => createSampler({ kind: "sample", temperature: 1, topK: 0, seed: 1 }), /topK/);
  assert.throws(() => createSampler({ kind: "sample", temperature: 1, seed: -1 }), /seed/);
});

Deno.test("samplerAt(rule, t) chooses token t as a sampler that chose tokens 1..t-1 first", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.integer({ min: 1, max: 40 }),
      fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
      fc.array(fc.float({ min: -8, max: 8, noNaN: true }), { minLength: 2, maxLength: 16 }),
      (seed, count, topK, values) => {
        const logits = Float32Array.from(values);
        const rule = {
          kind: "sample" as const,
          temperature: 0.7,
          seed,
          ...(topK === undefined ? {} : { topK }),
        };
        const sequential = createSampler(rule);
        for (let token = 1; token <= count; token++) {
          const expected = sampleToken(sequential, logits);
          assert.equal(sampleToken(samplerAt(rule, token), logits), expected, `token ${token}`);
        }
      },
    ),
    { numRuns: 100 },
  );
  assert.throws(() => samplerAt({ kind: "greedy" }, 0), /token must be a positive integer/);
});
