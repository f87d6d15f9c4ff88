/**
 * Reads a user model directory (`manifest.json` plus per-stage ONNX files) and validates it with
 * `src/model/manifest.ts`. File access lives here because only `src/runtime/` touches files.
 *
 * @module
 */

import { join } from "node:path";
import type { ModelConfig } from "../model/config.ts";
import {
  checkStageFiles,
  ManifestError,
  type ModelManifest,
  parseModelManifest,
} from "../model/manifest.ts";

/** A validated user model ready for `createPipeline`. */
export interface UserModel {
  /** The parsed manifest. */
  readonly manifest: ModelManifest;
  /** The model shape from the manifest. */
  readonly config: ModelConfig;
  /** Layer indices where stages 1, 2, … start. */
  readonly boundaries: readonly number[];
  /** Each stage's ONNX bytes, in stage order. */
  readonly stageModelBytes: readonly Uint8Array[];
}

/**
 * Loads and validates a user model directory.
 *
 * @param directory The directory holding `manifest.json` and the stage files.
 * @returns The validated model.
 * @throws {ManifestError} If the manifest is unreadable or invalid, or a file is missing or does
 * not match it.
 *
 * @example Usage
 * ```ts ignore
 * import { loadUserModel } from "./user_model.ts";
 * const model = await loadUserModel("./my_model");
 * console.log(model.config.layerCount);
 * ```
 */
export async function loadUserModel(directory: string): Promise<UserModel> {
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(join(directory, "manifest.json")));
  } catch (error) {
    throw new ManifestError(
      `Cannot read ${join(directory, "manifest.json")}: ${(error as Error).message}`,
    );
  }
  const manifest = parseModelManifest(json);
  const files = new Map<string, Uint8Array>();
  for (const stage of manifest.stages) {
    try {
      files.set(stage.file, await Deno.readFile(join(directory, stage.file)));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return {
    manifest,
    config: manifest.model,
    boundaries: manifest.stages.slice(1).map((stage) => stage.layerStart),
    stageModelBytes: checkStageFiles(manifest, files),
  };
}
