// Every example of the seed's README, as examples/ writes it, runs under `deno run` with no
// permission at all (the coordinator, which runs a node with its model and data directory, with
// the permissions those need) and prints what the seed's example prints.
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

const EXPECTED: Record<string, RegExp[]> = {
  "basic_setup.ts": [
    /^DistributedCoordinator\("node-0", 5, 2\) is refused: .*n >= 3f \+ 1 = 7/m,
    /^Handled Heartbeat from node-1$/m,
    /^node-1 is alive$/m,
    /^The same frame again: replayed$/m,
    /^A stranger's frame: unknown_sender$/m,
  ],
  "work_assignment.ts": [
    /^Execution order: node-\d, node-\d, node-\d$/m,
    /^stage 0 on node-\d: layers 0, 1, 2, 3$/m,
    /^stage 2 on node-\d: layers 8, 9, 10, 11$/m,
  ],
  "byzantine_agreement.ts": [
    /^ByzantineAgreement\(5, 2\) is refused: .*n >= 3f \+ 1 = 7/m,
    /^Result committed: [0-9a-f]{64}$/m,
  ],
  "failure_detection.ts": [
    /^After 20 heartbeats: phi = \d+\.\d\d$/m,
    /^node-9: phi undefined, health unknown$/m,
    /^Node 0 suspected of failure \(phi = \d+\.\d\d\)$/m,
  ],
  "checkpoint_management.ts": [
    /^Latest checkpoint at epoch 0, checksum [0-9a-f]{64}$/m,
    /^Checkpoint at position: 0$/m,
  ],
};

Deno.test("every example in examples/ has its expected output here", async () => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${ROOT}examples`)) {
    if (entry.isFile && entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
      files.push(entry.name);
    }
  }
  assert.deepEqual(files.sort(), Object.keys(EXPECTED).sort());
});

// What an example needs beyond none.
const PERMISSIONS: Record<string, string[]> = {
  "basic_setup.ts": ["--allow-read", "--allow-write", "--allow-env", "--allow-ffi", "--allow-sys"],
};

for (const [file, patterns] of Object.entries(EXPECTED)) {
  const permissions = PERMISSIONS[file] ?? [];
  const needs = permissions.length === 0 ? "without permissions" : permissions.join(" ");
  Deno.test(`examples/${file} runs ${needs} and prints the seed's output`, async () => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--frozen", "--no-prompt", ...permissions, `examples/${file}`],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    for (const pattern of patterns) assert.match(stdout, pattern);
  });
}
