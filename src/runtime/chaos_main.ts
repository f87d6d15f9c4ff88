/**
 * `deno task chaos --runs N --seed S [--nodes 4|7] [--inferences K] [--tokens T]
 * [--byzantine B] [--network] [--checkpoint-every C] [--keep] [--json]`: N chaos runs (`chaosRun`), seeds S to S + N - 1, each on a fresh cluster of node
 * processes. One line per run; a failing run keeps its directory and prints the command that
 * reruns it. Exit 0 when every run passes, 1 otherwise, 2 on bad arguments.
 *
 * @module
 */

import { integerValue, readArgs, UsageError, usageFailure } from "../cli/args.ts";

const COMMAND = {
  name: "chaos",
  usage: "deno task chaos [--runs N] [--seed S] [--nodes 4|7] [--inferences K] [--tokens T] " +
    "[--byzantine B] [--network] [--checkpoint-every C] [--keep] [--json]",
  description:
    "Runs N chaos runs (default 1) from seed S (default 1) on clusters of real node processes\n" +
    "(--nodes 4 with f = 1, the default, or 7 with f = 2): K inferences of T tokens at once\n" +
    "(default 3 of 48) while nodes are killed (kill -9) and restarted, or paused (SIGSTOP)\n" +
    "and resumed, at most f at once. Each run checks the committed results against one\n" +
    "process, that every node commits every inference once the faults heal, and every node's\n" +
    "runtime trace (validate-trace). --byzantine B (at most f) makes B members, drawn from the\n" +
    "seed, lie in a mode drawn from the seed (wrong outputs, equivocation, bad signatures,\n" +
    "replays, withheld votes, garbage frames, lying view changes); kills and pauses then take\n" +
    "at most f - B at once, only honest nodes must commit, and only Byzantine ones may be\n" +
    "excluded (an equivocating one must be). --network passes every link between members\n" +
    "through a proxy that loses, delays, duplicates and reorders frames and partitions links\n" +
    "one way or both, each healed later. --checkpoint-every C sets the nodes' checkpoint\n" +
    "interval. A failing run keeps its directory; --keep keeps them all.",
  options: {
    runs: { type: "string", default: "1" },
    seed: { type: "string", default: "1" },
    nodes: { type: "string", default: "4" },
    inferences: { type: "string", default: "3" },
    tokens: { type: "string", default: "48" },
    byzantine: { type: "string", default: "0" },
    "checkpoint-every": { type: "string" },
    network: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
} as const;

async function main(args: string[]): Promise<number> {
  const read = readArgs(COMMAND, args);
  if ("exit" in read) return read.exit;
  const { values } = read;
  let runs: number, seed: number, nodes: number, inferences: number, tokens: number;
  let byzantine: number, checkpointEvery: number | undefined;
  try {
    runs = integerValue("--runs", values.runs, 1, 1, 100_000);
    seed = integerValue("--seed", values.seed, 1, 0, 2 ** 31);
    nodes = integerValue("--nodes", values.nodes, 4, 4, 7);
    if (nodes !== 4 && nodes !== 7) throw new UsageError(`--nodes must be 4 or 7, got ${nodes}`);
    inferences = integerValue("--inferences", values.inferences, 3, 1, 16);
    tokens = integerValue("--tokens", values.tokens, 48, 1, 200);
    byzantine = integerValue("--byzantine", values.byzantine, 0, 0, nodes === 7 ? 2 : 1);
    checkpointEvery = values["checkpoint-every"] === undefined
      ? undefined
      : integerValue("--checkpoint-every", values["checkpoint-every"], 10, 1, 1_000_000);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(COMMAND, error);
    throw error;
  }
  const { chaosRun } = await import("./chaos.ts");
  let failed = 0;
  const durations: number[] = [];
  for (let k = 0; k < runs; k++) {
    const report = await chaosRun({
      seed: seed + k,
      nodeCount: nodes as 4 | 7,
      inferences,
      tokens,
      byzantine,
      network: values.network,
      ...(checkpointEvery === undefined ? {} : { checkpointEvery }),
      keep: values.keep,
    });
    durations.push(report.durationMs);
    if (report.violations.length > 0) failed++;
    if (values.json) {
      console.log(JSON.stringify(report));
      continue;
    }
    const kinds = ["kill", "pause", "link"].map((kind) =>
      `${report.faults.filter((f) => f.kind === kind).length} ${kind}s`
    ).join(", ");
    const checked = report.trace === undefined
      ? "no trace"
      : `${report.trace.actions} actions traced and checked (${report.trace.restarts} restarts)`;
    const frames = report.frames === undefined
      ? ""
      : `, frames ${Object.entries(report.frames).map(([what, n]) => `${n} ${what}`).join(" ")}`;
    const lying = report.byzantine.map(({ node, mode }) =>
      `, ${node} ${mode} (excluded by ${report.excludedBy[node]?.length ?? 0})`
    ).join("");
    console.log(
      `seed ${report.seed}, n = ${report.nodeCount}: ${
        report.violations.length === 0 ? "ok" : "FAILED"
      }, ` +
        `${report.committed}/${report.submitted} committed as one process computes, ${kinds}, ` +
        `${checked}${frames}${lying}, ${(report.durationMs / 1000).toFixed(1)} s`,
    );
    for (const violation of report.violations) console.log(`  ${violation}`);
    if (report.dir !== undefined) console.log(`  kept ${report.dir}; rerun: ${report.command}`);
  }
  if (!values.json) {
    console.log(`${runs - failed}/${runs} runs passed (n = ${nodes})`);
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
