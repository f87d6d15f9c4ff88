import assert from "node:assert/strict";
import { TINY_MODEL_CONFIG } from "./config.ts";
import { closePipeline, createPipeline, emptyPipelineCaches, runPipeline } from "./generate.ts";
import { referenceForward } from "./reference.ts";
import { FOUR_LAYER_TINY_CONFIG, maxAbsDifference } from "./_test_util.ts";

// The reference accumulates in float64 and ORT in float32 with its own summation order; logits
// of the tiny model are O(0.3), and the observed gap is about 5e-8. 1e-5 leaves room for other
// CPUs' kernels while still catching any wrong operator, axis or weight (those move logits by
// 1e-2 or more, as the last test shows).
const REFERENCE_TOLERANCE = 1e-5;

async function ortLogits(
  config: typeof TINY_MODEL_CONFIG,
  tokens: number[],
): Promise<Float32Array> {
  const pipeline = await createPipeline(config, { boundaries: config.layerCount > 2 ? [2] : [] });
  try {
    return (await runPipeline(pipeline, tokens, emptyPipelineCaches(pipeline))).logits.data;
  } finally {
    await closePipeline(pipeline);
  }
}

Deno.test("referenceForward() agrees with ONNX Runtime on the tiny models", async () => {
  const sequences = [[0], [72, 105], Array.from({ length: 32 }, (_, i) => (i * 37) % 256)];
  for (const config of [TINY_MODEL_CONFIG, FOUR_LAYER_TINY_CONFIG]) {
    for (const tokens of sequences) {
      const reference = referenceForward(config, tokens);
      const difference = maxAbsDifference(reference.data, await ortLogits(config, tokens));
      assert.ok(
        difference <= REFERENCE_TOLERANCE,
        `${config.layerCount} layers, ${tokens.length} tokens: ${difference}`,
      );
    }
  }
});

Deno.test("referenceForward() agrees with ONNX Runtime on a configuration with 1 head and a wide MLP", async () => {
  const config = {
    ...TINY_MODEL_CONFIG,
    headCount: 1,
    mlpHiddenSize: 48,
    vocabSize: 300,
    seed: 99,
  };
  const tokens = [299, 0, 150, 7, 7, 7];
  const difference = maxAbsDifference(
    referenceForward(config, tokens).data,
    await ortLogits(config, tokens),
  );
  assert.ok(difference <= REFERENCE_TOLERANCE, `${difference}`);
});

Deno.test("referenceForward() comparison is sensitive: another seed's weights disagree", async () => {
  // Guards the check itself: if both sides ignored the weights, the first test would pass vacuously.
  const tokens = [72, 105, 33];
  const other = referenceForward({ ...TINY_MODEL_CONFIG, seed: 8 }, tokens);
  assert.ok(maxAbsDifference(other.data, await ortLogits(TINY_MODEL_CONFIG, tokens)) > 1e-2);
});

Deno.test("referenceForward() refuses empty, too long and out-of-vocabulary input", () => {
  assert.throws(() => referenceForward(TINY_MODEL_CONFIG, []), RangeError);
  assert.throws(() => referenceForward(TINY_MODEL_CONFIG, new Array(33).fill(1)), RangeError);
  assert.throws(() => referenceForward(TINY_MODEL_CONFIG, [256]), /\[0, 256\)/);
});
