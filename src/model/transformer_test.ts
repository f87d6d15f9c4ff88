import assert from "node:assert/strict";
import { DEFAULT_MODEL_CONFIG, TINY_MODEL_CONFIG } from "./config.ts";
import { closePipeline, createPipeline, emptyPipelineCaches, runPipeline } from "./generate.ts";
import { buildStageModel, stageSignature, validateLayerRange } from "./transformer.ts";
import {
  allBoundaryLists,
  bitIdentical,
  FOUR_LAYER_TINY_CONFIG,
  maxAbsDifference,
} from "./_test_util.ts";

// Split stages run the same operators on the same values as the whole model; only where ORT's
// kernels choose a different summation order could they differ, so the bound is tight.
const SPLIT_TOLERANCE = 1e-6;

async function logitsFor(
  config: typeof TINY_MODEL_CONFIG,
  boundaries: number[],
  tokens: number[],
): Promise<Float32Array> {
  const pipeline = await createPipeline(config, { boundaries });
  try {
    return (await runPipeline(pipeline, tokens, emptyPipelineCaches(pipeline))).logits.data;
  } finally {
    await closePipeline(pipeline);
  }
}

Deno.test("buildStageModel() gives the same bytes on every call", () => {
  const range = { layerStart: 0, layerEnd: 2 };
  assert.deepEqual(
    buildStageModel(TINY_MODEL_CONFIG, range),
    buildStageModel(TINY_MODEL_CONFIG, range),
  );
  assert.notDeepEqual(
    buildStageModel(TINY_MODEL_CONFIG, range),
    buildStageModel({ ...TINY_MODEL_CONFIG, seed: 8 }, range),
  );
});

Deno.test("stageSignature() puts embedding in the first stage and logits in the last", () => {
  const first = stageSignature(FOUR_LAYER_TINY_CONFIG, { layerStart: 0, layerEnd: 1 });
  const middle = stageSignature(FOUR_LAYER_TINY_CONFIG, { layerStart: 1, layerEnd: 3 });
  const last = stageSignature(FOUR_LAYER_TINY_CONFIG, { layerStart: 3, layerEnd: 4 });
  assert.deepEqual(first.inputs.map((input) => input.name), [
    "token_ids",
    "past_key.0",
    "past_value.0",
  ]);
  assert.equal(first.outputs[0]?.name, "hidden_out");
  assert.equal(middle.inputs[0]?.name, "hidden_in");
  assert.deepEqual(middle.outputs.map((output) => output.name), [
    "hidden_out",
    "present_key.1",
    "present_value.1",
    "present_key.2",
    "present_value.2",
  ]);
  assert.deepEqual(last.outputs[0]?.shape, ["batch", "sequence", 256]);
});

Deno.test("validateLayerRange() refuses empty and out-of-model ranges", () => {
  assert.throws(() => validateLayerRange(TINY_MODEL_CONFIG, { layerStart: 1, layerEnd: 1 }));
  assert.throws(() => validateLayerRange(TINY_MODEL_CONFIG, { layerStart: 0, layerEnd: 3 }));
  assert.throws(() => validateLayerRange(TINY_MODEL_CONFIG, { layerStart: -1, layerEnd: 1 }));
});

Deno.test("runPipeline() gives the whole model's logits when split at every possible set of boundaries", async () => {
  // All 2^3 ways of cutting the 4-layer tiny model, against the single-session model.
  const tokens = [72, 101, 108, 108, 111, 0, 255];
  const whole = await logitsFor(FOUR_LAYER_TINY_CONFIG, [], tokens);
  let exactCount = 0;
  for (const boundaries of allBoundaryLists(FOUR_LAYER_TINY_CONFIG.layerCount).slice(1)) {
    const split = await logitsFor(FOUR_LAYER_TINY_CONFIG, boundaries, tokens);
    const difference = maxAbsDifference(whole, split);
    assert.ok(difference <= SPLIT_TOLERANCE, `boundaries [${boundaries}]: ${difference}`);
    if (bitIdentical(whole, split)) exactCount++;
  }
  // On x86-64 CPU every split is bit-identical; the tolerance is for kernels that are not.
  console.log(`bit-identical splits: ${exactCount} of 7`);
});

Deno.test("runPipeline() gives the default model's logits when split at each single boundary", async () => {
  const tokens = Array.from(new TextEncoder().encode("Butterfly!"));
  const whole = await logitsFor(DEFAULT_MODEL_CONFIG, [], tokens);
  for (let boundary = 1; boundary < DEFAULT_MODEL_CONFIG.layerCount; boundary++) {
    const split = await logitsFor(DEFAULT_MODEL_CONFIG, [boundary], tokens);
    const difference = maxAbsDifference(whole, split);
    assert.ok(difference <= SPLIT_TOLERANCE, `boundary ${boundary}: ${difference}`);
  }
});
