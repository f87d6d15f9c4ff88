// `deno task tlc` loses nothing committed when it fails: a jar that is not TLC, TLC that runs to
// no outcome, a bad flag or an unknown model leave `tla/results/` and `tla/README.md` as they
// were; a model TLC runs to an outcome replaces its own result and nothing else's. Each run is
// on a copy of `tla/` in a temporary directory, with a fake `java` on the PATH where TLC is
// needed (CI has no Java).
import assert from "node:assert/strict";
import { parseCommandLine } from "./run_tlc.ts";
import { TLA_DIR } from "./spec_hash.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.name === "states") continue;
    const source = `${from}/${entry.name}`;
    if (entry.isDirectory) await copyDir(source, `${to}/${entry.name}`);
    else if (entry.isFile) await Deno.copyFile(source, `${to}/${entry.name}`);
  }
}

async function snapshot(dir: string, prefix = ""): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      for (const [name, text] of await snapshot(path, `${prefix}${entry.name}/`)) {
        files.set(name, text);
      }
    } else if (entry.isFile) files.set(`${prefix}${entry.name}`, await Deno.readTextFile(path));
  }
  return files;
}

// A fake `java`: it prints a TLC version for `-version`, and for a model run what
// FAKE_TLC_OUTPUT names: a crash (no outcome) or a completed check.
const FAKE_JAVA = `#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = "-version" ]; then echo "TLC2 Version 2.19 of 08 August 2024 (rev: fake)"; exit 0; fi
done
if [ "$FAKE_TLC_OUTPUT" = "pass" ]; then
  echo "Model checking completed. No error has been found."
  echo "12 states generated, 7 distinct states found, 0 states left on queue."
  echo "The depth of the complete state graph search is 4."
  exit 0
fi
echo "Exception in thread main: fake TLC crashed"
exit 1
`;

interface Sandbox {
  readonly dir: string;
  readonly run: (
    args: readonly string[],
    env: Record<string, string>,
  ) => Promise<{ code: number; stdout: string; stderr: string }>;
}

async function withSandbox(f: (sandbox: Sandbox) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-tlc-test-" });
  try {
    await copyDir(TLA_DIR, `${dir}/tla`);
    // What run_tlc.ts imports from outside tla/: the commands' argument reader.
    await copyDir(`${ROOT}/src/cli`, `${dir}/src/cli`);
    await Deno.copyFile(`${ROOT}/deno.json`, `${dir}/deno.json`);
    await Deno.copyFile(`${ROOT}/deno.lock`, `${dir}/deno.lock`);
    await Deno.symlink(`${ROOT}/node_modules`, `${dir}/node_modules`);
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(`${dir}/bin/java`, FAKE_JAVA);
    await Deno.chmod(`${dir}/bin/java`, 0o755);
    const run: Sandbox["run"] = async (args, env) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--frozen",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "--allow-run",
          "tla/run_tlc.ts",
          ...args,
        ],
        cwd: dir,
        env: { NO_COLOR: "1", ...env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
      return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
    };
    await f({ dir, run });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const PATH = Deno.env.get("PATH") ?? "";

Deno.test("deno task tlc with a jar that is not TLC changes nothing", async () => {
  await withSandbox(async ({ dir, run }) => {
    const before = await snapshot(`${dir}/tla`);
    // The real PATH: with Java the jar is not TLC, without it Java is missing; refused either way.
    const result = await run([], { TLA2TOOLS: `${dir}/tla/README.md`, PATH });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr.trim(), /^error: (TLA2TOOLS=.* is not TLC|java is not installed)/);
    assert.equal(result.stderr.trim().split("\n").length, 1);
    assert.deepEqual(await snapshot(`${dir}/tla`), before);
  });
});

Deno.test("deno task tlc keeps every committed result when TLC runs to no outcome", async () => {
  await withSandbox(async ({ dir, run }) => {
    const before = await snapshot(`${dir}/tla`);
    const env = { TLA2TOOLS: `${dir}/tla/README.md`, PATH: `${dir}/bin:${PATH}` };
    const result = await run([], env);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /TLC ran to no outcome; its committed result is kept/);
    assert.match(result.stdout, /fake TLC crashed/);
    assert.deepEqual(await snapshot(`${dir}/tla`), before);
  });
});

Deno.test("deno task tlc replaces only the result of the model it ran to an outcome", async () => {
  await withSandbox(async ({ dir, run }) => {
    const before = await snapshot(`${dir}/tla`);
    const results = JSON.parse(before.get("results/results.json") as string);
    // A model the spec expects to pass, so that a pass is its expected outcome.
    const passing = results.results.find((r: { expected: { outcome: string } }) =>
      r.expected.outcome === "pass"
    ).name as string;
    const env = {
      TLA2TOOLS: `${dir}/tla/README.md`,
      PATH: `${dir}/bin:${PATH}`,
      FAKE_TLC_OUTPUT: "pass",
    };
    const result = await run([passing], env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const after = await snapshot(`${dir}/tla`);
    const changed = [...after.keys()].filter((path) => after.get(path) !== before.get(path));
    assert.deepEqual(
      changed.sort(),
      [`results/${passing}.log`, "README.md", "results/results.json"].sort(),
    );
    const summary = JSON.parse(after.get("results/results.json") as string);
    const mine = summary.results.find((r: { name: string }) => r.name === passing);
    assert.equal(mine.distinctStates, 7);
    // Every other model's result is as committed.
    const others = (list: { name: string }[]) => list.filter((r) => r.name !== passing);
    assert.deepEqual(others(summary.results), others(results.results));
  });
});

Deno.test("deno task tlc refuses a bad flag or an unknown model before it runs anything", async () => {
  const models = [{ name: "Safety" }, { name: "Liveness" }];
  assert.deepEqual(parseCommandLine(["Safety"], models), {
    fromLogs: false,
    help: false,
    names: ["Safety"],
  });
  assert.match((parseCommandLine(["--bogus"], models) as { error: string }).error, /bogus/);
  assert.deepEqual(parseCommandLine(["Nope"], models), {
    error: "no model named Nope in tla/models.json",
  });
  await withSandbox(async ({ dir, run }) => {
    const before = await snapshot(`${dir}/tla`);
    for (const args of [["--bogus"], ["NoSuchModel"]]) {
      const result = await run(args, {
        TLA2TOOLS: `${dir}/tla/README.md`,
        PATH: `${dir}/bin:${PATH}`,
      });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /^tlc: /);
    }
    assert.deepEqual(await snapshot(`${dir}/tla`), before);
  });
});
