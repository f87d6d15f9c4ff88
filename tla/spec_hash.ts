/**
 * The SHA-256 of the TLA+ specification files (`tla/*.tla` and `tla/*.cfg`, in name order),
 * recorded in every TLC artifact so that results and traces from an older spec fail loudly.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

/** The folder holding the TLA+ specification. */
export const TLA_DIR: string = new URL(".", import.meta.url).pathname.replace(/\/$/, "");

/**
 * Hashes the spec files: for each file in name order, its name, a zero byte, its length as
 * decimal text, a zero byte and its bytes.
 *
 * @param dir The folder to hash; defaults to `tla/`.
 * @returns The lowercase hex SHA-256.
 */
export async function specHash(dir: string = TLA_DIR): Promise<string> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && /\.(tla|cfg)$/.test(entry.name)) names.push(entry.name);
  }
  names.sort();
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const name of names) {
    const bytes = await Deno.readFile(`${dir}/${name}`);
    parts.push(encoder.encode(`${name}\0${bytes.length}\0`), bytes);
  }
  const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    total.set(part, offset);
    offset += part.length;
  }
  return bytesToHex(sha256(total));
}
