/**
 * `deno task validate-trace DIR [--byzantine IDS] [--json]`: checks the runtime trace the nodes of
 * a run wrote (`--trace DIR`) against the core's actions and the value-free invariants
 * (`validateTrace`). Exit 0 when it checks, 1 with the first problems when it does not, 2 on bad
 * arguments.
 *
 * @module
 */

import { readArgs, UsageError, usageFailure } from "../cli/args.ts";
import { validateTraceDir } from "./trace.ts";

const COMMAND = {
  name: "validate-trace",
  usage: "deno task validate-trace DIR [--byzantine ID,ID] [--json]",
  description:
    "Checks the runtime trace in DIR (one DIR/<node>.ndjson per node, written with --trace):\n" +
    "every step's actions must be enabled actions of that node in the state the trace reached,\n" +
    "the states and the messages signed must be what those actions give, a restart must restore\n" +
    "what the node had persisted, and Agreement, Consistency and ExclusionAccuracy must hold.\n" +
    "--byzantine names nodes that were Byzantine in the run. --json prints the report as JSON.",
  options: {
    byzantine: { type: "string" },
    json: { type: "boolean", default: false },
  },
  positionals: true,
} as const;

const SHOWN_MAX = 20;

async function main(args: string[]): Promise<number> {
  const read = readArgs(COMMAND, args);
  if ("exit" in read) return read.exit;
  const { values, positionals } = read;
  try {
    if (positionals.length !== 1) {
      throw new UsageError(`give one trace directory, got ${positionals.length}`);
    }
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(COMMAND, error);
    throw error;
  }
  const dir = positionals[0]!;
  try {
    if (!(await Deno.stat(dir)).isDirectory) {
      console.error(`validate-trace: ${dir} is not a directory`);
      return 2;
    }
  } catch {
    console.error(`validate-trace: ${dir} does not exist`);
    return 2;
  }
  const byzantine = values.byzantine === undefined
    ? []
    : values.byzantine.split(",").filter((id) => id !== "");
  const report = await validateTraceDir(dir, { byzantine });
  if (values.json) {
    console.log(JSON.stringify(report));
  } else if (report.problems.length === 0) {
    console.log(
      `${dir}: ${report.files} node trace(s), ${report.inferences} inference(s), ${report.runs} ` +
        `run(s) (${report.restarts} restart(s)), ${report.steps} steps and ${report.actions} ` +
        "actions: every action enabled, every state and message matched, the invariants held",
    );
  } else {
    for (const problem of report.problems.slice(0, SHOWN_MAX)) {
      console.log(`${dir}/${problem.file}:${problem.line}: ${problem.message}`);
    }
    if (report.problems.length > SHOWN_MAX) {
      console.log(`... and ${report.problems.length - SHOWN_MAX} more`);
    }
  }
  return report.problems.length === 0 ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
