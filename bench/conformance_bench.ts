/**
 * Trace replay throughput: TLC steps per second through the core, with the enabledness check
 * and the whole-state comparison after each step (target: 50,000 steps per second). Each
 * iteration replays the whole committed corpus (`conformance/traces/`), reading included, once
 * in this thread (1 worker) and once on `navigator.hardwareConcurrency` Web Workers; at the end
 * the median replay rate and corpus replay time of each (reading excluded, as `deno task
 * conformance` reports them) are printed. The workers start afresh at every iteration, so they
 * pay V8's warm-up each time, while the one-thread figure is after the warm-up iteration.
 *
 * The `one-shot` group runs `deno task conformance` itself as a new process, on one thread and
 * on the default workers, as a user does: V8 starts cold, and the rate is the one it prints.
 *
 *     deno bench --allow-read --allow-run bench/conformance_bench.ts
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

const defaultWorkers = navigator.hardwareConcurrency;
const rates = new Map<number, number[]>();

for (const workers of defaultWorkers > 1 ? [1, defaultWorkers] : [1]) {
  rates.set(workers, []);
  Deno.bench(
    `replayTraces(): the corpus, ${probe.steps} steps of ${probe.behaviours} behaviours, ` +
      `${workers === 1 ? "1 worker (this thread)" : `${workers} workers`}`,
    { group: "replay", n: 5, warmup: 1, baseline: workers === 1 },
    async () => {
      const report = await replayTraces(paths, { workers });
      if (report.mismatches.length > 0 || report.steps !== probe.steps) {
        throw new Error(`${workers} workers: the replay differs from the probe's`);
      }
      rates.get(workers)?.push(report.steps / (report.replayMs / 1000));
    },
  );
}

// `deno task conformance` as a new process: the rate and replay time it prints.
const oneShot = new Map<number, number[]>();
const root = new URL("..", import.meta.url).pathname;

async function conformanceProcess(workers: number): Promise<{ rate: number; seconds: number }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "conformance", "--workers", String(workers)],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  const match = / in ([\d.]+) s on .* \((\d+) steps\/s\): 0 mismatches/.exec(text);
  if (!output.success || match === null) {
    throw new Error(
      `deno task conformance failed:\n${text}\n${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return { seconds: Number(match[1]), rate: Number(match[2]) };
}

for (const workers of defaultWorkers > 1 ? [1, defaultWorkers] : [1]) {
  oneShot.set(workers, []);
  Deno.bench(
    `deno task conformance --workers ${workers}: a new process, V8 cold`,
    { group: "one-shot", n: 7, warmup: 0, baseline: workers === 1 },
    async () => {
      const { rate } = await conformanceProcess(workers);
      oneShot.get(workers)?.push(rate);
    },
  );
}

globalThis.addEventListener("unload", () => {
  for (const [workers, runs] of oneShot) {
    if (runs.length === 0) continue;
    const sorted = [...runs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    console.log(
      `deno task conformance --workers ${workers} (new process): median ${Math.round(median)} ` +
        `steps/s over ${runs.length} runs (${Math.round(probe.steps / median * 1000)} ms), ` +
        `range ${Math.round(sorted[0] as number)}-${Math.round(sorted.at(-1) as number)}`,
    );
  }
  for (const [workers, runs] of rates) {
    if (runs.length === 0) continue;
    const sorted = [...runs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    console.log(
      `replay of ${probe.steps} steps on ${workers} worker${workers === 1 ? "" : "s"}: median ` +
        `${Math.round(median)} steps/s over ${runs.length} runs ` +
        `(${Math.round(probe.steps / median * 1000)} ms), reading excluded`,
    );
  }
});
