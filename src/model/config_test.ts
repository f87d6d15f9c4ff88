import assert from "node:assert/strict";
import {
  DEFAULT_MODEL_CONFIG,
  GPT2_SMALL_SHAPED_CONFIG,
  parameterCount,
  TINY_MODEL_CONFIG,
  validateModelConfig,
} from "./config.ts";
import { embeddingParameterSpecs, headParameterSpecs, layerParameterSpecs } from "./weights.ts";

Deno.test("validateModelConfig() accepts the presets and refuses bad dimensions", () => {
  for (const config of [TINY_MODEL_CONFIG, DEFAULT_MODEL_CONFIG, GPT2_SMALL_SHAPED_CONFIG]) {
    assert.equal(validateModelConfig(config), config);
  }
  assert.throws(() => validateModelConfig({ ...TINY_MODEL_CONFIG, layerCount: 0 }), /layerCount/);
  assert.throws(() => validateModelConfig({ ...TINY_MODEL_CONFIG, hiddenSize: 1.5 }), /hiddenSize/);
  assert.throws(() => validateModelConfig({ ...TINY_MODEL_CONFIG, vocabSize: 70_000 }), /65536/);
  assert.throws(() => validateModelConfig({ ...TINY_MODEL_CONFIG, headCount: 5 }), /divide/);
  assert.throws(() => validateModelConfig({ ...TINY_MODEL_CONFIG, seed: -1 }), /seed/);
});

Deno.test("parameterCount() equals the sum of every parameter spec's size", () => {
  for (const config of [TINY_MODEL_CONFIG, DEFAULT_MODEL_CONFIG, GPT2_SMALL_SHAPED_CONFIG]) {
    const specs = [
      ...embeddingParameterSpecs(config),
      ...Array.from({ length: config.layerCount }, (_, l) => layerParameterSpecs(config, l)).flat(),
      ...headParameterSpecs(config),
    ];
    const total = specs.reduce((sum, spec) => sum + spec.dims.reduce((a, b) => a * b, 1), 0);
    assert.equal(parameterCount(config), total);
  }
  assert.equal(parameterCount(DEFAULT_MODEL_CONFIG), 6_515_200);
});
