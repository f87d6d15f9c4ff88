/**
 * Runs TLC on every model-checking configuration in `tla/models.json`, compares each outcome
 * with the one expected (pass, or a named violation for mutants and for n = 2f + 1), and
 * writes `tla/results/results.json` plus, for each violation, TLC's counterexample as JSON.
 *
 * Usage: `TLA2TOOLS=/path/to/tla2tools.jar deno task tlc [model names...]`, or
 * `deno task tlc --from-logs` to rebuild `results.json` from the saved TLC logs.
 *
 * TLC is not on any registry this project can use: get tla2tools.jar from the TLA+ project's
 * releases (https://github.com/tlaplus/tlaplus/releases), see `tla/README.md`.
 *
 * @module
 */

import { modelHash, specHash, TLA_DIR } from "./spec_hash.ts";

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

async function runModel(jar: string, model: Model, resultsDir: string): Promise<RunResult> {
  const tracePath = `${resultsDir}/${model.name}.trace.json`;
  await Deno.remove(tracePath).catch(() => {});
  const metaDir = await Deno.makeTempDir({ prefix: "tlc-meta-" });
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
    "MC.tla",
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
  await Deno.remove(metaDir, { recursive: true }).catch(() => {});
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  await Deno.writeTextFile(`${resultsDir}/${model.name}.log`, text);
  const result = await parseRun(model, text, wallSeconds);
  if (result.outcome === "pass") await Deno.remove(tracePath).catch(() => {});
  return result;
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
    "what it depends on (the spec, `MC.tla`, its configuration and its entry in `models.json`)",
    "in `results/results.json`, and `deno task conformance` fails on a stale one.",
    "",
    "| model | configuration | mode | outcome | states | diameter | counterexample | seconds |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...results.map((r) => markdownRow(r, byName.get(r.name))),
    end,
  ].join("\n");
  await Deno.writeTextFile(path, readme.slice(0, start) + table + readme.slice(stop + end.length));
  // Keep the generated table in the repository's format, so `deno fmt --check` stays clean.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
}

async function tlcVersion(jar: string): Promise<string> {
  const output = await new Deno.Command("java", {
    args: ["-cp", jar, "tlc2.TLC", "-version"],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  return text.match(/TLC2 Version [^\n]*/)?.[0] ?? "unknown";
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
  await Deno.writeTextFile(
    summaryPath,
    JSON.stringify({ tlcVersion: version, results: ordered }, null, 2) + "\n",
  );
  await writeReadmeTable(version, ordered, models);
}

async function main(): Promise<number> {
  const resultsDir = `${TLA_DIR}/results`;
  if (Deno.args.includes("--from-logs")) {
    const models: Model[] = JSON.parse(await Deno.readTextFile(`${TLA_DIR}/models.json`));
    return await reparseLogs(models, resultsDir);
  }
  const jar = Deno.env.get("TLA2TOOLS");
  if (jar === undefined || !(await Deno.stat(jar).then((s) => s.isFile, () => false))) {
    console.error(
      "TLA2TOOLS must point at tla2tools.jar. TLC is not on npm: download tla2tools.jar from " +
        "https://github.com/tlaplus/tlaplus/releases (Java 11+), then run\n" +
        "  TLA2TOOLS=/path/to/tla2tools.jar deno task tlc",
    );
    return 2;
  }
  const models: Model[] = JSON.parse(await Deno.readTextFile(`${TLA_DIR}/models.json`));
  const wanted = new Set(Deno.args);
  const selected = models.filter((m) => wanted.size === 0 || wanted.has(m.name));
  await Deno.mkdir(resultsDir, { recursive: true });
  const version = await tlcVersion(jar);
  console.log(`${version}; spec sha256 ${await specHash()}`);
  const results: RunResult[] = [];
  for (const model of selected) {
    const result = await runModel(jar, model, resultsDir);
    console.log(describe(result));
    results.push(result);
    // Written after every model, so an interrupted run keeps what it finished.
    await writeSummary(version, models, results, resultsDir);
  }
  const failed = results.filter((r) => !r.asExpected);
  console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
  return failed.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
