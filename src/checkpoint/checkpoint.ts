/**
 * A checkpoint of the inference state at a token position, with a canonical SHA-256 checksum:
 * the same checkpoint gives the same checksum in every process, whatever order its maps were
 * filled in (the seed hashed a hash map in iteration order, so nodes never agreed).
 *
 * Canonical encoding, version 1 (all integers big-endian):
 *
 * ```text
 * magic "BFLYCKPT" (8 bytes) | version u16 = 1
 * epoch u64 | tokenPosition u64
 * nodeStates:          count u32, then per entry sorted by the UTF-8 bytes of the node id:
 *                      idLength u32 | id (UTF-8) | valueLength u32 | value
 * intermediateResults: the same layout
 * ```
 *
 * The checksum is SHA-256 of those bytes; a checkpoint file is the encoding followed by its
 * 32-byte checksum (see {@linkcode encodeCheckpoint}).
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import type { NodeId } from "../core/types.ts";
import { requireKind } from "../core/_arguments.ts";

/** The eight bytes every checkpoint encoding starts with: "BFLYCKPT". */
export const CHECKPOINT_MAGIC: Uint8Array = new TextEncoder().encode("BFLYCKPT");
/** The encoding version this module writes and reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;
/** Length of a checksum in bytes (SHA-256). */
export const CHECKPOINT_CHECKSUM_BYTES = 32;
/** Longest node id, in UTF-8 bytes, a checkpoint may hold. */
export const CHECKPOINT_NODE_ID_BYTES_MAX = 1024;
/** Most entries a checkpoint map may hold. */
export const CHECKPOINT_ENTRIES_MAX = 65_536;

const HEADER_BYTES = CHECKPOINT_MAGIC.length + 2 + 8 + 8;

/** Options of {@linkcode Checkpoint}: the per-node state it captures. */
export interface CheckpointOptions {
  /** Each node's state (for example its serialized KV cache slice). */
  readonly nodeStates?: ReadonlyMap<NodeId, Uint8Array>;
  /** Each node's intermediate results (for example the activation it last handed on). */
  readonly intermediateResults?: ReadonlyMap<NodeId, Uint8Array>;
}

// The state a constructor call gives: options, or (the seed's shape) the node states and the
// intermediate results as two maps. Anything else is refused now, not stored as no state.
function checkpointState(
  options: unknown,
  intermediateResults: unknown,
): CheckpointOptions {
  if (options instanceof Map) {
    if (intermediateResults !== undefined && !(intermediateResults instanceof Map)) {
      throw new TypeError("intermediateResults must be a Map of node ids to bytes");
    }
    return {
      nodeStates: options as ReadonlyMap<NodeId, Uint8Array>,
      ...(intermediateResults === undefined
        ? {}
        : { intermediateResults: intermediateResults as ReadonlyMap<NodeId, Uint8Array> }),
    };
  }
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(
      "the checkpoint's state must be options { nodeStates, intermediateResults } or a Map of " +
        `node states, got ${options === null ? "null" : typeof options}`,
    );
  }
  if (intermediateResults !== undefined) {
    throw new TypeError(
      "intermediateResults goes in the options ({ nodeStates, intermediateResults }), or both " +
        "maps are given positionally",
    );
  }
  return options as CheckpointOptions;
}

/** Why a byte string is not a valid checkpoint. */
export type CheckpointFormatProblem = "foreign" | "version" | "truncated" | "corrupt" | "malformed";

/** Raised when bytes are not a valid checkpoint; `problem` says how. */
export class CheckpointFormatError extends Error {
  /** What is wrong: not a checkpoint at all, unknown version, cut short, bad checksum, or non-canonical. */
  readonly problem: CheckpointFormatProblem;
  /** Creates the error. */
  constructor(problem: CheckpointFormatProblem, message: string) {
    super(message);
    this.name = "CheckpointFormatError";
    this.problem = problem;
  }
}

/**
 * An immutable checkpoint: epoch, token position and per-node state, with its canonical checksum.
 * The maps are copied (bytes included) and kept in canonical order.
 *
 * @example The seed's example
 * ```ts
 * import { Checkpoint } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 * const nodeStates = new Map([["node-0", new Uint8Array([1, 2, 3])]]);
 * const checkpoint = new Checkpoint(0, 0, { nodeStates });
 * assert.equal(checkpoint.checksumHex.length, 64);
 * assert.ok(checkpoint.verify());
 * ```
 */
export class Checkpoint {
  /** The epoch the checkpoint belongs to. */
  readonly epoch: number;
  /** The token position it captures: every token before it has been generated. */
  readonly tokenPosition: number;
  /** Each node's state, in canonical order. */
  readonly nodeStates: ReadonlyMap<NodeId, Uint8Array>;
  /** Each node's intermediate results, in canonical order. */
  readonly intermediateResults: ReadonlyMap<NodeId, Uint8Array>;
  /** SHA-256 of the canonical encoding. */
  readonly checksum: Uint8Array;
  /** The checksum as 64 lowercase hex digits. */
  readonly checksumHex: string;

  /**
   * Creates a checkpoint and computes its checksum. Takes the per-node state as options, or in
   * the seed's positional shape: `new Checkpoint(epoch, position, nodeStates, intermediateResults)`.
   *
   * @param epoch A non-negative safe integer.
   * @param tokenPosition A non-negative safe integer.
   * @param options The per-node state, or the node states themselves (the seed's shape).
   * @param intermediateResults With node states as the third argument: the intermediate results.
   * @throws {RangeError} If a number is out of range or a map exceeds the named bounds.
   * @throws {TypeError} If the state is neither options nor a map, or a fourth argument follows
   * options.
   *
   * @example The seed's positional shape
   * ```ts
   * import { Checkpoint } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const states = new Map([["node-0", new Uint8Array([1, 2, 3])]]);
   * const checkpoint = new Checkpoint(0, 0, states, new Map());
   * assert.equal(checkpoint.nodeStates.get("node-0")?.length, 3);
   * ```
   */
  constructor(
    epoch: number,
    tokenPosition: number,
    options: CheckpointOptions | ReadonlyMap<NodeId, Uint8Array> = {},
    intermediateResults?: ReadonlyMap<NodeId, Uint8Array>,
  ) {
    requireCount("epoch", epoch);
    requireCount("tokenPosition", tokenPosition);
    const state = checkpointState(options, intermediateResults);
    this.epoch = epoch;
    this.tokenPosition = tokenPosition;
    this.nodeStates = canonicalCopy("nodeStates", state.nodeStates);
    this.intermediateResults = canonicalCopy("intermediateResults", state.intermediateResults);
    this.checksum = sha256(encodeBody(this));
    this.checksumHex = toHex(this.checksum);
  }

  /**
   * Recomputes the checksum and compares it with the stored one.
   *
   * @returns `true` if the state still matches the checksum.
   *
   * @example Usage
   * ```ts
   * import { Checkpoint } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * assert.ok(new Checkpoint(1, 10).verify());
   * ```
   */
  verify(): boolean {
    return toHex(sha256(encodeBody(this))) === this.checksumHex;
  }

  /**
   * Total bytes of state held (node states plus intermediate results).
   *
   * @returns The byte count.
   *
   * @example Usage
   * ```ts
   * import { Checkpoint } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const nodeStates = new Map([["a", new Uint8Array(5)]]);
   * assert.equal(new Checkpoint(0, 0, { nodeStates }).stateBytes(), 5);
   * ```
   */
  stateBytes(): number {
    let total = 0;
    for (const value of this.nodeStates.values()) total += value.length;
    for (const value of this.intermediateResults.values()) total += value.length;
    return total;
  }
}

/**
 * The checkpoint file format: the canonical encoding followed by its SHA-256 checksum.
 *
 * @param checkpoint The checkpoint.
 * @returns The bytes to store or send.
 *
 * @example Round trip
 * ```ts
 * import { Checkpoint, decodeCheckpoint, encodeCheckpoint } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 * const checkpoint = new Checkpoint(2, 20);
 * assert.equal(decodeCheckpoint(encodeCheckpoint(checkpoint)).checksumHex, checkpoint.checksumHex);
 * ```
 */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const body = encodeBody(checkpoint);
  const bytes = new Uint8Array(body.length + CHECKPOINT_CHECKSUM_BYTES);
  bytes.set(body);
  bytes.set(checkpoint.checksum, body.length);
  return bytes;
}

/**
 * Decodes and verifies a checkpoint file: the magic, the version, every length, the canonical
 * order of the maps and the checksum. Anything else is rejected, never half-loaded.
 *
 * @param bytes The file's bytes.
 * @returns The checkpoint.
 * @throws {CheckpointFormatError} With `problem` "foreign", "version", "truncated", "corrupt" or "malformed".
 *
 * @example A flipped bit is caught
 * ```ts
 * import { Checkpoint, decodeCheckpoint, encodeCheckpoint } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 * const nodeStates = new Map([["a", new Uint8Array([7])]]);
 * const bytes = encodeCheckpoint(new Checkpoint(0, 0, { nodeStates }));
 * bytes[bytes.length - 1]! ^= 1; // the last checksum byte
 * assert.throws(() => decodeCheckpoint(bytes), /checksum/);
 * ```
 */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  if (
    bytes.length < CHECKPOINT_MAGIC.length ||
    !CHECKPOINT_MAGIC.every((byte, index) => bytes[index] === byte)
  ) {
    throw new CheckpointFormatError("foreign", "Bytes do not start with the checkpoint magic");
  }
  if (bytes.length < HEADER_BYTES + 8 + CHECKPOINT_CHECKSUM_BYTES) {
    throw new CheckpointFormatError(
      "truncated",
      `Checkpoint is cut short at ${bytes.length} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(CHECKPOINT_MAGIC.length);
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointFormatError(
      "version",
      `Checkpoint format version ${version} is not supported (expected ${CHECKPOINT_FORMAT_VERSION})`,
    );
  }
  const bodyLength = bytes.length - CHECKPOINT_CHECKSUM_BYTES;
  // Parse first: a cut-short or mis-sized file says so, rather than only "bad checksum".
  const parsed = parseBody(bytes.subarray(0, bodyLength));
  // parseBody accepts only the canonical form (strictly sorted keys, exact lengths, nothing
  // trailing), so re-encoding gives back exactly the body: the checkpoint's own checksum is
  // SHA-256 of the body, and one hash suffices.
  const checkpoint = new Checkpoint(parsed.epoch, parsed.tokenPosition, parsed);
  if (checkpoint.checksumHex !== toHex(bytes.subarray(bodyLength))) {
    throw new CheckpointFormatError("corrupt", "Checkpoint checksum does not match its contents");
  }
  return checkpoint;
}

interface ParsedBody {
  readonly epoch: number;
  readonly tokenPosition: number;
  readonly nodeStates: Map<NodeId, Uint8Array>;
  readonly intermediateResults: Map<NodeId, Uint8Array>;
}

function parseBody(body: Uint8Array): ParsedBody {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let offset = CHECKPOINT_MAGIC.length + 2;
  function need(count: number): void {
    if (offset + count > body.length) {
      throw new CheckpointFormatError(
        "truncated",
        `Checkpoint is cut short: needs ${offset + count} bytes, has ${body.length}`,
      );
    }
  }
  function readU64(name: string): number {
    need(8);
    const value = view.getBigUint64(offset);
    offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new CheckpointFormatError(
        "malformed",
        `Checkpoint ${name} ${value} is not a safe integer`,
      );
    }
    return Number(value);
  }
  function readU32(): number {
    need(4);
    const value = view.getUint32(offset);
    offset += 4;
    return value;
  }
  function readBytes(length: number): Uint8Array {
    need(length);
    const value = body.slice(offset, offset + length);
    offset += length;
    return value;
  }
  function readMap(name: string): Map<NodeId, Uint8Array> {
    const count = readU32();
    if (count > CHECKPOINT_ENTRIES_MAX) {
      throw new CheckpointFormatError("malformed", `Checkpoint ${name} has ${count} entries`);
    }
    const map = new Map<NodeId, Uint8Array>();
    let previousKey: Uint8Array | undefined;
    for (let index = 0; index < count; index++) {
      const keyLength = readU32();
      if (keyLength > CHECKPOINT_NODE_ID_BYTES_MAX) {
        throw new CheckpointFormatError(
          "malformed",
          `Checkpoint ${name} has a ${keyLength}-byte node id`,
        );
      }
      const key = readBytes(keyLength);
      if (previousKey !== undefined && compareBytes(previousKey, key) >= 0) {
        throw new CheckpointFormatError(
          "malformed",
          `Checkpoint ${name} keys are not strictly sorted`,
        );
      }
      previousKey = key;
      const value = readBytes(readU32());
      map.set(decodeNodeId(name, key), value);
    }
    return map;
  }
  const epoch = readU64("epoch");
  const tokenPosition = readU64("tokenPosition");
  const nodeStates = readMap("nodeStates");
  const intermediateResults = readMap("intermediateResults");
  if (offset !== body.length) {
    throw new CheckpointFormatError(
      "malformed",
      `Checkpoint has ${body.length - offset} trailing bytes`,
    );
  }
  return { epoch, tokenPosition, nodeStates, intermediateResults };
}

function decodeNodeId(name: string, bytes: Uint8Array): NodeId {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new CheckpointFormatError(
      "malformed",
      `Checkpoint ${name} has a node id that is not UTF-8`,
    );
  }
}

function encodeBody(checkpoint: Checkpoint): Uint8Array {
  const encoder = new TextEncoder();
  const maps = [checkpoint.nodeStates, checkpoint.intermediateResults].map((map) =>
    [...map].map(([key, value]) => [encoder.encode(key), value] as const)
  );
  let length = HEADER_BYTES;
  for (const entries of maps) {
    length += 4;
    for (const [key, value] of entries) length += 8 + key.length + value.length;
  }
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  bytes.set(CHECKPOINT_MAGIC);
  let offset = CHECKPOINT_MAGIC.length;
  view.setUint16(offset, CHECKPOINT_FORMAT_VERSION);
  offset += 2;
  view.setBigUint64(offset, BigInt(checkpoint.epoch));
  offset += 8;
  view.setBigUint64(offset, BigInt(checkpoint.tokenPosition));
  offset += 8;
  for (const entries of maps) {
    view.setUint32(offset, entries.length);
    offset += 4;
    for (const [key, value] of entries) {
      view.setUint32(offset, key.length);
      bytes.set(key, offset + 4);
      offset += 4 + key.length;
      view.setUint32(offset, value.length);
      bytes.set(value, offset + 4);
      offset += 4 + value.length;
    }
  }
  return bytes;
}

/** Copies a map into canonical order: keys sorted by their UTF-8 bytes, values copied. */
function canonicalCopy(
  name: string,
  map: ReadonlyMap<NodeId, Uint8Array> | undefined,
): ReadonlyMap<NodeId, Uint8Array> {
  if (map === undefined) return new Map();
  if (!(map instanceof Map)) throw new TypeError(`${name} must be a Map of node ids to bytes`);
  for (const [key, value] of map) {
    if (typeof key !== "string" || !(value instanceof Uint8Array)) {
      throw new TypeError(`${name} must map node ids (strings) to bytes (Uint8Array)`);
    }
  }
  if (map.size > CHECKPOINT_ENTRIES_MAX) {
    throw new RangeError(`${name} has ${map.size} entries, more than ${CHECKPOINT_ENTRIES_MAX}`);
  }
  const encoder = new TextEncoder();
  const entries = [...map].map(([key, value]) => ({ key, keyBytes: encoder.encode(key), value }));
  for (const { key, keyBytes, value } of entries) {
    // A lone surrogate would encode to U+FFFD and collide with another id.
    if (!key.isWellFormed()) {
      throw new TypeError(`${name} node id ${JSON.stringify(key)} is not well-formed Unicode`);
    }
    if (keyBytes.length > CHECKPOINT_NODE_ID_BYTES_MAX) {
      throw new RangeError(`${name} node id ${JSON.stringify(key.slice(0, 32))}... is too long`);
    }
    if (!(value instanceof Uint8Array)) {
      throw new TypeError(`${name} value for ${JSON.stringify(key)} must be a Uint8Array`);
    }
  }
  // Sorting by UTF-8 bytes rather than by JavaScript's UTF-16 order keeps the encoding
  // language-neutral: a Rust or Go node sorting byte strings gets the same order.
  entries.sort((left, right) => compareBytes(left.keyBytes, right.keyBytes));
  return new Map(entries.map(({ key, value }) => [key, value.slice()]));
}

function compareBytes(left: Uint8Array, right: Uint8Array): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    const difference = left[index]! - right[index]!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

function requireCount(name: string, value: number): void {
  requireKind(name, value, "number");
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
