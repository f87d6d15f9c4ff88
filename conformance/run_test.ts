// Replays the first behaviours of every committed trace file through the core and checks that
// each step's guard, next state and enabled set match TLC's; the full corpus is `deno task
// conformance`.
import assert from "node:assert/strict";
import { corpusFiles, replayTraces } from "./run.ts";

/** Behaviours replayed from each trace file: enough to take every core path, fast on CI. */
const SLICE_BEHAVIOURS_PER_FILE = 40;

Deno.test("replayTraces() replays a slice of the corpus with zero mismatches", async () => {
  const paths = await corpusFiles();
  assert.ok(paths.length >= 5, `only ${paths.length} trace files`);
  const report = await replayTraces(paths, { behavioursPerFileMax: SLICE_BEHAVIOURS_PER_FILE });
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.mismatches, []);
  assert.equal(report.behaviours, SLICE_BEHAVIOURS_PER_FILE * paths.length);
  assert.ok(report.steps > 0);
});

Deno.test("replayTraces() reports the first mismatch of a core with a wrong quorum", async () => {
  // A quorum one too large: the core must refuse a step TLC took, or disagree on enabledness.
  const [path] = await corpusFiles();
  const report = await replayTraces([path as string], {
    behavioursPerFileMax: SLICE_BEHAVIOURS_PER_FILE,
    adjustCluster: (cluster) => ({ ...cluster, quorum: cluster.quorum + 1 }),
    stopAtFirst: true,
  });
  assert.equal(report.mismatches.length, 1);
  assert.match(report.mismatches[0] as string, /behaviour \d+, step \d+/);
});
