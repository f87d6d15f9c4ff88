import assert from "node:assert/strict";
import { describeValue, requireKind } from "./_arguments.ts";

Deno.test("describeValue() names the type and a primitive's value", () => {
  assert.equal(describeValue("10"), 'the string "10"');
  assert.equal(describeValue(Number.NaN), "the number NaN");
  assert.equal(describeValue(null), "null");
  assert.equal(describeValue(undefined), "undefined");
  assert.equal(describeValue([1]), "an array");
  assert.equal(describeValue(new Map()), "an object (Map)");
  assert.equal(describeValue(new Uint8Array(1)), "a Uint8Array");
  assert.equal(describeValue("x".repeat(50)), `the string "${"x".repeat(40)}..."`);
});

Deno.test("requireKind() refuses another kind with a TypeError naming the argument", () => {
  requireKind("n", 1, "number");
  requireKind("o", {}, "object");
  requireKind("a", [], "array");
  requireKind("b", new Uint8Array(), "bytes");
  requireKind("f", () => 0, "function");
  assert.throws(() => requireKind("n", "1", "number"), {
    name: "TypeError",
    message: 'n must be a number, got the string "1"',
  });
  assert.throws(() => requireKind("o", [], "object"), /o must be an object, got an array/);
  assert.throws(() => requireKind("o", null, "object"), /got null/);
  assert.throws(() => requireKind("b", [1], "bytes"), /b must be a Uint8Array, got an array/);
});
