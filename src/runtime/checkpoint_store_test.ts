import assert from "node:assert/strict";
import { Checkpoint, encodeCheckpoint } from "../checkpoint/checkpoint.ts";
import { CheckpointManager } from "../checkpoint/checkpoint_manager.ts";
import { CheckpointLoadError, CheckpointStore } from "./checkpoint_store.ts";

async function withStore(body: (store: CheckpointStore) => Promise<void>): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "butterfly-checkpoints-" });
  try {
    await body(await CheckpointStore.open(directory));
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

function checkpointAt(epoch: number, tokenPosition: number): Checkpoint {
  return new Checkpoint(epoch, tokenPosition, {
    nodeStates: new Map([["node-0", new Uint8Array([epoch, tokenPosition & 0xff])]]),
    intermediateResults: new Map([["node-1", new Uint8Array(100).fill(7)]]),
  });
}

Deno.test("CheckpointStore reloads what it wrote, in order, after reopening", async () => {
  await withStore(async (store) => {
    const written = [checkpointAt(1, 20), checkpointAt(0, 10), checkpointAt(1, 5)];
    for (const checkpoint of written) await store.write(checkpoint);
    const reopened = await CheckpointStore.open(store.directory);
    const { checkpoints, errors, removedTemporaryFiles } = await reopened.load();
    assert.deepEqual(errors, []);
    assert.deepEqual(removedTemporaryFiles, []);
    assert.deepEqual(
      checkpoints.map((c) => [c.epoch, c.tokenPosition, c.checksumHex]),
      [written[1]!, written[2]!, written[0]!].map((c) => [c.epoch, c.tokenPosition, c.checksumHex]),
    );
  });
});

Deno.test("CheckpointStore.write() leaves no temporary file and overwrites atomically", async () => {
  await withStore(async (store) => {
    await store.write(checkpointAt(0, 10));
    await store.write(checkpointAt(0, 10));
    const names: string[] = [];
    for await (const entry of Deno.readDir(store.directory)) names.push(entry.name);
    assert.deepEqual(names, [CheckpointStore.fileName(checkpointAt(0, 10))]);
  });
});

Deno.test("CheckpointStore.load() skips corrupt, truncated, foreign and misnamed files with an error", async () => {
  await withStore(async (store) => {
    const good = checkpointAt(0, 10);
    await store.write(good);
    const directory = store.directory;
    const corrupt = encodeCheckpoint(checkpointAt(0, 20));
    corrupt[corrupt.length - 40]! ^= 0x10;
    await Deno.writeFile(`${directory}/${CheckpointStore.fileName(checkpointAt(0, 20))}`, corrupt);
    const truncated = encodeCheckpoint(checkpointAt(0, 30));
    await Deno.writeFile(
      `${directory}/${CheckpointStore.fileName(checkpointAt(0, 30))}`,
      truncated.subarray(0, truncated.length - 50),
    );
    await Deno.writeTextFile(
      `${directory}/${CheckpointStore.fileName(checkpointAt(0, 40))}`,
      '{"epoch":0,"tokenPosition":40}',
    );
    // A valid checkpoint under another checkpoint's name: copied or renamed by hand.
    await Deno.writeFile(
      `${directory}/${CheckpointStore.fileName(checkpointAt(0, 50))}`,
      encodeCheckpoint(checkpointAt(0, 60)),
    );
    await Deno.writeTextFile(`${directory}/notes.txt`, "hello");
    const { checkpoints, errors } = await store.load();
    assert.deepEqual(checkpoints.map((c) => c.checksumHex), [good.checksumHex]);
    assert.deepEqual(
      errors.map((error) => [error.path.split("/").at(-1), error.problem]),
      [
        [CheckpointStore.fileName(checkpointAt(0, 20)), "corrupt"],
        [CheckpointStore.fileName(checkpointAt(0, 30)), "truncated"],
        [CheckpointStore.fileName(checkpointAt(0, 40)), "foreign"],
        [CheckpointStore.fileName(checkpointAt(0, 50)), "misnamed"],
        ["notes.txt", "misnamed"],
      ],
    );
    for (const error of errors) assert.match(error.message, /checkpoint|Checkpoint/);
  });
});

Deno.test("CheckpointStore.load() removes temporary files left by an interrupted write", async () => {
  await withStore(async (store) => {
    const partial = encodeCheckpoint(checkpointAt(0, 10)).subarray(0, 20);
    const temporary = `${store.directory}/.tmp-crash-${
      CheckpointStore.fileName(checkpointAt(0, 10))
    }`;
    await Deno.writeFile(temporary, partial);
    const { checkpoints, errors, removedTemporaryFiles } = await store.load();
    assert.deepEqual(checkpoints, []);
    assert.deepEqual(errors, []);
    assert.deepEqual(removedTemporaryFiles, [temporary]);
    await assert.rejects(() => Deno.stat(temporary), Deno.errors.NotFound);
  });
});

Deno.test("CheckpointStore.restoreInto() fills a manager with the newest checkpoints", async () => {
  await withStore(async (store) => {
    const manager = new CheckpointManager(3);
    for (let position = 0; position < 50; position += 10) {
      const evicted = manager.store(checkpointAt(0, position));
      await store.write(checkpointAt(0, position));
      for (const old of evicted) assert.equal(await store.delete(old), true);
    }
    const restored = new CheckpointManager(3);
    await store.restoreInto(restored);
    assert.deepEqual(restored.checkpoints().map((c) => c.tokenPosition), [20, 30, 40]);
    assert.equal(restored.getAtPosition(35)?.tokenPosition, 30);
  });
});

Deno.test("CheckpointStore.list() names the checkpoints without reading them; read() verifies one", async () => {
  await withStore(async (store) => {
    await store.write(checkpointAt(1, 5));
    await store.write(checkpointAt(0, 20));
    const corrupt = encodeCheckpoint(checkpointAt(0, 10));
    corrupt[corrupt.length - 40]! ^= 0x10;
    await Deno.writeFile(
      `${store.directory}/${CheckpointStore.fileName(checkpointAt(0, 10))}`,
      corrupt,
    );
    const temporary = `${store.directory}/.tmp-crash-${
      CheckpointStore.fileName(checkpointAt(0, 30))
    }`;
    await Deno.writeFile(temporary, corrupt.subarray(0, 20));
    await Deno.writeTextFile(`${store.directory}/notes.txt`, "hello");
    assert.deepEqual(await store.list(), [
      { epoch: 0, tokenPosition: 10 },
      { epoch: 0, tokenPosition: 20 },
      { epoch: 1, tokenPosition: 5 },
    ]);
    await assert.rejects(() => Deno.stat(temporary), Deno.errors.NotFound);
    assert.equal(
      (await store.read(0, 20) as Checkpoint).checksumHex,
      checkpointAt(0, 20).checksumHex,
    );
    const bad = await store.read(0, 10);
    assert.ok(bad instanceof CheckpointLoadError);
    assert.equal(bad.problem, "corrupt");
    const missing = await store.read(0, 40);
    assert.ok(missing instanceof CheckpointLoadError);
    assert.equal(missing.problem, "unreadable");
  });
});
