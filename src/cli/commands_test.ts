// Every command of deno.json answers --help with its usage (exit 0) and refuses a flag it does not
// know with one line naming it (exit 2), before it loads a model, runs TLC or touches a file.
import assert from "node:assert/strict";
import { readArgs } from "./args.ts";

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
  "tlc",
];

async function task(name: string, ...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

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
