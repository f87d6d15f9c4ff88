// The simulate command's failure kinds (a sweep counts failures by them) and its flags: a bad
// flag is a one-line error and exit status 2, a sweep runs every seed and counts the failures.
import assert from "node:assert/strict";
import { failureKind } from "./simulate.ts";

Deno.test("failureKind() names the phase and the invariants, or the liveness failure", () => {
  assert.equal(
    failureKind("safety step 12: Agreement: two values certified; Consistency: 1,2"),
    "safety: Agreement, Consistency",
  );
  assert.equal(
    failureKind("liveness step 640: CheckpointIntegrity: node 2"),
    "liveness: CheckpointIntegrity",
  );
  assert.equal(
    failureKind("liveness: node 3 in view 1 never committed"),
    "liveness: never committed",
  );
});

async function simulateCommand(...args: string[]): Promise<{ code: number; output: string }> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "--frozen", new URL("./simulate.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await command.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

Deno.test("deno task simulate refuses unknown flags and bad values with a one-line error", async () => {
  const bad = [
    ["--bogus"],
    ["--seeds", "0"],
    ["--steps", "abc"],
    ["--nodes", "5"],
    ["--seed", "4294967295", "--seeds", "2"],
  ];
  for (const args of bad) {
    const { code, output } = await simulateCommand(...args);
    assert.equal(code, 2, `${args.join(" ")}: ${output}`);
    assert.match(output, /^simulate: .+\nusage: /, args.join(" "));
  }
});

Deno.test("deno task simulate --sweep runs every seed and reports them", async () => {
  const { code, output } = await simulateCommand(
    "--seed",
    "1",
    "--steps",
    "50",
    "--seeds",
    "20",
    "--sweep",
  );
  assert.equal(code, 0, output);
  assert.match(output, /20 seeds from 1, n = 4, 50 safety steps each: all invariants held/);
});
