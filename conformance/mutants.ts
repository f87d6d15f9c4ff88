/**
 * `deno task mutants`: realistic bugs planted in the core, each in a copy of the sources, and
 * the conformance run (`conformance/main.ts`, nothing else) replayed against each; every mutant
 * must be caught. The fast subset of what `deno task mutation` (StrykerJS over `src/core/`)
 * does exhaustively: one mutant of each class of bug that conformance once let through. A
 * mutant of a face of the core (the seed's classes, which call the core) names instead the
 * property test that drives the face and the core with the same inputs; that test alone must
 * catch it.
 *
 * Usage: `deno task mutants [names...]` (all without names).
 *
 * @module
 */

import { readArgs } from "../src/cli/args.ts";

/** A bug planted in one file of the core: the text found (exactly once) and its replacement. */
export interface Mutant {
  /** What the bug is, in a few words. */
  readonly name: string;
  /** The file, relative to the project's root. */
  readonly file: string;
  /** The text replaced; it must occur exactly once in the file. */
  readonly find: string;
  /** What replaces it. */
  readonly replace: string;
  /** For a face's mutant: the test file and the name of the test that must catch it. */
  readonly test?: { readonly file: string; readonly filter: string };
}

const AGREEMENT_PROPERTY = {
  file: "src/core/byzantine_agreement_test.ts",
  filter: "ByzantineAgreement answers as the core does on the same random votes",
};

const NEW_VIEW_PROPERTY = {
  file: "src/wire/new_view_test.ts",
  filter: "verifyNewView() allows the seeds the core's AllowedSeeds allows, on random view changes",
};

/** The core mutants the conformance run must catch, and the faces' their property tests must. */
export const MUTANTS: readonly Mutant[] = [
  {
    name: "quorum one too small",
    file: "src/core/quorum.ts",
    find: "  return Math.floor((nodeCount + faultsMax) / 2) + 1;",
    replace: "  return Math.floor((nodeCount + faultsMax) / 2);",
  },
  {
    name: "a vote counted twice",
    file: "src/core/_tally.ts",
    find: "  return signers?.size ?? 0;\n}\n\n/** Whether",
    replace: "  return (signers?.size ?? 0) + (signers === undefined ? 0 : 1);\n}\n\n/** Whether",
  },
  {
    name: "proposal of the previous view accepted",
    file: "src/core/commitment.ts",
    find: 'if (m.view !== node.view) return disabled("the proposal is for another view");',
    replace: "if (m.view !== node.view && m.view !== node.view - 1) " +
      'return disabled("the proposal is for another view");',
  },
  {
    name: "checkpoint restored one position short",
    file: "src/core/checkpointing.ts",
    find: "const position = checkpoint.position;",
    replace: "const position = checkpoint.position - 1;",
  },
  {
    name: "vote not persisted",
    file: "src/core/commitment.ts",
    find: '  return enabled({ ...node, vote }, [\n    { kind: "persist", fields: ["vote"] },\n',
    replace: "  return enabled({ ...node, vote }, [\n",
  },
  {
    name: "Prepare sent before its vote is persisted",
    file: "src/core/commitment.ts",
    find: '    { kind: "persist", fields: ["vote"] },\n' +
      '    { kind: "send", message: { type: "Prepare", view: node.view, value: m.value, ' +
      "from: node.id } },\n",
    replace: '    { kind: "send", message: { type: "Prepare", view: node.view, value: m.value, ' +
      "from: node.id } },\n" + '    { kind: "persist", fields: ["vote"] },\n',
  },
  {
    name: "exclusion not persisted",
    file: "src/core/view_change.ts",
    find: '{ kind: "persist", fields: ["excluded"] }',
    replace: '{ kind: "persist", fields: [] }',
  },
  {
    name: "checkpoint of another seed taken",
    file: "src/core/checkpointing.ts",
    find:
      '  if (m.seed !== node.seed) return disabled("the checkpoint is not of the node\'s seed");\n',
    replace: "",
  },
  {
    name: "excluded primary's proposal accepted",
    file: "src/core/commitment.ts",
    find: '  if (node.excluded.includes(m.from)) return disabled("the primary is excluded");\n',
    replace: "",
  },
  {
    name: "fast path counts excluded signers",
    file: "src/core/commitment.ts",
    find: '  const count = voteCount(node, received, "Prepare", node.view, node.vote.value);\n' +
      "  if (count < cluster.fastQuorum)",
    replace:
      '  const count = certificateCount(received, "Prepare", node.view, node.vote.value);\n' +
      "  if (count < cluster.fastQuorum)",
  },
  {
    name: "already-proposed guard ignores the view",
    file: "src/core/commitment.ts",
    find: 'received.ofType("PrePrepare").some((m) => m.view === node.view && m.from === node.id)',
    replace: 'received.ofType("PrePrepare").some((m) => m.from === node.id)',
  },
  {
    name: "new view takes the lowest prepared certificate",
    file: "src/core/_tally.ts",
    find: "  return views.length === 0 ? -1 : Math.max(...views);",
    replace: "  return views.length === 0 ? -1 : Math.min(...views);",
  },
  {
    name: "Agreement weakened to two values",
    file: "src/core/invariants.ts",
    find: "  return certified.size <= 1 ? [] :",
    replace: "  return certified.size <= 2 ? [] :",
  },
  {
    name: "AcceptToken ignores which token it is given",
    file: "src/core/computation.ts",
    find: "  if (node.tokens.length !== token - 1) return",
    replace: "  if (node.tokens.length >= token) return",
  },
  {
    name: "proposal of the first token, not the last",
    file: "src/core/commitment.ts",
    find: "  const value = node.tokens[cluster.tokenCount - 1] as V;",
    replace: "  const value = node.tokens[0] as V;",
  },
  {
    name: "proposal checked against the first token",
    file: "src/core/commitment.ts",
    find: "  if (m.value !== node.tokens[cluster.tokenCount - 1]) {",
    replace: "  if (m.value !== node.tokens[0]) {",
  },
  {
    name: "stage input taken from its own stage",
    file: "src/core/_tally.ts",
    find: "isCertifiedOutput(node, cluster, received, token, stage - 1, value);",
    replace: "isCertifiedOutput(node, cluster, received, token, stage, value);",
  },
  {
    name: "stage outputs its input unchanged",
    file: "src/core/computation.ts",
    find: "      value: output,",
    replace: "      value,",
  },
  {
    name: "CheckpointIntegrity wants the result at every token",
    file: "src/core/invariants.ts",
    find: "x !== stageValue(checkpoint.seed, t + 1, cluster.stageCount)",
    replace: "x !== stageValue(checkpoint.seed, cluster.tokenCount, cluster.stageCount) && t >= 0",
  },
  {
    name: "ByzantineResistance counts Byzantine replicas",
    file: "src/core/invariants.ts",
    find: 'm.type === "StageOutput" && honest(m.from) &&',
    replace: 'm.type === "StageOutput" &&',
  },
  {
    name: "ByzantineAgreement's quorum one too small",
    file: "src/core/byzantine_agreement.ts",
    find: "return { cluster: this.#cluster, received: this.#votes };",
    replace:
      "return { cluster: { ...this.#cluster, quorum: this.#cluster.quorum - 1 }, received: this.#votes };",
    test: AGREEMENT_PROPERTY,
  },
  {
    name: "ByzantineAgreement's fast path one vote short",
    file: "src/core/byzantine_agreement.ts",
    find: "return { cluster: this.#cluster, received: this.#votes };",
    replace:
      "return { cluster: { ...this.#cluster, fastQuorum: this.#cluster.fastQuorum - 1 }, received: this.#votes };",
    test: AGREEMENT_PROPERTY,
  },
  {
    name: "CheckpointManager's stability quorum one too small",
    file: "src/checkpoint/checkpoint_manager.ts",
    find: "const reached = checkpointStable(cluster, reports,",
    replace:
      "const reached = checkpointStable({ ...cluster, checkpointQuorum: cluster.checkpointQuorum - 1 }, reports,",
    test: {
      file: "src/checkpoint/checkpoint_manager_test.ts",
      filter:
        "CheckpointManager's stability is the core's HandleCheckpoint on the same random reports",
    },
  },
  {
    name: "verifyNewView counts a claim whose certificate fails",
    file: "src/wire/new_view.ts",
    find: "    if (verdict.ok) certs.push(prepared);",
    replace: "    if (verdict.ok || prepared.view >= 0) certs.push(prepared);",
    test: NEW_VIEW_PROPERTY,
  },
  {
    name: "verifyNewView's fast path one vote too many",
    file: "src/wire/new_view.ts",
    find: "seedChoice(certs, voted, faultsMax, bytesEqual)",
    replace: "seedChoice(certs, voted, faultsMax + 1, bytesEqual)",
    test: NEW_VIEW_PROPERTY,
  },
  {
    name: "HandlePrePrepare takes any message type",
    file: "src/core/commitment.ts",
    find: '  if (m.type !== "PrePrepare") return disabled("the message is not a PrePrepare");\n',
    replace: "",
  },
];

/** A mutant's outcome. */
export interface MutantResult {
  /** The mutant's name. */
  readonly name: string;
  /** Whether the conformance run failed. */
  readonly caught: boolean;
  /** The first lines of the run's complaint (empty when missed). */
  readonly firstMismatch: string;
}

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** What the conformance run reads: copied into each mutant's tree (the corpus is linked). */
const COPIED = ["conformance", "src", "tla", "deno.json", "deno.lock"];
const LINKED = ["node_modules", "conformance/traces"];
/** Not copied: what no run reads (Stryker's own packages, when installed). */
const SKIPPED = ["conformance/stryker"];

async function copyTree(from: string, to: string, skip: ReadonlySet<string>): Promise<void> {
  const info = await Deno.stat(from);
  if (!info.isDirectory) {
    await Deno.copyFile(from, to);
    return;
  }
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const source = `${from}/${entry.name}`;
    if (skip.has(source)) continue;
    await copyTree(source, `${to}/${entry.name}`, skip);
  }
}

/**
 * The sources with one mutant planted, in a new temporary directory.
 *
 * @param mutant The mutant; undefined for the sources as they are.
 * @param root The project's root.
 * @returns The directory (the caller removes it).
 * @throws {Error} When the mutant's text is not found exactly once.
 */
export async function plant(mutant: Mutant | undefined, root: string = ROOT): Promise<string> {
  const text = mutant === undefined ? "" : await Deno.readTextFile(`${root}/${mutant.file}`);
  const at = mutant === undefined ? 0 : text.indexOf(mutant.find);
  if (mutant !== undefined && (at < 0 || text.indexOf(mutant.find, at + 1) >= 0)) {
    throw new Error(
      `mutant "${mutant.name}": its text is ${at < 0 ? "not" : "more than once"} in ${mutant.file}`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "butterfly-mutant-" });
  try {
    const skip = new Set([...LINKED, ...SKIPPED].map((path) => `${root}/${path}`));
    for (const path of COPIED) {
      await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await copyTree(`${root}/${path}`, `${dir}/${path}`, skip);
    }
    for (const path of LINKED) await Deno.symlink(`${root}/${path}`, `${dir}/${path}`);
    if (mutant !== undefined) {
      const mutated = text.slice(0, at) + mutant.replace + text.slice(at + mutant.find.length);
      await Deno.writeTextFile(`${dir}/${mutant.file}`, mutated);
    }
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  return dir;
}

/**
 * Runs the conformance check on a copy of the sources with `mutant` planted.
 *
 * @param mutant The mutant; undefined for the sources as they are (which must pass).
 * @returns Whether the check failed, and how.
 */
export async function runMutant(mutant: Mutant | undefined): Promise<MutantResult> {
  const dir = await plant(mutant);
  try {
    const test = mutant?.test;
    const args = test === undefined
      ? [
        "run",
        "--frozen",
        "--allow-read",
        "--v8-flags=--single-threaded",
        "conformance/main.ts",
        "--workers",
        "1",
        "--stop-at-first",
      ]
      : ["test", "--frozen", "--allow-read", test.file, "--filter", test.filter];
    const output = await new Deno.Command(Deno.execPath(), {
      cwd: dir,
      args,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(output.stderr) + "\n" +
      new TextDecoder().decode(output.stdout);
    const complaint = text.split("\n")
      .filter((line) =>
        line.startsWith("mismatch:") || line.startsWith("error:") || line.startsWith("Caused by:")
      )
      .slice(0, 2).join(" / ");
    // A face's test must fail as a test (its name then FAILED), not by failing to compile.
    const failedAsTest = test === undefined ||
      text.split("\n").some((line) =>
        line.startsWith(`${test.filter} ...`) && line.includes("FAILED")
      );
    return {
      name: mutant?.name ?? "none",
      caught: !output.success && failedAsTest,
      firstMismatch: complaint,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Runs every mutant, two at a time.
 *
 * @param mutants The mutants (default: all).
 * @returns Each mutant's outcome, in the given order.
 */
export async function runMutants(mutants: readonly Mutant[] = MUTANTS): Promise<MutantResult[]> {
  const results: MutantResult[] = new Array(mutants.length);
  let next = 0;
  const lane = async () => {
    while (next < mutants.length) {
      const index = next++;
      results[index] = await runMutant(mutants[index] as Mutant);
    }
  };
  await Promise.all([lane(), lane()]);
  return results;
}

const COMMAND = {
  name: "mutants",
  usage: "deno task mutants [mutant names...]",
  description: "Plants each mutant (all without names) in a copy of the sources and runs the " +
    "conformance check on it (a face's mutant: its property test); every mutant must be caught.",
  options: {},
  positionals: true,
} as const;

async function main(): Promise<number> {
  const read = readArgs(COMMAND, Deno.args);
  if ("exit" in read) return read.exit;
  const names = read.positionals;
  const unknown = names.filter((name) => !MUTANTS.some((m) => m.name === name));
  if (unknown.length > 0) {
    console.error(`error: no mutant named ${unknown.map((n) => JSON.stringify(n)).join(", ")}`);
    return 2;
  }
  const chosen = names.length === 0 ? MUTANTS : MUTANTS.filter((m) => names.includes(m.name));
  // A run that fails without a mutant would "catch" every one.
  const baseline = await runMutant(undefined);
  if (baseline.caught) {
    console.error(`error: conformance fails with no mutant planted: ${baseline.firstMismatch}`);
    return 1;
  }
  // And each face's property test must pass on the sources as they are (one of its mutants with
  // the text put back unchanged).
  const faceTests = new Map<string, Mutant>();
  for (const mutant of chosen) if (mutant.test) faceTests.set(mutant.test.filter, mutant);
  for (const [filter, mutant] of faceTests) {
    const unchanged = await runMutant({ ...mutant, replace: mutant.find });
    if (unchanged.caught) {
      console.error(`error: ${filter} fails with no mutant planted: ${unchanged.firstMismatch}`);
      return 1;
    }
  }
  const results = await runMutants(chosen);
  for (const result of results) {
    console.log(
      `${result.caught ? "caught" : "MISSED"}  ${result.name.padEnd(48)} ${result.firstMismatch}`,
    );
  }
  const caught = results.filter((r) => r.caught).length;
  console.log(`${caught}/${results.length} mutants caught`);
  return caught === results.length ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
