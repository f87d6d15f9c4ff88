// The package's entry points, as a user meets them: "." holds the seed's names and needs no
// permission; "./core", "./wire" and "./sim" load no native code either, checked by running them
// under plain `deno run` (no --allow-ffi, no prompt); "./model" and "./runtime" do reach ONNX
// Runtime, which shows the check can fail.
import assert from "node:assert/strict";
import { join } from "node:path";
import * as root from "./mod.ts";
import * as core from "./src/core/mod.ts";
import * as wire from "./src/wire/mod.ts";
import * as model from "./src/model/mod.ts";
import * as sim from "./src/sim/mod.ts";
import * as runtime from "./src/runtime/mod.ts";

const ROOT = new URL(".", import.meta.url).pathname;
const CONFIG = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));

/** The curated root: the seed's components, their option, result and error types. */
const ROOT_VALUES = [
  "AssignmentError",
  "BarrierCoordinator",
  "ButterflyClient",
  "ClusterFileError",
  "InferenceRefusedError",
  "InferenceTimeoutError",
  "KeyFileError",
  "loadClusterFile",
  "parseClusterFile",
  "readKeyFile",
  "ByzantineAgreement",
  "CONFIG_VARIABLES",
  "Checkpoint",
  "CheckpointError",
  "CheckpointFormatError",
  "CheckpointManager",
  "ClusterSizeError",
  "ConfigError",
  "DEFAULT_CONFIG",
  "InferenceResult",
  "PhiAccrualFailureDetector",
  "Proof",
  "UnknownNodeError",
  "WireError",
  "WorkAssigner",
  "decodeCheckpoint",
  "encodeCheckpoint",
  "loadConfigFromEnv",
  "minimumNodeCount",
  "parseConfig",
  "phiOfSilence",
  "quorumSize",
  "validateClusterSize",
];

/** Runs `source` as a module with no permission at all; returns its exit code and output. */
async function runUnprivileged(source: string): Promise<{ code: number; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-entry-" });
  try {
    const script = join(dir, "main.ts");
    await Deno.writeTextFile(script, source);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--frozen", "--no-prompt", "--config", `${ROOT}deno.json`, script],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const decoder = new TextDecoder();
    return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deno.json exports the root and one subpath per room, each with a module file", () => {
  assert.deepEqual(CONFIG.exports, {
    ".": "./mod.ts",
    "./core": "./src/core/mod.ts",
    "./wire": "./src/wire/mod.ts",
    "./model": "./src/model/mod.ts",
    "./sim": "./src/sim/mod.ts",
    "./runtime": "./src/runtime/mod.ts",
  });
  const linted = CONFIG.tasks["doc-lint"].command as string;
  for (const file of Object.values(CONFIG.exports) as string[]) {
    assert.ok(linted.includes(file.replace(/^\.\//, "")), `doc-lint misses ${file}`);
  }
});

const ENTRIES: Record<string, Record<string, unknown>> = {
  "./mod.ts": root,
  "./src/core/mod.ts": core,
  "./src/wire/mod.ts": wire,
  "./src/model/mod.ts": model,
  "./src/sim/mod.ts": sim,
  "./src/runtime/mod.ts": runtime,
};

Deno.test("the root exports the curated names, and no test hook or internal constant", () => {
  assert.deepEqual(Object.keys(root).sort(), [...ROOT_VALUES].sort());
});

Deno.test("no entry point exports a private name", () => {
  for (const file of Object.values(CONFIG.exports) as string[]) {
    const entry = ENTRIES[file];
    assert.ok(entry !== undefined, `${file} is not imported here`);
    const names = Object.keys(entry);
    assert.ok(names.length > 0, file);
    for (const name of names) assert.ok(!name.startsWith("_"), `${file} exports ${name}`);
  }
});

for (
  const [subpath, name] of [
    ["", "ByzantineAgreement"],
    ["/core", "step"],
    ["/wire", "encodeFrame"],
    ["/sim", "simulate"],
  ]
) {
  Deno.test(`@butterfly/bcp${subpath} imports under plain deno run, without ONNX Runtime`, async () => {
    const { code, output } = await runUnprivileged(
      `import * as entry from "@butterfly/bcp${subpath}";\n` +
        `console.log(typeof entry.${name});\n`,
    );
    assert.equal(code, 0, output);
    assert.equal(output.trim(), "function");
  });
}

for (const subpath of ["/model", "/runtime"]) {
  Deno.test(`@butterfly/bcp${subpath} loads ONNX Runtime, so plain deno run refuses it`, async () => {
    const { code, output } = await runUnprivileged(`import "@butterfly/bcp${subpath}";\n`);
    assert.notEqual(code, 0);
    assert.match(output, /NotCapable: Requires ffi access/);
  });
}

Deno.test("a plain-JavaScript caller's wrong type is a TypeError at the call, naming it", () => {
  // What JavaScript (or JSON) can pass where TypeScript would not let it.
  const wrong = (value: unknown) => value as never;
  const cases: [() => unknown, RegExp][] = [
    [() => new root.ByzantineAgreement(wrong("7"), 2), /^members must be an array/],
    [() => new root.ByzantineAgreement(7, wrong("2")), /^faultsMax must be a number/],
    [() => new root.CheckpointManager(wrong("10")), /^checkpointsMax must be a number/],
    [() => new root.Checkpoint(wrong("0"), 0, new Map()), /^epoch must be a number/],
    [() => new root.PhiAccrualFailureDetector(wrong("100"), 8, 12), /^baseIntervalMs must be/],
    [() => new root.PhiAccrualFailureDetector(100, 8, 12, { clock: wrong(5) }), /^clock must be/],
    [() => new root.InferenceResult(wrong("0"), new Uint8Array()), /^inferenceId must be a number/],
    [() => new root.InferenceResult(0, wrong([1, 2])), /^output must be a Uint8Array/],
    [() => new root.WorkAssigner(wrong("hybrid")), /^options must be an object/],
    [() => new root.WorkAssigner().assign(wrong("x"), ["a"]), /^layers must be an array/],
    [() => new root.BarrierCoordinator(wrong("a")), /^participants must be an array/],
    [() => root.parseConfig(wrong("x")), /^env must be an object/],
    [() => root.validateClusterSize(wrong("4"), 1), /^nodeCount must be a number/],
  ];
  for (const [call, message] of cases) assert.throws(call, { name: "TypeError", message });
});
