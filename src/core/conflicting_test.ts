// Checks the spec's Conflicting on pairs that differ in one field at a time.
import assert from "node:assert/strict";
import { conflicting, conflictSlot, sameSlot } from "./conflicting.ts";

Deno.test("conflicting() needs one signer, one type and one slot", () => {
  const output = {
    type: "StageOutput",
    view: 0,
    seed: 1,
    token: 1,
    stage: 1,
    value: 1,
    from: 2,
  } as const;
  assert.ok(conflicting(output, { ...output, value: 0 }));
  assert.ok(!conflicting(output, output));
  assert.ok(!conflicting(output, { ...output, value: 0, token: 2 }));
  assert.ok(!conflicting(output, { ...output, value: 0, from: 3 }));
});

Deno.test("conflictSlot() has no slot for unknown types and sameSlot() refuses it", () => {
  assert.equal(conflictSlot({ type: "Heartbeat" }), undefined);
  assert.ok(!sameSlot(undefined, undefined));
  assert.ok(!sameSlot([1, 2], [1]));
});
