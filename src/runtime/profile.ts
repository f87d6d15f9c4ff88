/**
 * `deno task profile`: measures each layer's decode latency with ONNX Runtime and prints the
 * `LayerInfo` list the WorkAssigner consumes, with costs from measurement rather than guesses.
 *
 * `LayerInfo.computeCost` is documented in FLOPs. The profile keeps that unit but takes the
 * distribution from the clock: layer l gets (its measured latency / total measured latency) x
 * (the model's analytic FLOPs per token), so the total is the analytic count and the split
 * between layers is what this machine measured (the first layer carries the embedding, the last
 * the final norm and LM head, as the stages do).
 *
 * @module
 */

import { integerValue, readArgs, UsageError, usageFailure } from "../cli/args.ts";
import type { LayerInfo } from "../core/types.ts";
import {
  DEFAULT_MODEL_CONFIG,
  GPT2_SMALL_SHAPED_CONFIG,
  type ModelConfig,
  TINY_MODEL_CONFIG,
} from "../model/config.ts";
import type { KvCache, LayerKvCache } from "../model/kv_cache.ts";
import type { StageExecutor } from "../model/stage_executor.ts";
import type { StageTensor } from "../model/tensor.ts";
import { tokenTensor } from "../model/tensor.ts";
import {
  embeddingParameterSpecs,
  headParameterSpecs,
  layerParameterSpecs,
} from "../model/weights.ts";

/** How to profile. */
export interface ProfileOptions {
  /** Positions already in the cache when the timed token is decoded (default 64). */
  readonly contextLength?: number;
  /** Timed runs per layer; the median is reported (default 21). */
  readonly sampleCount?: number;
  /** Intra-op threads per session (default 1). */
  readonly intraOpThreadCount?: number;
}

/** One layer's measurement. */
export interface LayerMeasurement {
  /** Index of the block. */
  readonly layerIndex: number;
  /** Median wall time to decode one token through this block, in milliseconds. */
  readonly medianLatencyMs: number;
  /** Analytic floating-point operations of that decode step. */
  readonly flopsPerToken: number;
}

/** The result of profiling a model. */
export interface ModelProfile {
  /** The model profiled. */
  readonly config: ModelConfig;
  /** Per-layer measurements, in layer order. */
  readonly layers: readonly LayerMeasurement[];
  /** The layers as the WorkAssigner sees them, costs from the measurements. */
  readonly layerInfos: readonly LayerInfo[];
}

/**
 * The median of a non-empty list.
 *
 * @param values Numbers.
 * @returns Their median (mean of the middle two for even lengths).
 *
 * @example Usage
 * ```ts
 * import { median } from "./profile.ts";
 * console.log(median([3, 1, 2])); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("Cannot take the median of nothing");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function parameterFloats(config: ModelConfig, layerIndex: number): number {
  const specs = [
    ...(layerIndex === 0 ? embeddingParameterSpecs(config) : []),
    ...layerParameterSpecs(config, layerIndex),
    ...(layerIndex === config.layerCount - 1 ? headParameterSpecs(config) : []),
  ];
  return specs.reduce((sum, spec) => sum + spec.dims.reduce((a, b) => a * b, 1), 0);
}

/**
 * Analytic FLOPs of decoding one token through a block at a context length: 2 per multiply-add
 * of the four projections, the MLP and attention over the context (plus the LM head for the last
 * block).
 *
 * @param config The model configuration.
 * @param layerIndex The block.
 * @param contextLength Positions attended to.
 * @returns FLOPs for one token.
 *
 * @example Usage
 * ```ts
 * import { decodeFlops } from "./profile.ts";
 * import { TINY_MODEL_CONFIG } from "../model/config.ts";
 * console.log(decodeFlops(TINY_MODEL_CONFIG, 0, 8));
 * ```
 */
export function decodeFlops(
  config: ModelConfig,
  layerIndex: number,
  contextLength: number,
): number {
  const h = config.hiddenSize;
  const block = 2 * (4 * h * h + 2 * h * config.mlpHiddenSize) + 2 * 2 * contextLength * h;
  const head = layerIndex === config.layerCount - 1 ? 2 * h * config.vocabSize : 0;
  return block + head;
}

function syntheticCache(stage: StageExecutor, position: number): KvCache {
  const empty = stage.emptyCache();
  const floats = empty.headCount * empty.headDim * position;
  const layers: LayerKvCache[] = empty.layers.map((layer) => ({
    layerIndex: layer.layerIndex,
    key: new Float32Array(floats).fill(0.01),
    value: new Float32Array(floats).fill(0.01),
  }));
  return { ...empty, position, layers };
}

/**
 * Measures each block's decode latency (one session per block, as a one-block stage) and derives
 * the `LayerInfo` list.
 *
 * @param config The model to profile.
 * @param options Context length, samples and threads.
 * @returns Measurements and layer infos.
 *
 * @example Usage
 * ```ts
 * import { profileModel } from "./profile.ts";
 * import { TINY_MODEL_CONFIG } from "../model/config.ts";
 * const profile = await profileModel(TINY_MODEL_CONFIG, { contextLength: 4, sampleCount: 3 });
 * console.log(profile.layerInfos.length); // 2
 * ```
 */
export async function profileModel(
  config: ModelConfig,
  options: ProfileOptions = {},
): Promise<ModelProfile> {
  const contextLength = options.contextLength ?? 64;
  const sampleCount = options.sampleCount ?? 21;
  if (contextLength + 1 > config.sequenceLengthMax) {
    throw new RangeError(
      `contextLength must be below sequenceLengthMax ${config.sequenceLengthMax}`,
    );
  }
  // ONNX Runtime's native binding loads here, not at import: the command's arguments are checked
  // first, and without it.
  const { StageExecutor } = await import("../model/stage_executor.ts");
  const layers: LayerMeasurement[] = [];
  for (let layerIndex = 0; layerIndex < config.layerCount; layerIndex++) {
    const stage = await StageExecutor.create(config, {
      layerStart: layerIndex,
      layerEnd: layerIndex + 1,
    }, {
      intraOpThreadCount: options.intraOpThreadCount ?? 1,
    });
    try {
      const cache = syntheticCache(stage, contextLength);
      const input: StageTensor = stage.isFirst ? tokenTensor([65]) : {
        dtype: "float32",
        dims: [1, 1, config.hiddenSize],
        data: new Float32Array(config.hiddenSize).fill(0.1),
      };
      await stage.run(input, cache); // warm-up: first run allocates
      const samples: number[] = [];
      for (let i = 0; i < sampleCount; i++) {
        const start = performance.now();
        await stage.run(input, cache);
        samples.push(performance.now() - start);
      }
      layers.push({
        layerIndex,
        medianLatencyMs: median(samples),
        flopsPerToken: decodeFlops(config, layerIndex, contextLength),
      });
    } finally {
      await stage.close();
    }
  }
  const totalLatencyMs = layers.reduce((sum, layer) => sum + layer.medianLatencyMs, 0);
  const totalFlops = layers.reduce((sum, layer) => sum + layer.flopsPerToken, 0);
  const layerInfos: LayerInfo[] = layers.map((layer) =>
    blockLayerInfo(
      config,
      layer.layerIndex,
      Math.round((layer.medianLatencyMs / totalLatencyMs) * totalFlops),
    )
  );
  return { config, layers, layerInfos };
}

/**
 * The `LayerInfo` of block `layerIndex` with a given compute cost: its type, its memory (weights
 * plus a full key/value cache of `sequenceLengthMax` positions, float32) and its output size.
 *
 * @param config The model.
 * @param layerIndex The block.
 * @param computeCost Its cost in FLOPs (measured, or `decodeFlops`).
 * @returns The layer as the work assigner sees it.
 *
 * @example Usage
 * ```ts
 * import { blockLayerInfo, decodeFlops } from "./profile.ts";
 * import { TINY_MODEL_CONFIG } from "../model/config.ts";
 * const info = blockLayerInfo(TINY_MODEL_CONFIG, 0, decodeFlops(TINY_MODEL_CONFIG, 0, 0));
 * console.log(info.outputSize); // 16
 * ```
 */
export function blockLayerInfo(
  config: ModelConfig,
  layerIndex: number,
  computeCost: number,
): LayerInfo {
  return {
    id: layerIndex,
    layerType: {
      kind: "transformerBlock",
      hiddenDim: config.hiddenSize,
      headCount: config.headCount,
      feedForwardDim: config.mlpHiddenSize,
    },
    computeCost,
    memoryBytes: 4 * (parameterFloats(config, layerIndex) +
      2 * config.sequenceLengthMax * config.hiddenSize),
    outputSize: layerIndex === config.layerCount - 1 ? config.vocabSize : config.hiddenSize,
  };
}

const CONFIGS: Record<string, ModelConfig> = {
  tiny: TINY_MODEL_CONFIG,
  default: DEFAULT_MODEL_CONFIG,
  "gpt2-small": GPT2_SMALL_SHAPED_CONFIG,
};

const COMMAND = {
  name: "profile",
  usage: "deno task profile [--config tiny|default|gpt2-small] [--context N] [--samples N] " +
    "[--threads N] [--json]",
  description: "Profiles each layer of the model: the median decode latency at a context length, " +
    "and the LayerInfo (compute cost, memory, output size) the work assigner reads.",
  options: {
    config: { type: "string", default: "default" },
    context: { type: "string" },
    samples: { type: "string", default: "21" },
    threads: { type: "string", default: "1" },
    json: { type: "boolean", default: false },
  },
} as const;

async function main(args: string[]): Promise<number> {
  const read = readArgs(COMMAND, args);
  if ("exit" in read) return read.exit;
  const { values } = read;
  const config = CONFIGS[values.config];
  let contextLength: number;
  let sampleCount: number;
  let intraOpThreadCount: number;
  try {
    if (config === undefined) {
      throw new UsageError(
        `--config must be one of ${Object.keys(CONFIGS).join(", ")}, got ${
          JSON.stringify(values.config)
        }`,
      );
    }
    // The context must leave room for the token decoded: below the config's sequence length.
    const contextMax = config.sequenceLengthMax - 1;
    contextLength = integerValue(
      "--context",
      values.context,
      Math.min(64, contextMax),
      1,
      contextMax,
    );
    sampleCount = integerValue("--samples", values.samples, 21, 1);
    intraOpThreadCount = integerValue("--threads", values.threads, 1, 1, 256);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(COMMAND, error);
    throw error;
  }
  const profile = await profileModel(config, { contextLength, sampleCount, intraOpThreadCount });
  if (values.json) {
    console.log(JSON.stringify(profile.layerInfos, null, 2));
    return 0;
  }
  console.log(
    `${values.config}: ${config.layerCount} layers, hidden ${config.hiddenSize}, decode at context ` +
      `${contextLength}, ${intraOpThreadCount} thread(s), median of ${sampleCount}`,
  );
  console.log("layer  median ms  computeCost (FLOPs)  memoryBytes  outputSize");
  profile.layers.forEach((layer, index) => {
    const info = profile.layerInfos[index]!;
    console.log(
      `${String(layer.layerIndex).padStart(5)}  ${layer.medianLatencyMs.toFixed(3).padStart(9)}  ` +
        `${String(info.computeCost).padStart(19)}  ${String(info.memoryBytes).padStart(11)}  ` +
        `${String(info.outputSize).padStart(10)}`,
    );
  });
  const totalMs = profile.layers.reduce((sum, layer) => sum + layer.medianLatencyMs, 0);
  console.log(
    `sum of layer medians: ${totalMs.toFixed(3)} ms/token (${
      (1000 / totalMs).toFixed(1)
    } tokens/s)`,
  );
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
