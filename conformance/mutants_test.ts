// Replays a slice of the corpus against each core mutant (a realistic bug switched in through
// the cluster's rules and sizes) and checks that the conformance replay catches every one.
import assert from "node:assert/strict";
import { MUTANTS, runMutants } from "./mutants.ts";

/** Behaviours per trace file: the restore mutant first shows in the 11th of CheckpointRestore. */
const SLICE_BEHAVIOURS_PER_FILE = 40;

Deno.test("runMutants() catches every core mutant", async () => {
  const results = await runMutants(undefined, { behavioursPerFileMax: SLICE_BEHAVIOURS_PER_FILE });
  assert.equal(results.length, MUTANTS.length);
  for (const result of results) assert.ok(result.caught, `mutant "${result.name}" was missed`);
});
