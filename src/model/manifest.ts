/**
 * User models: a directory of per-stage ONNX files described by a manifest (layer ranges, tensor
 * names, shapes and dtypes). This module validates a manifest and the files against each other
 * and reports the first problem in words; reading the directory is `src/runtime/user_model.ts`.
 *
 * @module
 */

import { type ModelConfig, validateModelConfig } from "./config.ts";
import { decodeSignature, ELEMENT_TYPE, type ValueSpec } from "./_onnx.ts";
import { stageRanges } from "./generate.ts";
import {
  buildStageModel,
  type LayerRange,
  stageSignature,
  type TensorDtype,
  type TensorSpec,
  TOKEN_INPUT_NAME,
} from "./transformer.ts";

/** The `format` field every manifest carries. */
export const STAGE_MANIFEST_FORMAT = "butterfly-stages/1";
/** Upper bound on stages in one manifest. */
export const MANIFEST_STAGE_COUNT_MAX = 1024;

/** A tensor a stage file declares (the same shape as `stageSignature` reports). */
export type TensorManifest = TensorSpec;

/** One stage of a user model. */
export interface StageManifest extends LayerRange {
  /** File name of the stage's ONNX model, relative to the manifest. */
  readonly file: string;
  /** Declared graph inputs: activations then `past_key.{l}` / `past_value.{l}` per layer. */
  readonly inputs: readonly TensorManifest[];
  /** Declared graph outputs: activations then `present_key.{l}` / `present_value.{l}`. */
  readonly outputs: readonly TensorManifest[];
}

/** A user model: its shape and its stages in layer order. */
export interface ModelManifest {
  /** Always `butterfly-stages/1`. */
  readonly format: typeof STAGE_MANIFEST_FORMAT;
  /** The model's shape (the seed is informational for user models). */
  readonly model: ModelConfig;
  /** The stages, covering [0, layerCount) without gap or overlap. */
  readonly stages: readonly StageManifest[];
}

/** Raised when a user model's manifest or files are inconsistent. */
export class ManifestError extends Error {
  /** Creates the error with a message naming the stage, file or tensor at fault. */
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

const DTYPE_BY_ELEMENT_TYPE: Record<number, TensorDtype> = {
  [ELEMENT_TYPE.float32]: "float32",
  [ELEMENT_TYPE.int32]: "int32",
  [ELEMENT_TYPE.int64]: "int64",
  [ELEMENT_TYPE.bool]: "bool",
};

function fromValueSpec(spec: ValueSpec): TensorManifest {
  return {
    name: spec.name,
    dtype: DTYPE_BY_ELEMENT_TYPE[spec.elementType] ?? "float32",
    shape: spec.dims,
  };
}

function describe(tensor: TensorManifest): string {
  return `${tensor.name} ${tensor.dtype} [${tensor.shape.join(", ")}]`;
}

/** Symbolic dimensions match any symbolic dimension; fixed ones must be equal. */
function sameTensor(a: TensorManifest, b: TensorManifest): boolean {
  return a.name === b.name && a.dtype === b.dtype && a.shape.length === b.shape.length &&
    a.shape.every((dim, index) => {
      const other = b.shape[index];
      return typeof dim === "string" ? typeof other === "string" : dim === other;
    });
}

function compareTensors(
  where: string,
  kind: "input" | "output",
  found: readonly TensorManifest[],
  expected: readonly TensorManifest[],
): void {
  for (const want of expected) {
    const got = found.find((tensor) => tensor.name === want.name);
    if (got === undefined) {
      throw new ManifestError(`${where} lacks ${kind} ${describe(want)}`);
    }
    if (!sameTensor(got, want)) {
      throw new ManifestError(
        `${where} ${kind} ${want.name} has shape mismatch: found ${describe(got)}, expected ${
          describe(want)
        }`,
      );
    }
  }
  if (found.length !== expected.length) {
    const extra = found.filter((tensor) => !expected.some((want) => want.name === tensor.name));
    throw new ManifestError(`${where} has unexpected ${kind}s: ${extra.map(describe).join("; ")}`);
  }
}

function checkRanges(stages: readonly StageManifest[], layerCount: number): void {
  let covered = 0;
  stages.forEach((stage, index) => {
    if (stage.layerStart > covered) {
      throw new ManifestError(
        `Gap in layer ranges: layers ${covered} to ${stage.layerStart - 1} belong to no stage ` +
          `(stage ${index} starts at ${stage.layerStart})`,
      );
    }
    if (stage.layerStart < covered) {
      throw new ManifestError(
        `Overlap in layer ranges: stage ${index} starts at layer ${stage.layerStart}, but layers ` +
          `up to ${covered - 1} already belong to earlier stages`,
      );
    }
    if (stage.layerEnd <= stage.layerStart) {
      throw new ManifestError(
        `Stage ${index} has an empty range [${stage.layerStart}, ${stage.layerEnd})`,
      );
    }
    covered = stage.layerEnd;
  });
  if (covered !== layerCount) {
    throw new ManifestError(
      `Layer ranges end at ${covered}, but the model has ${layerCount} layers`,
    );
  }
}

function field<T>(
  record: Record<string, unknown>,
  name: string,
  check: (v: unknown) => v is T,
  where: string,
): T {
  const value = record[name];
  if (!check(value)) throw new ManifestError(`${where} has a missing or invalid "${name}"`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isInteger(value: unknown): value is number {
  return Number.isSafeInteger(value);
}

function isString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

/** The tensor dtypes a stage may declare. */
const DTYPES: readonly string[] = ["float32", "int32", "int64", "bool"];

function isTensorList(value: unknown): value is TensorManifest[] {
  return Array.isArray(value) &&
    value.every((tensor) =>
      isRecord(tensor) && isString(tensor.name) && typeof tensor.dtype === "string" &&
      DTYPES.includes(tensor.dtype) && Array.isArray(tensor.shape) &&
      tensor.shape.every((dim: unknown) => isInteger(dim) || isString(dim))
    );
}

// Refuses a key the manifest format does not have, by name: a misspelt key would otherwise be
// ignored and its default used.
function requireKnownKeys(
  record: Record<string, unknown>,
  known: readonly string[],
  where: string,
) {
  const unknown = Object.keys(record).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new ManifestError(
      `${where} has unknown ${unknown.length === 1 ? "key" : "keys"} ${
        unknown.map((key) => JSON.stringify(key)).join(", ")
      } (known: ${known.join(", ")})`,
    );
  }
}

// A stage's tensors: each a known dtype (named when not), and only the tensor keys.
function requireTensors(record: Record<string, unknown>, name: string, where: string): void {
  const list = record[name];
  if (!Array.isArray(list)) return;
  list.forEach((tensor, index) => {
    if (!isRecord(tensor)) return;
    const label = `${where} ${name.slice(0, -1)} ${index}${
      typeof tensor.name === "string" ? ` (${tensor.name})` : ""
    }`;
    requireKnownKeys(tensor, ["name", "dtype", "shape"], label);
    if (typeof tensor.dtype === "string" && !DTYPES.includes(tensor.dtype)) {
      throw new ManifestError(
        `${label}: dtype ${JSON.stringify(tensor.dtype)} is not supported (${DTYPES.join(", ")})`,
      );
    }
  });
}

// A stage file must be a path inside the model directory: relative, of plain names, no "..".
function requireInsideDirectory(file: string, where: string): void {
  const segments = file.split("/");
  const plain = segments.every((segment) =>
    /^[A-Za-z0-9_.-]+$/.test(segment) && segment !== "." && segment !== ".."
  );
  if (!plain) {
    throw new ManifestError(
      `${where}: file must be a path inside the model directory (names of letters, digits, ` +
        `".", "_" or "-", separated by "/", no ".."), got ${JSON.stringify(file)}`,
    );
  }
}

/**
 * Parses and checks a manifest: its fields, the model shape, the layer ranges (no gap, no
 * overlap, covering every layer) and each stage's declared tensors against what the stage's
 * layer range requires.
 *
 * @param json The parsed `manifest.json`.
 * @returns The typed manifest.
 * @throws {ManifestError} Naming the first problem found.
 *
 * @example Usage
 * ```ts
 * import { exportStageModels, parseModelManifest, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * const { manifest } = exportStageModels(TINY_MODEL_CONFIG, { boundaries: [1] });
 * console.log(parseModelManifest(JSON.parse(JSON.stringify(manifest))).stages.length); // 2
 * ```
 */
export function parseModelManifest(json: unknown): ModelManifest {
  if (!isRecord(json)) throw new ManifestError("Manifest must be a JSON object");
  if (json.format !== STAGE_MANIFEST_FORMAT) {
    throw new ManifestError(`Manifest format must be "${STAGE_MANIFEST_FORMAT}"`);
  }
  requireKnownKeys(json, ["format", "model", "stages"], "Manifest");
  const modelRecord = field(json, "model", isRecord, "Manifest");
  requireKnownKeys(modelRecord, [
    "layerCount",
    "hiddenSize",
    "headCount",
    "vocabSize",
    "sequenceLengthMax",
    "mlpHiddenSize",
    "seed",
  ], "Manifest model");
  const model: ModelConfig = {
    layerCount: field(modelRecord, "layerCount", isInteger, "Manifest model"),
    hiddenSize: field(modelRecord, "hiddenSize", isInteger, "Manifest model"),
    headCount: field(modelRecord, "headCount", isInteger, "Manifest model"),
    vocabSize: field(modelRecord, "vocabSize", isInteger, "Manifest model"),
    sequenceLengthMax: field(modelRecord, "sequenceLengthMax", isInteger, "Manifest model"),
    mlpHiddenSize: field(modelRecord, "mlpHiddenSize", isInteger, "Manifest model"),
    seed: isInteger(modelRecord.seed) ? modelRecord.seed : 0,
  };
  try {
    validateModelConfig(model);
  } catch (error) {
    throw new ManifestError(`Manifest model is invalid: ${(error as Error).message}`);
  }
  const stageRecords = field(json, "stages", Array.isArray, "Manifest") as unknown[];
  if (stageRecords.length < 1 || stageRecords.length > MANIFEST_STAGE_COUNT_MAX) {
    throw new ManifestError(`Manifest must list 1 to ${MANIFEST_STAGE_COUNT_MAX} stages`);
  }
  const stages: StageManifest[] = stageRecords.map((record, index) => {
    const where = `Stage ${index}`;
    if (!isRecord(record)) throw new ManifestError(`${where} must be a JSON object`);
    requireKnownKeys(record, ["file", "layerStart", "layerEnd", "inputs", "outputs"], where);
    requireTensors(record, "inputs", where);
    requireTensors(record, "outputs", where);
    const file = field(record, "file", isString, where);
    requireInsideDirectory(file, where);
    return {
      file,
      layerStart: field(record, "layerStart", isInteger, where),
      layerEnd: field(record, "layerEnd", isInteger, where),
      inputs: field(record, "inputs", isTensorList, where),
      outputs: field(record, "outputs", isTensorList, where),
    };
  });
  checkRanges(stages, model.layerCount);
  stages.forEach((stage, index) => {
    const expected = stageSignature(model, stage);
    const where = `Stage ${index} (${stage.file})`;
    compareTensors(where, "input", stage.inputs, expected.inputs);
    compareTensors(where, "output", stage.outputs, expected.outputs);
  });
  return { format: STAGE_MANIFEST_FORMAT, model, stages };
}

/**
 * Checks each stage file against its manifest entry: present, a decodable ONNX model, declaring
 * exactly the manifest's inputs and outputs.
 *
 * @param manifest A parsed manifest.
 * @param files The stage files' bytes by file name (absent: missing).
 * @returns The stage model bytes in stage order.
 * @throws {ManifestError} Naming the missing file or the mismatching tensor.
 *
 * @example Usage
 * ```ts
 * import { checkStageFiles, exportStageModels, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * import assert from "node:assert/strict";
 * const { manifest, files } = exportStageModels(TINY_MODEL_CONFIG, { boundaries: [1] });
 * files.delete("stage_1.onnx");
 * assert.throws(() => checkStageFiles(manifest, files), /missing/);
 * ```
 */
export function checkStageFiles(
  manifest: ModelManifest,
  files: ReadonlyMap<string, Uint8Array>,
): Uint8Array[] {
  return manifest.stages.map((stage, index) => {
    const where = `Stage ${index} (${stage.file})`;
    const bytes = files.get(stage.file);
    if (bytes === undefined) throw new ManifestError(`${where}: the file is missing`);
    let signature;
    try {
      signature = decodeSignature(bytes);
    } catch (error) {
      throw new ManifestError(`${where}: not an ONNX model (${(error as Error).message})`);
    }
    compareTensors(`${where} file`, "input", signature.inputs.map(fromValueSpec), stage.inputs);
    compareTensors(`${where} file`, "output", signature.outputs.map(fromValueSpec), stage.outputs);
    // A table looked up by anything but the token ids is indexed by position: the graph then
    // supports no more positions than it has rows, and ONNX Runtime would fail mid-generation.
    for (const table of signature.lookupTables) {
      if (table.indices === TOKEN_INPUT_NAME) continue;
      if (table.rows < manifest.model.sequenceLengthMax) {
        throw new ManifestError(
          `${where}: model.sequenceLengthMax is ${manifest.model.sequenceLengthMax} but the ` +
            `graph's position table ${table.initializer} has ${table.rows} rows`,
        );
      }
    }
    return bytes;
  });
}

/** How to export a built-in model as a user model. */
export interface ExportStageModelsOptions {
  /** Layer indices where a new stage starts (default: one stage). */
  readonly boundaries?: readonly number[];
}

/**
 * Builds a model's stages as a user model: the manifest and the ONNX file of each stage. Writing
 * them to a directory gives a model `deno task generate --model-dir` runs.
 *
 * @param config The model configuration.
 * @param options Where to split.
 * @returns The manifest and the files by name (`stage_{index}.onnx`).
 *
 * @example Usage
 * ```ts
 * import { exportStageModels, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
 * const { manifest, files } = exportStageModels(TINY_MODEL_CONFIG);
 * console.log(manifest.stages[0]?.file, files.size); // stage_0.onnx 1
 * ```
 */
export function exportStageModels(
  config: ModelConfig,
  options: ExportStageModelsOptions = {},
): { manifest: ModelManifest; files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  const stages = stageRanges(config.layerCount, options.boundaries ?? []).map((range, index) => {
    const file = `stage_${index}.onnx`;
    files.set(file, buildStageModel(config, range));
    const signature = stageSignature(config, range);
    return {
      file,
      ...range,
      inputs: signature.inputs,
      outputs: signature.outputs,
    };
  });
  return { manifest: { format: STAGE_MANIFEST_FORMAT, model: config, stages }, files };
}
