// Helpers shared by the model tests: comparing float tensors and small configurations.

import type { ModelConfig } from "./config.ts";
import { TINY_MODEL_CONFIG } from "./config.ts";

/** A 4-layer variant of the tiny configuration: enough boundaries to split every way. */
export const FOUR_LAYER_TINY_CONFIG: ModelConfig = Object.freeze({
  ...TINY_MODEL_CONFIG,
  layerCount: 4,
});

/** The largest absolute difference between two equally long arrays. */
export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`Lengths differ: ${a.length} and ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(max) ? Infinity : max;
}

/** Whether two arrays hold the same bits. */
export function bitIdentical(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((word, index) => word === y[index]);
}

/** Every subset of {1, …, layerCount - 1}, as sorted boundary lists. */
export function allBoundaryLists(layerCount: number): number[][] {
  const lists: number[][] = [];
  for (let mask = 0; mask < 1 << (layerCount - 1); mask++) {
    lists.push(
      Array.from({ length: layerCount - 1 }, (_, bit) => bit + 1).filter((_, bit) =>
        (mask >> bit) & 1
      ),
    );
  }
  return lists;
}
