// `deno task demo --json` and `deno task generate --json` print one JSON object each: the
// cluster's committed tokens equal the single process's with the same split, also with a node
// killed mid-generation, and the demo leaves no node process or directory behind.
import assert from "node:assert/strict";
import { assignBoundaries, generateCommand, modelLayers } from "./demo.ts";
import { DEFAULT_MODEL_CONFIG } from "../model/config.ts";
import { runTask } from "../cli/_test_task.ts";

const task = runTask;

async function leftovers(): Promise<{ processes: number; dirs: string[] }> {
  const pgrep = await new Deno.Command("pgrep", { args: ["-f", "node_main.ts"], stdout: "piped" })
    .output();
  const processes = new TextDecoder().decode(pgrep.stdout).trim().split("\n").filter((l) => l)
    .length;
  const dirs: string[] = [];
  for await (const entry of Deno.readDir(Deno.env.get("TMPDIR") ?? "/tmp")) {
    if (entry.name.startsWith("butterfly-cluster-")) dirs.push(entry.name);
  }
  return { processes, dirs: dirs.sort() };
}

Deno.test("the work assigner splits the default model's 8 equal blocks evenly", () => {
  assert.equal(modelLayers(DEFAULT_MODEL_CONFIG).length, 8);
  assert.deepEqual(assignBoundaries(DEFAULT_MODEL_CONFIG, 2), [4]);
  assert.deepEqual(assignBoundaries(DEFAULT_MODEL_CONFIG, 4), [2, 4, 6]);
  assert.deepEqual(assignBoundaries(DEFAULT_MODEL_CONFIG, 1), []);
  assert.equal(
    generateCommand([4], 8, "Hi"),
    'deno task generate --boundaries 4 --max-tokens 8 "Hi"',
  );
  assert.equal(
    generateCommand([4], 8, "Hi", { kind: "sample", temperature: 0.8, topK: 5, seed: 7 }),
    'deno task generate --boundaries 4 --temperature 0.8 --top-k 5 --seed 7 --max-tokens 8 "Hi"',
  );
});

// The kill run also samples (seeded), so both decoding rules are compared with generate's.
const SAMPLED = ["--temperature", "0.8", "--seed", "7"];
const RUNS: [string[], string[]][] = [[[], []], [["--kill", "node-3", "--at-token", "3"], SAMPLED]];
for (const [kill, sampling] of RUNS) {
  Deno.test(`deno task demo --json ${[...kill, ...sampling].join(" ")} commits what deno task generate --json prints`, async () => {
    const before = await leftovers();
    const demo = await task("demo", "--json", "--tokens", "24", ...kill, ...sampling, "Hello");
    assert.equal(demo.code, 0, demo.stderr);
    const cluster = JSON.parse(demo.stdout);
    assert.deepEqual(cluster.boundaries, [4]);
    const single = await task(
      "generate",
      "--json",
      "--boundaries",
      cluster.boundaries.join(","),
      "--max-tokens",
      "24",
      ...sampling,
      "Hello",
    );
    assert.equal(single.code, 0, single.stderr);
    const generated = JSON.parse(single.stdout);
    assert.deepEqual(cluster.tokens, generated.tokens);
    assert.equal(cluster.text, generated.text);
    assert.equal(cluster.identicalToGenerate, true);
    if (kill.length > 0) {
      assert.equal(cluster.killed, "node-3");
      assert.equal(cluster.path, "standard");
    }
    assert.deepEqual(await leftovers(), before);
  });
}

Deno.test("deno task demo refuses bad flags in one line, before starting anything", async () => {
  for (
    const [args, pattern] of [
      [["--kill", "node-9"], /^demo: --kill must name one of node-1/],
      [["--at-token", "3"], /^demo: --at-token needs --kill/],
      [["--tokens", "0"], /^demo: --tokens needs a whole number from 1 to 200/],
      [["--model", "huge"], /^demo: --model must be one of default, tiny/],
      [["--tokens", "200", "x".repeat(100)], /exceed the model's 256 positions/],
      [["--temperature", "0.0005"], /^demo: --temperature must be a multiple of 0.001/],
      [["--top-k", "3"], /^demo: --top-k needs --temperature/],
    ] as const
  ) {
    const result = await task("demo", ...args);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, pattern);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  }
});
