/**
 * The cluster file: the JSON document every node and client of a cluster reads, listing the
 * members (id, address, public key), the Byzantine nodes tolerated, the replicas per stage, the
 * model and its stage split, and the known clients. Every field is checked; an error names the
 * field (`nodes[2].publicKey: ...`), and a field the format does not have is refused by name, so a
 * misspelling is never silently ignored.
 *
 * ```json
 * {
 *   "f": 1,
 *   "replicasPerStage": 3,
 *   "model": { "preset": "default" },
 *   "boundaries": [4],
 *   "nodes": [{ "id": "node-1", "address": "127.0.0.1:7101", "publicKey": "<64 hex digits>" }],
 *   "clients": [{ "id": "client-1", "publicKey": "<64 hex digits>" }]
 * }
 * ```
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import { minimumReplicaCount, quorumOf, validateClusterSize } from "../core/quorum.ts";
import type { NodeId } from "../core/types.ts";
import { MEMBERSHIP_NODES_MAX } from "../wire/identity.ts";
import { NODE_ID_BYTES_MAX } from "../wire/message.ts";
import { fromHex, toHex } from "./keys.ts";
import { FIXED_LAYER_COUNT_MAX, FIXED_LAYER_MS_MAX } from "../model/config.ts";

/** The embedded model presets a cluster file can name. */
export const MODEL_PRESETS = ["default", "tiny", "gpt2-small-shaped"] as const;

/** An embedded model preset. */
export type ModelPreset = typeof MODEL_PRESETS[number];

/** Where a cluster's model comes from. */
export type ClusterModel =
  | { readonly kind: "preset"; readonly preset: ModelPreset }
  | { readonly kind: "dir"; readonly dir: string }
  | {
    /** Stages that wait `layerMs` per block instead of computing (benchmarks). */
    readonly kind: "fixed-latency";
    /** The blocks. */
    readonly layerCount: number;
    /** What each block waits per pass, in milliseconds. */
    readonly layerMs: number;
  };

/** A member of the cluster. */
export interface ClusterNode {
  /** Its node id. */
  readonly id: NodeId;
  /** The host it listens on. */
  readonly host: string;
  /** The TCP port it listens on. */
  readonly port: number;
  /** Its ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** A client the nodes accept requests from. */
export interface ClusterClient {
  /** Its id. */
  readonly id: string;
  /** Its ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** A checked cluster file. */
export interface ClusterFile {
  /** The members, in the file's order. */
  readonly nodes: readonly ClusterNode[];
  /** `f`: the Byzantine members tolerated. */
  readonly faultsMax: number;
  /** `R`: the nodes that compute each stage (at least 2f + 1, at most n). */
  readonly replicaCount: number;
  /** The quorum, as the core counts it (`quorumOf`). */
  readonly quorum: number;
  /** The model. */
  readonly model: ClusterModel;
  /** Layer indices where a new stage starts (empty: one stage). */
  readonly boundaries: readonly number[];
  /** The known clients. */
  readonly clients: readonly ClusterClient[];
}

/** A cluster file that breaks a rule, naming the field. */
export class ClusterFileError extends Error {
  /** The field, as a JSON path (`nodes[1].address`), or `""` for the whole file. */
  readonly field: string;
  /** What is wrong with it. */
  readonly reason: string;
  /**
   * Creates the error.
   *
   * @param field The field.
   * @param message What is wrong.
   * @param file The file, when it was read from one.
   */
  constructor(field: string, message: string, file?: string) {
    const where = [file, field].filter((part) => part !== undefined && part !== "").join(": ");
    super(where === "" ? message : `${where}: ${message}`);
    this.name = "ClusterFileError";
    this.field = field;
    this.reason = message;
  }
}

const TOP_KEYS = ["f", "replicasPerStage", "model", "boundaries", "nodes", "clients"];
const NODE_KEYS = ["id", "address", "publicKey"];
const CLIENT_KEYS = ["id", "publicKey"];

function objectAt(value: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ClusterFileError(field, "must be an object");
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new ClusterFileError(
        field === "" ? key : `${field}.${key}`,
        `is not a field of the cluster file (known: ${keys.join(", ")})`,
      );
    }
  }
  return value as Record<string, unknown>;
}

function integerAt(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ClusterFileError(
      field,
      `must be an integer from ${min} to ${max}, got ${json(value)}`,
    );
  }
  return value;
}

function json(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

function idAt(value: unknown, field: string): string {
  const bytes = typeof value === "string" ? new TextEncoder().encode(value).length : 0;
  if (
    typeof value !== "string" || bytes < 1 || bytes > NODE_ID_BYTES_MAX || !value.isWellFormed()
  ) {
    throw new ClusterFileError(field, `must be a string of 1 to ${NODE_ID_BYTES_MAX} bytes`);
  }
  return value;
}

function keyAt(value: unknown, field: string): Uint8Array {
  const key = typeof value === "string" ? fromHex(value, 32) : undefined;
  if (key === undefined) {
    throw new ClusterFileError(field, "must be 64 hex digits (an ed25519 public key)");
  }
  return key;
}

function addressAt(value: unknown, field: string): { host: string; port: number } {
  const match = typeof value === "string" ? /^(.+):(\d{1,5})$/.exec(value) : null;
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || !(port >= 1 && port <= 65535)) {
    throw new ClusterFileError(
      field,
      `must be HOST:PORT with a port 1 to 65535, got ${json(value)}`,
    );
  }
  return { host: match[1]!.replace(/^\[(.*)\]$/, "$1"), port };
}

function modelAt(value: unknown, baseDir: string): ClusterModel {
  if (value === undefined) return { kind: "preset", preset: "default" };
  const model = objectAt(value, "model", ["preset", "dir", "fixedLatency"]);
  const given = [model.preset, model.dir, model.fixedLatency].filter((v) => v !== undefined);
  if (given.length !== 1) {
    throw new ClusterFileError("model", 'must have one of "preset", "dir" or "fixedLatency"');
  }
  if (model.fixedLatency !== undefined) {
    const fixed = objectAt(model.fixedLatency, "model.fixedLatency", ["layers", "layerMs"]);
    const layerMs = fixed.layerMs;
    if (
      typeof layerMs !== "number" || !Number.isFinite(layerMs) || layerMs < 0 ||
      layerMs > FIXED_LAYER_MS_MAX
    ) {
      throw new ClusterFileError(
        "model.fixedLatency.layerMs",
        `must be a number of milliseconds from 0 to ${FIXED_LAYER_MS_MAX}, got ${json(layerMs)}`,
      );
    }
    return {
      kind: "fixed-latency",
      layerCount: integerAt(fixed.layers, "model.fixedLatency.layers", 1, FIXED_LAYER_COUNT_MAX),
      layerMs,
    };
  }
  if (model.preset !== undefined) {
    if (!(MODEL_PRESETS as readonly unknown[]).includes(model.preset)) {
      throw new ClusterFileError(
        "model.preset",
        `must be one of ${MODEL_PRESETS.join(", ")}, got ${json(model.preset)}`,
      );
    }
    return { kind: "preset", preset: model.preset as ModelPreset };
  }
  if (typeof model.dir !== "string" || model.dir === "") {
    throw new ClusterFileError("model.dir", "must be a directory path");
  }
  return { kind: "dir", dir: isAbsolute(model.dir) ? model.dir : join(baseDir, model.dir) };
}

/**
 * Checks a parsed cluster file.
 *
 * @param value The parsed JSON.
 * @param baseDir The directory a relative `model.dir` is taken from (the file's).
 * @returns The cluster.
 * @throws {ClusterFileError} Naming the first field that breaks a rule.
 *
 * @example n < 3f + 1 is refused, naming the bound
 * ```ts
 * import { parseClusterFile } from "./cluster_file.ts";
 * import assert from "node:assert/strict";
 * const key = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
 * const nodes = [1, 2, 3].map((k) => ({ id: `n${k}`, address: `127.0.0.1:${7000 + k}`, publicKey: key }));
 * assert.throws(() => parseClusterFile({ f: 1, nodes }, "."), /n >= 3f \+ 1/);
 * ```
 */
export function parseClusterFile(value: unknown, baseDir: string): ClusterFile {
  const file = objectAt(value, "", TOP_KEYS);
  const faultsMax = integerAt(file.f, "f", 0, Math.floor((MEMBERSHIP_NODES_MAX - 1) / 3));
  if (!Array.isArray(file.nodes)) throw new ClusterFileError("nodes", "must be an array");
  const nodes = file.nodes.map((entry, k): ClusterNode => {
    const node = objectAt(entry, `nodes[${k}]`, NODE_KEYS);
    return {
      id: idAt(node.id, `nodes[${k}].id`),
      ...addressAt(node.address, `nodes[${k}].address`),
      publicKey: keyAt(node.publicKey, `nodes[${k}].publicKey`),
    };
  });
  if (nodes.length > MEMBERSHIP_NODES_MAX) {
    throw new ClusterFileError(
      "nodes",
      `lists ${nodes.length} nodes; at most ${MEMBERSHIP_NODES_MAX}`,
    );
  }
  try {
    validateClusterSize(nodes.length, faultsMax);
  } catch (error) {
    throw new ClusterFileError("nodes", (error as Error).message);
  }
  const seen = new Map<string, string>();
  nodes.forEach((node, k) => {
    for (const [what, key] of [["id", node.id], ["address", `${node.host}:${node.port}`]]) {
      const earlier = seen.get(`${what}/${key}`);
      if (earlier !== undefined) {
        throw new ClusterFileError(`nodes[${k}].${what}`, `repeats ${earlier}`);
      }
      seen.set(`${what}/${key}`, `nodes[${k}].${what}`);
    }
    const earlier = seen.get(`key/${toHex(node.publicKey)}`);
    if (earlier !== undefined) {
      throw new ClusterFileError(`nodes[${k}].publicKey`, `repeats ${earlier}`);
    }
    seen.set(`key/${toHex(node.publicKey)}`, `nodes[${k}].publicKey`);
  });
  const replicasMin = minimumReplicaCount(faultsMax);
  const replicaCount = file.replicasPerStage === undefined
    ? replicasMin
    : integerAt(file.replicasPerStage, "replicasPerStage", 1, nodes.length);
  if (replicaCount < replicasMin) {
    throw new ClusterFileError(
      "replicasPerStage",
      `must be at least 2f + 1 = ${replicasMin}: with fewer, f silent replicas leave a stage ` +
        "that never completes and the inference never commits (tla/README.md)",
    );
  }
  const boundaries = file.boundaries === undefined
    ? []
    : Array.isArray(file.boundaries)
    ? file.boundaries.map((b, k) => integerAt(b, `boundaries[${k}]`, 1, 4096))
    : (() => {
      throw new ClusterFileError("boundaries", "must be an array of layer indices");
    })();
  boundaries.forEach((b, k) => {
    if (k > 0 && b <= boundaries[k - 1]!) {
      throw new ClusterFileError(`boundaries[${k}]`, "must be above the boundary before it");
    }
  });
  const clients = file.clients === undefined
    ? []
    : Array.isArray(file.clients)
    ? file.clients.map((entry, k): ClusterClient => {
      const client = objectAt(entry, `clients[${k}]`, CLIENT_KEYS);
      const id = idAt(client.id, `clients[${k}].id`);
      if (seen.has(`id/${id}`)) throw new ClusterFileError(`clients[${k}].id`, "is a node's id");
      seen.set(`id/${id}`, `clients[${k}].id`);
      return { id, publicKey: keyAt(client.publicKey, `clients[${k}].publicKey`) };
    })
    : (() => {
      throw new ClusterFileError("clients", "must be an array");
    })();
  return {
    nodes,
    faultsMax,
    replicaCount,
    quorum: quorumOf(nodes.length, faultsMax),
    model: modelAt(file.model, baseDir),
    boundaries,
    clients,
  };
}

/**
 * Reads and checks a cluster file.
 *
 * @param path The file.
 * @returns The cluster.
 * @throws {ClusterFileError} If it cannot be read, is not JSON, or breaks a rule.
 */
export async function loadClusterFile(path: string): Promise<ClusterFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ClusterFileError("", `cannot be read (${(error as Error).message})`, path);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ClusterFileError("", `not JSON (${(error as Error).message})`, path);
  }
  const slash = path.lastIndexOf("/");
  try {
    return parseClusterFile(value, slash < 0 ? "." : path.slice(0, slash) || "/");
  } catch (error) {
    if (error instanceof ClusterFileError) {
      throw new ClusterFileError(error.field, error.reason, path);
    }
    throw error;
  }
}

/**
 * The cluster file's JSON for a checked cluster (what `deno task cluster` prints).
 *
 * @param cluster The cluster.
 * @returns The JSON value.
 */
export function clusterFileJson(cluster: ClusterFile): Record<string, unknown> {
  return {
    f: cluster.faultsMax,
    replicasPerStage: cluster.replicaCount,
    model: modelJson(cluster.model),
    boundaries: [...cluster.boundaries],
    nodes: cluster.nodes.map((node) => ({
      id: node.id,
      address: `${node.host.includes(":") ? `[${node.host}]` : node.host}:${node.port}`,
      publicKey: toHex(node.publicKey),
    })),
    clients: cluster.clients.map((client) => ({
      id: client.id,
      publicKey: toHex(client.publicKey),
    })),
  };
}

function modelJson(model: ClusterModel): Record<string, unknown> {
  switch (model.kind) {
    case "preset":
      return { preset: model.preset };
    case "dir":
      return { dir: model.dir };
    case "fixed-latency":
      return { fixedLatency: { layers: model.layerCount, layerMs: model.layerMs } };
  }
}
