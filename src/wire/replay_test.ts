import assert from "node:assert/strict";
import { checkReplay } from "./replay.ts";
import type { CoordinationMessage } from "./message.ts";

const base: CoordinationMessage = {
  type: "Heartbeat",
  inferenceId: 1,
  from: "node-1",
  view: 2,
  epoch: 3,
  sequence: 10,
  sentAtMs: 0,
};

Deno.test("checkReplay() accepts newer sequences and drops a replayed or reordered one", () => {
  const first = checkReplay(undefined, base);
  assert.ok(first.ok);
  const next = checkReplay(first.value, { ...base, sequence: 11 });
  assert.ok(next.ok);
  assert.deepEqual(next.value, { view: 2, epoch: 3, sequence: 11 });
  for (const sequence of [10, 11, 5]) {
    const result = checkReplay(next.value, { ...base, sequence });
    assert.equal(result.ok ? "" : result.error.code, "replayed", `sequence ${sequence}`);
  }
});

Deno.test("checkReplay() drops a message from an older view or epoch as stale", () => {
  const mark = { view: 2, epoch: 3, sequence: 10 };
  for (const older of [{ view: 1 }, { epoch: 2 }]) {
    const result = checkReplay(mark, { ...base, ...older, sequence: 99 });
    assert.equal(result.ok ? "" : result.error.code, "stale");
  }
  assert.ok(checkReplay(mark, { ...base, view: 3, epoch: 0, sequence: 11 }).ok === false);
  assert.ok(checkReplay(mark, { ...base, view: 3, epoch: 4, sequence: 11 }).ok);
});
