/**
 * Transformer configurations: the shape of a GPT-style decoder and the presets Butterfly ships
 * (a tiny one for exhaustive checks, the embedded default, and a GPT-2-small-shaped benchmark).
 *
 * @module
 */

/** The shape of a GPT-style decoder and the seed its weights are drawn from. */
export interface ModelConfig {
  /** Number of transformer blocks. */
  readonly layerCount: number;
  /** Width of the residual stream (d_model). */
  readonly hiddenSize: number;
  /** Number of attention heads; must divide `hiddenSize`. */
  readonly headCount: number;
  /** Number of tokens; 256 is the byte-level vocabulary (no tokenizer needed). */
  readonly vocabSize: number;
  /** Largest number of positions (prompt plus generated tokens). */
  readonly sequenceLengthMax: number;
  /** Width of the MLP hidden layer (4 x hiddenSize in GPT-2). */
  readonly mlpHiddenSize: number;
  /** Seed of the deterministic weight generator: same seed, same weights, on every node. */
  readonly seed: number;
}

/** Raised when a model configuration cannot describe a valid transformer. */
export class ModelConfigError extends Error {
  /** Creates the error with a message naming the offending field. */
  constructor(message: string) {
    super(message);
    this.name = "ModelConfigError";
  }
}

/** Upper bound on any single dimension, so a typo cannot ask for terabytes of weights. */
export const MODEL_DIMENSION_MAX = 65_536;

/**
 * A tiny configuration (2 layers, hidden 16): cheap enough to split at every boundary and to run
 * the plain TypeScript reference in tests.
 */
export const TINY_MODEL_CONFIG: ModelConfig = Object.freeze({
  layerCount: 2,
  hiddenSize: 16,
  headCount: 4,
  vocabSize: 256,
  sequenceLengthMax: 32,
  mlpHiddenSize: 64,
  seed: 7,
});

/**
 * The embedded default model: 8 layers, hidden 256, 8 heads, a byte-level vocabulary of 256 and
 * 256 positions (about 6.4 M parameters). Its weights are random, so its text is gibberish: it
 * exists to exercise real transformer compute, not to say anything.
 */
export const DEFAULT_MODEL_CONFIG: ModelConfig = Object.freeze({
  layerCount: 8,
  hiddenSize: 256,
  headCount: 8,
  vocabSize: 256,
  sequenceLengthMax: 256,
  mlpHiddenSize: 1024,
  seed: 1,
});

/**
 * A benchmark configuration shaped like GPT-2 small: 12 layers, hidden 768, 12 heads, MLP 3072,
 * 1024 positions and GPT-2's vocabulary size of 50257 (untied LM head, so about 163 M
 * parameters, 650 MB of float32).
 */
export const GPT2_SMALL_SHAPED_CONFIG: ModelConfig = Object.freeze({
  layerCount: 12,
  hiddenSize: 768,
  headCount: 12,
  vocabSize: 50_257,
  sequenceLengthMax: 1024,
  mlpHiddenSize: 3072,
  seed: 2,
});

/**
 * Checks that a configuration describes a valid decoder and returns it.
 *
 * @param config The configuration to check.
 * @returns The same configuration.
 * @throws {ModelConfigError} If a dimension is not a positive integer, is too large, or the
 * heads do not divide the hidden size.
 *
 * @example Usage
 * ```ts
 * import { TINY_MODEL_CONFIG, validateModelConfig } from "@butterfly/bcp/model";
 * import assert from "node:assert/strict";
 * assert.equal(validateModelConfig(TINY_MODEL_CONFIG).layerCount, 2);
 * assert.throws(() => validateModelConfig({ ...TINY_MODEL_CONFIG, headCount: 3 }), /divide/);
 * ```
 */
export function validateModelConfig(config: ModelConfig): ModelConfig {
  const dimensions: [string, number][] = [
    ["layerCount", config.layerCount],
    ["hiddenSize", config.hiddenSize],
    ["headCount", config.headCount],
    ["vocabSize", config.vocabSize],
    ["sequenceLengthMax", config.sequenceLengthMax],
    ["mlpHiddenSize", config.mlpHiddenSize],
  ];
  for (const [name, value] of dimensions) {
    if (!Number.isSafeInteger(value) || value < 1 || value > MODEL_DIMENSION_MAX) {
      throw new ModelConfigError(
        `${name} must be an integer in [1, ${MODEL_DIMENSION_MAX}], got ${value}`,
      );
    }
  }
  if (config.hiddenSize % config.headCount !== 0) {
    throw new ModelConfigError(
      `headCount ${config.headCount} must divide hiddenSize ${config.hiddenSize}`,
    );
  }
  if (!Number.isSafeInteger(config.seed) || config.seed < 0 || config.seed > 0xffff_ffff) {
    throw new ModelConfigError(`seed must be an unsigned 32-bit integer, got ${config.seed}`);
  }
  return config;
}

/**
 * The number of parameters of a configuration (untied embedding and LM head).
 *
 * @param config A model configuration.
 * @returns The parameter count.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_MODEL_CONFIG, parameterCount } from "@butterfly/bcp/model";
 * console.log(parameterCount(DEFAULT_MODEL_CONFIG)); // 6515200
 * ```
 */
export function parameterCount(config: ModelConfig): number {
  const h = config.hiddenSize;
  const m = config.mlpHiddenSize;
  const perLayer = 4 * (h * h + h) + (h * m + m) + (m * h + h) + 4 * h;
  const embeddings = config.vocabSize * h + config.sequenceLengthMax * h;
  const head = 2 * h + h * config.vocabSize;
  return embeddings + config.layerCount * perLayer + head;
}

/** The most milliseconds a fixed-latency block may wait per pass. */
export const FIXED_LAYER_MS_MAX = 10_000;

/** The most blocks a fixed-latency model may have. */
export const FIXED_LAYER_COUNT_MAX = 1024;

/**
 * The model a fixed-latency pipeline stands for: the default model's widths (hidden 256, a
 * byte-level vocabulary, 256 positions), so its activations are as large on the wire, with
 * `layerCount` blocks.
 *
 * @param layerCount The blocks.
 * @returns The configuration.
 * @throws {ModelConfigError} If `layerCount` is not an integer from 1 to 1024.
 *
 * @example The seed's example of 50 layers
 * ```ts
 * import { fixedLatencyConfig } from "@butterfly/bcp/model";
 * console.log(fixedLatencyConfig(50).hiddenSize); // 256
 * ```
 */
export function fixedLatencyConfig(layerCount: number): ModelConfig {
  if (!Number.isSafeInteger(layerCount) || layerCount < 1 || layerCount > FIXED_LAYER_COUNT_MAX) {
    throw new ModelConfigError(
      `A fixed-latency model has 1 to ${FIXED_LAYER_COUNT_MAX} layers, got ${layerCount}`,
    );
  }
  return validateModelConfig({ ...DEFAULT_MODEL_CONFIG, layerCount });
}
