/**
 * Trace replay throughput: TLC steps per second through the core, with the enabledness check
 * and the whole-state comparison after each step (target: 50,000 steps per second). Each
 * iteration replays the whole committed corpus (`conformance/traces/`), reading included; at
 * the end the median replay rate (reading excluded, as `deno task conformance` reports it) is
 * printed.
 *
 *     deno bench --allow-read bench/conformance_bench.ts
 *
 * @module
 */

import { corpusFiles, replayTraces } from "../conformance/run.ts";

const paths = await corpusFiles();
const probe = await replayTraces(paths);
if (probe.problems.length > 0) {
  throw new Error(`The corpus cannot be replayed:\n${probe.problems.join("\n")}`);
}
if (probe.mismatches.length > 0) throw new Error("The corpus does not replay cleanly");

const rates: number[] = [];

Deno.bench(
  `replayTraces(): the corpus, ${probe.steps} steps of ${probe.behaviours} behaviours`,
  { group: "replay", n: 5, warmup: 1 },
  async () => {
    const report = await replayTraces(paths);
    rates.push(report.steps / (report.replayMs / 1000));
  },
);

globalThis.addEventListener("unload", () => {
  if (rates.length === 0) return;
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  console.log(
    `replay of ${probe.steps} steps: median ${Math.round(median)} steps/s over ${rates.length} ` +
      `runs (${Math.round(probe.steps / median * 1000)} ms), reading excluded`,
  );
});
