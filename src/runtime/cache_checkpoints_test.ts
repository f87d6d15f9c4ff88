import assert from "node:assert/strict";
import type { KvCache } from "../model/kv_cache.ts";
import { CacheCheckpoints } from "./cache_checkpoints.ts";
import { CheckpointStore } from "./checkpoint_store.ts";
import { Checkpoint } from "../checkpoint/checkpoint.ts";

function cacheAt(position: number): KvCache {
  return {
    batchSize: 1,
    headCount: 1,
    headDim: 2,
    position,
    layers: [{
      layerIndex: 0,
      key: new Float32Array(2 * position).fill(position),
      value: new Float32Array(2 * position).fill(-position),
    }],
  };
}

const PREFIX = { prompt: [1, 2, 3], tokens: Array.from({ length: 40 }, (_, k) => k % 7) };

Deno.test("a restore reads only the checkpoint it restores, and a bad one is reported and skipped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-caches-" });
  try {
    const options = { directoryOf: (id: number) => `${dir}/${id}`, everyPasses: 10, keep: 3 };
    const writer = new CacheCheckpoints(options);
    for (const passes of [10, 20, 30, 40]) writer.save(4, 1, passes, PREFIX, cacheAt(passes));
    await writer.close();
    const stage = `${dir}/4/stage-1`;
    // The oldest is gone (keep 3); spoil 20 and 30 on disk.
    const name = (passes: number) =>
      `${stage}/${CheckpointStore.fileName(new Checkpoint(0, passes))}`;
    await assert.rejects(() => Deno.stat(name(10)), Deno.errors.NotFound);
    await Deno.writeTextFile(name(20), "not a checkpoint");
    const bytes = await Deno.readFile(name(30));
    bytes[bytes.length - 20]! ^= 1;
    await Deno.writeFile(name(30), bytes);

    const problems: string[] = [];
    const reader = new CacheCheckpoints({ ...options, onProblem: (p) => problems.push(p) });
    assert.deepEqual(await reader.passesOnDisk(4, 1), [20, 30, 40]);
    // The newest is sound: restoring it reads neither of the bad files.
    const restored = await reader.restore(4, 1, 40, PREFIX);
    assert.equal(restored?.position, 40);
    assert.deepEqual([...restored!.layers[0]!.key], [...cacheAt(40).layers[0]!.key]);
    assert.deepEqual(problems, []);
    // The spoiled ones are refused, each with a line saying why.
    assert.equal(await reader.restore(4, 1, 30, PREFIX), undefined);
    assert.equal(await reader.restore(4, 1, 20, PREFIX), undefined);
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /checkpoint-0{16}-0{14}30\.bfck/);
    // Not on disk, or for other tokens: nothing, and nothing to report.
    assert.equal(await reader.restore(4, 1, 10, PREFIX), undefined);
    assert.equal(await reader.restore(4, 1, 40, { ...PREFIX, prompt: [9] }), undefined);
    assert.equal(problems.length, 2);
    await reader.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
