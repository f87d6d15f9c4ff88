/**
 * A plain TypeScript forward pass of the decoder, written from the transformer equations with
 * Float32Array and loops, sharing nothing with the ONNX graphs but the weights. Agreement between
 * the two is the independent check that the graphs compute what we think they compute.
 *
 * @module
 */

import { type ModelConfig, validateModelConfig } from "./config.ts";
import type { Float32Tensor } from "./tensor.ts";
import { LAYER_NORM_EPSILON } from "./transformer.ts";
import {
  embeddingParameterSpecs,
  generateParameter,
  headParameterSpecs,
  layerParameterSpecs,
  type ParameterSpec,
} from "./weights.ts";

type Weights = ReadonlyMap<string, Float32Array>;

/** Options of `referenceForward`. */
export interface ReferenceForwardOptions {
  /** Weights from `referenceWeights` (default: generated on each call). */
  readonly weights?: ReadonlyMap<string, Float32Array>;
}

/**
 * Every parameter of a model, by name, for `referenceForward` (generate once, reuse across calls).
 *
 * @param config The model configuration.
 * @returns The parameters by name.
 *
 * @example Usage
 * ```ts
 * import { referenceWeights, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * console.log(referenceWeights(TINY_MODEL_CONFIG).get("head.weight")?.length); // 4096
 * ```
 */
export function referenceWeights(config: ModelConfig): ReadonlyMap<string, Float32Array> {
  const specs: ParameterSpec[] = [
    ...embeddingParameterSpecs(config),
    ...Array.from({ length: config.layerCount }, (_, layer) => layerParameterSpecs(config, layer))
      .flat(),
    ...headParameterSpecs(config),
  ];
  return new Map(specs.map((spec) => [spec.name, generateParameter(config, spec)]));
}

function get(weights: Weights, name: string): Float32Array {
  const found = weights.get(name);
  if (found === undefined) throw new Error(`Missing parameter ${name}`);
  return found;
}

/** y[n, out] = x[n, in] W[in, out] + b[out] (b optional). */
function linear(
  x: Float32Array,
  rows: number,
  w: Float32Array,
  b: Float32Array | undefined,
  inWidth: number,
  outWidth: number,
): Float32Array {
  const y = new Float32Array(rows * outWidth);
  const accumulator = new Float64Array(outWidth);
  for (let r = 0; r < rows; r++) {
    accumulator.fill(0);
    for (let i = 0; i < inWidth; i++) {
      const xi = x[r * inWidth + i]!;
      const row = i * outWidth;
      for (let o = 0; o < outWidth; o++) accumulator[o]! += xi * w[row + o]!;
    }
    for (let o = 0; o < outWidth; o++) y[r * outWidth + o] = accumulator[o]! + (b?.[o] ?? 0);
  }
  return y;
}

/** LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * scale + bias. */
function layerNorm(
  x: Float32Array,
  rows: number,
  width: number,
  scale: Float32Array,
  bias: Float32Array,
): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < width; i++) mean += x[r * width + i]!;
    mean /= width;
    let variance = 0;
    for (let i = 0; i < width; i++) variance += (x[r * width + i]! - mean) ** 2;
    variance /= width;
    const inverse = 1 / Math.sqrt(variance + LAYER_NORM_EPSILON);
    for (let i = 0; i < width; i++) {
      y[r * width + i] = (x[r * width + i]! - mean) * inverse * scale[i]! + bias[i]!;
    }
  }
  return y;
}

/** GPT-2's GELU: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). */
function gelu(x: Float32Array): Float32Array {
  const c = Math.sqrt(2 / Math.PI);
  return x.map((v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v * v * v))));
}

/** Causal multi-head attention over the whole sequence: softmax(q k^T / sqrt(d) + mask) v. */
function attention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  length: number,
  config: ModelConfig,
): Float32Array {
  const h = config.hiddenSize;
  const d = h / config.headCount;
  const out = new Float32Array(length * h);
  const scores = new Float64Array(length);
  for (let head = 0; head < config.headCount; head++) {
    for (let i = 0; i < length; i++) {
      let max = -Infinity;
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let t = 0; t < d; t++) dot += q[i * h + head * d + t]! * k[j * h + head * d + t]!;
        scores[j] = dot / Math.sqrt(d);
        max = Math.max(max, scores[j]!);
      }
      let sum = 0;
      for (let j = 0; j <= i; j++) {
        scores[j] = Math.exp(scores[j]! - max);
        sum += scores[j]!;
      }
      for (let t = 0; t < d; t++) {
        let mixed = 0;
        for (let j = 0; j <= i; j++) mixed += (scores[j]! / sum) * v[j * h + head * d + t]!;
        out[i * h + head * d + t] = mixed;
      }
    }
  }
  return out;
}

function addInPlace(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i]! += y[i]!;
}

function block(
  x: Float32Array,
  length: number,
  config: ModelConfig,
  weights: Weights,
  layer: number,
): void {
  const h = config.hiddenSize;
  const m = config.mlpHiddenSize;
  const p = `layer${layer}`;
  const w = (name: string): Float32Array => get(weights, `${p}.${name}`);
  const a = layerNorm(x, length, h, w("ln1.scale"), w("ln1.bias"));
  const q = linear(a, length, w("attn.q.weight"), w("attn.q.bias"), h, h);
  const k = linear(a, length, w("attn.k.weight"), w("attn.k.bias"), h, h);
  const v = linear(a, length, w("attn.v.weight"), w("attn.v.bias"), h, h);
  const mixed = attention(q, k, v, length, config);
  addInPlace(x, linear(mixed, length, w("attn.o.weight"), w("attn.o.bias"), h, h));
  const b = layerNorm(x, length, h, w("ln2.scale"), w("ln2.bias"));
  const up = gelu(linear(b, length, w("mlp.up.weight"), w("mlp.up.bias"), h, m));
  addInPlace(x, linear(up, length, w("mlp.down.weight"), w("mlp.down.bias"), m, h));
}

/**
 * The logits of a whole sequence, computed without ONNX: embedding plus learned positions, the
 * pre-norm blocks (causal attention, tanh-GELU MLP, residuals), final norm and LM head.
 *
 * @param config The model configuration (use a small one: this is O(n^2 h + n h^2) in loops).
 * @param tokens The token ids of the sequence, from position 0.
 * @param options Pre-generated weights.
 * @returns Logits [1, tokens.length, vocab].
 *
 * @example Usage
 * ```ts
 * import { referenceForward, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * console.log(referenceForward(TINY_MODEL_CONFIG, [72, 105]).dims); // [1, 2, 256]
 * ```
 */
export function referenceForward(
  config: ModelConfig,
  tokens: readonly number[],
  options: ReferenceForwardOptions = {},
): Float32Tensor {
  validateModelConfig(config);
  const length = tokens.length;
  if (length < 1 || length > config.sequenceLengthMax) {
    throw new RangeError(
      `Sequence length must lie in [1, ${config.sequenceLengthMax}], got ${length}`,
    );
  }
  const weights = options.weights ?? referenceWeights(config);
  const h = config.hiddenSize;
  const tokenTable = get(weights, "embed.token");
  const positionTable = get(weights, "embed.position");
  const x = new Float32Array(length * h);
  tokens.forEach((token, position) => {
    if (!Number.isInteger(token) || token < 0 || token >= config.vocabSize) {
      throw new RangeError(`Token ids must lie in [0, ${config.vocabSize}), got ${token}`);
    }
    for (let i = 0; i < h; i++) {
      x[position * h + i] = tokenTable[token * h + i]! + positionTable[position * h + i]!;
    }
  });
  for (let layer = 0; layer < config.layerCount; layer++) block(x, length, config, weights, layer);
  const normed = layerNorm(
    x,
    length,
    h,
    get(weights, "final.ln.scale"),
    get(weights, "final.ln.bias"),
  );
  const logits = linear(
    normed,
    length,
    get(weights, "head.weight"),
    undefined,
    h,
    config.vocabSize,
  );
  return { dtype: "float32", dims: [1, length, config.vocabSize], data: logits };
}
