/**
 * The stage executor: one ONNX Runtime session for a contiguous range of transformer blocks,
 * created once and reused, mapping (activations, cache) to (activations, cache). The only module
 * of Butterfly that touches ONNX Runtime.
 *
 * @module
 */

// First, so that ONNX Runtime initializes with its telemetry off.
import "./_ort_env.ts";
import * as ort from "onnxruntime-node";
import { type ModelConfig, ModelConfigError, validateModelConfig } from "./config.ts";
import { createWithFallback, type ExecutionProvider } from "./_providers.ts";
import { emptyKvCache, type KvCache, type LayerKvCache } from "./kv_cache.ts";
import type { Float32Tensor, StageTensor } from "./tensor.ts";
import {
  buildStageModel,
  cacheTensorNames,
  HIDDEN_INPUT_NAME,
  HIDDEN_OUTPUT_NAME,
  type LayerRange,
  LOGITS_OUTPUT_NAME,
  TOKEN_INPUT_NAME,
  validateLayerRange,
} from "./transformer.ts";

export type { ExecutionProvider } from "./_providers.ts";

/** How a stage executor creates its session. */
export interface StageExecutorOptions {
  /** Providers to try in order (default `["cpu"]`); `["cuda", "cpu"]` falls back to CPU. */
  readonly executionProviders?: readonly ExecutionProvider[];
  /** Threads inside one operator (default 1: one thread gives bit-identical results). */
  readonly intraOpThreadCount?: number;
  /** Receives each fallback message (default: `console.warn`). */
  readonly onFallback?: (message: string) => void;
  /** An ONNX model to run instead of building one (a user model's stage file). */
  readonly modelBytes?: Uint8Array;
}

/**
 * What a pipeline needs of a stage: `StageExecutor` runs it on ONNX Runtime; a
 * `FixedLatencyStage` (benchmarks) waits a set time instead of computing.
 */
export interface PipelineStage {
  /** The model this stage belongs to. */
  readonly config: ModelConfig;
  /** The blocks this stage runs. */
  readonly range: LayerRange;
  /** Where it runs (`cpu`, `cuda`). */
  readonly executionProvider: ExecutionProvider;
  /**
   * An empty cache shaped for this stage.
   *
   * @param batchSize Number of sequences decoded together (default 1).
   */
  emptyCache(batchSize?: number): KvCache;
  /**
   * Runs the stage on new positions.
   *
   * @param input Token ids [batch, n] for the first stage, else the residual stream.
   * @param cache The stage's cache at the current position.
   */
  run(input: StageTensor, cache: KvCache): Promise<StageResult>;
  /** Releases what the stage holds. */
  close(): Promise<void>;
}

/** What one run of a stage returns. */
export interface StageResult {
  /** The residual stream for the next stage, or the logits from the last stage. */
  readonly output: Float32Tensor;
  /** The cache extended by the new positions. */
  readonly cache: KvCache;
}

/** Raised when a stage is run with inputs that do not fit it. */
export class StageInputError extends Error {
  /** Creates the error with a message saying which input is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "StageInputError";
  }
}

/** Upper bound on threads per operator, so a typo cannot oversubscribe a node. */
export const INTRA_OP_THREAD_COUNT_MAX = 256;

/**
 * Runs one stage of a split transformer with ONNX Runtime.
 *
 * @example Usage
 * ```ts
 * import { StageExecutor, TINY_MODEL_CONFIG, tensorDigest, tokenTensor } from "@butterfly/bcp/model";
 * const stage = await StageExecutor.create(TINY_MODEL_CONFIG, { layerStart: 0, layerEnd: 2 });
 * const { output, cache } = await stage.run(tokenTensor([72, 105]), stage.emptyCache());
 * console.log(output.dims, cache.position, tensorDigest(output).length); // [1, 2, 256] 2 64
 * await stage.close();
 * ```
 */
export class StageExecutor implements PipelineStage {
  /** The model this stage belongs to. */
  readonly config: ModelConfig;
  /** The blocks this stage runs. */
  readonly range: LayerRange;
  /** The provider the session runs on. */
  readonly executionProvider: ExecutionProvider;
  /** Fallback messages emitted while creating the session (empty if the first provider worked). */
  readonly fallbackMessages: readonly string[];
  readonly #session: ort.InferenceSession;

  private constructor(
    config: ModelConfig,
    range: LayerRange,
    session: ort.InferenceSession,
    choice: { provider: ExecutionProvider; fallbackMessages: readonly string[] },
  ) {
    this.config = config;
    this.range = range;
    this.#session = session;
    this.executionProvider = choice.provider;
    this.fallbackMessages = choice.fallbackMessages;
  }

  /**
   * Builds (or takes) the stage's ONNX model and creates its session.
   *
   * @param config The model configuration.
   * @param range The blocks of the stage.
   * @param options Providers, threads, fallback reporting, or a user model's bytes.
   * @returns A ready executor; call `close()` when done.
   */
  static async create(
    config: ModelConfig,
    range: LayerRange,
    options: StageExecutorOptions = {},
  ): Promise<StageExecutor> {
    validateModelConfig(config);
    validateLayerRange(config, range);
    const threads = options.intraOpThreadCount ?? 1;
    if (!Number.isSafeInteger(threads) || threads < 1 || threads > INTRA_OP_THREAD_COUNT_MAX) {
      throw new ModelConfigError(
        `intraOpThreadCount must be an integer in [1, ${INTRA_OP_THREAD_COUNT_MAX}], got ${threads}`,
      );
    }
    const bytes = options.modelBytes ?? buildStageModel(config, range);
    const choice = await createWithFallback(
      options.executionProviders ?? ["cpu"],
      (provider) =>
        ort.InferenceSession.create(bytes, {
          executionProviders: [provider],
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          executionMode: "sequential",
          graphOptimizationLevel: "all",
        }),
      options.onFallback ?? ((message) => console.warn(message)),
    );
    return new StageExecutor(config, range, choice.value, choice);
  }

  /** Whether this stage embeds tokens (it starts at block 0). */
  get isFirst(): boolean {
    return this.range.layerStart === 0;
  }

  /** Whether this stage produces logits (it ends at the last block). */
  get isLast(): boolean {
    return this.range.layerEnd === this.config.layerCount;
  }

  /**
   * An empty cache shaped for this stage.
   *
   * @param batchSize Number of sequences decoded together (default 1).
   * @returns A cache at position 0.
   */
  emptyCache(batchSize = 1): KvCache {
    return emptyKvCache(
      { headCount: this.config.headCount, headDim: this.config.hiddenSize / this.config.headCount },
      this.range,
      { batchSize },
    );
  }

  /**
   * Runs the stage on new positions.
   *
   * @param input Token ids [batch, n] for the first stage, else the residual stream
   * [batch, n, hidden] from the previous stage.
   * @param cache The stage's cache at the current position.
   * @returns The output activations and the cache extended by n positions.
   * @throws {StageInputError} If the input or cache does not fit the stage.
   */
  async run(input: StageTensor, cache: KvCache): Promise<StageResult> {
    const [batchSize, length] = checkStageInput(this.config, this.range, input, cache);
    const feeds: Record<string, ort.Tensor> = {};
    feeds[this.isFirst ? TOKEN_INPUT_NAME : HIDDEN_INPUT_NAME] = input.dtype === "int32"
      ? new ort.Tensor("int32", input.data, [...input.dims])
      : new ort.Tensor("float32", input.data, [...input.dims]);
    const headDim = this.config.hiddenSize / this.config.headCount;
    const cacheDims = [batchSize, this.config.headCount, cache.position, headDim];
    for (const layer of cache.layers) {
      const names = cacheTensorNames(layer.layerIndex);
      feeds[names.pastKey] = new ort.Tensor("float32", layer.key, cacheDims);
      feeds[names.pastValue] = new ort.Tensor("float32", layer.value, cacheDims);
    }
    const results = await this.#session.run(feeds);
    const outputName = this.isLast ? LOGITS_OUTPUT_NAME : HIDDEN_OUTPUT_NAME;
    const layers: LayerKvCache[] = cache.layers.map((layer) => {
      const names = cacheTensorNames(layer.layerIndex);
      return {
        layerIndex: layer.layerIndex,
        key: floatData(results, names.presentKey),
        value: floatData(results, names.presentValue),
      };
    });
    const output = results[outputName];
    if (output === undefined) throw new StageInputError(`Stage produced no ${outputName}`);
    const outputDims = [
      batchSize,
      length,
      this.isLast ? this.config.vocabSize : this.config.hiddenSize,
    ];
    if (output.dims.join(",") !== outputDims.join(",")) {
      throw new StageInputError(
        `Stage output ${outputName} has shape [${output.dims}], expected [${outputDims}]`,
      );
    }
    return {
      output: { dtype: "float32", dims: outputDims, data: floatData(results, outputName) },
      cache: { ...cache, position: cache.position + length, layers },
    };
  }

  /** Releases the ONNX Runtime session. */
  async close(): Promise<void> {
    await this.#session.release();
  }
}

function floatData(results: ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const tensor = results[name];
  if (tensor === undefined || tensor.type !== "float32") {
    throw new StageInputError(`Stage produced no float32 ${name}`);
  }
  return tensor.data as Float32Array;
}

/**
 * Checks that an input and a cache fit a stage: the dtype and shape its place in the model
 * takes, token ids in the vocabulary, the positions left, and the cache's blocks.
 *
 * @param config The model.
 * @param range The stage's blocks.
 * @param input The stage's input.
 * @param cache The stage's cache.
 * @returns The batch size and the number of new positions.
 * @throws {StageInputError} Saying what does not fit.
 */
export function checkStageInput(
  config: ModelConfig,
  range: LayerRange,
  input: StageTensor,
  cache: KvCache,
): [number, number] {
  const isFirst = range.layerStart === 0;
  const expected = isFirst ? "int32" : "float32";
  if (input.dtype !== expected) {
    throw new StageInputError(
      `Stage [${range.layerStart}, ${range.layerEnd}) takes ${expected} input, got ${input.dtype}`,
    );
  }
  const rank = isFirst ? 2 : 3;
  const [batchSize, length, width] = input.dims;
  if (
    input.dims.length !== rank || batchSize === undefined || length === undefined ||
    (!isFirst && width !== config.hiddenSize) || length < 1
  ) {
    throw new StageInputError(
      `Stage input has shape [${input.dims}], expected ${
        isFirst ? "[batch, n]" : `[batch, n, ${config.hiddenSize}]`
      } with n >= 1`,
    );
  }
  if (input.data.length !== input.dims.reduce((product, dim) => product * dim, 1)) {
    throw new StageInputError(
      `Stage input holds ${input.data.length} values for shape [${input.dims}]`,
    );
  }
  if (batchSize !== cache.batchSize) {
    throw new StageInputError(
      `Input batch ${batchSize} differs from cache batch ${cache.batchSize}`,
    );
  }
  if (cache.position + length > config.sequenceLengthMax) {
    throw new StageInputError(
      `Positions ${cache.position} + ${length} exceed sequenceLengthMax ${config.sequenceLengthMax}`,
    );
  }
  if (
    input.dtype === "int32" &&
    input.data.some((token) => token < 0 || token >= config.vocabSize)
  ) {
    throw new StageInputError(`Token ids must lie in [0, ${config.vocabSize})`);
  }
  const layerIndices = cache.layers.map((layer) => layer.layerIndex).join(",");
  const expectedIndices = Array.from(
    { length: range.layerEnd - range.layerStart },
    (_, offset) => range.layerStart + offset,
  ).join(",");
  if (layerIndices !== expectedIndices) {
    throw new StageInputError(
      `Cache holds layers [${layerIndices}], stage runs [${expectedIndices}]`,
    );
  }
  return [batchSize, length];
}
