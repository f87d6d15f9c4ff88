// Pure-compute baseline of model execution, one process, CPU, one intra-op thread: per-layer
// decode latency and per-token decode time of the default and GPT-2-small-shaped models, and
// ONNX Runtime against the plain TypeScript forward pass. Coordination overhead is measured
// against these numbers. Run: deno task bench bench/model_bench.ts
//
// The GPT-2-small-shaped model (12 layers, hidden 768, vocabulary 50257, ~163 M parameters,
// 650 MB float32) takes about 12 s and 2 GB to build; skip it with BUTTERFLY_BENCH_SKIP_GPT2=1.

import {
  DEFAULT_MODEL_CONFIG,
  GPT2_SMALL_SHAPED_CONFIG,
  type ModelConfig,
} from "../src/model/config.ts";
import type { KvCache } from "../src/model/kv_cache.ts";
import { referenceForward, referenceWeights } from "../src/model/reference.ts";
import { StageExecutor } from "../src/model/stage_executor.ts";
import { type StageTensor, tokenTensor } from "../src/model/tensor.ts";

const CONTEXT_LENGTH = 64;
const FORWARD_LENGTH = 16;

function cacheAt(stage: StageExecutor, position: number): KvCache {
  const empty = stage.emptyCache();
  const floats = empty.headCount * empty.headDim * position;
  return {
    ...empty,
    position,
    layers: empty.layers.map((layer) => ({
      layerIndex: layer.layerIndex,
      key: new Float32Array(floats).fill(0.01),
      value: new Float32Array(floats).fill(0.01),
    })),
  };
}

async function benchModel(name: string, config: ModelConfig): Promise<void> {
  const whole = await StageExecutor.create(config, { layerStart: 0, layerEnd: config.layerCount });
  const middle = config.layerCount >> 1;
  const block = await StageExecutor.create(config, { layerStart: middle, layerEnd: middle + 1 });
  const wholeCache = cacheAt(whole, CONTEXT_LENGTH);
  const blockCache = cacheAt(block, CONTEXT_LENGTH);
  const hidden: StageTensor = {
    dtype: "float32",
    dims: [1, 1, config.hiddenSize],
    data: new Float32Array(config.hiddenSize).fill(0.1),
  };
  const token = tokenTensor([65]);
  const prompt = tokenTensor(Array.from({ length: CONTEXT_LENGTH }, (_, i) => i % 256));
  Deno.bench({
    name: `${name}: one block, decode 1 token at context ${CONTEXT_LENGTH}`,
    group: `${name} per layer`,
    async fn() {
      await block.run(hidden, blockCache);
    },
  });
  Deno.bench({
    name: `${name}: whole model, decode 1 token at context ${CONTEXT_LENGTH}`,
    group: `${name} per token`,
    async fn() {
      await whole.run(token, wholeCache);
    },
  });
  Deno.bench({
    name: `${name}: whole model, prefill ${CONTEXT_LENGTH} tokens`,
    group: `${name} prefill`,
    async fn() {
      await whole.run(prompt, whole.emptyCache());
    },
  });
}

await benchModel("default", DEFAULT_MODEL_CONFIG);

{
  const tokens = Array.from({ length: FORWARD_LENGTH }, (_, i) => (i * 31) % 256);
  const config = DEFAULT_MODEL_CONFIG;
  const stage = await StageExecutor.create(config, { layerStart: 0, layerEnd: config.layerCount });
  const weights = referenceWeights(config);
  Deno.bench({
    name: `default: ONNX Runtime forward of ${FORWARD_LENGTH} tokens`,
    group: "ONNX Runtime vs plain TypeScript",
    baseline: true,
    async fn() {
      await stage.run(tokenTensor(tokens), stage.emptyCache());
    },
  });
  Deno.bench({
    name: `default: plain TypeScript forward of ${FORWARD_LENGTH} tokens`,
    group: "ONNX Runtime vs plain TypeScript",
    n: 5,
    warmup: 1,
    fn() {
      referenceForward(config, tokens, { weights });
    },
  });
}

if (Deno.env.get("BUTTERFLY_BENCH_SKIP_GPT2") !== "1") {
  await benchModel("gpt2-small-shaped", GPT2_SMALL_SHAPED_CONFIG);
}
