import assert from "node:assert/strict";
import { TINY_MODEL_CONFIG } from "./config.ts";
import {
  closePipeline,
  createPipeline,
  emptyPipelineCaches,
  generate,
  type GeneratedToken,
  runPipeline,
  stageRanges,
} from "./generate.ts";
import { referenceForward } from "./reference.ts";
import type { Sampling } from "./sampling.ts";
import { FOUR_LAYER_TINY_CONFIG } from "./_test_util.ts";

async function collect(
  prompt: string,
  options: { maxTokens: number; sampling?: Sampling; boundaries?: number[] },
): Promise<GeneratedToken[]> {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, {
    boundaries: options.boundaries ?? [],
  });
  try {
    const tokens: GeneratedToken[] = [];
    for await (
      const token of generate(prompt, {
        maxTokens: options.maxTokens,
        pipeline,
        ...(options.sampling === undefined ? {} : { sampling: options.sampling }),
      })
    ) {
      tokens.push(token);
    }
    return tokens;
  } finally {
    await closePipeline(pipeline);
  }
}

function argmaxOfLastRow(logits: Float32Array, width: number): number {
  const row = logits.subarray(logits.length - width);
  return row.indexOf(Math.max(...row));
}

Deno.test("generate() greedy equals argmax of the plain-TS reference over the whole sequence", async () => {
  // Independent of the cache and of sampleToken: recompute the full sequence each step with the
  // reference forward pass and take its argmax.
  const generated = await collect("Hi", { maxTokens: 6 });
  const sequence = [72, 105];
  for (const { token, position } of generated) {
    const logits = referenceForward(FOUR_LAYER_TINY_CONFIG, sequence).data;
    assert.equal(token, argmaxOfLastRow(logits, FOUR_LAYER_TINY_CONFIG.vocabSize));
    assert.equal(position, sequence.length);
    sequence.push(token);
  }
  assert.equal(generated.length, 6);
});

Deno.test("generate() yields the same tokens and digests however the model is split", async () => {
  const sampling: Sampling = { kind: "sample", temperature: 1, topK: 20, seed: 4 };
  const whole = await collect("Split me", { maxTokens: 8, sampling });
  const split = await collect("Split me", { maxTokens: 8, sampling, boundaries: [1, 3] });
  assert.deepEqual(split, whole);
  const otherSeed = await collect("Split me", {
    maxTokens: 8,
    sampling: { ...sampling, seed: 5 },
  });
  assert.notDeepEqual(otherSeed.map((t) => t.token), whole.map((t) => t.token));
});

Deno.test("generate() streams each token before computing the next", async () => {
  // Stop after the first token: a streaming generator has run the model for one step only.
  const pipeline = await createPipeline(TINY_MODEL_CONFIG);
  const stage = pipeline.stages[0]!;
  let runs = 0;
  const originalRun = stage.run.bind(stage);
  stage.run = (input, cache) => {
    runs++;
    return originalRun(input, cache);
  };
  try {
    for await (const _token of generate("abc", { maxTokens: 10, pipeline })) break;
    assert.equal(runs, 1);
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("generate() refuses empty prompts and sequences longer than the model's positions", async () => {
  const pipeline = await createPipeline(TINY_MODEL_CONFIG);
  try {
    await assert.rejects(generate("", { maxTokens: 1, pipeline }).next(), /at least one byte/);
    await assert.rejects(
      generate("x".repeat(30), { maxTokens: 4, pipeline }).next(),
      /exceeds sequenceLengthMax 32/,
    );
    // 30 prompt bytes + 3 tokens needs 32 positions: the last token is never fed back.
    let count = 0;
    for await (const _ of generate("x".repeat(30), { maxTokens: 3, pipeline })) count++;
    assert.equal(count, 3);
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("stageRanges() covers the model and refuses unordered or outside boundaries", () => {
  assert.deepEqual(stageRanges(4, [1, 3]), [
    { layerStart: 0, layerEnd: 1 },
    { layerStart: 1, layerEnd: 3 },
    { layerStart: 3, layerEnd: 4 },
  ]);
  assert.throws(() => stageRanges(4, [3, 1]), /increase strictly/);
  assert.throws(() => stageRanges(4, [0]), /increase strictly/);
  assert.throws(() => stageRanges(4, [4]), /increase strictly/);
  assert.throws(() => stageRanges(4, [2, 2]), /increase strictly/);
});

Deno.test("runPipeline() reports one digest per stage and refuses a wrong number of caches", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    const step = await runPipeline(pipeline, [1, 2], emptyPipelineCaches(pipeline));
    assert.equal(step.digests.length, 2);
    assert.match(step.digests[0]!, /^[0-9a-f]{64}$/);
    await assert.rejects(runPipeline(pipeline, [1], [step.caches[0]!]), /1 caches given for 2/);
  } finally {
    await closePipeline(pipeline);
  }
});
