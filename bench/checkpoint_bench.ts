/**
 * Checkpoint throughput: checksum, encode/decode, and the durable store (write with fsync,
 * reload with verification) for a 4-node checkpoint of 1 MiB per node.
 *
 *     deno bench --allow-read --allow-write bench/checkpoint_bench.ts
 *
 * @module
 */

import { Checkpoint, decodeCheckpoint, encodeCheckpoint } from "../src/checkpoint/checkpoint.ts";
import { CheckpointStore } from "../src/runtime/checkpoint_store.ts";

const stateBytes = 1 << 20;
const nodeStates = new Map(
  Array.from({ length: 4 }, (_, i) => [`node-${i}`, new Uint8Array(stateBytes).fill(i)] as const),
);
const checkpoint = new Checkpoint(1, 10, { nodeStates });
const encoded = encodeCheckpoint(checkpoint);
const directory = await Deno.makeTempDir({ prefix: "butterfly-checkpoint-bench-" });
const store = await CheckpointStore.open(directory);
let position = 0;

Deno.bench("Checkpoint(): copy and SHA-256 of 4 MiB", { group: "memory" }, () => {
  new Checkpoint(1, 10, { nodeStates });
});
Deno.bench("decodeCheckpoint(): verify 4 MiB", { group: "memory" }, () => {
  decodeCheckpoint(encoded);
});
Deno.bench("CheckpointStore.write(): 4 MiB, temp + fsync + rename", { group: "disk" }, async () => {
  await store.write(new Checkpoint(1, position++, { nodeStates }));
});
Deno.bench("CheckpointStore.load(): reload and verify 4 x 4 MiB", { group: "disk" }, async (b) => {
  const reloadDirectory = `${directory}/reload`;
  const reloadStore = await CheckpointStore.open(reloadDirectory);
  for (let p = 0; p < 4; p++) await reloadStore.write(new Checkpoint(2, p, { nodeStates }));
  b.start();
  await reloadStore.load();
  b.end();
  await Deno.remove(reloadDirectory, { recursive: true });
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(directory, { recursive: true });
});
