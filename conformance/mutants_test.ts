// The mutant harness itself (`deno task mutants`, which CI runs, checks every mutant): a planted
// bug is caught by the conformance run and names the step, the unmutated sources pass, and a
// mutant whose text is gone from the sources is an error, not a silent pass.
import assert from "node:assert/strict";
import { MUTANTS, plant, runMutant } from "./mutants.ts";

Deno.test("runMutant() reports a planted bug caught, and unmutated sources pass", async () => {
  const dropped = MUTANTS.find((m) => m.name === "vote not persisted");
  assert.ok(dropped !== undefined);
  const caught = await runMutant(dropped);
  assert.ok(caught.caught);
  assert.match(caught.firstMismatch, /HandlePrePrepare/);
  const none = await runMutant(undefined);
  assert.equal(none.caught, false, none.firstMismatch);
});

Deno.test("plant() refuses a mutant whose text is not in its file exactly once", async () => {
  await assert.rejects(
    plant({ name: "gone", file: "src/core/commitment.ts", find: "no such text", replace: "" }),
    /not in src\/core\/commitment.ts/,
  );
  await assert.rejects(
    plant({ name: "twice", file: "src/core/commitment.ts", find: "export function", replace: "" }),
    /more than once/,
  );
});
