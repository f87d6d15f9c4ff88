// The per-type index of received messages: equal to filtering the array, however it is
// appended to, and rebuilt when it is changed otherwise; read tracking and the facade.
import assert from "node:assert/strict";
import fc from "fast-check";
import { beginReads, endReads, indexOnly, MESSAGE_TYPES, ofType } from "./_received.ts";

// Runs `f` between beginReads() and endReads(), as the replayer does (a throw ends the tracking;
// a second endReads() is harmless).
function readsOf(f: () => boolean): { readonly result: boolean; readonly mask: number } {
  beginReads();
  try {
    const result = f();
    return { result, mask: endReads() };
  } finally {
    endReads();
  }
}
import type { SpecMessage } from "./spec_state.ts";

const messageArbitrary: fc.Arbitrary<SpecMessage> = fc.oneof(
  fc.record({
    type: fc.constantFrom("PrePrepare", "Prepare", "Commit"),
    view: fc.nat(3),
    value: fc.nat(3),
    from: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({ type: fc.constant("Assign"), view: fc.nat(3), seed: fc.nat(3), from: fc.nat(4) }),
  fc.record({
    type: fc.constant("Checkpoint"),
    seed: fc.nat(3),
    position: fc.nat(3),
    digest: fc.array(fc.nat(3), { maxLength: 3 }),
    from: fc.integer({ min: 1, max: 4 }),
  }),
) as fc.Arbitrary<SpecMessage>;

// One operation on the array: append some messages, or change it otherwise.
type Operation =
  | { kind: "append"; messages: SpecMessage[] }
  | { kind: "pop" }
  | { kind: "replaceLast"; message: SpecMessage }
  | { kind: "clearAndRefill"; messages: SpecMessage[] };

const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      messages: fc.array(messageArbitrary, { maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("pop" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("replaceLast" as const), message: messageArbitrary }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("clearAndRefill" as const),
      messages: fc.array(messageArbitrary, { maxLength: 6 }),
    }),
  },
);

Deno.test("ofType() is the array filtered by type after every change to it", () => {
  fc.assert(
    fc.property(fc.array(operationArbitrary, { maxLength: 30 }), (operations) => {
      const received: SpecMessage[] = [];
      for (const operation of operations) {
        if (operation.kind === "append") received.push(...operation.messages);
        else if (operation.kind === "pop") received.pop();
        else if (operation.kind === "replaceLast") {
          if (received.length > 0) received[received.length - 1] = operation.message;
        } else {
          received.length = 0;
          received.push(...operation.messages);
        }
        for (const type of MESSAGE_TYPES) {
          assert.deepEqual(ofType(received, type), received.filter((m) => m.type === type));
        }
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("readsOf() reports the types read through ofType(), and nothing outside it", () => {
  const received: SpecMessage[] = [{ type: "Commit", view: 0, value: 1, from: 1 }];
  const { result, mask } = readsOf(() =>
    ofType(received, "Commit").length === 1 && ofType(received, "Checkpoint").length === 0
  );
  assert.equal(result, true);
  assert.equal(
    mask,
    (1 << MESSAGE_TYPES.indexOf("Commit")) | (1 << MESSAGE_TYPES.indexOf("Checkpoint")),
  );
  assert.equal(readsOf(() => true).mask, 0);
  ofType(received, "Prepare");
  assert.equal(readsOf(() => ofType(received, "Assign").length === 0).mask, 1);
  assert.throws(() => readsOf(() => readsOf(() => true).result), /already recorded/);
  // A throw inside ends the tracking.
  assert.throws(() =>
    readsOf(() => {
      throw new Error("inside");
    }), /inside/);
  assert.equal(readsOf(() => true).mask, 0);
});

Deno.test("indexOnly() is read by ofType() as its array, and refuses any other read", () => {
  const messages: SpecMessage[] = [{ type: "Prepare", view: 0, value: 1, from: 2 }];
  const facade = indexOnly(messages);
  assert.deepEqual(ofType(facade, "Prepare"), messages);
  messages.push({ type: "Prepare", view: 0, value: 1, from: 3 });
  assert.equal(ofType(facade, "Prepare").length, 2);
  assert.throws(() => facade.length, /other than through ofType/);
  assert.throws(() => facade.some((m) => m.from === 2), /other than through ofType/);
  assert.throws(() => [...facade], /other than through ofType/);
  assert.throws(() => 0 in facade, /other than through ofType/);
});
