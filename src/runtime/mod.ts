/**
 * What a Butterfly node runs on: its configuration from `BUTTERFLY_*` variables, the durable
 * on-disk checkpoint store, and loading a user's model directory. Loading a model reaches ONNX
 * Runtime, so this entry point needs `--allow-ffi` (and `--allow-read`, `--allow-env`,
 * `--allow-sys`).
 *
 * @example Configuration from the environment
 * ```ts
 * import { loadConfigFromEnv } from "@butterfly/bcp/runtime";
 * import assert from "node:assert/strict";
 *
 * assert.equal(loadConfigFromEnv().heartbeatIntervalMs > 0, true);
 * ```
 *
 * @module
 */

export { loadConfigFromEnv, loadNodeConfig } from "./config.ts";
export {
  CHECKPOINT_FILE_BYTES_MAX,
  CheckpointLoadError,
  type CheckpointLoadProblem,
  type CheckpointLoadResult,
  CheckpointStore,
} from "./checkpoint_store.ts";
export { loadUserModel, type UserModel } from "./user_model.ts";
