/**
 * The key/value cache of a stage: what a node must persist to resume decoding after a crash.
 * It serializes to a self-describing little-endian byte string and back, bit for bit.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

/** One block's cache, each float32 [batchSize, headCount, position, headDim], row-major. */
export interface LayerKvCache {
  /** The block's index in the whole model. */
  readonly layerIndex: number;
  /** Keys of every position so far. */
  readonly key: Float32Array;
  /** Values of every position so far. */
  readonly value: Float32Array;
}

/** The cache of a stage at a token position: the keys and values of positions [0, position). */
export interface KvCache {
  /** Number of sequences decoded together. */
  readonly batchSize: number;
  /** Attention heads per block. */
  readonly headCount: number;
  /** Width of one head. */
  readonly headDim: number;
  /** Number of positions already processed. */
  readonly position: number;
  /** One entry per block of the stage, in increasing layer order, contiguous. */
  readonly layers: readonly LayerKvCache[];
}

/** Raised when serialized cache bytes are malformed. */
export class KvCacheFormatError extends Error {
  /** Creates the error with a message saying what is malformed. */
  constructor(message: string) {
    super(message);
    this.name = "KvCacheFormatError";
  }
}

/** "BKVC" read as a little-endian u32: the first four bytes of a serialized cache. */
export const KV_CACHE_MAGIC = 0x43564b42;
/** Version of the serialized cache format. */
export const KV_CACHE_FORMAT_VERSION = 1;
const HEADER_WORDS = 8;

/** Shape of an empty cache. */
export interface EmptyKvCacheOptions {
  /** Number of sequences decoded together (default 1). */
  readonly batchSize?: number;
}

/**
 * An empty cache (position 0) for the blocks `layerStart` to `layerEnd - 1`.
 *
 * @param shape Heads and head width of the model.
 * @param range The blocks of the stage.
 * @param options Batch size.
 * @returns A cache with zero positions.
 *
 * @example Usage
 * ```ts
 * import { emptyKvCache } from "@butterfly/bcp/model";
 * const cache = emptyKvCache({ headCount: 4, headDim: 4 }, { layerStart: 0, layerEnd: 2 });
 * console.log(cache.layers.length, cache.position); // 2 0
 * ```
 */
export function emptyKvCache(
  shape: { headCount: number; headDim: number },
  range: { layerStart: number; layerEnd: number },
  options: EmptyKvCacheOptions = {},
): KvCache {
  const layers: LayerKvCache[] = [];
  for (let layer = range.layerStart; layer < range.layerEnd; layer++) {
    layers.push({ layerIndex: layer, key: new Float32Array(0), value: new Float32Array(0) });
  }
  return {
    batchSize: options.batchSize ?? 1,
    headCount: shape.headCount,
    headDim: shape.headDim,
    position: 0,
    layers,
  };
}

function layerFloatCount(cache: KvCache): number {
  return cache.batchSize * cache.headCount * cache.position * cache.headDim;
}

/**
 * Serializes a cache: a header of eight little-endian u32 (magic, version, batch, heads, head
 * width, position, first layer, layer count) then each block's keys and values as little-endian
 * float32.
 *
 * @param cache The cache to serialize.
 * @returns The bytes, which `deserializeKvCache` restores exactly.
 *
 * @example Usage
 * ```ts
 * import { deserializeKvCache, emptyKvCache, serializeKvCache } from "@butterfly/bcp/model";
 * const cache = emptyKvCache({ headCount: 2, headDim: 8 }, { layerStart: 3, layerEnd: 5 });
 * console.log(deserializeKvCache(serializeKvCache(cache)).layers[0]?.layerIndex); // 3
 * ```
 */
export function serializeKvCache(cache: KvCache): Uint8Array {
  const floats = layerFloatCount(cache);
  const bytes = new Uint8Array(4 * HEADER_WORDS + cache.layers.length * 2 * floats * 4);
  const view = new DataView(bytes.buffer);
  const header = [
    KV_CACHE_MAGIC,
    KV_CACHE_FORMAT_VERSION,
    cache.batchSize,
    cache.headCount,
    cache.headDim,
    cache.position,
    cache.layers[0]?.layerIndex ?? 0,
    cache.layers.length,
  ];
  header.forEach((word, index) => view.setUint32(4 * index, word, true));
  let offset = 4 * HEADER_WORDS;
  cache.layers.forEach((layer, index) => {
    if (layer.layerIndex !== header[6]! + index) {
      throw new KvCacheFormatError(`Cache layers must be contiguous, found ${layer.layerIndex}`);
    }
    for (const values of [layer.key, layer.value]) {
      if (values.length !== floats) {
        throw new KvCacheFormatError(
          `Layer ${layer.layerIndex} holds ${values.length} floats, expected ${floats}`,
        );
      }
      // Copy bit patterns as u32: going through a JS number would canonicalize NaN payloads.
      const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
      for (let i = 0; i < words.length; i++, offset += 4) view.setUint32(offset, words[i]!, true);
    }
  });
  return bytes;
}

/**
 * Restores a cache from `serializeKvCache` bytes.
 *
 * @param bytes The serialized cache.
 * @returns The cache, bit-identical to the one serialized.
 * @throws {KvCacheFormatError} If the magic, version or length is wrong.
 *
 * @example Usage
 * ```ts
 * import { deserializeKvCache } from "@butterfly/bcp/model";
 * import assert from "node:assert/strict";
 * assert.throws(() => deserializeKvCache(new Uint8Array(3)), /too short/);
 * ```
 */
export function deserializeKvCache(bytes: Uint8Array): KvCache {
  if (bytes.length < 4 * HEADER_WORDS) {
    throw new KvCacheFormatError(`Cache bytes are too short: ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [magic, version, batchSize, headCount, headDim, position, layerStart, layerCount] = Array
    .from({ length: HEADER_WORDS }, (_, index) => view.getUint32(4 * index, true)) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
  if (magic !== KV_CACHE_MAGIC) throw new KvCacheFormatError("Cache bytes lack the BKVC magic");
  if (version !== KV_CACHE_FORMAT_VERSION) {
    throw new KvCacheFormatError(`Cache format version ${version} is not supported`);
  }
  const floats = batchSize * headCount * position * headDim;
  const expected = 4 * HEADER_WORDS + layerCount * 2 * floats * 4;
  if (bytes.length !== expected) {
    throw new KvCacheFormatError(`Cache bytes hold ${bytes.length} bytes, expected ${expected}`);
  }
  let offset = 4 * HEADER_WORDS;
  const read = (): Float32Array => {
    const words = new Uint32Array(floats);
    for (let i = 0; i < floats; i++, offset += 4) words[i] = view.getUint32(offset, true);
    return new Float32Array(words.buffer);
  };
  const layers: LayerKvCache[] = [];
  for (let index = 0; index < layerCount; index++) {
    const key = read();
    layers.push({ layerIndex: layerStart + index, key, value: read() });
  }
  return { batchSize, headCount, headDim, position, layers };
}

/**
 * SHA-256 of the serialized cache, in hex: lets a checkpoint be certified by digest.
 *
 * @param cache The cache.
 * @returns 64 lowercase hex characters.
 *
 * @example Usage
 * ```ts
 * import { emptyKvCache, kvCacheDigest } from "@butterfly/bcp/model";
 * console.log(kvCacheDigest(emptyKvCache({ headCount: 1, headDim: 1 }, { layerStart: 0, layerEnd: 1 })));
 * ```
 */
export function kvCacheDigest(cache: KvCache): string {
  return bytesToHex(sha256(serializeKvCache(cache)));
}
