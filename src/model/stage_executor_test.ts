import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { DEFAULT_MODEL_CONFIG, TINY_MODEL_CONFIG } from "./config.ts";
import { closePipeline, createPipeline, emptyPipelineCaches, runPipeline } from "./generate.ts";
import { StageExecutor, StageInputError } from "./stage_executor.ts";
import { tensorDigest, tokenTensor } from "./tensor.ts";
import type { KvCache } from "./kv_cache.ts";
import { createWithFallback } from "./_providers.ts";
import { bitIdentical, maxAbsDifference } from "./_test_util.ts";

// Incremental decoding multiplies a 1-row query where full recomputation multiplies n rows, and
// ORT's CPU GEMM may sum in another order for each: observed up to 5e-7 on the default model's
// logits (O(1)) and 3e-8 on the tiny model. 1e-5 is the stated bound.
const CACHE_TOLERANCE = 1e-5;

async function digestsInThisProcess(): Promise<string[][]> {
  const pipeline = await createPipeline(DEFAULT_MODEL_CONFIG, { boundaries: [3, 6] });
  let caches: readonly KvCache[] = emptyPipelineCaches(pipeline);
  const digests: string[][] = [];
  for (const tokens of [Array.from(new TextEncoder().encode("Determinism")), [32], [33]]) {
    const step = await runPipeline(pipeline, tokens, caches);
    caches = step.caches;
    digests.push([...step.digests]);
  }
  await closePipeline(pipeline);
  return digests;
}

async function digestsInAnotherProcess(): Promise<string[][]> {
  const script = fileURLToPath(new URL("./_stage_digest_main.ts", import.meta.url));
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--frozen", "--allow-read", "--allow-env", "--allow-ffi", "--allow-sys", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

Deno.test("StageExecutor.run() is bit-identical across runs on one executor and across executors", async () => {
  const tokens = tokenTensor([1, 2, 3, 4, 5]);
  const first = await StageExecutor.create(TINY_MODEL_CONFIG, { layerStart: 0, layerEnd: 2 });
  const second = await StageExecutor.create(TINY_MODEL_CONFIG, { layerStart: 0, layerEnd: 2 });
  try {
    const a = await first.run(tokens, first.emptyCache());
    const b = await first.run(tokens, first.emptyCache());
    const c = await second.run(tokens, second.emptyCache());
    assert.ok(bitIdentical(a.output.data, b.output.data));
    assert.ok(bitIdentical(a.output.data, c.output.data));
    assert.ok(bitIdentical(a.cache.layers[1]!.value, c.cache.layers[1]!.value));
    assert.notEqual(
      tensorDigest(a.output),
      tensorDigest((await first.run(tokenTensor([1, 2, 3, 4, 6]), first.emptyCache())).output),
    );
  } finally {
    await first.close();
    await second.close();
  }
});

Deno.test("StageExecutor.run() is bit-identical across processes", async () => {
  // Two fresh processes and this one run the default model in three stages, prompt then two
  // decode steps; every stage output digest must match.
  const [here, there, again] = await Promise.all([
    digestsInThisProcess(),
    digestsInAnotherProcess(),
    digestsInAnotherProcess(),
  ]);
  assert.equal(here.length, 3);
  assert.equal(here[0]!.length, 3);
  assert.deepEqual(there, here);
  assert.deepEqual(again, here);
  assert.equal(new Set(here.flat()).size, 9, "each stage and step gives a different output");
});

Deno.test("StageExecutor.run() with the cache equals full recomputation of the sequence", async () => {
  for (const config of [TINY_MODEL_CONFIG, DEFAULT_MODEL_CONFIG]) {
    const stage = await StageExecutor.create(config, {
      layerStart: 0,
      layerEnd: config.layerCount,
    });
    try {
      const tokens = [66, 117, 116, 116, 101, 114, 102, 108, 121];
      const width = config.vocabSize;
      const full = (await stage.run(tokenTensor(tokens), stage.emptyCache())).output.data;
      // Prompt of 3, then one token at a time.
      let step = await stage.run(tokenTensor(tokens.slice(0, 3)), stage.emptyCache());
      let worst = maxAbsDifference(step.output.data, full.subarray(0, 3 * width));
      for (let position = 3; position < tokens.length; position++) {
        step = await stage.run(tokenTensor([tokens[position]!]), step.cache);
        const expected = full.subarray(position * width, (position + 1) * width);
        worst = Math.max(worst, maxAbsDifference(step.output.data, expected));
      }
      assert.equal(step.cache.position, tokens.length);
      assert.ok(worst <= CACHE_TOLERANCE, `${config.layerCount} layers: ${worst}`);
      console.log(`${config.layerCount} layers: cache vs recomputation max difference ${worst}`);
    } finally {
      await stage.close();
    }
  }
});

Deno.test("StageExecutor.run() refuses input that does not fit the stage", async () => {
  const first = await StageExecutor.create(TINY_MODEL_CONFIG, { layerStart: 0, layerEnd: 1 });
  const last = await StageExecutor.create(TINY_MODEL_CONFIG, { layerStart: 1, layerEnd: 2 });
  try {
    const hidden = { dtype: "float32", dims: [1, 1, 16], data: new Float32Array(16) } as const;
    await assert.rejects(first.run(hidden, first.emptyCache()), /takes int32 input/);
    await assert.rejects(last.run(tokenTensor([1]), last.emptyCache()), /takes float32 input/);
    await assert.rejects(first.run(tokenTensor([256]), first.emptyCache()), /\[0, 256\)/);
    await assert.rejects(first.run(tokenTensor([]), first.emptyCache()), StageInputError);
    await assert.rejects(
      first.run(tokenTensor(new Array(33).fill(1)), first.emptyCache()),
      /exceed/,
    );
    await assert.rejects(first.run(tokenTensor([1]), last.emptyCache()), /Cache holds layers/);
    const result = await last.run(hidden, last.emptyCache());
    assert.deepEqual(result.output.dims, [1, 1, 256]);
  } finally {
    await first.close();
    await last.close();
  }
});

Deno.test("StageExecutor.create() refuses a bad thread count and range", async () => {
  const range = { layerStart: 0, layerEnd: 2 };
  await assert.rejects(StageExecutor.create(TINY_MODEL_CONFIG, range, { intraOpThreadCount: 0 }));
  await assert.rejects(StageExecutor.create(TINY_MODEL_CONFIG, { layerStart: 0, layerEnd: 0 }));
  const threaded = await StageExecutor.create(TINY_MODEL_CONFIG, range, { intraOpThreadCount: 2 });
  assert.equal(threaded.executionProvider, "cpu");
  await threaded.close();
});

Deno.test("createWithFallback() falls back from CUDA to CPU with a message naming the failure", async () => {
  const messages: string[] = [];
  const choice = await createWithFallback(
    ["cuda", "cpu"],
    (provider) =>
      provider === "cuda"
        ? Promise.reject(new Error("Failed to load shared library\nmore detail"))
        : Promise.resolve("session"),
    (message) => messages.push(message),
  );
  assert.equal(choice.provider, "cpu");
  assert.equal(choice.value, "session");
  assert.deepEqual(messages, [
    "Execution provider cuda is unavailable (Failed to load shared library); falling back to cpu",
  ]);
  await assert.rejects(
    createWithFallback(["cpu"], () => Promise.reject(new Error("boom")), () => {}),
    /boom/,
  );
});

Deno.test("StageExecutor.create() asked for CUDA runs on CUDA or says why it fell back to CPU", async () => {
  const messages: string[] = [];
  const stage = await StageExecutor.create(TINY_MODEL_CONFIG, { layerStart: 0, layerEnd: 2 }, {
    executionProviders: ["cuda", "cpu"],
    onFallback: (message) => messages.push(message),
  });
  try {
    if (stage.executionProvider === "cpu") {
      assert.equal(messages.length, 1);
      assert.match(
        messages[0]!,
        /^Execution provider cuda is unavailable \(.+\); falling back to cpu$/,
      );
      assert.deepEqual(stage.fallbackMessages, messages);
    } else {
      assert.equal(stage.executionProvider, "cuda");
      assert.deepEqual(messages, []);
    }
    const { output } = await stage.run(tokenTensor([1, 2]), stage.emptyCache());
    assert.deepEqual(output.dims, [1, 2, 256]);
  } finally {
    await stage.close();
  }
});
