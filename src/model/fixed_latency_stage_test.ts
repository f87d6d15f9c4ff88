import assert from "node:assert/strict";
import fc from "fast-check";
import { fixedLatencyConfig, ModelConfigError } from "./config.ts";
import { createFixedLatencyPipeline, FixedLatencyStage } from "./fixed_latency_stage.ts";
import { deserializeKvCache, type KvCache, serializeKvCache } from "./kv_cache.ts";
import { StageInputError } from "./stage_executor.ts";
import { type StageTensor, tensorDigest, tokenTensor } from "./tensor.ts";

const noWait = { layerMs: 0 };

// Runs a two-stage pipeline over the passes, returning each pass's logits digest.
async function logitsOf(passes: readonly (readonly number[])[]): Promise<string[]> {
  const pipeline = createFixedLatencyPipeline(6, { ...noWait, boundaries: [2] });
  const caches: KvCache[] = pipeline.stages.map((stage) => stage.emptyCache());
  const digests: string[] = [];
  for (const pass of passes) {
    let activation: StageTensor = tokenTensor(pass);
    for (const [k, stage] of pipeline.stages.entries()) {
      const result = await stage.run(activation, caches[k]!);
      caches[k] = result.cache;
      activation = result.output;
    }
    // The last position's logits: what a token is chosen from.
    const width = pipeline.config.vocabSize;
    const data = activation.data as Float32Array;
    digests.push(tensorDigest({
      dtype: "float32",
      dims: [1, 1, width],
      data: data.slice(data.length - width),
    }));
  }
  return digests;
}

Deno.test("a fixed-latency pipeline gives the same outputs every time, and they follow the input", async () => {
  const a = await logitsOf([[72, 105], [33], [10]]);
  const b = await logitsOf([[72, 105], [33], [10]]);
  assert.deepEqual(a, b);
  const c = await logitsOf([[72, 105], [34], [10]]);
  assert.equal(a[0], c[0]);
  assert.notEqual(a[1], c[1]);
  // The cache carries the earlier token: the same last token after a different one differs.
  assert.notEqual(a[2], c[2]);
});

Deno.test("a prompt in one pass leaves the cache that one pass per position leaves", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 2, maxLength: 12 }),
      fc.integer({ min: 1, max: 11 }),
      async (tokens, cut) => {
        const split = Math.min(cut, tokens.length - 1);
        const config = fixedLatencyConfig(3);
        const stage = new FixedLatencyStage(config, { layerStart: 0, layerEnd: 3 }, noWait);
        const whole = await stage.run(tokenTensor(tokens), stage.emptyCache());
        const head = await stage.run(tokenTensor(tokens.slice(0, split)), stage.emptyCache());
        const tail = await stage.run(tokenTensor(tokens.slice(split)), head.cache);
        assert.deepEqual(serializeKvCache(tail.cache), serializeKvCache(whole.cache));
        const width = config.hiddenSize;
        assert.deepEqual(tail.output.data, whole.output.data.slice(split * width));
      },
    ),
    { numRuns: 50 },
  );
});

Deno.test("a fixed-latency cache survives serialization, so checkpoints restore it", async () => {
  const config = fixedLatencyConfig(4);
  const stage = new FixedLatencyStage(config, { layerStart: 1, layerEnd: 4 }, noWait);
  const input = await new FixedLatencyStage(config, { layerStart: 0, layerEnd: 1 }, noWait)
    .run(tokenTensor([1, 2, 3]), { ...stage.emptyCache(), layers: [] })
    .catch((error) => error);
  // The first stage's cache holds block 0 only: a cache of other blocks is refused.
  assert.ok(input instanceof StageInputError);
  const first = new FixedLatencyStage(config, { layerStart: 0, layerEnd: 1 }, noWait);
  const hidden = await first.run(tokenTensor([1, 2, 3]), first.emptyCache());
  const ran = await stage.run(hidden.output, stage.emptyCache());
  const restored = deserializeKvCache(serializeKvCache(ran.cache));
  const next = await first.run(tokenTensor([4]), hidden.cache);
  const a = await stage.run(next.output, ran.cache);
  const b = await stage.run(next.output, restored);
  assert.deepEqual(a.output.data, b.output.data);
  assert.equal(a.cache.position, 4);
});

Deno.test("a fixed-latency stage waits its blocks times layerMs per pass, once", async () => {
  const waits: number[] = [];
  const config = fixedLatencyConfig(50);
  const stage = new FixedLatencyStage(config, { layerStart: 0, layerEnd: 25 }, {
    layerMs: 10,
    wait: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  });
  const prompt = await stage.run(tokenTensor([1, 2, 3, 4]), stage.emptyCache());
  await stage.run(tokenTensor([5]), prompt.cache);
  assert.deepEqual(waits, [250, 250]);
});

Deno.test("a fixed-latency model out of bounds is refused with a reason", () => {
  const config = fixedLatencyConfig(4);
  assert.throws(() => fixedLatencyConfig(0), ModelConfigError);
  assert.throws(() => fixedLatencyConfig(1.5), ModelConfigError);
  assert.throws(() => fixedLatencyConfig(2000), /1 to 1024 layers/);
  assert.throws(
    () => new FixedLatencyStage(config, { layerStart: 2, layerEnd: 5 }, noWait),
    /not inside 4 layers/,
  );
  for (const layerMs of [-1, Number.NaN, 10_001, Infinity]) {
    assert.throws(
      () => new FixedLatencyStage(config, { layerStart: 0, layerEnd: 4 }, { layerMs }),
      /layerMs must be from 0 to 10000/,
    );
  }
  assert.throws(() => createFixedLatencyPipeline(4, { ...noWait, boundaries: [4] }), /strictly/);
});

Deno.test("a fixed-latency stage refuses input of the wrong shape, as the ONNX stages do", async () => {
  const config = fixedLatencyConfig(4);
  const middle = new FixedLatencyStage(config, { layerStart: 1, layerEnd: 3 }, noWait);
  await assert.rejects(
    () => middle.run(tokenTensor([1]), middle.emptyCache()),
    /takes float32 input, got int32/,
  );
  const first = new FixedLatencyStage(config, { layerStart: 0, layerEnd: 1 }, noWait);
  await assert.rejects(() => first.run(tokenTensor([256]), first.emptyCache()), /Token ids/);
});
