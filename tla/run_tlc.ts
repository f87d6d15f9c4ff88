/**
 * Runs TLC on every model-checking configuration in `tla/models.json`, compares each outcome
 * with the one expected (pass, or a named violation for mutants and for n = 2f + 1), and
 * writes `tla/results/results.json` plus, for each violation, TLC's counterexample as JSON.
 *
 * Usage: `TLA2TOOLS=/path/to/tla2tools.jar deno task tlc [model names...]`, or
 * `deno task tlc --from-logs` to rebuild `results.json` from the saved TLC logs.
 *
 * Nothing committed is lost by a failed run: before it touches anything it checks that the jar
 * is TLC (it must print its version) and that every model named exists; each model runs in a
 * temporary directory, and only a model that TLC ran to an outcome (no error, or the violation
 * it found) replaces its committed log, counterexample and result. A model TLC could not run
 * (a crash, a parse error, an interrupted run) keeps what was committed, and `results.json` and
 * `tla/README.md` are rewritten (each through a temporary file and a rename) only with results
 * that ran to an outcome.
 *
 * TLC is not on any registry this project can use: get tla2tools.jar from the TLA+ project's
 * releases (https://github.com/tlaplus/tlaplus/releases), see `tla/README.md`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseErrorLine } from "../src/cli/args.ts";
import { MC_MODULE_FILE, modelHash, specHash, TLA_DIR } from "./spec_hash.ts";

/** What a model run is expected to show. */
interface Expectation {
  /** `pass`: no error; `invariant`: the named invariant fails; `liveness`: a temporal property fails. */
  readonly outcome: "pass" | "invariant" | "liveness";
  /** For `invariant`: the invariant TLC must report (TLC stops at the first it finds). */
  readonly invariant?: string | undefined;
}

/** One configuration to check, as listed in `tla/models.json`. */
interface Model {
  readonly name: string;
  readonly config: string;
  /** The module to check, `MC.tla` when absent (see `ModelSettings.module`). */
  readonly module?: string;
  readonly mode: "bfs" | "simulate";
  /** Extra TLC arguments, for example `["-depth", "60"]` in simulation mode. */
  readonly args?: readonly string[];
  readonly expect: Expectation;
  readonly description: string;
}

/** What one run of TLC produced. */
interface RunResult {
  readonly name: string;
  readonly config: string;
  readonly mode: string;
  readonly outcome: "pass" | "invariant" | "liveness" | "error";
  readonly invariant?: string | undefined;
  readonly expected: Expectation;
  readonly asExpected: boolean;
  readonly statesGenerated?: number | undefined;
  readonly distinctStates?: number | undefined;
  readonly diameter?: number | undefined;
  readonly behaviours?: number | undefined;
  readonly counterexampleLength?: number | undefined;
  readonly wallSeconds: number;
  /** SHA-256 of what this model's run depends on (`modelHash`). */
  readonly specSha256: string;
}

function lastCount(text: string, pattern: RegExp): number | undefined {
  const all = [...text.matchAll(pattern)];
  const last = all.at(-1)?.[1];
  return last === undefined ? undefined : Number(last.replaceAll(",", ""));
}

function classify(output: string): { outcome: RunResult["outcome"]; invariant?: string } {
  const invariant = output.match(/Error: Invariant (\w+) is violated/);
  if (invariant?.[1] !== undefined) return { outcome: "invariant", invariant: invariant[1] };
  const action = output.match(/Error: Action property (\w+) is violated/);
  if (action?.[1] !== undefined) return { outcome: "invariant", invariant: action[1] };
  if (/Error: Temporal propert(y \w+ was|ies were) violated/.test(output)) {
    return { outcome: "liveness" };
  }
  if (/Model checking completed\. No error has been found/.test(output)) return { outcome: "pass" };
  if (/The number of states generated/.test(output) && !/Error:/.test(output)) {
    return { outcome: "pass" };
  }
  return { outcome: "error" };
}

function matches(result: { outcome: string; invariant?: string }, expected: Expectation): boolean {
  if (result.outcome !== expected.outcome) return false;
  return expected.invariant === undefined || expected.invariant === result.invariant;
}

/** Reads a run's figures from TLC's output; the last progress report holds the totals. */
async function parseRun(model: Model, text: string, wallSeconds: number): Promise<RunResult> {
  const verdict = classify(text);
  const stateNumbers = [...text.matchAll(/^State (\d+):/gm)].map((m) => Number(m[1]));
  return {
    name: model.name,
    config: model.config,
    mode: model.mode,
    ...verdict,
    expected: model.expect,
    asExpected: matches(verdict, model.expect),
    statesGenerated: lastCount(text, /([\d,]+) states generated/g),
    distinctStates: lastCount(text, /([\d,]+) distinct states found/g),
    diameter: lastCount(text, /The depth of the complete state graph search is (\d+)/g),
    behaviours: lastCount(text, /([\d,]+) traces generated/g),
    counterexampleLength: stateNumbers.length > 0 ? Math.max(...stateNumbers) : undefined,
    wallSeconds,
    specSha256: await modelHash(model),
  };
}

/**
 * Rebuilds `results.json` from the logs TLC wrote in an earlier run of this spec, keeping each
 * run's recorded wall time: for when the parser improves, without rerunning TLC.
 */
async function reparseLogs(models: readonly Model[], resultsDir: string): Promise<number> {
  const summary: { tlcVersion: string; results: RunResult[] } = JSON.parse(
    await Deno.readTextFile(`${resultsDir}/results.json`),
  );
  const byName = new Map(models.map((m) => [m.name, m]));
  const results: RunResult[] = [];
  for (const old of summary.results) {
    const model = byName.get(old.name);
    if (model === undefined) continue;
    if (old.specSha256 !== await modelHash(model)) {
      console.error(`${old.name}: its log belongs to another spec; rerun TLC for it instead`);
      continue;
    }
    const text = await Deno.readTextFile(`${resultsDir}/${old.name}.log`);
    const result = await parseRun(model, text, old.wallSeconds);
    console.log(describe(result));
    results.push(result);
  }
  await writeSummary(summary.tlcVersion, models, results, resultsDir);
  return results.every((r) => r.asExpected) ? 0 : 1;
}

// Runs one model in a temporary directory; only an outcome (not an error) replaces the committed
// log and counterexample. Returns the result, and the last line TLC printed when it ran to none.
async function runModel(
  jar: string,
  model: Model,
  resultsDir: string,
): Promise<{ readonly result: RunResult; readonly lastLine: string }> {
  const scratch = await Deno.makeTempDir({ prefix: "tlc-run-" });
  try {
    return await runModelIn(jar, model, resultsDir, scratch);
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

async function runModelIn(
  jar: string,
  model: Model,
  resultsDir: string,
  scratch: string,
): Promise<{ readonly result: RunResult; readonly lastLine: string }> {
  const tracePath = `${scratch}/${model.name}.trace.json`;
  const metaDir = `${scratch}/meta`;
  const args = [
    "-XX:+UseParallelGC",
    "-cp",
    jar,
    "tlc2.TLC",
    "-workers",
    "auto",
    "-noGenerateSpecTE",
    "-metadir",
    metaDir,
    "-dumpTrace",
    "json",
    tracePath,
    "-config",
    model.config,
    ...(model.mode === "simulate" ? ["-simulate"] : []),
    ...(model.args ?? []),
    model.module ?? MC_MODULE_FILE,
  ];
  const started = performance.now();
  const output = await new Deno.Command("java", {
    args,
    cwd: TLA_DIR,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const wallSeconds = Math.round((performance.now() - started) / 100) / 10;
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  const result = await parseRun(model, text, wallSeconds);
  const lastLine = text.trim().split("\n").at(-1) ?? "";
  if (result.outcome === "error") return { result, lastLine };
  // An outcome: its log and counterexample (none when it passed) replace the committed ones.
  await writeAtomically(`${resultsDir}/${model.name}.log`, text);
  const committedTrace = `${resultsDir}/${model.name}.trace.json`;
  if (result.outcome === "pass") await Deno.remove(committedTrace).catch(() => {});
  else {
    const trace = await Deno.readTextFile(tracePath).catch(() => undefined);
    if (trace !== undefined) await writeAtomically(committedTrace, trace);
  }
  return { result, lastLine };
}

// Writes a file through a temporary file beside it and a rename: a reader sees the old file or
// the new one, never half of one.
async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(temporary, text);
  await Deno.rename(temporary, path);
}

function describe(result: RunResult): string {
  const what = result.outcome === "invariant"
    ? `violates ${result.invariant} (counterexample: ${result.counterexampleLength} states)`
    : result.outcome === "liveness"
    ? `liveness violated (counterexample: ${result.counterexampleLength} states)`
    : result.outcome;
  const size = result.distinctStates === undefined
    ? ""
    : ` distinct=${result.distinctStates} diameter=${result.diameter ?? "-"}`;
  return `${result.asExpected ? "ok  " : "FAIL"} ${
    result.name.padEnd(28)
  } ${what}${size} ${result.wallSeconds}s`;
}

function markdownRow(result: RunResult, model: Model | undefined): string {
  const outcome = result.outcome === "invariant"
    ? `violates \`${result.invariant}\``
    : result.outcome === "liveness"
    ? "liveness violated"
    : result.outcome;
  const cells = [
    `\`${result.name}\``,
    model?.description ?? "",
    result.mode === "simulate" ? `simulation (${(model?.args ?? []).join(" ")})` : "exhaustive",
    `${outcome}${result.asExpected ? "" : " (UNEXPECTED)"}`,
    result.mode === "simulate"
      ? `${result.behaviours?.toLocaleString("en-US") ?? "?"} behaviours`
      : result.distinctStates?.toLocaleString("en-US") ?? "",
    result.diameter?.toString() ?? "",
    result.counterexampleLength?.toString() ?? "",
    `${result.wallSeconds}`,
  ];
  return `| ${cells.join(" | ")} |`;
}

/** Rewrites the results table between the markers in `tla/README.md`, so it cannot drift. */
async function writeReadmeTable(
  version: string,
  results: readonly RunResult[],
  models: readonly Model[],
): Promise<void> {
  const path = `${TLA_DIR}/README.md`;
  const readme = await Deno.readTextFile(path);
  const begin = "<!-- results:begin -->";
  const end = "<!-- results:end -->";
  const start = readme.indexOf(begin);
  const stop = readme.indexOf(end);
  if (start < 0 || stop < start) return;
  const byName = new Map(models.map((m) => [m.name, m]));
  const table = [
    begin,
    "## Results",
    "",
    `${version}, on 2 cores (\`-workers auto\`). Generated by \`deno task tlc\`; states are`,
    "distinct states, the diameter is the depth of the complete search, the counterexample",
    "length counts states, and times are wall-clock seconds. Each result records the SHA-256 of",
    "what it depends on (the spec, `MC.tla`, its own module if any, its configuration and its",
    "entry in `models.json`)",
    "in `results/results.json`, and `deno task conformance` fails on a stale one.",
    "",
    "| model | configuration | mode | outcome | states | diameter | counterexample | seconds |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...results.map((r) => markdownRow(r, byName.get(r.name))),
    end,
  ].join("\n");
  // Formatted in a temporary copy (so `deno fmt --check` stays clean), then renamed over it.
  const temporary = `${TLA_DIR}/.README.${Deno.pid}.md`;
  await Deno.writeTextFile(
    temporary,
    readme.slice(0, start) + table + readme.slice(stop + end.length),
  );
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", temporary] }).output();
  await Deno.rename(temporary, path);
}

/**
 * TLC's version line, or why the jar is not TLC.
 *
 * @param jar The path of tla2tools.jar.
 * @returns The version, or the error.
 */
export async function tlcVersion(jar: string): Promise<{ version: string } | { error: string }> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("java", {
      args: ["-cp", jar, "tlc2.TLC", "-version"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { error: "java is not installed (TLC needs Java 11 or later on the PATH)" };
    }
    throw error;
  }
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  const version = text.match(/TLC2 Version [^\n]*/)?.[0];
  if (version === undefined) {
    return {
      error: `TLA2TOOLS=${jar} is not TLC: \`java -cp ${jar} tlc2.TLC -version\` printed no ` +
        "TLC2 version; nothing was changed",
    };
  }
  return { version: version.trim() };
}

async function writeSummary(
  version: string,
  models: readonly Model[],
  results: readonly RunResult[],
  resultsDir: string,
): Promise<void> {
  const summaryPath = `${resultsDir}/results.json`;
  const previous: { results?: RunResult[] } = await Deno.readTextFile(summaryPath).then(
    (t) => JSON.parse(t),
    () => ({}),
  );
  // A model's earlier result is kept only while the files it depends on are unchanged.
  const merged = new Map<string, RunResult>();
  for (const model of models) {
    const old = previous.results?.find((r) => r.name === model.name);
    if (old !== undefined && old.specSha256 === await modelHash(model)) merged.set(model.name, old);
  }
  for (const r of results) merged.set(r.name, r);
  const ordered = models.map((m) => merged.get(m.name)).filter((r) => r !== undefined);
  await writeAtomically(
    summaryPath,
    JSON.stringify({ tlcVersion: version, results: ordered }, null, 2) + "\n",
  );
  await writeReadmeTable(version, ordered, models);
}

const USAGE =
  "usage: TLA2TOOLS=/path/to/tla2tools.jar deno task tlc [--from-logs] [model names...]";

/**
 * Reads the command line: `--from-logs`, `--help`, and model names (each must be in `models`).
 *
 * @param args The arguments.
 * @param models The models of `tla/models.json`.
 * @returns What to do, or the one-line error for a bad flag or an unknown model.
 */
export function parseCommandLine(
  args: readonly string[],
  models: readonly { readonly name: string }[],
): { fromLogs: boolean; help: boolean; names: string[] } | { error: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: { "from-logs": { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    return { error: parseErrorLine(error as Error) };
  }
  const unknown = parsed.positionals.filter((name) => !models.some((m) => m.name === name));
  if (unknown.length > 0) {
    return { error: `no model named ${unknown.join(", ")} in tla/models.json` };
  }
  return {
    fromLogs: parsed.values["from-logs"] === true,
    help: parsed.values.help === true,
    names: parsed.positionals,
  };
}

async function main(): Promise<number> {
  const resultsDir = `${TLA_DIR}/results`;
  const models: Model[] = JSON.parse(await Deno.readTextFile(`${TLA_DIR}/models.json`));
  const command = parseCommandLine(Deno.args, models);
  if ("error" in command) {
    console.error(`tlc: ${command.error}\n${USAGE}`);
    return 2;
  }
  if (command.help) {
    console.log(`${USAGE}\n\nRuns TLC on the models of tla/models.json (all without names).`);
    return 0;
  }
  if (command.fromLogs) return await reparseLogs(models, resultsDir);
  const jar = Deno.env.get("TLA2TOOLS");
  if (jar === undefined || !(await Deno.stat(jar).then((s) => s.isFile, () => false))) {
    console.error(
      "TLA2TOOLS must point at tla2tools.jar. TLC is not on npm: download tla2tools.jar from " +
        "https://github.com/tlaplus/tlaplus/releases (Java 11+), then run\n" +
        "  TLA2TOOLS=/path/to/tla2tools.jar deno task tlc",
    );
    return 2;
  }
  const tlc = await tlcVersion(jar);
  if ("error" in tlc) {
    console.error(`error: ${tlc.error}`);
    return 2;
  }
  const selected = models.filter((m) =>
    command.names.length === 0 || command.names.includes(m.name)
  );
  await Deno.mkdir(resultsDir, { recursive: true });
  console.log(`${tlc.version}; spec sha256 ${await specHash()}`);
  const results: RunResult[] = [];
  let errors = 0;
  for (const model of selected) {
    const { result, lastLine } = await runModel(jar, model, resultsDir);
    if (result.outcome === "error") {
      errors += 1;
      console.log(
        `FAIL ${model.name.padEnd(28)} TLC ran to no outcome; its committed result is kept ` +
          `(TLC's last line: ${lastLine})`,
      );
      continue;
    }
    console.log(describe(result));
    results.push(result);
    // Written after every model, so an interrupted run keeps what it finished.
    await writeSummary(tlc.version, models, results, resultsDir);
  }
  const failed = results.filter((r) => !r.asExpected).length + errors;
  console.log(`${selected.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
