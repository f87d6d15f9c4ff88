/**
 * `deno task traces`: regenerates the trace corpus in `conformance/traces/` by running TLC in
 * simulation mode on `tla/TraceButterfly.tla` with each `tla/Trace*.cfg` configuration.
 *
 * Needs `TLA2TOOLS` (path to `tla2tools.jar`) and `TLA_COMMUNITY_MODULES` (path to
 * `CommunityModules-deps.jar`, for `IOUtils` and `TLCExt`); without them it says where to get
 * them and exits with status 2. Each output file is gzip-compressed NDJSON: a header line
 * (format, configuration, TLC version, seed, depth, SHA-256 of the spec files) then one
 * behaviour a line, exactly as TLC serialized it. In simulation mode TLC checks the export
 * invariant on every successor it generates at the last level, so successive lines can share all
 * but their last state; only the first of such a run is kept.
 *
 * Usage: `deno task traces [config names...]`, for example `deno task traces TwoFPlusOne`.
 *
 * @module
 */

import { readArgs } from "../src/cli/args.ts";

import { TLA_DIR, traceSpecHash } from "../tla/spec_hash.ts";
import { TRACE_FORMAT, type TraceHeader, TRACES_DIR } from "./trace_file.ts";

/** One trace configuration: its name (`tla/Trace<name>.cfg`), behaviour count and seed. */
interface TraceRun {
  readonly name: string;
  readonly behaviours: number;
  readonly seed: number;
}

/** The corpus: these configurations, 7,336 behaviours. */
const TRACE_RUNS: readonly TraceRun[] = [
  { name: "ByzantineCoordinator", behaviours: 600, seed: 20261101 },
  { name: "TwoFPlusOne", behaviours: 500, seed: 20261102 },
  { name: "CrashRecovery", behaviours: 500, seed: 20261103 },
  { name: "HonestCommit", behaviours: 600, seed: 20261104 },
  // Crashes after a stable checkpoint are rare in the others: RestoreCheckpoint needs this one.
  { name: "CheckpointRestore", behaviours: 800, seed: 20261105 },
  // Views up to 3, a Byzantine replica and messages honest nodes must refuse.
  { name: "Views", behaviours: 600, seed: 20261106 },
  // n = 7 with F = 2: two Byzantine nodes, two stages and two tokens.
  { name: "SevenNodes", behaviours: 400, seed: 20261107 },
  // A Byzantine primary of view 1 that equivocates, is excluded and votes on.
  { name: "ByzantinePrimary", behaviours: 600, seed: 20261108 },
  // A Byzantine coordinator proposing what the nodes did not accept (ProposalValid refuses it).
  { name: "ByzantineProposal", behaviours: 600, seed: 20261109 },
  // A Byzantine primary of view 1: equivocating view changes, NewViews honest nodes refuse.
  { name: "ByzantineViewChange", behaviours: 600, seed: 20261110 },
  // n = 3, F = 0, a vote in every view up to 3 (ViewWalk): node 1 proposes in views 0 and 3.
  { name: "Rotation", behaviours: 400, seed: 20261111 },
  // n = 3, F = 0, views up to 4 (ViewWalk): node 2 is the primary of views 1 and 4, and its
  // NewView of view 1 must not stop the one of view 4.
  { name: "LongRotation", behaviours: 300, seed: 20261113 },
  // A Byzantine primary of view 0 with two conflicting proposals (ProposalWalk): the nodes that
  // excluded it refuse its proposal even when it is the result they accepted.
  { name: "ExcludedPrimary", behaviours: 300, seed: 20261114 },
  // No Byzantine node, premature timeouts that are never taken (ProposalWalk): a node that
  // committed in view 0 must not time out.
  { name: "QuickCommit", behaviours: 300, seed: 20261115 },
  // A Byzantine primary of view 1 after votes in view 0 (ViewWalk): a NewView of a seed the view
  // changes do not allow.
  { name: "ByzantineNewView", behaviours: 400, seed: 20261112 },
];

/** TLC processes run at once, and each one's heap. */
const PARALLEL_RUNS = 3;
const HEAP = "3g";

function usage(): number {
  console.error(
    "deno task traces needs TLC: set TLA2TOOLS=/path/to/tla2tools.jar (from " +
      "https://github.com/tlaplus/tlaplus/releases, Java 11 or later) and " +
      "TLA_COMMUNITY_MODULES=/path/to/CommunityModules-deps.jar (from " +
      "https://github.com/tlaplus/CommunityModules/releases)",
  );
  return 2;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

// The lines of a text file, read as a stream.
async function* lines(path: string): AsyncGenerator<string> {
  const file = await Deno.open(path);
  const text = file.readable.pipeThrough(new TextDecoderStream());
  let rest = "";
  for await (const chunk of text) {
    rest += chunk;
    let end = rest.indexOf("\n");
    while (end >= 0) {
      yield rest.slice(0, end);
      rest = rest.slice(end + 1);
      end = rest.indexOf("\n");
    }
  }
  if (rest !== "") yield rest;
}

/** One TLC run of a generator: where, with what, and what it is for (for the error). */
export interface TlcRun {
  /** The working folder (TLC's metadata goes to `meta/` in it). */
  readonly work: string;
  /** The class path: tla2tools.jar and the community modules. */
  readonly jars: string;
  /** The JVM heap, for example `3g`. */
  readonly heap: string;
  /** TLC's options beyond the common ones (mode, depth, seed). */
  readonly options: readonly string[];
  /** The configuration file. */
  readonly config: string;
  /** The module file. */
  readonly module: string;
  /** What the run is of, for the error message. */
  readonly what: string;
}

/**
 * Runs TLC on one worker and returns its version line.
 *
 * @param run The run.
 * @returns TLC's version line.
 * @throws {Error} With the end of TLC's log when it fails or reports an error.
 */
export async function runTlc(run: TlcRun): Promise<string> {
  const output = await new Deno.Command("java", {
    cwd: run.work,
    args: [
      "-XX:+UseParallelGC",
      `-Xmx${run.heap}`,
      "-cp",
      run.jars,
      "tlc2.TLC",
      "-noGenerateSpecTE",
      "-metadir",
      `${run.work}/meta`,
      "-workers",
      "1",
      ...run.options,
      "-config",
      run.config,
      run.module,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success || /^Error:/m.test(log)) {
    throw new Error(`TLC failed on ${run.what}:\n${log.slice(-4000)}`);
  }
  return /TLC2 Version [^\n]*/.exec(log)?.[0].trim() ?? "TLC2 (unknown version)";
}

async function runOne(run: TraceRun, jars: string): Promise<void> {
  const configFile = `Trace${run.name}.cfg`;
  const configText = await Deno.readTextFile(`${TLA_DIR}/${configFile}`);
  const depthMatch = /TraceDepth\s*=\s*(\d+)/.exec(configText);
  if (depthMatch === null) throw new Error(`${configFile} sets no TraceDepth`);
  const depth = Number(depthMatch[1]);
  const work = await Deno.makeTempDir({ prefix: `trace-${run.name}-` });
  // TLC counts generated traces, including ones that end early (deadlock); ask for more and
  // keep the first `behaviours` complete ones.
  const requested = Math.ceil(run.behaviours * 1.3);
  const version = await runTlc({
    work,
    jars,
    heap: HEAP,
    options: ["-simulate", `num=${requested}`, "-depth", String(depth), "-seed", String(run.seed)],
    config: `${TLA_DIR}/${configFile}`,
    module: `${TLA_DIR}/TraceButterfly.tla`,
    what: configFile,
  });
  // Read line by line: TLC writes every successor of the last level, hundreds of megabytes.
  const kept: string[] = [];
  let previousPrefix = "";
  const written = `${work}/behaviours.ndjson`;
  if (!(await exists(written))) {
    throw new Error(
      `${configFile}: TLC wrote no behaviour of ${depth} states (every walk ended earlier): ` +
        "lower its TraceDepth",
    );
  }
  for await (const line of lines(written)) {
    if (line === "") continue;
    const prefix = line.slice(0, line.lastIndexOf(',{"_action"'));
    if (prefix === previousPrefix) continue;
    previousPrefix = prefix;
    kept.push(line);
    if (kept.length >= run.behaviours) break;
  }
  const header: TraceHeader = {
    format: TRACE_FORMAT,
    config: configFile,
    tlcVersion: version,
    seed: run.seed,
    depth,
    behaviours: kept.length,
    specSha256: await traceSpecHash(configFile),
  };
  const text = [JSON.stringify(header), ...kept].join("\n") + "\n";
  const compressed = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  await Deno.writeFile(`${TRACES_DIR}/${run.name}.ndjson.gz`, compressed);
  await Deno.remove(work, { recursive: true });
  console.log(`${run.name}: ${kept.length} behaviours of ${depth} states (${version})`);
}

const COMMAND = {
  name: "traces",
  usage: "TLA2TOOLS=... TLA_COMMUNITY_MODULES=... deno task traces [configuration names...]",
  description:
    "Runs TraceButterfly.tla in TLC's simulation mode on each trace configuration (all " +
    "without names) and writes conformance/traces/ (needs TLC and the CommunityModules jar).",
  options: {},
  positionals: true,
} as const;

async function main(): Promise<number> {
  const read = readArgs(COMMAND, Deno.args);
  if ("exit" in read) return read.exit;
  const unknown = read.positionals.filter((name) => !TRACE_RUNS.some((run) => run.name === name));
  if (unknown.length > 0) {
    console.error(`traces: no trace configuration named ${unknown.join(", ")}`);
    return 2;
  }
  const tools = Deno.env.get("TLA2TOOLS");
  const community = Deno.env.get("TLA_COMMUNITY_MODULES");
  if (tools === undefined || community === undefined) return usage();
  const wanted = new Set(read.positionals);
  const runs = TRACE_RUNS.filter((run) => wanted.size === 0 || wanted.has(run.name));
  // A few TLC processes at a time, each with a bounded heap: one per configuration at once would
  // ask for more memory than a small machine has.
  let next = 0;
  const lane = async () => {
    while (next < runs.length) await runOne(runs[next++] as TraceRun, `${tools}:${community}`);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_RUNS, runs.length) }, lane));
  return 0;
}

if (import.meta.main) Deno.exit(await main());
