/**
 * Deterministic weights: every parameter of a model is drawn from a generator seeded by the model
 * seed and the parameter's name, so any node builds any stage's weights, bit for bit, without
 * shipping files and without building the rest of the model.
 *
 * @module
 */

import type { ModelConfig } from "./config.ts";
import { fillNormal, prngFromSeed, seedForName } from "./_prng.ts";

/** How a parameter's values are drawn. */
export interface ParameterSpec {
  /** Name, also the ONNX initializer name, such as `layer3.attn.q.weight`. */
  readonly name: string;
  /** Shape, row-major. */
  readonly dims: readonly number[];
  /** Mean of the distribution (1 for layer-norm scales, 0 otherwise). */
  readonly mean: number;
  /** Standard deviation of the distribution. */
  readonly std: number;
}

/** Standard deviation of most weights, as in GPT-2's initialisation. */
export const WEIGHT_STD = 0.02;

/**
 * The parameters of one transformer block, in graph order.
 *
 * @param config The model configuration.
 * @param layerIndex The block's index in the whole model, from 0.
 * @returns The block's parameter specs, named `layer{layerIndex}.…`.
 *
 * @example Usage
 * ```ts
 * import { layerParameterSpecs, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * console.log(layerParameterSpecs(TINY_MODEL_CONFIG, 0).map((spec) => spec.name));
 * ```
 */
export function layerParameterSpecs(config: ModelConfig, layerIndex: number): ParameterSpec[] {
  const h = config.hiddenSize;
  const m = config.mlpHiddenSize;
  const p = `layer${layerIndex}`;
  // GPT-2 scales the projections that write into the residual stream by 1/sqrt(2 N).
  const residualStd = WEIGHT_STD / Math.sqrt(2 * config.layerCount);
  return [
    { name: `${p}.ln1.scale`, dims: [h], mean: 1, std: WEIGHT_STD },
    { name: `${p}.ln1.bias`, dims: [h], mean: 0, std: WEIGHT_STD },
    { name: `${p}.attn.q.weight`, dims: [h, h], mean: 0, std: WEIGHT_STD },
    { name: `${p}.attn.q.bias`, dims: [h], mean: 0, std: WEIGHT_STD },
    { name: `${p}.attn.k.weight`, dims: [h, h], mean: 0, std: WEIGHT_STD },
    { name: `${p}.attn.k.bias`, dims: [h], mean: 0, std: WEIGHT_STD },
    { name: `${p}.attn.v.weight`, dims: [h, h], mean: 0, std: WEIGHT_STD },
    { name: `${p}.attn.v.bias`, dims: [h], mean: 0, std: WEIGHT_STD },
    { name: `${p}.attn.o.weight`, dims: [h, h], mean: 0, std: residualStd },
    { name: `${p}.attn.o.bias`, dims: [h], mean: 0, std: WEIGHT_STD },
    { name: `${p}.ln2.scale`, dims: [h], mean: 1, std: WEIGHT_STD },
    { name: `${p}.ln2.bias`, dims: [h], mean: 0, std: WEIGHT_STD },
    { name: `${p}.mlp.up.weight`, dims: [h, m], mean: 0, std: WEIGHT_STD },
    { name: `${p}.mlp.up.bias`, dims: [m], mean: 0, std: WEIGHT_STD },
    { name: `${p}.mlp.down.weight`, dims: [m, h], mean: 0, std: residualStd },
    { name: `${p}.mlp.down.bias`, dims: [h], mean: 0, std: WEIGHT_STD },
  ];
}

/**
 * The embedding parameters (token and learned position tables), held by the first stage.
 *
 * @param config The model configuration.
 * @returns Specs of `embed.token` [vocab, hidden] and `embed.position` [positions, hidden].
 *
 * @example Usage
 * ```ts
 * import { embeddingParameterSpecs, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * console.log(embeddingParameterSpecs(TINY_MODEL_CONFIG)[0]?.dims); // [256, 16]
 * ```
 */
export function embeddingParameterSpecs(config: ModelConfig): ParameterSpec[] {
  const h = config.hiddenSize;
  return [
    { name: "embed.token", dims: [config.vocabSize, h], mean: 0, std: WEIGHT_STD },
    { name: "embed.position", dims: [config.sequenceLengthMax, h], mean: 0, std: WEIGHT_STD / 2 },
  ];
}

/**
 * The final layer norm and LM head parameters, held by the last stage. The head is not tied to
 * the token embedding, so the first and last stage need not share weights.
 *
 * @param config The model configuration.
 * @returns Specs of `final.ln.scale`, `final.ln.bias` and `head.weight` [hidden, vocab].
 *
 * @example Usage
 * ```ts
 * import { headParameterSpecs, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * console.log(headParameterSpecs(TINY_MODEL_CONFIG).length); // 3
 * ```
 */
export function headParameterSpecs(config: ModelConfig): ParameterSpec[] {
  const h = config.hiddenSize;
  return [
    { name: "final.ln.scale", dims: [h], mean: 1, std: WEIGHT_STD },
    { name: "final.ln.bias", dims: [h], mean: 0, std: WEIGHT_STD },
    { name: "head.weight", dims: [h, config.vocabSize], mean: 0, std: WEIGHT_STD },
  ];
}

/**
 * Draws a parameter's values from the model seed and the parameter's name.
 *
 * @param config The model configuration (its seed is used).
 * @param spec The parameter to draw.
 * @returns The values, row-major, identical on every machine.
 *
 * @example Usage
 * ```ts
 * import { generateParameter, layerParameterSpecs, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * import assert from "node:assert/strict";
 * const spec = layerParameterSpecs(TINY_MODEL_CONFIG, 0)[2]!;
 * assert.deepEqual(generateParameter(TINY_MODEL_CONFIG, spec), generateParameter(TINY_MODEL_CONFIG, spec));
 * ```
 */
export function generateParameter(config: ModelConfig, spec: ParameterSpec): Float32Array {
  const size = spec.dims.reduce((product, dim) => product * dim, 1);
  const values = new Float32Array(size);
  fillNormal(prngFromSeed(seedForName(config.seed, spec.name)), values, spec.mean, spec.std);
  return values;
}
