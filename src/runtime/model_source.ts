/**
 * The model a cluster file names, opened as a pipeline split at the file's boundaries: an
 * embedded preset, or a user-model directory (whose manifest's split must be the file's).
 *
 * @module
 */

import { DEFAULT_MODEL_CONFIG, type ModelConfig, TINY_MODEL_CONFIG } from "../model/config.ts";
import { createPipeline, type ModelPipeline } from "../model/generate.ts";
import type { ExecutionProvider } from "../model/stage_executor.ts";
import type { ClusterFile, ModelPreset } from "./cluster_file.ts";
import { ClusterFileError } from "./cluster_file.ts";
import { loadUserModel } from "./user_model.ts";

/** The embedded presets. */
export const PRESET_CONFIGS: Readonly<Record<ModelPreset, ModelConfig>> = {
  default: DEFAULT_MODEL_CONFIG,
  tiny: TINY_MODEL_CONFIG,
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
export async function openClusterModel(
  cluster: ClusterFile,
  options: ModelSourceOptions = {},
): Promise<ModelPipeline> {
  const executionProviders: ExecutionProvider[] = options.device === "cuda"
    ? ["cuda", "cpu"]
    : ["cpu"];
  const executor = {
    executionProviders,
    ...(options.onFallback === undefined ? {} : { onFallback: options.onFallback }),
  };
  if (cluster.model.kind === "preset") {
    const config = PRESET_CONFIGS[cluster.model.preset];
    if (cluster.boundaries.some((b) => b >= config.layerCount)) {
      throw new ClusterFileError(
        "boundaries",
        `must lie inside the ${config.layerCount} layers of the ${cluster.model.preset} model`,
      );
    }
    return await createPipeline(config, { ...executor, boundaries: cluster.boundaries });
  }
  const model = await loadUserModel(cluster.model.dir);
  if (model.boundaries.join(",") !== cluster.boundaries.join(",")) {
    throw new ClusterFileError(
      "boundaries",
      `are [${cluster.boundaries}] but the model in ${cluster.model.dir} is split at ` +
        `[${model.boundaries}]`,
    );
  }
  return await createPipeline(model.config, {
    ...executor,
    boundaries: model.boundaries,
    stageModelBytes: model.stageModelBytes,
  });
}
