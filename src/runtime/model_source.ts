/**
 * The model a cluster file names, opened as a pipeline split at the file's boundaries: an
 * embedded preset, or a user-model directory (whose manifest's split must be the file's).
 *
 * @module
 */

import {
  DEFAULT_MODEL_CONFIG,
  GPT2_SMALL_SHAPED_CONFIG,
  type ModelConfig,
  TINY_MODEL_CONFIG,
} from "../model/config.ts";
import { createFixedLatencyPipeline } from "../model/fixed_latency_stage.ts";
import { createPipeline, type ModelPipeline } from "../model/generate.ts";
import type { ExecutionProvider } from "../model/stage_executor.ts";
import type { ClusterFile, ClusterModel, ModelPreset } from "./cluster_file.ts";
import { ClusterFileError } from "./cluster_file.ts";
import { loadUserModel } from "./user_model.ts";

/** The embedded presets. */
export const PRESET_CONFIGS: Readonly<Record<ModelPreset, ModelConfig>> = {
  default: DEFAULT_MODEL_CONFIG,
  tiny: TINY_MODEL_CONFIG,
  "gpt2-small-shaped": GPT2_SMALL_SHAPED_CONFIG,
};

/** How to run the model. */
export interface ModelSourceOptions {
  /** `cuda` asks for the CUDA provider, falling back to CPU with a message. */
  readonly device?: "cpu" | "cuda";
  /** Told when CUDA is not available. */
  readonly onFallback?: (message: string) => void;
}

/**
 * Opens the cluster's model.
 *
 * @param cluster The cluster file.
 * @param options The device.
 * @returns The pipeline (the caller closes it).
 * @throws {ClusterFileError} If the model's split is not the cluster file's.
 */
export function openClusterModel(
  cluster: ClusterFile,
  options: ModelSourceOptions = {},
): Promise<ModelPipeline> {
  return openModel(cluster.model, cluster.boundaries, options);
}

/**
 * Opens a model a cluster file can name, split at `boundaries`.
 *
 * @param model The model.
 * @param boundaries Layer indices where stages start.
 * @param options The device.
 * @returns The pipeline (the caller closes it).
 * @throws {ClusterFileError} If the split does not fit the model.
 */
export async function openModel(
  model: ClusterModel,
  boundaries: readonly number[],
  options: ModelSourceOptions = {},
): Promise<ModelPipeline> {
  const executionProviders: ExecutionProvider[] = options.device === "cuda"
    ? ["cuda", "cpu"]
    : ["cpu"];
  const executor = {
    executionProviders,
    ...(options.onFallback === undefined ? {} : { onFallback: options.onFallback }),
  };
  if (model.kind === "fixed-latency") {
    const { layerCount, layerMs } = model;
    if (boundaries.some((b) => b >= layerCount)) {
      throw new ClusterFileError(
        "boundaries",
        `must lie inside the ${layerCount} layers of the fixed-latency model`,
      );
    }
    return createFixedLatencyPipeline(layerCount, { layerMs, boundaries });
  }
  if (model.kind === "preset") {
    const config = PRESET_CONFIGS[model.preset];
    if (boundaries.some((b) => b >= config.layerCount)) {
      throw new ClusterFileError(
        "boundaries",
        `must lie inside the ${config.layerCount} layers of the ${model.preset} model`,
      );
    }
    return await createPipeline(config, { ...executor, boundaries });
  }
  const user = await loadUserModel(model.dir);
  if (user.boundaries.join(",") !== boundaries.join(",")) {
    throw new ClusterFileError(
      "boundaries",
      `are [${boundaries}] but the model in ${model.dir} is split at ` +
        `[${user.boundaries}]`,
    );
  }
  return await createPipeline(user.config, {
    ...executor,
    boundaries: user.boundaries,
    stageModelBytes: user.stageModelBytes,
  });
}
