/**
 * `deno task verdicts [names]`: TLC's verdict on every safety property in each probe of each
 * corpus file (see `invariant_verdicts.ts`), written to `conformance/verdicts/<name>.json`.
 * Needs TLC: `TLA2TOOLS` (tla2tools.jar) and `TLA_COMMUNITY_MODULES` (CommunityModules-deps.jar).
 *
 * @module
 */

import { readArgs } from "../src/cli/args.ts";

import { TLA_DIR } from "../tla/spec_hash.ts";
import {
  type ProbedFile,
  probedFile,
  probesText,
  PROPERTIES,
  type Property,
  textHash,
  VERDICT_FORMAT,
  VERDICT_MODULE_FILE,
  type VerdictFile,
  VERDICTS_DIR,
  verdictSpecHash,
} from "./invariant_verdicts.ts";
import { runTlc } from "./generate_traces.ts";
import { corpusFiles, parseConstants } from "./run.ts";

/** The spec's constants a probe configuration sets, copied from the corpus file's. */
const SPEC_CONSTANTS = [
  "N",
  "F",
  "Byzantine",
  "S",
  "T",
  "K",
  "R",
  "Seeds",
  "MaxView",
  "MaxByzantineMessages",
  "MaxCrashes",
  "FalseSuspicions",
] as const;

function render(value: number | boolean | number[]): string {
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
  if (Array.isArray(value)) return `{${value.join(", ")}}`;
  return String(value);
}

/**
 * The TLC configuration that judges a file's probes.
 *
 * @param configText The corpus file's configuration text.
 * @param probeFile Where the probes are.
 * @param verdictFile Where TLC writes the verdicts.
 * @returns The configuration text.
 */
export function probeConfig(configText: string, probeFile: string, verdictFile: string): string {
  const constants = parseConstants(configText);
  const lines = ["INIT ProbeInit", "NEXT ProbeNext", "CONSTANTS"];
  for (const name of SPEC_CONSTANTS) {
    const value = constants.get(name);
    if (value === undefined) throw new Error(`the configuration sets no ${name}`);
    lines.push(`    ${name} = ${render(value)}`);
  }
  lines.push(`    ProbeFile = ${JSON.stringify(probeFile)}`);
  lines.push(`    VerdictFile = ${JSON.stringify(verdictFile)}`);
  lines.push("INVARIANT VerdictExport", "CHECK_DEADLOCK FALSE", "");
  return lines.join("\n");
}

async function judge(file: ProbedFile, jars: string, specSha256: string): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: `verdicts-${file.name}-` });
  try {
    const text = probesText(file.probes);
    await Deno.writeTextFile(`${work}/probes.ndjson`, text);
    const config = `${work}/Probe.cfg`;
    await Deno.writeTextFile(
      config,
      probeConfig(file.configText, `${work}/probes.ndjson`, `${work}/verdicts.ndjson`),
    );
    const version = await runTlc({
      work,
      jars,
      heap: "2g",
      options: [],
      config,
      module: `${TLA_DIR}/${VERDICT_MODULE_FILE}`,
      what: `the probes of ${file.name}`,
    });
    const violated: Property[][] = file.probes.map(() => []);
    const allowedSeeds: number[][] = file.probes.map(() => []);
    const validQuorum: boolean[] = file.probes.map(() => false);
    const seen = new Set<number>();
    const lines = (await Deno.readTextFile(`${work}/verdicts.ndjson`)).split("\n");
    for (const line of lines) {
      if (line.trim() === "") continue;
      const verdict = JSON.parse(line) as Record<string, unknown>;
      const probe = verdict.probe as number;
      if (verdict.TypeOK !== true) {
        throw new Error(`${file.name} probe ${probe} is not type-correct (TypeOK is false)`);
      }
      seen.add(probe);
      violated[probe - 1] = PROPERTIES.filter((name) => verdict[name] === false);
      allowedSeeds[probe - 1] = [...(verdict.AllowedSeeds as number[])].sort((a, b) => a - b);
      validQuorum[probe - 1] = verdict.ValidViewChangeQuorum === true;
    }
    if (seen.size !== file.probes.length) {
      throw new Error(
        `${file.name}: TLC judged ${seen.size} of ${file.probes.length} probes ` +
          "(two probes are the same state?)",
      );
    }
    const verdicts: VerdictFile = {
      format: VERDICT_FORMAT,
      config: file.config,
      tlcVersion: version,
      specSha256,
      probesSha256: textHash(text),
      violated,
      allowedSeeds,
      validQuorum,
    };
    await Deno.mkdir(VERDICTS_DIR, { recursive: true });
    await Deno.writeTextFile(
      `${VERDICTS_DIR}/${file.name}.json`,
      JSON.stringify(verdicts, null, 0) + "\n",
    );
    const falseCount = violated.filter((v) => v.length > 0).length;
    console.log(`${file.name}: ${file.probes.length} probes, ${falseCount} with a false property`);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

const COMMAND = {
  name: "verdicts",
  usage: "TLA2TOOLS=... TLA_COMMUNITY_MODULES=... deno task verdicts [corpus file names...]",
  description: "Asks TLC for its verdict on every perturbed probe of the corpus (all files " +
    "without names) and writes conformance/verdicts/ (needs TLC and the CommunityModules jar).",
  options: {},
  positionals: true,
} as const;

async function main(): Promise<number> {
  const read = readArgs(COMMAND, Deno.args);
  if ("exit" in read) return read.exit;
  const tools = Deno.env.get("TLA2TOOLS");
  const community = Deno.env.get("TLA_COMMUNITY_MODULES");
  if (tools === undefined || community === undefined) {
    console.error(
      "deno task verdicts needs TLC: set TLA2TOOLS=/path/to/tla2tools.jar and " +
        "TLA_COMMUNITY_MODULES=/path/to/CommunityModules-deps.jar",
    );
    return 2;
  }
  const wanted = new Set(read.positionals);
  const specSha256 = await verdictSpecHash();
  for (const path of await corpusFiles()) {
    const file = await probedFile(path);
    if (wanted.size > 0 && !wanted.has(file.name)) continue;
    await judge(file, `${tools}:${community}`, specSha256);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
