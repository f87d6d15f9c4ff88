/**
 * Trace replay throughput: TLC steps per second through the core, with the enabledness check
 * and the whole-state comparison after each step (target: 50,000 steps per second). Replays
 * the first 100 behaviours of each committed trace file per iteration.
 *
 *     deno bench --allow-read bench/conformance_bench.ts
 *
 * @module
 */

import { corpusFiles, replayTraces } from "../conformance/run.ts";

/** Behaviours per trace file replayed in one iteration. */
const BEHAVIOURS_PER_FILE = 100;

const paths = await corpusFiles();
const probe = await replayTraces(paths, { behavioursPerFileMax: BEHAVIOURS_PER_FILE });
if (probe.mismatches.length > 0) throw new Error("The corpus does not replay cleanly");

Deno.bench(
  `replayTraces(): ${probe.steps} steps of ${probe.behaviours} behaviours (${
    Math.round(probe.steps / (probe.replayMs / 1000))
  } steps/s in the probe)`,
  { group: "replay" },
  async () => {
    await replayTraces(paths, { behavioursPerFileMax: BEHAVIOURS_PER_FILE });
  },
);
