/**
 * Choosing the next token from logits: greedy, or seeded sampling with temperature and top-k.
 * Pure and deterministic: the same logits and seed choose the same token on every machine.
 *
 * @module
 */

import { nextUniform, prngFromSeed } from "./_prng.ts";

/** Always the most likely token (the lowest id among ties). */
export interface GreedySampling {
  /** Discriminant. */
  readonly kind: "greedy";
}

/** A random draw from the softened, truncated distribution, reproducible from its seed. */
export interface SeededSampling {
  /** Discriminant. */
  readonly kind: "sample";
  /** Divides the logits before softmax; must be positive (1 leaves them as they are). */
  readonly temperature: number;
  /** Keep only the k most likely tokens (default: all). */
  readonly topK?: number;
  /** Seed of the draw sequence (unsigned 32-bit). */
  readonly seed: number;
}

/** How the next token is chosen. */
export type Sampling = GreedySampling | SeededSampling;

/** A token chooser with its generator state, created by `createSampler`. */
export interface Sampler {
  /** The sampling rule. */
  readonly sampling: Sampling;
  /** Generator state (splitmix32), advanced by each seeded draw. */
  readonly prng: { state: number };
}

/**
 * Creates a sampler; a seeded sampler's draws depend only on its seed and the logits it sees.
 *
 * @param sampling The rule.
 * @returns A sampler for `sampleToken`.
 * @throws {RangeError} If temperature, top-k or seed is out of range.
 *
 * @example Usage
 * ```ts
 * import { createSampler, sampleToken } from "@butterfly/bcp/model";
 * const sampler = createSampler({ kind: "greedy" });
 * console.log(sampleToken(sampler, new Float32Array([0.1, 2, 0.3]))); // 1
 * ```
 */
export function createSampler(sampling: Sampling): Sampler {
  if (sampling.kind === "sample") {
    if (!(sampling.temperature > 0) || !Number.isFinite(sampling.temperature)) {
      throw new RangeError(`temperature must be positive and finite, got ${sampling.temperature}`);
    }
    if (
      sampling.topK !== undefined && (!Number.isSafeInteger(sampling.topK) || sampling.topK < 1)
    ) {
      throw new RangeError(`topK must be a positive integer, got ${sampling.topK}`);
    }
    if (!Number.isSafeInteger(sampling.seed) || sampling.seed < 0 || sampling.seed > 0xffff_ffff) {
      throw new RangeError(`seed must be an unsigned 32-bit integer, got ${sampling.seed}`);
    }
  }
  return { sampling, prng: prngFromSeed(sampling.kind === "sample" ? sampling.seed : 0) };
}

/**
 * A sampler positioned for token `token` (from 1) of a generation: the draws of the tokens before
 * it already made, as a sampler that chose them one by one would be. A replica of the last stage
 * that computes token `token` alone chooses it as a single process would.
 *
 * @param sampling The rule.
 * @param token The token to choose next, from 1.
 * @returns A sampler for `sampleToken`.
 * @throws {RangeError} If the rule is out of range or `token` is not a positive integer.
 *
 * @example The third draw, with or without the first two tokens
 * ```ts
 * import { createSampler, sampleToken, samplerAt } from "@butterfly/bcp/model";
 * import assert from "node:assert/strict";
 * const sampling = { kind: "sample", temperature: 1, seed: 7 } as const;
 * const logits = new Float32Array([0.5, 0.4, 0.3, 0.2]);
 * const sequential = createSampler(sampling);
 * const tokens = [1, 2, 3].map(() => sampleToken(sequential, logits));
 * assert.equal(sampleToken(samplerAt(sampling, 3), logits), tokens[2]);
 * ```
 */
export function samplerAt(sampling: Sampling, token: number): Sampler {
  if (!Number.isSafeInteger(token) || token < 1) {
    throw new RangeError(`token must be a positive integer, got ${token}`);
  }
  const sampler = createSampler(sampling);
  // Each seeded draw advances the generator once (sampleToken); greedy draws nothing.
  if (sampling.kind === "sample") { for (let k = 1; k < token; k++) nextUniform(sampler.prng); }
  return sampler;
}

/**
 * Chooses the next token from one position's logits.
 *
 * @param sampler The sampler (a seeded one advances its state).
 * @param logits Logits over the vocabulary.
 * @returns The chosen token id.
 *
 * @example Seeded sampling is reproducible
 * ```ts
 * import { createSampler, sampleToken } from "@butterfly/bcp/model";
 * import assert from "node:assert/strict";
 * const logits = new Float32Array([1, 1, 1, 1]);
 * const draw = () => sampleToken(createSampler({ kind: "sample", temperature: 1, seed: 9 }), logits);
 * assert.equal(draw(), draw());
 * ```
 */
export function sampleToken(sampler: Sampler, logits: Float32Array): number {
  if (logits.length === 0) throw new RangeError("Cannot sample from empty logits");
  const { sampling } = sampler;
  if (sampling.kind === "greedy") {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  // Rank by logit, ties broken by lower id, so the kept set never depends on sort stability.
  const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
  const kept = order.slice(0, Math.min(sampling.topK ?? logits.length, logits.length));
  const top = logits[kept[0]!]!;
  const weights = kept.map((id) => Math.exp((logits[id]! - top) / sampling.temperature));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let threshold = nextUniform(sampler.prng) * total;
  for (let i = 0; i < kept.length; i++) {
    threshold -= weights[i]!;
    if (threshold < 0) return kept[i]!;
  }
  return kept[kept.length - 1]!;
}
