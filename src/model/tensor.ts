/**
 * Tensors as they cross a stage boundary, and their digest: the SHA-256 that the protocol votes
 * on.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** A float32 tensor, row-major. */
export interface Float32Tensor {
  /** Element type tag. */
  readonly dtype: "float32";
  /** Shape, such as [batch, sequence, hidden]. */
  readonly dims: readonly number[];
  /** Values, row-major; length is the product of `dims`. */
  readonly data: Float32Array;
}

/** An int32 tensor, row-major (token ids). */
export interface Int32Tensor {
  /** Element type tag. */
  readonly dtype: "int32";
  /** Shape, such as [batch, sequence]. */
  readonly dims: readonly number[];
  /** Values, row-major; length is the product of `dims`. */
  readonly data: Int32Array;
}

/** What flows into a stage: token ids into the first, the residual stream into the others. */
export type StageTensor = Float32Tensor | Int32Tensor;

/**
 * A batch of one sequence of token ids, shaped [1, length].
 *
 * @param tokens Token ids (bytes for the byte-level vocabulary).
 * @returns An int32 tensor of shape [1, tokens.length].
 *
 * @example Usage
 * ```ts
 * import { tokenTensor } from "@butterfly/bcp/model";
 * console.log(tokenTensor([72, 105]).dims); // [1, 2]
 * ```
 */
export function tokenTensor(tokens: readonly number[]): Int32Tensor {
  return { dtype: "int32", dims: [1, tokens.length], data: Int32Array.from(tokens) };
}

/**
 * The little-endian bytes of a tensor's values (a view, not a copy, on little-endian hosts).
 *
 * @param tensor The tensor.
 * @returns Its values as little-endian bytes.
 *
 * @example Usage
 * ```ts
 * import { tensorBytes, tokenTensor } from "@butterfly/bcp/model";
 * console.log(tensorBytes(tokenTensor([1])).length); // 4
 * ```
 */
export function tensorBytes(tensor: StageTensor): Uint8Array {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) {
    return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  }
  const bytes = new Uint8Array(tensor.data.byteLength);
  const view = new DataView(bytes.buffer);
  tensor.data.forEach((value, index) =>
    tensor.dtype === "float32"
      ? view.setFloat32(4 * index, value, true)
      : view.setInt32(4 * index, value, true)
  );
  return bytes;
}

/**
 * The digest of a stage output: SHA-256 of its little-endian float32 bytes, in hex. Honest nodes
 * running the same stage on the same input produce the same digest, which is what BCP votes on.
 *
 * @param tensor The tensor to digest.
 * @returns 64 lowercase hex characters.
 *
 * @example Usage
 * ```ts
 * import { tensorDigest } from "@butterfly/bcp/model";
 * import assert from "node:assert/strict";
 * const tensor = { dtype: "float32", dims: [0], data: new Float32Array(0) } as const;
 * assert.equal(tensorDigest(tensor).slice(0, 8), "e3b0c442"); // SHA-256 of no bytes
 * ```
 */
export function tensorDigest(tensor: StageTensor): string {
  // node:crypto: native, several times faster than a JS SHA-256 on an activation.
  return createHash("sha256").update(tensorBytes(tensor)).digest("hex");
}
