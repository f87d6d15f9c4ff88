/**
 * A model split into stages run one after another in this process, and text generation on top
 * of it: prompt bytes in, tokens streamed out as they are produced.
 *
 * @module
 */

import { DEFAULT_MODEL_CONFIG, type ModelConfig, ModelConfigError } from "./config.ts";
import type { KvCache } from "./kv_cache.ts";
import { createSampler, sampleToken, type Sampling } from "./sampling.ts";
import { type PipelineStage, StageExecutor, type StageExecutorOptions } from "./stage_executor.ts";
import { type Float32Tensor, type StageTensor, tensorDigest, tokenTensor } from "./tensor.ts";
import type { LayerRange } from "./transformer.ts";

/** A model split into consecutive stages. */
export interface ModelPipeline {
  /** The model configuration. */
  readonly config: ModelConfig;
  /** The stages, first (embedding) to last (LM head). */
  readonly stages: readonly PipelineStage[];
}

/** How to split a model and create its stages. */
export interface PipelineOptions extends StageExecutorOptions {
  /** Layer indices where a new stage starts, strictly increasing in (0, layerCount); default none. */
  readonly boundaries?: readonly number[];
  /** Per-stage model bytes (a user model), in stage order; overrides building. */
  readonly stageModelBytes?: readonly Uint8Array[];
}

/**
 * The layer ranges a list of boundaries cuts a model into.
 *
 * @param layerCount Number of blocks in the model.
 * @param boundaries Layer indices where a new stage starts.
 * @returns The ranges, covering [0, layerCount) without gap or overlap.
 * @throws {ModelConfigError} If the boundaries are not strictly increasing inside the model.
 *
 * @example Usage
 * ```ts
 * import { stageRanges } from "@butterfly/bcp/model";
 * console.log(stageRanges(8, [3, 5])); // [0,3) [3,5) [5,8)
 * ```
 */
export function stageRanges(layerCount: number, boundaries: readonly number[]): LayerRange[] {
  const cuts = [0, ...boundaries, layerCount];
  const ranges: LayerRange[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const layerStart = cuts[i]!;
    const layerEnd = cuts[i + 1]!;
    if (!Number.isSafeInteger(layerEnd) || layerEnd <= layerStart) {
      throw new ModelConfigError(
        `Stage boundaries must increase strictly within (0, ${layerCount}), got [${boundaries}]`,
      );
    }
    ranges.push({ layerStart, layerEnd });
  }
  return ranges;
}

/**
 * Creates one executor per stage.
 *
 * @param config The model configuration.
 * @param options Boundaries and executor options.
 * @returns The pipeline; close it with `closePipeline`.
 *
 * @example Usage
 * ```ts
 * import { closePipeline, createPipeline, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * const pipeline = await createPipeline(TINY_MODEL_CONFIG, { boundaries: [1] });
 * console.log(pipeline.stages.length); // 2
 * await closePipeline(pipeline);
 * ```
 */
export async function createPipeline(
  config: ModelConfig,
  options: PipelineOptions = {},
): Promise<ModelPipeline> {
  const ranges = stageRanges(config.layerCount, options.boundaries ?? []);
  if (options.stageModelBytes !== undefined && options.stageModelBytes.length !== ranges.length) {
    throw new ModelConfigError(
      `${options.stageModelBytes.length} stage models given for ${ranges.length} stages`,
    );
  }
  const { boundaries: _boundaries, stageModelBytes, ...executorOptions } = options;
  const stages: StageExecutor[] = [];
  try {
    for (const [index, range] of ranges.entries()) {
      const bytes = stageModelBytes?.[index];
      stages.push(
        await StageExecutor.create(config, range, {
          ...executorOptions,
          ...(bytes === undefined ? {} : { modelBytes: bytes }),
        }),
      );
    }
  } catch (error) {
    await Promise.all(stages.map((stage) => stage.close()));
    throw error;
  }
  return { config, stages };
}

/**
 * Releases every stage's session.
 *
 * @param pipeline The pipeline to close.
 *
 * @example Usage
 * ```ts
 * import { closePipeline, createPipeline, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * await closePipeline(await createPipeline(TINY_MODEL_CONFIG));
 * ```
 */
export async function closePipeline(pipeline: ModelPipeline): Promise<void> {
  await Promise.all(pipeline.stages.map((stage) => stage.close()));
}

/** The result of running new positions through every stage. */
export interface PipelineStep {
  /** Logits of the new positions [1, n, vocab]. */
  readonly logits: Float32Tensor;
  /** Every stage's cache after the step. */
  readonly caches: readonly KvCache[];
  /** Digest of each stage's output, in stage order: what each stage's nodes would vote on. */
  readonly digests: readonly string[];
}

/**
 * Every stage's empty cache.
 *
 * @param pipeline The pipeline.
 * @returns One empty cache per stage.
 *
 * @example Usage
 * ```ts
 * import { closePipeline, createPipeline, emptyPipelineCaches, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * const pipeline = await createPipeline(TINY_MODEL_CONFIG);
 * console.log(emptyPipelineCaches(pipeline)[0]?.position); // 0
 * await closePipeline(pipeline);
 * ```
 */
export function emptyPipelineCaches(pipeline: ModelPipeline): KvCache[] {
  return pipeline.stages.map((stage) => stage.emptyCache());
}

/**
 * Runs new tokens through every stage, each stage's output feeding the next.
 *
 * @param pipeline The pipeline.
 * @param tokens The new token ids (one sequence).
 * @param caches Every stage's cache at the current position.
 * @returns The logits, the extended caches and each stage's output digest.
 *
 * @example Usage
 * ```ts
 * import { closePipeline, createPipeline, emptyPipelineCaches, runPipeline, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * const pipeline = await createPipeline(TINY_MODEL_CONFIG, { boundaries: [1] });
 * const step = await runPipeline(pipeline, [72, 105], emptyPipelineCaches(pipeline));
 * console.log(step.logits.dims, step.digests.length); // [1, 2, 256] 2
 * await closePipeline(pipeline);
 * ```
 */
export async function runPipeline(
  pipeline: ModelPipeline,
  tokens: readonly number[],
  caches: readonly KvCache[],
): Promise<PipelineStep> {
  if (caches.length !== pipeline.stages.length) {
    throw new ModelConfigError(
      `${caches.length} caches given for ${pipeline.stages.length} stages`,
    );
  }
  let activations: StageTensor = tokenTensor(tokens);
  const nextCaches: KvCache[] = [];
  const digests: string[] = [];
  for (const [index, stage] of pipeline.stages.entries()) {
    const result = await stage.run(activations, caches[index]!);
    nextCaches.push(result.cache);
    digests.push(tensorDigest(result.output));
    activations = result.output;
  }
  return { logits: activations as Float32Tensor, caches: nextCaches, digests };
}

/** How to generate. */
export interface GenerateOptions {
  /** Number of tokens to generate. */
  readonly maxTokens: number;
  /** Greedy (default) or seeded sampling. */
  readonly sampling?: Sampling;
  /** A pipeline to run on (kept open); default: the embedded default model, closed at the end. */
  readonly pipeline?: ModelPipeline;
}

/** One generated token. */
export interface GeneratedToken {
  /** The token id (a byte for the byte-level vocabulary). */
  readonly token: number;
  /** Its position in the sequence. */
  readonly position: number;
  /** Digest of the last stage's logits that chose it. */
  readonly digest: string;
}

/**
 * Generates tokens from a prompt, yielding each as soon as it is chosen. The prompt is encoded
 * as UTF-8 bytes, the byte-level vocabulary of the built-in models.
 *
 * @param prompt The prompt text or bytes (at least one byte).
 * @param options Token count, sampling and pipeline.
 * @returns An async iterator of generated tokens.
 * @throws {RangeError} If the prompt is empty or prompt plus tokens exceed the positions.
 *
 * @example Greedy decoding on the tiny model
 * ```ts
 * import { closePipeline, createPipeline, generate, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * const pipeline = await createPipeline(TINY_MODEL_CONFIG);
 * for await (const { token } of generate("Hi", { maxTokens: 3, pipeline })) console.log(token);
 * await closePipeline(pipeline);
 * ```
 */
export async function* generate(
  prompt: string | Uint8Array,
  options: GenerateOptions,
): AsyncGenerator<GeneratedToken> {
  const bytes = typeof prompt === "string" ? new TextEncoder().encode(prompt) : prompt;
  const pipeline = options.pipeline ?? await createPipeline(DEFAULT_MODEL_CONFIG);
  try {
    const { config } = pipeline;
    if (bytes.length < 1) throw new RangeError("Prompt must hold at least one byte");
    if (!Number.isSafeInteger(options.maxTokens) || options.maxTokens < 0) {
      throw new RangeError(`maxTokens must be a non-negative integer, got ${options.maxTokens}`);
    }
    // The last generated token is never fed back, so it needs no position of its own.
    if (bytes.length + options.maxTokens - 1 > config.sequenceLengthMax) {
      throw new RangeError(
        `Prompt of ${bytes.length} bytes plus ${options.maxTokens} tokens exceeds ` +
          `sequenceLengthMax ${config.sequenceLengthMax}`,
      );
    }
    const sampler = createSampler(options.sampling ?? { kind: "greedy" });
    let caches: readonly KvCache[] = emptyPipelineCaches(pipeline);
    let next: number[] = Array.from(bytes);
    for (let produced = 0; produced < options.maxTokens; produced++) {
      const step = await runPipeline(pipeline, next, caches);
      caches = step.caches;
      const width = config.vocabSize;
      const last = step.logits.data.subarray(step.logits.data.length - width);
      const token = sampleToken(sampler, last);
      yield { token, position: caches[0]!.position, digest: step.digests.at(-1)! };
      next = [token];
    }
  } finally {
    if (options.pipeline === undefined) await closePipeline(pipeline);
  }
}
