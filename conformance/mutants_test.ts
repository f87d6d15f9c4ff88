// Plants each core mutant in a copy of the sources and checks that the conformance run alone
// catches every one; and that a mutant whose text is gone from the sources is an error, not a
// silent pass.
import assert from "node:assert/strict";
import { MUTANTS, plant, runMutants } from "./mutants.ts";

Deno.test("runMutants() catches every core mutant", async () => {
  const results = await runMutants();
  assert.equal(results.length, MUTANTS.length);
  for (const result of results) assert.ok(result.caught, `mutant "${result.name}" was missed`);
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
