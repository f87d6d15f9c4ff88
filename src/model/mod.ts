/**
 * Model execution: the transformer split into ONNX stages (built in memory or loaded from a
 * user's model directory), run by ONNX Runtime with per-inference KV caches, sampling, and the
 * digests replicas vote on. Importing this entry point loads ONNX Runtime's native binding, so it
 * needs `--allow-ffi` (and `--allow-read`, `--allow-env`, `--allow-sys`).
 *
 * @example The tiny model's parameters
 * ```ts
 * import { parameterCount, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * import assert from "node:assert/strict";
 *
 * assert.ok(parameterCount(TINY_MODEL_CONFIG) > 0);
 * ```
 *
 * @module
 */

export {
  DEFAULT_MODEL_CONFIG,
  FIXED_LAYER_COUNT_MAX,
  FIXED_LAYER_MS_MAX,
  fixedLatencyConfig,
  GPT2_SMALL_SHAPED_CONFIG,
  MODEL_DIMENSION_MAX,
  type ModelConfig,
  ModelConfigError,
  parameterCount,
  TINY_MODEL_CONFIG,
  validateModelConfig,
} from "./config.ts";
export {
  embeddingParameterSpecs,
  generateParameter,
  headParameterSpecs,
  layerParameterSpecs,
  type ParameterSpec,
  WEIGHT_STD,
} from "./weights.ts";
export {
  ATTENTION_MASK_VALUE,
  buildStageModel,
  type CacheTensorNames,
  cacheTensorNames,
  type Dim,
  HIDDEN_INPUT_NAME,
  HIDDEN_OUTPUT_NAME,
  LAYER_NORM_EPSILON,
  type LayerRange,
  LOGITS_OUTPUT_NAME,
  stageSignature,
  type TensorDtype,
  type TensorSpec,
  TOKEN_INPUT_NAME,
  validateLayerRange,
} from "./transformer.ts";
export {
  type Float32Tensor,
  type Int32Tensor,
  type StageTensor,
  tensorBytes,
  tensorDigest,
  tokenTensor,
} from "./tensor.ts";
export {
  deserializeKvCache,
  emptyKvCache,
  type EmptyKvCacheOptions,
  KV_CACHE_FORMAT_VERSION,
  KV_CACHE_MAGIC,
  type KvCache,
  kvCacheDigest,
  KvCacheFormatError,
  type LayerKvCache,
  serializeKvCache,
} from "./kv_cache.ts";
export {
  checkStageInput,
  type ExecutionProvider,
  INTRA_OP_THREAD_COUNT_MAX,
  type PipelineStage,
  StageExecutor,
  type StageExecutorOptions,
  StageInputError,
  type StageResult,
} from "./stage_executor.ts";
export {
  createFixedLatencyPipeline,
  type FixedLatencyOptions,
  FixedLatencyStage,
} from "./fixed_latency_stage.ts";
export { referenceForward, type ReferenceForwardOptions, referenceWeights } from "./reference.ts";
export {
  createSampler,
  type GreedySampling,
  type Sampler,
  samplerAt,
  sampleToken,
  type Sampling,
  type SeededSampling,
} from "./sampling.ts";
export {
  closePipeline,
  createPipeline,
  emptyPipelineCaches,
  generate,
  type GeneratedToken,
  type GenerateOptions,
  type ModelPipeline,
  type PipelineOptions,
  type PipelineStep,
  runPipeline,
  stageRanges,
} from "./generate.ts";
export {
  checkStageFiles,
  exportStageModels,
  type ExportStageModelsOptions,
  MANIFEST_STAGE_COUNT_MAX,
  ManifestError,
  type ModelManifest,
  parseModelManifest,
  STAGE_MANIFEST_FORMAT,
  type StageManifest,
  type TensorManifest,
} from "./manifest.ts";
