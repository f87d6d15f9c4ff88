// The node's data directory: signed messages appended together while one append is written
// land in order, each append resolving only once it is on disk.
import assert from "node:assert/strict";
import type { SpecMessage } from "../core/spec_state.ts";
import { NodeStore } from "./node_store.ts";
import type { DigestValue } from "./spec_wire.ts";

const request = {
  inferenceId: 9,
  client: "client-1",
  prompt: new Uint8Array([72, 105]),
  tokenCount: 4,
  signed: { body: new Uint8Array([0xa0]), signature: new Uint8Array(64) },
};

function output(token: number): SpecMessage<DigestValue> {
  return { type: "StageOutput", view: 0, seed: 1, token, stage: 1, value: `v${token}`, from: 2 };
}

Deno.test("appends made while one is written land in order, each on disk when it resolves", async () => {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-store-" });
  try {
    const store = await NodeStore.open(dir);
    await store.writeRequest(request);
    const log = `${dir}/inferences/9/signed.ndjson`;
    const linesOnDisk = async () => (await Deno.readTextFile(log)).split("\n").filter(Boolean);
    // Thirty appends at once, of one or two messages each.
    const appends = Array.from({ length: 30 }, (_, k) =>
      store.appendSigned(
        9,
        k % 2 === 0 ? [output(2 * k)] : [output(2 * k), output(2 * k + 1)],
      ).then(async () => {
        // Resolved: this append's messages are in the file.
        const lines = await linesOnDisk();
        assert.ok(lines.some((line) => JSON.parse(line).token === 2 * k), `append ${k}`);
      }));
    await Promise.all(appends);
    const expected = Array.from(
      { length: 30 },
      (_, k) => k % 2 === 0 ? [2 * k] : [2 * k, 2 * k + 1],
    )
      .flat();
    assert.deepEqual((await linesOnDisk()).map((line) => JSON.parse(line).token), expected);
    // And once more, after the queue emptied.
    await store.appendSigned(9, [output(100)]);
    assert.equal(JSON.parse((await linesOnDisk()).at(-1)!).token, 100);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an append to an inference whose directory is gone rejects, and the next one too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-store-" });
  try {
    const store = await NodeStore.open(dir);
    await store.writeRequest(request);
    await store.appendSigned(9, [output(1)]);
    await store.remove(9);
    await assert.rejects(() => store.appendSigned(9, [output(2)]), Deno.errors.NotFound);
    await assert.rejects(() => store.appendSigned(9, [output(3)]), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
