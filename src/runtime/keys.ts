/**
 * A node's (or client's) ed25519 key file: one line of 64 lowercase hex digits, the 32-byte
 * secret seed of RFC 8032, in a file only its owner can read (mode 0600). Writing never replaces
 * an existing key file; reading refuses a file that others can read or that holds anything else.
 *
 * @module
 */

import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { createNodeSigner, type NodeSigner } from "../wire/identity.ts";
import type { NodeId } from "../core/types.ts";

/** Bytes of a secret key (the RFC 8032 seed). */
export const SECRET_KEY_BYTES = 32;

/** Why a key file was refused. */
export class KeyFileError extends Error {
  /** The file. */
  readonly path: string;
  /**
   * Creates the error.
   *
   * @param path The file.
   * @param message What is wrong with it.
   */
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "KeyFileError";
    this.path = path;
  }
}

/**
 * Lowercase hex of bytes.
 *
 * @param bytes Any bytes.
 * @returns Two hex digits per byte.
 */
export const toHex: (bytes: Uint8Array) => string = bytesToHex;

/**
 * Bytes of a hex string of the expected length.
 *
 * @param text Hex digits (either case).
 * @param bytes How many bytes it must hold.
 * @returns The bytes, or `undefined` if `text` is not exactly that.
 */
export function fromHex(text: string, bytes: number): Uint8Array | undefined {
  if (text.length !== 2 * bytes || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  return hexToBytes(text);
}

/**
 * Writes a new random secret key to `path` (mode 0600), refusing to replace any existing file.
 *
 * @param path Where to write it.
 * @returns The public key (32 bytes).
 * @throws {KeyFileError} If the file exists or cannot be written.
 *
 * @example Usage
 * ```ts
 * import { readKeyFile, writeNewKeyFile } from "./keys.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const publicKey = await writeNewKeyFile(`${dir}/node-1.key`);
 * const signer = await readKeyFile(`${dir}/node-1.key`, "node-1");
 * assert.deepEqual(signer.publicKey, publicKey);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeNewKeyFile(path: string): Promise<Uint8Array> {
  const secret = crypto.getRandomValues(new Uint8Array(SECRET_KEY_BYTES));
  const signer = await createNodeSigner("key", secret);
  let file: Deno.FsFile;
  try {
    // createNew: never replace a key that exists (it may be a node's only identity).
    file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      throw new KeyFileError(path, "exists already; a key file is never replaced");
    }
    throw new KeyFileError(path, `cannot be written (${(error as Error).message})`);
  }
  try {
    await file.write(new TextEncoder().encode(`${toHex(secret)}\n`));
    await file.sync();
  } finally {
    file.close();
  }
  secret.fill(0);
  return signer.publicKey;
}

/**
 * Reads a key file and makes the signer of `nodeId`.
 *
 * @param path The key file.
 * @param nodeId Who signs with it.
 * @returns The signer.
 * @throws {KeyFileError} If the file is missing, readable by others or not one secret key.
 */
export async function readKeyFile(path: string, nodeId: NodeId): Promise<NodeSigner> {
  let text: string;
  let mode: number | null;
  try {
    mode = (await Deno.stat(path)).mode;
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new KeyFileError(path, `cannot be read (${(error as Error).message})`);
  }
  if (mode !== null && (mode & 0o077) !== 0) {
    throw new KeyFileError(
      path,
      `is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  const secret = fromHex(text.trim(), SECRET_KEY_BYTES);
  if (secret === undefined) {
    throw new KeyFileError(path, `must hold one line of ${2 * SECRET_KEY_BYTES} hex digits`);
  }
  try {
    return await createNodeSigner(nodeId, secret);
  } finally {
    secret.fill(0);
  }
}
