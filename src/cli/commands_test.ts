// Every command of deno.json answers --help with its usage (exit 0) and refuses a flag it does not
// know with one line naming it (exit 2), before it loads a model, runs TLC or touches a file.
import assert from "node:assert/strict";
import { readArgs } from "./args.ts";
import { runTask } from "./_test_task.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** The commands (the tasks that are not the toolchain's own: fmt, lint, check, test, ...). */
const COMMANDS = [
  "conformance",
  "traces",
  "verdicts",
  "mutants",
  "simulate",
  "vectors",
  "guard-coverage",
  "mutation",
  "generate",
  "profile",
  "keygen",
  "node",
  "cluster",
  "demo",
  "tlc",
  "validate-trace",
  "chaos",
];

const task = runTask;

Deno.test("every command answers --help and refuses an unknown flag in one line", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  for (const name of COMMANDS) assert.ok(name in config.tasks, `deno.json has no task ${name}`);
  for (const name of COMMANDS) {
    const help = await task(name, "--help");
    assert.equal(help.code, 0, `${name} --help: ${help.stdout}${help.stderr}`);
    assert.match(help.stdout, /^usage: /, `${name} --help`);
    const bad = await task(name, "--bogus");
    assert.equal(bad.code, 2, `${name} --bogus: ${bad.stdout}${bad.stderr}`);
    const first = bad.stderr.split("\n")[0] as string;
    assert.match(first, /^[\w-]+: .*'--bogus'$/, `${name} --bogus`);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, `${name} --bogus printed a stack trace`);
  }
});

Deno.test("generate and profile check their values before the model loads", async () => {
  const bad: [string, string[], RegExp][] = [
    ["generate", ["--max-tokens", "abc", "hi"], /^generate: --max-tokens needs a whole number/],
    ["generate", ["--temperature", "-1", "hi"], /^generate: .*--temperature/],
    ["generate", ["--top-k", "3", "hi"], /^generate: --top-k needs --temperature/],
    ["generate", ["--boundaries", "1,x", "hi"], /^generate: --boundaries needs a whole number/],
    ["profile", ["--config", "nope"], /^profile: --config must be one of tiny, default/],
    ["profile", ["--config", "tiny", "--context", "40"], /^profile: --context .* 1 to 31/],
  ];
  for (const [name, args, pattern] of bad) {
    const result = await task(name, ...args);
    assert.equal(result.code, 2, `${name} ${args.join(" ")}: ${result.stdout}${result.stderr}`);
    assert.match(result.stderr, pattern, `${name} ${args.join(" ")}`);
    assert.equal(result.stderr.trim().split("\n").length, 2, "one line and the usage");
    assert.doesNotMatch(result.stderr, /\[butterfly\]/, "the model was loaded");
  }
  // The tiny config profiles at its own default context (it failed on 64 before).
  const tiny = await task("profile", "--config", "tiny", "--samples", "1");
  assert.equal(tiny.code, 0, tiny.stderr);
  assert.match(tiny.stdout, /^tiny: 2 layers, hidden 16, decode at context 31/);
});

Deno.test("generate and profile refuse bad values without loading ONNX Runtime", async () => {
  // No --allow-ffi: a static import of ONNX Runtime would fail with NotCapable before the check.
  for (
    const [script, args, pattern] of [
      ["src/runtime/generate.ts", ["--max-tokens", "abc", "hi"], /^generate: --max-tokens/],
      ["src/runtime/profile.ts", ["--context", "0"], /^profile: --context/],
    ] as const
  ) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--frozen", "--no-prompt", script, ...args],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 2, `${script}: ${stderr}`);
    assert.match(stderr, pattern);
    assert.doesNotMatch(stderr, /NotCapable/);
  }
});

// `deno task node` on a cluster file that does not exist, with `env` added: its exit status and
// stderr (the environment is read before the file).
async function nodeWithEnv(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "node", "--cluster", "none.json", "--id", "node-1", "--data", "x"],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("a node refuses an unknown BUTTERFLY_ variable by name, before anything loads", async () => {
  const output = await nodeWithEnv({ BUTTERFLY_HEARTBEAT_MS: "50" });
  const stderr = output.stderr;
  assert.equal(output.code, 2, stderr);
  assert.match(stderr, /^node: BUTTERFLY_HEARTBEAT_MS is not a Butterfly setting/);
  assert.equal(stderr.trim().split("\n").length, 1);
});

Deno.test("a node takes BUTTERFLY_TRACE, the runtime's own variable, as known", async () => {
  const output = await nodeWithEnv({ BUTTERFLY_TRACE: "traces" });
  const stderr = output.stderr;
  assert.equal(output.code, 2, stderr);
  assert.doesNotMatch(stderr, /not a Butterfly setting/);
  assert.match(stderr, /^node: .*none\.json/);
});

Deno.test("validate-trace names the first line that does not check, and exits 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-trace-" });
  try {
    await Deno.writeTextFile(
      `${dir}/node-0.ndjson`,
      `${JSON.stringify({ kind: "step", node: "node-0", inference: 3 })}\n`,
    );
    const result = await task("validate-trace", dir);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /node-0\.ndjson:1: a step of inference 3 before its instance line/);
    await Deno.remove(`${dir}/node-0.ndjson`);
    const empty = await task("validate-trace", dir);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /0 node trace\(s\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every task of deno.json says what it does", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  for (const [name, task] of Object.entries(config.tasks)) {
    const { description, command } = task as { description?: string; command?: string };
    assert.ok(typeof description === "string" && description.length > 8, `${name}: no description`);
    assert.ok(typeof command === "string" && command.length > 0, `${name}: no command`);
  }
});

Deno.test("readArgs() reads values and refuses what the command does not take", () => {
  const command = {
    name: "demo",
    usage: "deno task demo [--nodes N]",
    description: "A demo.",
    options: { nodes: { type: "string" } },
  } as const;
  const read = readArgs(command, ["--nodes", "4"]);
  assert.ok("values" in read && read.values.nodes === "4");
  assert.deepEqual(readArgs(command, ["--nodes"]), { exit: 2 });
  assert.deepEqual(readArgs(command, ["extra"]), { exit: 2 });
  assert.deepEqual(readArgs(command, ["-h"]), { exit: 0 });
});
