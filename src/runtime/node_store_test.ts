// The node's data directory: signed messages appended together while one append is written
// land in order, each append resolving only once it is on disk.
import assert from "node:assert/strict";
import type { SpecMessage } from "../core/spec_state.ts";
import { initialNodeState } from "../core/spec_state.ts";
import { TEST_CLUSTER } from "../core/_test_cluster.ts";
import { signMessage } from "../wire/frame.ts";
import { testSigners } from "../wire/_test_keys.ts";
import { NodeStore } from "./node_store.ts";
import type { DigestValue } from "./spec_wire.ts";

const request = {
  inferenceId: 9,
  client: "client-1",
  prompt: new Uint8Array([72, 105]),
  tokenCount: 4,
  signed: { body: new Uint8Array([0xa0]), signature: new Uint8Array(64) },
};

// A request whose signed form decodes, as load() requires.
async function signedRequest() {
  const [client] = await testSigners(["client-0"]);
  const signed = await signMessage({
    type: "ClientRequest",
    inferenceId: 9,
    from: "client-0",
    view: 0,
    epoch: 0,
    sequence: 1,
    input: new Uint8Array([72, 105]),
    tokenCount: 4,
  }, client!);
  return { ...request, client: "client-0", signed };
}

// The durable fields of node 2 in view `view` with a vote for `value`.
function durableAt(view: number, value: DigestValue) {
  const { view: _view, seed, vote, prepared, committed, stableCheckpoint, excluded } =
    initialNodeState<DigestValue>(2, TEST_CLUSTER as never);
  return {
    view,
    seed: seed + 1,
    vote: { ...vote, view, value },
    prepared,
    committed,
    stableCheckpoint,
    excluded,
  };
}

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
    await store.close();
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
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a step's durable fields and messages land in one write, and load() reads the last", async () => {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-store-" });
  try {
    const store = await NodeStore.open(dir);
    await store.writeRequest(await signedRequest());
    const vote = { signed: new Uint8Array([1, 2]), signature: new Uint8Array(64).fill(7) };
    await store.record(9, { durable: durableAt(0, "x"), signed: [output(1)] });
    await Promise.all([
      store.record(9, {
        durable: durableAt(1, "y"),
        preparedCertificate: [{ body: vote.signed, signature: vote.signature }],
        signed: [output(2), output(3)],
      }),
      store.appendSigned(9, [output(4)]),
    ]);
    const log = `${dir}/inferences/9/signed.ndjson`;
    // A torn last line (a crash mid-write) was never fsynced: it is dropped.
    await Deno.writeTextFile(log, '{"durable":{"view":7', { append: true });
    const [stored] = await store.load();
    assert.deepEqual(stored!.durable, durableAt(1, "y"));
    assert.deepEqual(stored!.preparedCertificate, [{
      body: vote.signed,
      signature: vote.signature,
    }]);
    assert.deepEqual(
      stored!.signed.map((m) => m.type === "StageOutput" ? m.token : -1),
      [1, 2, 3, 4],
    );
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a data directory of the earlier layout, durable.json beside the log, still loads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-store-" });
  try {
    const store = await NodeStore.open(dir);
    await store.writeRequest(await signedRequest());
    await store.appendSigned(9, [output(1)]);
    await Deno.writeTextFile(
      `${dir}/inferences/9/durable.json`,
      JSON.stringify({ durable: durableAt(2, "z"), preparedCertificate: [] }),
    );
    const [old] = await NodeStore.open(dir).then((again) => again.load());
    assert.deepEqual(old!.durable, durableAt(2, "z"));
    // A durable line of the log comes after it.
    await store.record(9, { durable: durableAt(3, "w"), signed: [] });
    const [now] = await store.load();
    assert.deepEqual(now!.durable, durableAt(3, "w"));
    await Deno.writeTextFile(`${dir}/inferences/9/signed.ndjson`, '{"durable":{"view":"x"}}\n', {
      append: true,
    });
    await assert.rejects(() => store.load(), /holds durable state this node does not write/);
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a log torn by a crash takes the next run's appends after its last whole line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-store-" });
  try {
    const first = await NodeStore.open(dir);
    await first.writeRequest(await signedRequest());
    await first.appendSigned(9, [output(1)]);
    await first.close();
    const log = `${dir}/inferences/9/signed.ndjson`;
    // Killed mid-append: half a line, never fsynced.
    await Deno.writeTextFile(log, '{"type":"StageOutput","vi', { append: true });
    const again = await NodeStore.open(dir);
    await again.appendSigned(9, [output(2)]);
    await again.appendSigned(9, [output(3)]);
    const [stored] = await again.load();
    assert.deepEqual(
      stored!.signed.map((m) => m.type === "StageOutput" ? m.token : -1),
      [1, 2, 3],
    );
    assert.ok((await Deno.readTextFile(log)).endsWith("\n"));
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an inference's log is opened once and stays open until the store closes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-store-" });
  try {
    const store = await NodeStore.open(dir);
    await store.writeRequest(request);
    const log = `${dir}/inferences/9/signed.ndjson`;
    const tokens = async (path: string) =>
      (await Deno.readTextFile(path)).split("\n").filter(Boolean).map((line) =>
        JSON.parse(line).token
      );
    await store.appendSigned(9, [output(1)]);
    // The file moved away under the store: an append goes on into the file it has open.
    await Deno.rename(log, `${log}.moved`);
    await store.appendSigned(9, [output(2)]);
    assert.deepEqual(await tokens(`${log}.moved`), [1, 2]);
    await store.close();
    // After close, nothing is held open: an append opens the log's path again, and closes it.
    await store.appendSigned(9, [output(3)]);
    assert.deepEqual(await tokens(log), [3]);
    await Deno.rename(log, `${log}.second`);
    await store.appendSigned(9, [output(4)]);
    assert.deepEqual(await tokens(log), [4]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
