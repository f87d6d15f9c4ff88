/**
 * The GPT-style decoder as ONNX graphs, one graph per stage (a contiguous range of blocks). The
 * first stage also embeds tokens and positions; the last also applies the final layer norm and
 * the LM head. Every block takes its key/value cache as inputs and returns the extended cache as
 * outputs, so a stage decodes incrementally.
 *
 * @module
 */

import { type ModelConfig, ModelConfigError, validateModelConfig } from "./config.ts";
import {
  addFloatInitializer,
  addFloatScalar,
  addInt64Constant,
  addNode1,
  createGraphBuilder,
  ELEMENT_TYPE,
  encodeModel,
  type GraphBuilder,
  type ValueSpec,
} from "./_onnx.ts";
import {
  embeddingParameterSpecs,
  generateParameter,
  headParameterSpecs,
  layerParameterSpecs,
} from "./weights.ts";

/** A contiguous range of transformer blocks: `layerStart` inclusive, `layerEnd` exclusive. */
export interface LayerRange {
  /** First block of the stage, from 0. */
  readonly layerStart: number;
  /** One past the last block of the stage. */
  readonly layerEnd: number;
}

/** A dimension: a fixed size or a symbolic name such as "sequence". */
export type Dim = number | string;

/** Element types a stage tensor may have. */
export type TensorDtype = "float32" | "int32" | "int64" | "bool";

/** A graph input or output: name, element type and shape. */
export interface TensorSpec {
  /** Graph input or output name. */
  readonly name: string;
  /** Element type. */
  readonly dtype: TensorDtype;
  /** Shape; a string is a symbolic dimension such as "sequence". */
  readonly shape: readonly Dim[];
}

/** Epsilon of every layer norm, as in GPT-2. */
export const LAYER_NORM_EPSILON: number = 1e-5;
/** Added to masked attention scores: far below any real score, so exp() gives exactly 0. */
export const ATTENTION_MASK_VALUE: number = -1e30;
/** Input of the first stage: token ids, int32 [batch, sequence]. */
export const TOKEN_INPUT_NAME = "token_ids";
/** Input of any later stage: the residual stream, float32 [batch, sequence, hidden]. */
export const HIDDEN_INPUT_NAME = "hidden_in";
/** Output of any stage but the last: the residual stream, float32 [batch, sequence, hidden]. */
export const HIDDEN_OUTPUT_NAME = "hidden_out";
/** Output of the last stage: float32 [batch, sequence, vocab]. */
export const LOGITS_OUTPUT_NAME = "logits";

/** The names of one block's cache tensors, float32 [batch, heads, positions, headDim]. */
export interface CacheTensorNames {
  /** Keys before this call (`past_key.{layer}`). */
  readonly pastKey: string;
  /** Values before this call (`past_value.{layer}`). */
  readonly pastValue: string;
  /** Keys after this call, past then new (`present_key.{layer}`). */
  readonly presentKey: string;
  /** Values after this call (`present_value.{layer}`). */
  readonly presentValue: string;
}

/**
 * The cache tensor names of a block.
 *
 * @param layerIndex The block's index in the whole model.
 * @returns Its past and present key/value names.
 *
 * @example Usage
 * ```ts
 * import { cacheTensorNames } from "@butterfly/bcp/model";
 * console.log(cacheTensorNames(3).presentKey); // "present_key.3"
 * ```
 */
export function cacheTensorNames(layerIndex: number): CacheTensorNames {
  return {
    pastKey: `past_key.${layerIndex}`,
    pastValue: `past_value.${layerIndex}`,
    presentKey: `present_key.${layerIndex}`,
    presentValue: `present_value.${layerIndex}`,
  };
}

/**
 * Checks that a layer range is a non-empty part of the model.
 *
 * @param config The model configuration.
 * @param range The range to check.
 * @returns The same range.
 * @throws {ModelConfigError} If the range is empty or outside the model.
 *
 * @example Usage
 * ```ts
 * import { TINY_MODEL_CONFIG, validateLayerRange } from "@butterfly/bcp/model";
 * import assert from "node:assert/strict";
 * assert.throws(() => validateLayerRange(TINY_MODEL_CONFIG, { layerStart: 1, layerEnd: 1 }));
 * ```
 */
export function validateLayerRange(config: ModelConfig, range: LayerRange): LayerRange {
  const { layerStart, layerEnd } = range;
  if (
    !Number.isSafeInteger(layerStart) || !Number.isSafeInteger(layerEnd) || layerStart < 0 ||
    layerEnd <= layerStart || layerEnd > config.layerCount
  ) {
    throw new ModelConfigError(
      `Layer range [${layerStart}, ${layerEnd}) must be non-empty and within [0, ${config.layerCount})`,
    );
  }
  return range;
}

/**
 * The graph inputs and outputs of a stage: what its ONNX file must declare.
 *
 * @param config The model configuration.
 * @param range The stage's blocks.
 * @returns Inputs (activations then caches) and outputs (activations then caches).
 *
 * @example Usage
 * ```ts
 * import { stageSignature, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * const signature = stageSignature(TINY_MODEL_CONFIG, { layerStart: 0, layerEnd: 1 });
 * console.log(signature.inputs.map((input) => input.name)); // token_ids, past_key.0, past_value.0
 * ```
 */
export function stageSignature(
  config: ModelConfig,
  range: LayerRange,
): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  validateLayerRange(config, range);
  const isFirst = range.layerStart === 0;
  const isLast = range.layerEnd === config.layerCount;
  const headDim = config.hiddenSize / config.headCount;
  const cacheDims: Dim[] = ["batch", config.headCount, "past_sequence", headDim];
  const presentDims: Dim[] = ["batch", config.headCount, "total_sequence", headDim];
  const inputs: TensorSpec[] = [
    isFirst ? { name: TOKEN_INPUT_NAME, dtype: "int32", shape: ["batch", "sequence"] } : {
      name: HIDDEN_INPUT_NAME,
      dtype: "float32",
      shape: ["batch", "sequence", config.hiddenSize],
    },
  ];
  const outputs: TensorSpec[] = [
    isLast
      ? {
        name: LOGITS_OUTPUT_NAME,
        dtype: "float32",
        shape: ["batch", "sequence", config.vocabSize],
      }
      : {
        name: HIDDEN_OUTPUT_NAME,
        dtype: "float32",
        shape: ["batch", "sequence", config.hiddenSize],
      },
  ];
  for (let layer = range.layerStart; layer < range.layerEnd; layer++) {
    const names = cacheTensorNames(layer);
    inputs.push({ name: names.pastKey, dtype: "float32", shape: cacheDims });
    inputs.push({ name: names.pastValue, dtype: "float32", shape: cacheDims });
    outputs.push({ name: names.presentKey, dtype: "float32", shape: presentDims });
    outputs.push({
      name: names.presentValue,
      dtype: "float32",
      shape: presentDims,
    });
  }
  return { inputs, outputs };
}

function valueSpec(tensor: TensorSpec): ValueSpec {
  return { name: tensor.name, elementType: ELEMENT_TYPE[tensor.dtype], dims: tensor.shape };
}

interface StageContext {
  readonly graph: GraphBuilder;
  readonly config: ModelConfig;
  /** bool [sequence, total]: query i may attend to key j. */
  readonly allowed: string;
  readonly weights: Map<string, string>;
}

function addParameters(
  graph: GraphBuilder,
  config: ModelConfig,
  specs: ReturnType<typeof layerParameterSpecs>,
): Map<string, string> {
  const names = new Map<string, string>();
  for (const spec of specs) {
    names.set(
      spec.name,
      addFloatInitializer(graph, spec.name, spec.dims, generateParameter(config, spec)),
    );
  }
  return names;
}

function weight(context: StageContext, name: string): string {
  const found = context.weights.get(name);
  if (found === undefined) throw new Error(`Missing parameter ${name}`);
  return found;
}

function layerNorm(context: StageContext, x: string, prefix: string): string {
  return addNode1(
    context.graph,
    "LayerNormalization",
    [x, weight(context, `${prefix}.scale`), weight(context, `${prefix}.bias`)],
    { hint: "ln", attributes: { axis: -1, epsilon: { float: LAYER_NORM_EPSILON } } },
  );
}

function linear(context: StageContext, x: string, prefix: string): string {
  const product = addNode1(context.graph, "MatMul", [x, weight(context, `${prefix}.weight`)]);
  return addNode1(context.graph, "Add", [product, weight(context, `${prefix}.bias`)]);
}

/** 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))): GPT-2's GELU, mirrored by the reference. */
function gelu(graph: GraphBuilder, x: string): string {
  const cube = addNode1(graph, "Mul", [addNode1(graph, "Mul", [x, x]), x]);
  const inner = addNode1(graph, "Add", [
    x,
    addNode1(graph, "Mul", [cube, addFloatScalar(graph, 0.044715)]),
  ]);
  const scaled = addNode1(graph, "Mul", [inner, addFloatScalar(graph, Math.sqrt(2 / Math.PI))]);
  const onePlus = addNode1(graph, "Add", [
    addNode1(graph, "Tanh", [scaled]),
    addFloatScalar(graph, 1),
  ]);
  return addNode1(graph, "Mul", [addNode1(graph, "Mul", [x, addFloatScalar(graph, 0.5)]), onePlus]);
}

function splitHeads(context: StageContext, x: string): string {
  const { graph, config } = context;
  const headDim = config.hiddenSize / config.headCount;
  const reshaped = addNode1(graph, "Reshape", [
    x,
    addInt64Constant(graph, [0, 0, config.headCount, headDim]),
  ]);
  return addNode1(graph, "Transpose", [reshaped], { attributes: { perm: [0, 2, 1, 3] } });
}

function attention(context: StageContext, x: string, layer: number): string {
  const { graph, config } = context;
  const p = `layer${layer}.attn`;
  const names = cacheTensorNames(layer);
  const q = splitHeads(context, linear(context, x, `${p}.q`));
  const k = splitHeads(context, linear(context, x, `${p}.k`));
  const v = splitHeads(context, linear(context, x, `${p}.v`));
  const keys = addNode1(graph, "Concat", [names.pastKey, k], {
    output: names.presentKey,
    attributes: { axis: 2 },
  });
  const values = addNode1(graph, "Concat", [names.pastValue, v], {
    output: names.presentValue,
    attributes: { axis: 2 },
  });
  const keysT = addNode1(graph, "Transpose", [keys], { attributes: { perm: [0, 1, 3, 2] } });
  const headDim = config.hiddenSize / config.headCount;
  const scores = addNode1(graph, "Mul", [
    addNode1(graph, "MatMul", [q, keysT]),
    addFloatScalar(graph, 1 / Math.sqrt(headDim)),
  ]);
  const masked = addNode1(graph, "Where", [
    context.allowed,
    scores,
    addFloatScalar(graph, ATTENTION_MASK_VALUE),
  ]);
  const probabilities = addNode1(graph, "Softmax", [masked], { attributes: { axis: -1 } });
  const mixed = addNode1(graph, "MatMul", [probabilities, values]);
  const merged = addNode1(graph, "Reshape", [
    addNode1(graph, "Transpose", [mixed], { attributes: { perm: [0, 2, 1, 3] } }),
    addInt64Constant(graph, [0, 0, config.hiddenSize]),
  ]);
  return linear(context, merged, `${p}.o`);
}

function block(context: StageContext, x: string, layer: number): string {
  const { graph } = context;
  const p = `layer${layer}`;
  const afterAttention = addNode1(graph, "Add", [
    x,
    attention(context, layerNorm(context, x, `${p}.ln1`), layer),
  ]);
  const up = gelu(
    graph,
    linear(context, layerNorm(context, afterAttention, `${p}.ln2`), `${p}.mlp.up`),
  );
  return addNode1(graph, "Add", [afterAttention, linear(context, up, `${p}.mlp.down`)]);
}

/** Positions of the new tokens and the causal mask, from the cache length and input length. */
function positionsAndMask(
  graph: GraphBuilder,
  input: string,
  firstPastKey: string,
): { queryPositions: string; allowed: string } {
  const squeezeAxes = addInt64Constant(graph, [0]);
  const pastLength = addNode1(graph, "Shape", [firstPastKey], { attributes: { start: 2, end: 3 } });
  const newLength = addNode1(graph, "Shape", [input], { attributes: { start: 1, end: 2 } });
  const total = addNode1(graph, "Squeeze", [
    addNode1(graph, "Add", [pastLength, newLength]),
    squeezeAxes,
  ]);
  const past = addNode1(graph, "Squeeze", [pastLength, squeezeAxes]);
  const one = addInt64Constant(graph, [1], { scalar: true });
  const zero = addInt64Constant(graph, [0], { scalar: true });
  const queryPositions = addNode1(graph, "Range", [past, total, one]);
  const keyPositions = addNode1(graph, "Range", [zero, total, one]);
  const allowed = addNode1(graph, "LessOrEqual", [
    addNode1(graph, "Unsqueeze", [keyPositions, addInt64Constant(graph, [0])]),
    addNode1(graph, "Unsqueeze", [queryPositions, addInt64Constant(graph, [1])]),
  ]);
  return { queryPositions, allowed };
}

/**
 * Builds the ONNX graph of one stage, weights included, from the configuration alone.
 *
 * @param config The model configuration.
 * @param range The stage's blocks; the stage starting at 0 embeds, the stage ending at
 * `layerCount` applies the final norm and LM head.
 * @returns The encoded ONNX model.
 *
 * @example Usage
 * ```ts
 * import { buildStageModel, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * const bytes = buildStageModel(TINY_MODEL_CONFIG, { layerStart: 0, layerEnd: 2 });
 * console.log(bytes.length > 0);
 * ```
 */
export function buildStageModel(config: ModelConfig, range: LayerRange): Uint8Array {
  validateModelConfig(config);
  const signature = stageSignature(config, range);
  const graph = createGraphBuilder();
  const isFirst = range.layerStart === 0;
  const isLast = range.layerEnd === config.layerCount;
  const input = isFirst ? TOKEN_INPUT_NAME : HIDDEN_INPUT_NAME;
  const { queryPositions, allowed } = positionsAndMask(
    graph,
    input,
    cacheTensorNames(range.layerStart).pastKey,
  );
  const specs = [
    ...(isFirst ? embeddingParameterSpecs(config) : []),
    ...Array.from(
      { length: range.layerEnd - range.layerStart },
      (_, offset) => layerParameterSpecs(config, range.layerStart + offset),
    ).flat(),
    ...(isLast ? headParameterSpecs(config) : []),
  ];
  const context: StageContext = {
    graph,
    config,
    allowed,
    weights: addParameters(graph, config, specs),
  };
  let x = input;
  if (isFirst) {
    const tokens = addNode1(graph, "Gather", [weight(context, "embed.token"), input]);
    const positions = addNode1(graph, "Gather", [
      weight(context, "embed.position"),
      queryPositions,
    ]);
    x = addNode1(graph, "Add", [tokens, positions]);
  }
  for (let layer = range.layerStart; layer < range.layerEnd; layer++) {
    x = block(context, x, layer);
  }
  if (isLast) {
    const normed = layerNorm(context, x, "final.ln");
    addNode1(graph, "MatMul", [normed, weight(context, "head.weight")], {
      output: LOGITS_OUTPUT_NAME,
    });
  } else {
    addNode1(graph, "Identity", [x], { output: HIDDEN_OUTPUT_NAME });
  }
  return encodeModel(graph, {
    name: `butterfly_layers_${range.layerStart}_${range.layerEnd}`,
    inputs: signature.inputs.map(valueSpec),
    outputs: signature.outputs.map(valueSpec),
  });
}
