// A refusal always says why: the reason is what a caller shows, so an empty one is a bug.
import assert from "node:assert/strict";
import { disabled, enabled } from "./transition.ts";

Deno.test("disabled() keeps its reason and refuses an empty one", () => {
  assert.deepEqual(disabled("the node is no replica"), {
    enabled: false,
    reason: "the node is no replica",
  });
  assert.throws(() => disabled(""), TypeError);
  assert.equal(enabled({ id: 1 } as never, []).enabled, true);
});
