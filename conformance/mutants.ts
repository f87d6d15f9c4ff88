/**
 * `deno task mutants`: replays the trace corpus against realistic bugs in the core, switched in
 * through the cluster's rules and sizes (the sources stay untouched), and reports how many the
 * conformance check caught. Every mutant must be caught.
 *
 * @module
 */

import type { ClusterConfig, CoreRules, NodeIndex } from "../src/core/spec_state.ts";
import { corpusFiles, replayTraces } from "./run.ts";

/** A bug in the core: a name and how it is switched in. */
export interface Mutant {
  readonly name: string;
  readonly rules?: Partial<CoreRules>;
  readonly adjustCluster?: (cluster: ClusterConfig) => ClusterConfig;
}

function quorumOneTooSmall(cluster: ClusterConfig): ClusterConfig {
  return { ...cluster, quorum: cluster.quorum - 1 };
}

function tallyOwnVoteTwice(signers: ReadonlySet<NodeIndex>, self: NodeIndex): number {
  return signers.size + (signers.has(self) ? 1 : 0);
}

function sameOrPreviousView(messageView: number, nodeView: number): boolean {
  return messageView === nodeView || messageView === nodeView - 1;
}

function restoreOneShort(checkpoint: { readonly position: number }): number {
  return checkpoint.position - 1;
}

/** The core mutants the conformance run must catch. */
export const MUTANTS: readonly Mutant[] = [
  { name: "quorum one too small", adjustCluster: quorumOneTooSmall },
  { name: "own vote counted twice", rules: { tally: tallyOwnVoteTwice } },
  { name: "previous view accepted", rules: { sameView: sameOrPreviousView } },
  { name: "checkpoint restored one position short", rules: { restorePosition: restoreOneShort } },
];

/** Options of {@linkcode runMutants}. */
export interface RunMutantsOptions {
  /** Replay only the first this many behaviours of each file (the tests' slice). */
  readonly behavioursPerFileMax?: number;
}

/**
 * Replays the corpus against each mutant.
 *
 * @param paths The trace files (default: the committed corpus).
 * @param options How much of each file to replay.
 * @returns Each mutant's name and whether a mismatch caught it.
 */
export async function runMutants(
  paths?: readonly string[],
  options: RunMutantsOptions = {},
): Promise<{ name: string; caught: boolean; firstMismatch: string }[]> {
  const files = paths ?? await corpusFiles();
  const out: { name: string; caught: boolean; firstMismatch: string }[] = [];
  for (const mutant of MUTANTS) {
    const report = await replayTraces(files, {
      ...(mutant.rules === undefined ? {} : { rules: mutant.rules }),
      ...(mutant.adjustCluster === undefined ? {} : { adjustCluster: mutant.adjustCluster }),
      stopAtFirst: true,
      ...(options.behavioursPerFileMax === undefined
        ? {}
        : { behavioursPerFileMax: options.behavioursPerFileMax }),
    });
    const first = report.mismatches[0] ?? "";
    out.push({ name: mutant.name, caught: first !== "", firstMismatch: first });
  }
  return out;
}

async function main(): Promise<number> {
  const results = await runMutants(Deno.args.length > 0 ? Deno.args : undefined);
  for (const result of results) {
    const where = result.firstMismatch.split("\n").slice(0, 2).join(" / ");
    console.log(`${result.caught ? "caught" : "MISSED"}  ${result.name.padEnd(40)} ${where}`);
  }
  const caught = results.filter((r) => r.caught).length;
  console.log(`${caught}/${results.length} mutants caught`);
  return caught === results.length ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
