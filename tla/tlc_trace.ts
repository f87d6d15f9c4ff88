/**
 * `deno task tlc-trace DIR [--inference ID] [--byzantine K,...] [--record NAME]`: TLC checks
 * that a behaviour of the spec explains a runtime trace (the nodes' `--trace DIR` files), with
 * `TraceRuntime.tla`, one inference at a time (all of them unless `--inference`). Needs
 * `TLA2TOOLS` (tla2tools.jar) and `TLA_COMMUNITY_MODULES` (CommunityModules-deps.jar, for the
 * Json and IOUtils modules). `--record NAME` keeps the merged trace, TLC's log and its verdict in
 * `tla/results/runtime/`, with the SHA-256 of what the verdict depends on, so CI (which has no
 * TLC) fails on a verdict the spec or the converter has moved past.
 *
 * Exit status: 0 when TLC explains every trace, 1 when it does not, 2 on bad flags or tools.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { readTraceFiles } from "../src/runtime/trace.ts";
import { tlcVersion } from "./run_tlc.ts";
import { hashFiles, SPEC_MODULE_FILE, TLA_DIR } from "./spec_hash.ts";
import { runtimeTraceToTla, type TlaTrace, traceConfig, traceNdjson } from "./runtime_trace.ts";

/** The trace validation module. */
export const TRACE_RUNTIME_MODULE = "TraceRuntime.tla";

/** Where recorded runs go. */
export const RUNTIME_RESULTS_DIR = `${TLA_DIR}/results/runtime`;

/** TLC's verdict on one recorded run, as `tla/results/runtime/NAME.json` holds it. */
export interface RuntimeVerdict {
  /** The run's name. */
  readonly name: string;
  /** The inference checked. */
  readonly inference: number;
  /** Records in the merged trace. */
  readonly records: number;
  /** The model's constants. */
  readonly constants: TlaTrace["constants"];
  /** `pass` when a behaviour of the spec explains every record. */
  readonly outcome: "pass" | "fail";
  /** What TLC said when it failed. */
  readonly reason?: string | undefined;
  /** The depth TLC reached (records + 1 when every record is explained). */
  readonly diameter?: number | undefined;
  /** TLC's version line. */
  readonly tlcVersion: string;
  /** Wall-clock seconds of the TLC run. */
  readonly wallSeconds: number;
  /** SHA-256 of ButterflyCoordination.tla and TraceRuntime.tla ({@linkcode runtimeSpecHash}). */
  readonly specSha256: string;
  /** SHA-256 of the merged trace file TLC read. */
  readonly traceSha256: string;
}

/**
 * Hashes what a verdict on a merged trace depends on besides the trace: the spec and the trace
 * validation module.
 *
 * @param dir The folder holding them; defaults to `tla/`.
 * @returns The lowercase hex SHA-256.
 */
export async function runtimeSpecHash(dir: string = TLA_DIR): Promise<string> {
  return await hashFiles(dir, [SPEC_MODULE_FILE, TRACE_RUNTIME_MODULE]);
}

/**
 * The lowercase hex SHA-256 of a text.
 *
 * @param text The text.
 * @returns Its hash.
 */
export function textHash(text: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(text)));
}

/** What one TLC check of a merged trace found. */
export interface TraceCheck {
  readonly outcome: "pass" | "fail";
  readonly reason?: string | undefined;
  readonly diameter?: number | undefined;
  readonly wallSeconds: number;
  readonly log: string;
}

/**
 * Runs TLC on a merged trace.
 *
 * @param trace The trace.
 * @param jars The TLC jar and the CommunityModules jar.
 * @returns TLC's verdict and log.
 */
export async function checkWithTlc(
  trace: TlaTrace,
  jars: { readonly tlc: string; readonly community: string },
): Promise<TraceCheck> {
  const scratch = await Deno.makeTempDir({ prefix: "butterfly-tlc-trace-" });
  try {
    const tracePath = `${scratch}/trace.ndjson`;
    const configPath = `${scratch}/TraceRuntime.cfg`;
    await Deno.writeTextFile(tracePath, traceNdjson(trace));
    await Deno.writeTextFile(configPath, traceConfig(trace.constants));
    const started = performance.now();
    const output = await new Deno.Command("java", {
      args: [
        "-XX:+UseParallelGC",
        "-cp",
        `${jars.tlc}:${jars.community}`,
        "tlc2.TLC",
        "-workers",
        "1",
        "-noGenerateSpecTE",
        "-metadir",
        `${scratch}/meta`,
        "-config",
        configPath,
        TRACE_RUNTIME_MODULE,
      ],
      cwd: TLA_DIR,
      env: { BUTTERFLY_TLC_TRACE: tracePath },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const wallSeconds = Math.round((performance.now() - started) / 100) / 10;
    const log = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    const depth = log.match(/The depth of the complete state graph search is (\d+)/)?.[1];
    const diameter = depth === undefined ? undefined : Number(depth);
    const expected = trace.records.length + 1;
    const clean = output.code === 0 &&
      /Model checking completed\. No error has been found/.test(log);
    if (clean && diameter === expected) return { outcome: "pass", diameter, wallSeconds, log };
    // At depth d, records 1..d-1 are explained and no behaviour of the spec explains record d.
    const where = diameter === undefined ? "" : `: no spec action explains record ${diameter}`;
    const reason = clean
      ? `TLC stopped at depth ${diameter ?? "?"} of ${expected}${where}`
      : (firstError(log) ?? `TLC exited with status ${output.code}`) + where;
    return { outcome: "fail", reason, diameter, wallSeconds, log };
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
}

// TLC's first error line.
function firstError(log: string): string | undefined {
  return log.split("\n").find((line) => /^Error:|is violated/.test(line))?.trim();
}

const USAGE = "usage: deno task tlc-trace DIR [--inference ID] [--byzantine K,...] [--record NAME]";

function inferencesOf(files: ReadonlyMap<string, string>): number[] {
  const ids = new Set<number>();
  for (const text of files.values()) {
    for (const raw of text.split("\n")) {
      const match = raw.match(/^\{"kind":"instance".*?"inference":(\d+)/);
      if (match !== null) ids.add(Number(match[1]));
    }
  }
  return [...ids].sort((a, b) => a - b);
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        inference: { type: "string" },
        byzantine: { type: "string" },
        record: { type: "string" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    console.error(`tlc-trace: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`tlc-trace: give one trace directory\n${USAGE}`);
    return 2;
  }
  const byzantine = (values.byzantine ?? "").split(",").filter((x) => x !== "").map(Number);
  if (byzantine.some((k) => !Number.isInteger(k) || k < 1)) {
    console.error(`tlc-trace: --byzantine takes node indices 1..n, got ${values.byzantine}`);
    return 2;
  }
  if (values.record !== undefined && !/^[A-Za-z0-9-]+$/.test(values.record)) {
    console.error(`tlc-trace: --record takes a name of letters, digits and dashes`);
    return 2;
  }
  const tlc = Deno.env.get("TLA2TOOLS");
  const community = Deno.env.get("TLA_COMMUNITY_MODULES");
  if (tlc === undefined || community === undefined) {
    console.error(
      "tlc-trace: TLA2TOOLS must point at tla2tools.jar and TLA_COMMUNITY_MODULES at " +
        "CommunityModules-deps.jar (https://github.com/tlaplus/CommunityModules/releases)",
    );
    return 2;
  }
  let files: Map<string, string>;
  try {
    files = await readTraceFiles(positionals[0]!);
  } catch (error) {
    console.error(`tlc-trace: cannot read ${positionals[0]}: ${(error as Error).message}`);
    return 2;
  }
  const ids = values.inference === undefined ? inferencesOf(files) : [Number(values.inference)];
  if (ids.length === 0) {
    console.error(`tlc-trace: no trace of any inference in ${positionals[0]}`);
    return 2;
  }
  if (values.record !== undefined && ids.length !== 1) {
    console.error(`tlc-trace: --record keeps one inference; give --inference (one of ${ids})`);
    return 2;
  }
  const tlcReport = await tlcVersion(tlc);
  const version = "error" in tlcReport ? "unknown" : tlcReport.version;
  let failed = 0;
  for (const id of ids) {
    const trace = runtimeTraceToTla(files, id, byzantine);
    if ("error" in trace) {
      console.log(`FAIL inference ${id}: ${trace.error}`);
      failed++;
      continue;
    }
    const check = await checkWithTlc(trace, { tlc, community });
    console.log(
      `${check.outcome === "pass" ? "ok  " : "FAIL"} inference ${id}: ${trace.records.length} ` +
        `records, ${trace.constants.MaxCrashes} restarts, ` +
        (check.outcome === "pass" ? "every one explained" : check.reason) +
        ` (${check.wallSeconds} s)`,
    );
    if (check.outcome !== "pass") failed++;
    if (values.record !== undefined) {
      const name = values.record;
      const ndjson = traceNdjson(trace);
      const verdict: RuntimeVerdict = {
        name,
        inference: id,
        records: trace.records.length,
        constants: trace.constants,
        outcome: check.outcome,
        reason: check.reason,
        diameter: check.diameter,
        tlcVersion: version,
        wallSeconds: check.wallSeconds,
        specSha256: await runtimeSpecHash(),
        traceSha256: textHash(ndjson),
      };
      await Deno.mkdir(RUNTIME_RESULTS_DIR, { recursive: true });
      await Deno.writeTextFile(`${RUNTIME_RESULTS_DIR}/${name}.ndjson`, ndjson);
      await Deno.writeTextFile(`${RUNTIME_RESULTS_DIR}/${name}.log`, check.log);
      await Deno.writeTextFile(
        `${RUNTIME_RESULTS_DIR}/${name}.json`,
        JSON.stringify(verdict, null, 2) + "\n",
      );
      console.log(`recorded in tla/results/runtime/${name}.*`);
    }
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
