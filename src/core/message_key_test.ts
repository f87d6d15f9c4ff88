// Checks that equal messages have equal keys and that a change to any field changes the key.
import assert from "node:assert/strict";
import { messageKey } from "./message_key.ts";
import { NO_VOTE, type ViewChangeMessage } from "./spec_state.ts";

Deno.test("messageKey() of a NewView ignores the order of its view changes", () => {
  const a: ViewChangeMessage = {
    type: "ViewChange",
    view: 1,
    prepared: NO_VOTE,
    voted: NO_VOTE,
    from: 2,
  };
  const b = { ...a, from: 3 };
  const key = messageKey({ type: "NewView", view: 1, viewChanges: [a, b], seed: 1, from: 2 });
  assert.equal(
    key,
    messageKey({ type: "NewView", view: 1, viewChanges: [b, a], seed: 1, from: 2 }),
  );
  assert.notEqual(
    key,
    messageKey({ type: "NewView", view: 1, viewChanges: [a], seed: 1, from: 2 }),
  );
});

Deno.test("messageKey() tells apart checkpoints with different digests", () => {
  const c = { type: "Checkpoint", seed: 1, position: 2, digest: [1, 11], from: 1 } as const;
  assert.notEqual(messageKey(c), messageKey({ ...c, digest: [11, 1] }));
  assert.notEqual(messageKey(c), messageKey({ ...c, from: 2 }));
});
