/**
 * Checkpoints of each stage's state (its KV cache) on a node's disk, so that a restarted node
 * recomputes only the tokens after its latest checkpoint, not the whole prefix: every
 * `BUTTERFLY_CHECKPOINT_FREQUENCY` passes, each stage the node computes writes its cache as a
 * seed `Checkpoint` (through `CheckpointStore`: atomic, fsynced, verified on reload), and the
 * newest `BUTTERFLY_MAX_CHECKPOINTS` per stage are kept.
 *
 * These are the node's own state, not protocol messages: a checkpoint is used only for the very
 * prompt and tokens it was written for (it names them by digest), and the protocol's checkpoints
 * (the `Checkpoint` messages, stable at a quorum) are the core's. The state is what the replica
 * would compute again bit for bit, so restoring it changes no output.
 *
 * DATA/inferences/<id>/caches/stage-<s>/checkpoint-<epoch>-<passes>.bfck
 *
 * @module
 */

import { bytesToHex } from "@noble/hashes/utils.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { Checkpoint } from "../checkpoint/checkpoint.ts";
import { deserializeKvCache, type KvCache, serializeKvCache } from "../model/kv_cache.ts";
import { CheckpointLoadError, CheckpointStore } from "./checkpoint_store.ts";

/** Options of {@linkcode CacheCheckpoints}. */
export interface CacheCheckpointsOptions {
  /** Where inference `id`'s checkpoints go (a directory the node removes with the inference). */
  readonly directoryOf: (inferenceId: number) => string;
  /** Passes between checkpoints (`BUTTERFLY_CHECKPOINT_FREQUENCY`). */
  readonly everyPasses: number;
  /** Checkpoints kept per stage (`BUTTERFLY_MAX_CHECKPOINTS`). */
  readonly keep: number;
  /** Told of a checkpoint that could not be written or read (the node logs it). */
  readonly onProblem?: (message: string) => void;
}

interface Index {
  readonly stores: Map<number, CheckpointStore>;
  // Per stage, the passes of the checkpoints on disk, oldest first (by their file names: only
  // the one a restore needs is read, and verified then).
  readonly byStage: Map<number, number[]>;
  writes: Promise<void>;
}

/**
 * The stage caches of one node's inferences on disk.
 *
 * @example Write at pass 10, restore in a new process
 * ```ts
 * import { CacheCheckpoints } from "./cache_checkpoints.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const options = { directoryOf: (id: number) => `${dir}/${id}`, everyPasses: 10, keep: 2 };
 * const cache = {
 *   batchSize: 1, headCount: 1, headDim: 1, position: 10,
 *   layers: [{ layerIndex: 0, key: new Float32Array(10), value: new Float32Array(10) }],
 * };
 * const prefix = { prompt: [1, 2], tokens: Array.from({ length: 9 }, (_, k) => k) };
 * const writer = new CacheCheckpoints(options);
 * assert.ok(writer.due(10));
 * writer.save(7, 1, 10, prefix, cache);
 * await writer.flush(7);
 * const reader = new CacheCheckpoints(options);
 * assert.deepEqual(await reader.passesOnDisk(7, 1), [10]);
 * assert.equal((await reader.restore(7, 1, 10, prefix))?.position, 10);
 * // Another prefix: not this checkpoint's state.
 * assert.equal(await reader.restore(7, 1, 10, { ...prefix, prompt: [9] }), undefined);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class CacheCheckpoints {
  readonly #options: CacheCheckpointsOptions;
  readonly #indexes = new Map<number, Promise<Index>>();
  readonly #draining = new Map<number, Promise<void>>();
  #closed = false;

  /**
   * Creates the store (directories are read when an inference first needs them).
   *
   * @param options Where, how often, how many.
   * @throws {RangeError} If `everyPasses` or `keep` is not a positive integer.
   */
  constructor(options: CacheCheckpointsOptions) {
    for (const [name, value] of [["everyPasses", options.everyPasses], ["keep", options.keep]]) {
      if (!Number.isSafeInteger(value) || (value as number) < 1) {
        throw new RangeError(`${name} must be a positive integer, got ${value}`);
      }
    }
    this.#options = options;
  }

  /**
   * Whether the state after `passes` passes is checkpointed.
   *
   * @param passes Passes run.
   * @returns Whether it is a checkpoint pass.
   */
  due(passes: number): boolean {
    return passes % this.#options.everyPasses === 0;
  }

  /**
   * Writes a stage's cache after `passes` passes, in the background (writes of one inference run
   * in order; `flush` waits for them), and drops that stage's checkpoints beyond the newest
   * `keep`. The cache is serialized now, so the caller may go on with it.
   *
   * @param inferenceId The inference.
   * @param stage The stage.
   * @param passes Passes the cache holds.
   * @param prefix The prompt and the tokens fed so far (at least `passes - 1`).
   * @param cache The cache.
   */
  save(
    inferenceId: number,
    stage: number,
    passes: number,
    prefix: { readonly prompt: readonly number[]; readonly tokens: readonly number[] },
    cache: KvCache,
  ): void {
    if (this.#closed) return;
    const checkpoint = new Checkpoint(0, passes, {
      nodeStates: new Map([["cache", serializeKvCache(cache)]]),
      intermediateResults: new Map([["prefix", prefixDigest(prefix, passes)]]),
    });
    const index = this.#index(inferenceId);
    const write = index.then(async (index) => {
      index.writes = index.writes.then(async () => {
        try {
          const store = await this.#store(index, inferenceId, stage);
          await store.write(checkpoint);
          const kept = [...new Set([...(index.byStage.get(stage) ?? []), passes])]
            .sort((a, b) => a - b);
          while (kept.length > this.#options.keep) {
            await store.delete(new Checkpoint(0, kept.shift()!));
          }
          index.byStage.set(stage, kept);
        } catch (error) {
          this.#options.onProblem?.(
            `stage ${stage} checkpoint at pass ${passes}: ${(error as Error).message}`,
          );
        }
      });
      await index.writes;
    });
    void write.catch(() => {});
  }

  /**
   * Waits for an inference's writes so far.
   *
   * @param inferenceId The inference.
   * @returns When they are on disk (or reported), released inferences' included.
   */
  async flush(inferenceId: number): Promise<void> {
    await this.#draining.get(inferenceId);
    const index = this.#indexes.get(inferenceId);
    if (index !== undefined) await drain(await index);
  }

  /**
   * Takes no more writes and waits for those queued (a closing node calls it, so that no write
   * lands after it stopped).
   *
   * @returns When all are on disk (or reported).
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      [...new Set([...this.#indexes.keys(), ...this.#draining.keys()])].map((id) => this.flush(id)),
    );
  }

  /**
   * The passes after which a stage's cache is on disk, oldest first.
   *
   * @param inferenceId The inference.
   * @param stage The stage.
   * @returns The checkpoints' pass counts.
   */
  async passesOnDisk(inferenceId: number, stage: number): Promise<number[]> {
    const index = await this.#index(inferenceId);
    await index.writes;
    return [...(index.byStage.get(stage) ?? [])];
  }

  /**
   * A stage's cache after `passes` passes, if it is on disk for this very prompt and these
   * tokens.
   *
   * @param inferenceId The inference.
   * @param stage The stage.
   * @param passes The passes.
   * @param prefix The prompt and the tokens accepted (at least `passes - 1`).
   * @returns The cache, or `undefined`.
   */
  async restore(
    inferenceId: number,
    stage: number,
    passes: number,
    prefix: { readonly prompt: readonly number[]; readonly tokens: readonly number[] },
  ): Promise<KvCache | undefined> {
    if (prefix.tokens.length < passes - 1) return undefined;
    const index = await this.#index(inferenceId);
    await index.writes;
    const store = index.stores.get(stage);
    if (store === undefined || !(index.byStage.get(stage) ?? []).includes(passes)) return undefined;
    const checkpoint = await store.read(0, passes);
    if (checkpoint instanceof CheckpointLoadError) {
      this.#options.onProblem?.(checkpoint.message);
      return undefined;
    }
    const got = checkpoint.intermediateResults.get("prefix");
    const bytes = checkpoint.nodeStates.get("cache");
    if (got === undefined || bytes === undefined) return undefined;
    if (bytesToHex(got) !== bytesToHex(prefixDigest(prefix, passes))) return undefined;
    try {
      return deserializeKvCache(bytes);
    } catch (error) {
      this.#options.onProblem?.(
        `stage ${stage} checkpoint at pass ${passes} does not decode: ${(error as Error).message}`,
      );
      return undefined;
    }
  }

  /**
   * Forgets an inference's index (its files go with the inference's directory).
   *
   * @param inferenceId The inference.
   */
  release(inferenceId: number): void {
    const index = this.#indexes.get(inferenceId);
    if (index === undefined) return;
    this.#indexes.delete(inferenceId);
    // Writes already queued still finish; `flush` waits for them.
    const draining = index.then(drain).finally(() => {
      if (this.#draining.get(inferenceId) === draining) this.#draining.delete(inferenceId);
    });
    this.#draining.set(inferenceId, draining);
  }

  #index(inferenceId: number): Promise<Index> {
    let index = this.#indexes.get(inferenceId);
    if (index === undefined) {
      index = this.#load(inferenceId);
      this.#indexes.set(inferenceId, index);
    }
    return index;
  }

  async #load(inferenceId: number): Promise<Index> {
    const index: Index = { stores: new Map(), byStage: new Map(), writes: Promise.resolve() };
    const root = this.#options.directoryOf(inferenceId);
    let entries: Deno.DirEntry[] = [];
    try {
      entries = await Array.fromAsync(Deno.readDir(root));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    for (const entry of entries) {
      const match = /^stage-(\d{1,4})$/.exec(entry.name);
      if (!entry.isDirectory || match === null) continue;
      const stage = Number(match[1]);
      const store = await CheckpointStore.open(`${root}/${entry.name}`);
      index.stores.set(stage, store);
      index.byStage.set(
        stage,
        (await store.list()).filter((c) => c.epoch === 0).map((c) => c.tokenPosition),
      );
    }
    return index;
  }

  async #store(index: Index, inferenceId: number, stage: number): Promise<CheckpointStore> {
    let store = index.stores.get(stage);
    if (store === undefined) {
      store = await CheckpointStore.open(
        `${this.#options.directoryOf(inferenceId)}/stage-${stage}`,
      );
      index.stores.set(stage, store);
    }
    return store;
  }
}

// Waits for an index's writes, those queued while waiting too.
async function drain(index: Index): Promise<void> {
  for (let writes = index.writes;; writes = index.writes) {
    await writes;
    if (writes === index.writes) return;
  }
}

// What a cache after `passes` passes depends on: the prompt and the first `passes - 1` tokens.
function prefixDigest(
  prefix: { readonly prompt: readonly number[]; readonly tokens: readonly number[] },
  passes: number,
): Uint8Array {
  const fed = prefix.tokens.slice(0, passes - 1);
  return sha256(new TextEncoder().encode(JSON.stringify([prefix.prompt, fed])));
}
