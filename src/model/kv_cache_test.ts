import assert from "node:assert/strict";
import fc from "fast-check";
import { DEFAULT_MODEL_CONFIG } from "./config.ts";
import {
  closePipeline,
  createPipeline,
  emptyPipelineCaches,
  type ModelPipeline,
  runPipeline,
} from "./generate.ts";
import {
  deserializeKvCache,
  emptyKvCache,
  type KvCache,
  kvCacheDigest,
  KvCacheFormatError,
  serializeKvCache,
} from "./kv_cache.ts";
import { createSampler, sampleToken } from "./sampling.ts";

const cacheArbitrary: fc.Arbitrary<KvCache> = fc.record({
  batchSize: fc.integer({ min: 1, max: 2 }),
  headCount: fc.integer({ min: 1, max: 3 }),
  headDim: fc.integer({ min: 1, max: 4 }),
  position: fc.integer({ min: 0, max: 5 }),
  layerStart: fc.integer({ min: 0, max: 10 }),
  layerCount: fc.integer({ min: 0, max: 3 }),
  seed: fc.integer(),
}).map(({ layerStart, layerCount, seed, ...shape }) => {
  const floats = shape.batchSize * shape.headCount * shape.position * shape.headDim;
  // Any bit pattern, NaN payloads and negative zero included, must survive the round trip.
  const fill = (salt: number): Float32Array =>
    new Float32Array(
      Uint32Array.from({ length: floats }, (_, i) => Math.imul(seed ^ salt, i + 1)).buffer,
    );
  return {
    ...shape,
    layers: Array.from({ length: layerCount }, (_, index) => ({
      layerIndex: layerStart + index,
      key: fill(2 * index + 1),
      value: fill(2 * index + 2),
    })),
  };
});

function bits(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

Deno.test("deserializeKvCache() restores every serialized cache bit for bit", () => {
  fc.assert(
    fc.property(cacheArbitrary, (cache) => {
      const restored = deserializeKvCache(serializeKvCache(cache));
      assert.equal(restored.position, cache.position);
      assert.equal(restored.batchSize, cache.batchSize);
      assert.equal(restored.layers.length, cache.layers.length);
      restored.layers.forEach((layer, index) => {
        assert.equal(layer.layerIndex, cache.layers[index]!.layerIndex);
        assert.deepEqual(bits(layer.key), bits(cache.layers[index]!.key));
        assert.deepEqual(bits(layer.value), bits(cache.layers[index]!.value));
      });
      assert.equal(kvCacheDigest(restored), kvCacheDigest(cache));
    }),
  );
});

Deno.test("deserializeKvCache() refuses truncated, foreign and future-version bytes", () => {
  const bytes = serializeKvCache({
    ...emptyKvCache({ headCount: 1, headDim: 2 }, { layerStart: 0, layerEnd: 1 }),
    position: 1,
    layers: [{ layerIndex: 0, key: new Float32Array(2), value: new Float32Array(2) }],
  });
  assert.throws(() => deserializeKvCache(bytes.subarray(0, bytes.length - 1)), /expected/);
  assert.throws(() => deserializeKvCache(new Uint8Array(10)), /too short/);
  const foreign = bytes.slice();
  foreign[0] = 0;
  assert.throws(() => deserializeKvCache(foreign), /magic/);
  const future = bytes.slice();
  future[4] = 2;
  assert.throws(() => deserializeKvCache(future), KvCacheFormatError);
});

Deno.test("serializeKvCache() refuses a cache whose arrays do not match its shape", () => {
  const cache = emptyKvCache({ headCount: 1, headDim: 2 }, { layerStart: 0, layerEnd: 2 });
  assert.throws(() => serializeKvCache({ ...cache, position: 1 }), /expected 2/);
  assert.throws(
    () => serializeKvCache({ ...cache, layers: [cache.layers[1]!, cache.layers[0]!] }),
    /contiguous/,
  );
});

interface Trace {
  tokens: number[];
  digests: string[];
}

/** Greedy decoding of `count` tokens, feeding `next` first on top of `caches`. */
async function decode(
  pipeline: ModelPipeline,
  caches: readonly KvCache[],
  next: number[],
  count: number,
): Promise<Trace & { caches: readonly KvCache[] }> {
  const sampler = createSampler({ kind: "greedy" });
  const trace: Trace = { tokens: [], digests: [] };
  for (let i = 0; i < count; i++) {
    const step = await runPipeline(pipeline, next, caches);
    caches = step.caches;
    trace.digests.push(...step.digests);
    const last = step.logits.data.subarray(step.logits.data.length - pipeline.config.vocabSize);
    const token = sampleToken(sampler, last);
    trace.tokens.push(token);
    next = [token];
  }
  return { ...trace, caches };
}

Deno.test("KvCache checkpointed at position p and restored in a new pipeline recomputes to q exactly as never stopping", async () => {
  // Decode 12 tokens straight; separately decode 5, serialize every stage's cache, close the
  // pipeline (a crash), restore the bytes into a fresh pipeline and decode the other 7. Tokens
  // and every stage digest must be the same.
  const prompt = Array.from(new TextEncoder().encode("Checkpoint"));
  const boundaries = [4];
  const straight = await createPipeline(DEFAULT_MODEL_CONFIG, { boundaries });
  const reference = await decode(straight, emptyPipelineCaches(straight), prompt, 12);
  await closePipeline(straight);

  const before = await createPipeline(DEFAULT_MODEL_CONFIG, { boundaries });
  const firstPart = await decode(before, emptyPipelineCaches(before), prompt, 5);
  const saved = firstPart.caches.map(serializeKvCache);
  await closePipeline(before);
  assert.equal(firstPart.caches[0]!.position, prompt.length + 4);

  const after = await createPipeline(DEFAULT_MODEL_CONFIG, { boundaries });
  const restored = saved.map(deserializeKvCache);
  const secondPart = await decode(after, restored, [firstPart.tokens.at(-1)!], 7);
  await closePipeline(after);

  assert.deepEqual([...firstPart.tokens, ...secondPart.tokens], reference.tokens);
  assert.deepEqual([...firstPart.digests, ...secondPart.digests], reference.digests);
  assert.equal(kvCacheDigest(secondPart.caches[1]!), kvCacheDigest(reference.caches[1]!));
});
