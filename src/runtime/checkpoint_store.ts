/**
 * Durable checkpoint storage: one file per checkpoint in a directory, written atomically
 * (temporary file, fsync, rename, fsync of the directory) so a crash leaves either the old state
 * or the new file, never half a file under a checkpoint's name. On reload every file is decoded
 * and verified; a corrupt, truncated, foreign or misnamed file is skipped and reported, never
 * loaded.
 *
 * @module
 */

import {
  Checkpoint,
  CheckpointFormatError,
  type CheckpointFormatProblem,
  decodeCheckpoint,
  encodeCheckpoint,
} from "../checkpoint/checkpoint.ts";
import type { CheckpointManager } from "../checkpoint/checkpoint_manager.ts";

/** Largest checkpoint file the store reads, in bytes; a larger file is reported, not read. */
export const CHECKPOINT_FILE_BYTES_MAX = 1 << 30;

const FILE_PATTERN = /^checkpoint-(\d{16})-(\d{16})\.bfck$/;
const TEMPORARY_PREFIX = ".tmp-";

/** Why a file in the checkpoint directory was skipped. */
export type CheckpointLoadProblem = CheckpointFormatProblem | "misnamed" | "unreadable";

/** A file the store skipped while loading, and why. */
export class CheckpointLoadError extends Error {
  /** The skipped file. */
  readonly path: string;
  /** What is wrong with it. */
  readonly problem: CheckpointLoadProblem;
  /** Creates the error. */
  constructor(path: string, problem: CheckpointLoadProblem, message: string) {
    super(message);
    this.name = "CheckpointLoadError";
    this.path = path;
    this.problem = problem;
  }
}

/** What {@linkcode CheckpointStore.load} found. */
export interface CheckpointLoadResult {
  /** The valid checkpoints, ordered by (epoch, tokenPosition). */
  readonly checkpoints: readonly Checkpoint[];
  /** The files skipped, one error each. */
  readonly errors: readonly CheckpointLoadError[];
  /** Temporary files left by an interrupted write, which were removed. */
  readonly removedTemporaryFiles: readonly string[];
}

/**
 * A directory of checkpoint files.
 *
 * @example Write, then reload after a restart
 * ```ts
 * import { Checkpoint } from "@butterfly/bcp";
 * import { CheckpointStore } from "@butterfly/bcp/runtime";
 * import assert from "node:assert/strict";
 * const directory = await Deno.makeTempDir();
 * const store = await CheckpointStore.open(directory);
 * await store.write(new Checkpoint(0, 10, { nodeStates: new Map([["a", new Uint8Array([1])]]) }));
 * const reopened = await CheckpointStore.open(directory);
 * const { checkpoints, errors } = await reopened.load();
 * assert.equal(checkpoints[0]?.tokenPosition, 10);
 * assert.deepEqual(errors, []);
 * await Deno.remove(directory, { recursive: true });
 * ```
 */
export class CheckpointStore {
  /** The directory holding the files. */
  readonly directory: string;

  private constructor(directory: string) {
    this.directory = directory;
  }

  /**
   * Opens (creating if needed) a checkpoint directory.
   *
   * @param directory The directory path.
   * @returns The store.
   *
   * @example Usage
   * ```ts
   * import { CheckpointStore } from "@butterfly/bcp/runtime";
   * const directory = await Deno.makeTempDir();
   * const store = await CheckpointStore.open(`${directory}/checkpoints`);
   * console.log(store.directory);
   * await Deno.remove(directory, { recursive: true });
   * ```
   */
  static async open(directory: string): Promise<CheckpointStore> {
    await Deno.mkdir(directory, { recursive: true });
    return new CheckpointStore(directory);
  }

  /**
   * The file name of a checkpoint: zero-padded so names sort in (epoch, tokenPosition) order.
   *
   * @param checkpoint The checkpoint.
   * @returns The file name, without the directory.
   *
   * @example Usage
   * ```ts
   * import { Checkpoint } from "@butterfly/bcp";
   * import { CheckpointStore } from "@butterfly/bcp/runtime";
   * import assert from "node:assert/strict";
   * assert.equal(
   *   CheckpointStore.fileName(new Checkpoint(1, 20)),
   *   "checkpoint-0000000000000001-0000000000000020.bfck",
   * );
   * ```
   */
  static fileName(checkpoint: Checkpoint): string {
    const epoch = String(checkpoint.epoch).padStart(16, "0");
    const position = String(checkpoint.tokenPosition).padStart(16, "0");
    return `checkpoint-${epoch}-${position}.bfck`;
  }

  /**
   * Writes a checkpoint durably: to a temporary file, fsync, rename over the final name, fsync
   * the directory. When the promise resolves the checkpoint survives a power cut.
   *
   * @param checkpoint The checkpoint.
   * @returns The path of the file.
   *
   * @example Usage
   * ```ts
   * import { Checkpoint } from "@butterfly/bcp";
   * import { CheckpointStore } from "@butterfly/bcp/runtime";
   * const directory = await Deno.makeTempDir();
   * const store = await CheckpointStore.open(directory);
   * console.log(await store.write(new Checkpoint(0, 0)));
   * await Deno.remove(directory, { recursive: true });
   * ```
   */
  async write(checkpoint: Checkpoint): Promise<string> {
    const name = CheckpointStore.fileName(checkpoint);
    const path = `${this.directory}/${name}`;
    const temporaryPath = `${this.directory}/${TEMPORARY_PREFIX}${crypto.randomUUID()}-${name}`;
    const bytes = encodeCheckpoint(checkpoint);
    const file = await Deno.open(temporaryPath, { write: true, createNew: true });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } catch (error) {
      file.close();
      await Deno.remove(temporaryPath).catch(() => {});
      throw error;
    }
    file.close();
    await Deno.rename(temporaryPath, path);
    await this.#syncDirectory();
    return path;
  }

  /**
   * Deletes a checkpoint's file (for example one the manager evicted). Missing files are fine.
   *
   * @param checkpoint The checkpoint.
   * @returns `true` if a file was removed.
   *
   * @example Usage
   * ```ts
   * import { Checkpoint } from "@butterfly/bcp";
   * import { CheckpointStore } from "@butterfly/bcp/runtime";
   * import assert from "node:assert/strict";
   * const directory = await Deno.makeTempDir();
   * const store = await CheckpointStore.open(directory);
   * assert.equal(await store.delete(new Checkpoint(0, 0)), false);
   * await Deno.remove(directory, { recursive: true });
   * ```
   */
  async delete(checkpoint: Checkpoint): Promise<boolean> {
    try {
      await Deno.remove(`${this.directory}/${CheckpointStore.fileName(checkpoint)}`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
    await this.#syncDirectory();
    return true;
  }

  /**
   * Reads every checkpoint file, verifying each. Bad files are reported in `errors` and left in
   * place for inspection; temporary files from interrupted writes are removed.
   *
   * @returns The valid checkpoints in order, the errors, and the temporary files removed.
   *
   * @example Usage
   * ```ts
   * import { CheckpointStore } from "@butterfly/bcp/runtime";
   * import assert from "node:assert/strict";
   * const directory = await Deno.makeTempDir();
   * await Deno.writeTextFile(`${directory}/checkpoint-0000000000000000-0000000000000000.bfck`, "{}");
   * const { checkpoints, errors } = await (await CheckpointStore.open(directory)).load();
   * assert.equal(checkpoints.length, 0);
   * assert.equal(errors[0]?.problem, "foreign");
   * await Deno.remove(directory, { recursive: true });
   * ```
   */
  async load(): Promise<CheckpointLoadResult> {
    const names: string[] = [];
    for await (const entry of Deno.readDir(this.directory)) names.push(entry.name);
    names.sort();
    const checkpoints: Checkpoint[] = [];
    const errors: CheckpointLoadError[] = [];
    const removedTemporaryFiles: string[] = [];
    for (const name of names) {
      const path = `${this.directory}/${name}`;
      if (name.startsWith(TEMPORARY_PREFIX)) {
        try {
          await Deno.remove(path);
          removedTemporaryFiles.push(path);
        } catch (error) {
          // Gone already (renamed by a write finishing as this load reads): not an error.
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
        continue;
      }
      const result = await readCheckpointFile(path, name);
      if (result instanceof CheckpointLoadError) errors.push(result);
      else checkpoints.push(result);
    }
    checkpoints.sort((left, right) =>
      left.epoch - right.epoch || left.tokenPosition - right.tokenPosition
    );
    return { checkpoints, errors, removedTemporaryFiles };
  }

  /**
   * The checkpoints in the directory as their file names say, without reading them (other names
   * left out): for a reader that needs one of them, not all. Temporary files from interrupted
   * writes are removed, as {@linkcode CheckpointStore.load} removes them.
   *
   * @returns Each file's epoch and token position, ordered by (epoch, tokenPosition).
   *
   * @example Usage
   * ```ts
   * import { Checkpoint } from "@butterfly/bcp";
   * import { CheckpointStore } from "@butterfly/bcp/runtime";
   * import assert from "node:assert/strict";
   * const directory = await Deno.makeTempDir();
   * const store = await CheckpointStore.open(directory);
   * for (const position of [20, 10]) await store.write(new Checkpoint(0, position));
   * assert.deepEqual((await store.list()).map((c) => c.tokenPosition), [10, 20]);
   * await Deno.remove(directory, { recursive: true });
   * ```
   */
  async list(): Promise<{ readonly epoch: number; readonly tokenPosition: number }[]> {
    const found: { epoch: number; tokenPosition: number }[] = [];
    for await (const entry of Deno.readDir(this.directory)) {
      if (entry.name.startsWith(TEMPORARY_PREFIX)) {
        await Deno.remove(`${this.directory}/${entry.name}`).catch((error) => {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        });
        continue;
      }
      const match = FILE_PATTERN.exec(entry.name);
      if (match === null || !entry.isFile) continue;
      const epoch = Number(match[1]);
      const tokenPosition = Number(match[2]);
      if (Number.isSafeInteger(epoch) && Number.isSafeInteger(tokenPosition)) {
        found.push({ epoch, tokenPosition });
      }
    }
    return found.sort((a, b) => a.epoch - b.epoch || a.tokenPosition - b.tokenPosition);
  }

  /**
   * Reads and verifies one checkpoint file, as {@linkcode CheckpointStore.load} does each.
   *
   * @param epoch The checkpoint's epoch.
   * @param tokenPosition Its token position.
   * @returns The checkpoint, or the error that says why its file is missing or bad.
   *
   * @example Usage
   * ```ts
   * import { Checkpoint } from "@butterfly/bcp";
   * import { CheckpointStore } from "@butterfly/bcp/runtime";
   * import assert from "node:assert/strict";
   * const directory = await Deno.makeTempDir();
   * const store = await CheckpointStore.open(directory);
   * await store.write(new Checkpoint(0, 10));
   * assert.equal(((await store.read(0, 10)) as Checkpoint).tokenPosition, 10);
   * assert.equal(((await store.read(0, 20)) as Error).name, "CheckpointLoadError");
   * await Deno.remove(directory, { recursive: true });
   * ```
   */
  read(epoch: number, tokenPosition: number): Promise<Checkpoint | CheckpointLoadError> {
    const name = CheckpointStore.fileName(new Checkpoint(epoch, tokenPosition));
    return readCheckpointFile(`${this.directory}/${name}`, name);
  }

  /**
   * Loads the directory into a manager, oldest first, so the manager holds the newest
   * `checkpointsMax` valid checkpoints.
   *
   * @param manager An empty manager.
   * @returns The load result (the errors say which files were skipped).
   *
   * @example Usage
   * ```ts
   * import { Checkpoint, CheckpointManager } from "@butterfly/bcp";
   * import { CheckpointStore } from "@butterfly/bcp/runtime";
   * import assert from "node:assert/strict";
   * const directory = await Deno.makeTempDir();
   * const store = await CheckpointStore.open(directory);
   * for (const position of [0, 10, 20]) await store.write(new Checkpoint(0, position));
   * const manager = new CheckpointManager(2);
   * await store.restoreInto(manager);
   * assert.equal(manager.latest()?.tokenPosition, 20);
   * assert.equal(manager.count, 2);
   * await Deno.remove(directory, { recursive: true });
   * ```
   */
  async restoreInto(manager: CheckpointManager): Promise<CheckpointLoadResult> {
    const result = await this.load();
    for (const checkpoint of result.checkpoints) manager.store(checkpoint);
    return result;
  }

  async #syncDirectory(): Promise<void> {
    // The rename is only durable once the directory entry is: fsync the directory too.
    const directory = await Deno.open(this.directory, { read: true });
    try {
      await directory.sync();
    } finally {
      directory.close();
    }
  }
}

async function readCheckpointFile(
  path: string,
  name: string,
): Promise<Checkpoint | CheckpointLoadError> {
  const match = FILE_PATTERN.exec(name);
  if (match === null) {
    return new CheckpointLoadError(path, "misnamed", `${path} is not named like a checkpoint file`);
  }
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) {
      return new CheckpointLoadError(path, "unreadable", `${path} is not a regular file`);
    }
    if (info.size > CHECKPOINT_FILE_BYTES_MAX) {
      return new CheckpointLoadError(
        path,
        "unreadable",
        `${path} has ${info.size} bytes, more than ${CHECKPOINT_FILE_BYTES_MAX}`,
      );
    }
    bytes = await Deno.readFile(path);
  } catch (error) {
    return new CheckpointLoadError(path, "unreadable", `Cannot read ${path}: ${error}`);
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = decodeCheckpoint(bytes);
  } catch (error) {
    if (!(error instanceof CheckpointFormatError)) throw error;
    return new CheckpointLoadError(path, error.problem, `Skipped ${path}: ${error.message}`);
  }
  if (CheckpointStore.fileName(checkpoint) !== name) {
    return new CheckpointLoadError(
      path,
      "misnamed",
      `${path} holds the checkpoint of epoch ${checkpoint.epoch}, position ` +
        `${checkpoint.tokenPosition}, not the one its name says (${match[1]}, ${match[2]})`,
    );
  }
  return checkpoint;
}
