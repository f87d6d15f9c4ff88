/**
 * Fixed-latency stages, for benchmarks: a stage that waits a set time per block instead of
 * computing, so that a cluster's timing shows what coordination costs with no model competing
 * for the cores (`bench/cluster_report.ts`). Each pass waits `layerMs` per block of the stage,
 * however many positions it carries, as an accelerator whose prompt pass takes about the time of
 * a decode step would.
 *
 * The outputs are deterministic and depend on the input and on the cache (each block keeps one
 * key and one value per position), so replicas agree bit for bit, a stage's output differs from
 * token to token, and a cache restored from a checkpoint gives what the original would: the
 * protocol runs on them exactly as on a real model's.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import {
  FIXED_LAYER_MS_MAX,
  fixedLatencyConfig,
  type ModelConfig,
  ModelConfigError,
  validateModelConfig,
} from "./config.ts";
import type { ModelPipeline } from "./generate.ts";
import { stageRanges } from "./generate.ts";
import type { KvCache, LayerKvCache } from "./kv_cache.ts";
import { emptyKvCache } from "./kv_cache.ts";
import {
  checkStageInput,
  type ExecutionProvider,
  type PipelineStage,
  type StageResult,
} from "./stage_executor.ts";
import type { StageTensor } from "./tensor.ts";
import type { LayerRange } from "./transformer.ts";

/** Options of {@linkcode FixedLatencyStage}. */
export interface FixedLatencyOptions {
  /** What each block waits per pass, in milliseconds (0 to 10,000; fractions allowed). */
  readonly layerMs: number;
  /** How to wait (default: a timer); tests pass their own. */
  readonly wait?: (ms: number) => Promise<void>;
}

/**
 * A stage that waits `layerMs` per block instead of computing, and gives deterministic outputs
 * of the right shape.
 *
 * @example Two passes of a one-stage model that waits nothing
 * ```ts
 * import { FixedLatencyStage, fixedLatencyConfig, tokenTensor } from "@butterfly/bcp/model";
 * import assert from "node:assert/strict";
 * const config = fixedLatencyConfig(2);
 * const stage = new FixedLatencyStage(config, { layerStart: 0, layerEnd: 2 }, { layerMs: 0 });
 * const first = await stage.run(tokenTensor([72, 105]), stage.emptyCache());
 * const second = await stage.run(tokenTensor([33]), first.cache);
 * assert.deepEqual(second.output.dims, [1, 1, 256]);
 * assert.equal(second.cache.position, 3);
 * ```
 */
export class FixedLatencyStage implements PipelineStage {
  /** The model this stage belongs to. */
  readonly config: ModelConfig;
  /** The blocks this stage runs. */
  readonly range: LayerRange;
  /** Nothing runs anywhere: reported as `cpu`. */
  readonly executionProvider: ExecutionProvider = "cpu";
  /** What each block waits per pass, in milliseconds. */
  readonly layerMs: number;
  readonly #wait: (ms: number) => Promise<void>;

  /**
   * Creates the stage.
   *
   * @param config The model (see {@linkcode fixedLatencyConfig}).
   * @param range The blocks of the stage.
   * @param options The wait per block.
   * @throws {ModelConfigError} If the range or the wait is out of bounds.
   */
  constructor(config: ModelConfig, range: LayerRange, options: FixedLatencyOptions) {
    validateModelConfig(config);
    if (
      !Number.isSafeInteger(range.layerStart) || !Number.isSafeInteger(range.layerEnd) ||
      range.layerStart < 0 || range.layerEnd > config.layerCount ||
      range.layerEnd <= range.layerStart
    ) {
      throw new ModelConfigError(
        `Layer range [${range.layerStart}, ${range.layerEnd}) is not inside ${config.layerCount} layers`,
      );
    }
    if (
      !Number.isFinite(options.layerMs) || options.layerMs < 0 ||
      options.layerMs > FIXED_LAYER_MS_MAX
    ) {
      throw new ModelConfigError(
        `layerMs must be from 0 to ${FIXED_LAYER_MS_MAX}, got ${options.layerMs}`,
      );
    }
    this.config = config;
    this.range = range;
    this.layerMs = options.layerMs;
    this.#wait = options.wait ?? ((ms) => delay(ms));
  }

  /**
   * An empty cache: one key and one value per block and position.
   *
   * @param batchSize Sequences decoded together (default 1).
   * @returns The cache at position 0.
   */
  emptyCache(batchSize = 1): KvCache {
    return emptyKvCache({ headCount: 1, headDim: 1 }, this.range, { batchSize });
  }

  /**
   * Waits `layerMs` per block, then gives the outputs of the new positions.
   *
   * @param input Token ids [1, n] (first stage) or the residual stream [1, n, 256].
   * @param cache The stage's cache at the current position.
   * @returns The output and the cache extended by n positions.
   * @throws {StageInputError} If the input or cache does not fit the stage.
   */
  async run(input: StageTensor, cache: KvCache): Promise<StageResult> {
    const [batchSize, length] = checkStageInput(this.config, this.range, input, cache);
    if (batchSize !== 1) throw new ModelConfigError("A fixed-latency stage decodes one sequence");
    const blocks = this.range.layerEnd - this.range.layerStart;
    const waited = this.#wait(blocks * this.layerMs);
    const isFirst = this.range.layerStart === 0;
    const isLast = this.range.layerEnd === this.config.layerCount;
    const width = isLast ? this.config.vocabSize : this.config.hiddenSize;
    const inputWidth = isFirst ? 1 : this.config.hiddenSize;
    const output = new Float32Array(length * width);
    const layers: LayerKvCache[] = cache.layers.map((layer) => {
      const key = new Float32Array(cache.position + length);
      key.set(layer.key);
      const value = new Float32Array(cache.position + length);
      value.set(layer.value);
      return { layerIndex: layer.layerIndex, key, value };
    });
    for (let i = 0; i < length; i++) {
      const position = cache.position + i;
      // The row's input, folded to one number.
      let x = 0;
      for (let j = 0; j < inputWidth; j++) {
        x += (isFirst ? input.data[i]! / 256 : input.data[i * inputWidth + j]!) * (j + 1);
      }
      // Each block mixes it with what it kept at the position before (its attention, here).
      let h = x;
      for (const layer of layers) {
        const previous = position === 0 ? 0 : layer.key[position - 1]!;
        h = mix(h + previous, layer.layerIndex + position);
        layer.key[position] = h;
        layer.value[position] = x;
      }
      for (let j = 0; j < width; j++) output[i * width + j] = mix(h, j) - 0.5;
    }
    await waited;
    return {
      output: { dtype: "float32", dims: [1, length, width], data: output },
      cache: { ...cache, position: cache.position + length, layers },
    };
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

// A deterministic value in [0, 1) from two numbers (V8's Math.sin is the same everywhere).
function mix(x: number, k: number): number {
  const y = Math.sin(x * 12.9898 + k * 78.233) * 43758.5453;
  return y - Math.floor(y);
}

/**
 * A pipeline of fixed-latency stages split at `boundaries`.
 *
 * @param layerCount The blocks of the model.
 * @param options The wait per block, and where stages start.
 * @returns The pipeline (closing it releases nothing, but may be done).
 * @throws {ModelConfigError} If the model or the split is out of bounds.
 *
 * @example The seed's example, 50 blocks of 10 ms, in two stages
 * ```ts
 * import { createFixedLatencyPipeline } from "@butterfly/bcp/model";
 * const pipeline = createFixedLatencyPipeline(50, { layerMs: 10, boundaries: [25] });
 * console.log(pipeline.stages.length); // 2
 * ```
 */
export function createFixedLatencyPipeline(
  layerCount: number,
  options: FixedLatencyOptions & { readonly boundaries?: readonly number[] },
): ModelPipeline {
  const config = fixedLatencyConfig(layerCount);
  const stages = stageRanges(layerCount, options.boundaries ?? [])
    .map((range) => new FixedLatencyStage(config, range, options));
  return { config, stages };
}
