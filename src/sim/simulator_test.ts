// Runs the simulator on many seeds (each a different cluster and fault schedule) and checks that
// every run keeps the invariants and commits; then switches in a core bug and checks that the
// simulator catches it, and that a run is a function of its seed.
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Ready } from "../core/step.ts";
import { simulate } from "./simulator.ts";

/** Safety-phase steps per seed in the tests: short runs, many seeds. */
const TEST_STEPS = 200;
/** Seeds the property runs. */
const TEST_SEEDS = 300;

Deno.test("simulate() keeps every invariant and commits on random seeds", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (seed) => {
      const report = simulate({ seed, steps: TEST_STEPS });
      assert.ok(report.ok, `${report.failure} (deno task simulate --seed ${seed} --steps 200)`);
      assert.notEqual(report.committed, -1);
    }),
    { numRuns: TEST_SEEDS },
  );
});

Deno.test("simulate() is a function of its seed", () => {
  assert.deepEqual(
    simulate({ seed: 7, steps: TEST_STEPS }),
    simulate({ seed: 7, steps: TEST_STEPS }),
  );
});

Deno.test("simulate() catches a core that accepts a stage output from one replica", () => {
  // A Byzantine replica's garbage is then accepted as a token: CheckpointIntegrity fails (the
  // first seed that shows it is 114).
  const failures = [];
  for (let seed = 1; seed <= 400 && failures.length === 0; seed++) {
    const report = simulate({
      seed,
      steps: 300,
      adjustCluster: (cluster) => ({ ...cluster, stageAcceptThreshold: 1 }),
    });
    if (!report.ok) failures.push(report.failure);
  }
  assert.equal(failures.length, 1);
  assert.match(failures[0] as string, /CheckpointIntegrity/);
});

Deno.test("simulate() catches a node that forgets to persist its vote", () => {
  // The step's persist of the vote dropped: it would send a Prepare whose vote a crash would
  // lose, and the simulator refuses to carry it out.
  const withoutField = (field: string) => (ready: Ready): Ready => ({
    ...ready,
    effects: ready.effects.map((effect) =>
      effect.kind !== "persist"
        ? effect
        : { ...effect, fields: effect.fields.filter((f) => f !== field) }
    ),
  });
  const report = simulate({ seed: 7, steps: TEST_STEPS, adjustReady: withoutField("vote") });
  assert.ok(!report.ok);
  assert.match(report.failure, /^durability: node \d+ sends \w+ before persisting vote$/);
  // And the persist of the committed result dropped: a crash would lose what the node committed.
  const lost = simulate({ seed: 7, steps: TEST_STEPS, adjustReady: withoutField("committed") });
  assert.match(
    lost.failure,
    /^durability: node \d+ (changed committed without persisting it|sends \w+ before persisting committed)$/,
  );
});

Deno.test("simulate() commits on the seeds that once left honest nodes waiting forever", () => {
  // Each of these seeds failed before certificates were judged by their signatures, checkpoints
  // stable on their signatures and the view-change timer: its liveness phase ended with an
  // honest node that never committed (issue "Liveness that holds").
  const stranded = [4743, 5189, 5429, 6103, 6757, 9400, 5005425, 5006122, 5009268];
  for (const seed of stranded) {
    const report = simulate({ seed, steps: 500 });
    assert.ok(report.ok, `${report.failure} (deno task simulate --seed ${seed} --steps 500)`);
  }
  const long = simulate({ seed: 777278, steps: 800 });
  assert.ok(long.ok, long.failure);
});

Deno.test("simulate() keeps every invariant and commits with n = 7 and two Byzantine nodes", () => {
  let twoByzantine = 0;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (seed) => {
      const report = simulate({ seed, steps: TEST_STEPS, nodeCount: 7 });
      assert.ok(report.ok, `${report.failure} (deno task simulate --seed ${seed} --nodes 7)`);
      if (report.byzantine.length === 2) twoByzantine += 1;
    }),
    { numRuns: 60 },
  );
  assert.ok(twoByzantine > 0, "no run had two Byzantine nodes");
});

Deno.test("simulate() refuses a cluster size it does not simulate", () => {
  assert.throws(() => simulate({ seed: 1, steps: 10, nodeCount: 5 }), /nodeCount must be one of/);
});
