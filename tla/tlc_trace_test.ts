// The recorded runs TLC checked with TraceRuntime.tla (tla/results/runtime/): CI has no TLC, so
// it checks that each verdict passed, is for the spec and trace module as they are now, and for
// the merged trace the converter makes now from the nodes' raw trace files kept beside it.
import assert from "node:assert/strict";
import { readTraceFiles, validateTraceDir } from "../src/runtime/trace.ts";
import { runtimeTraceToTla, traceNdjson } from "./runtime_trace.ts";
import {
  RUNTIME_RESULTS_DIR,
  runtimeSpecHash,
  type RuntimeVerdict,
  textHash,
} from "./tlc_trace.ts";

const verdicts: RuntimeVerdict[] = [];
for await (const entry of Deno.readDir(RUNTIME_RESULTS_DIR)) {
  if (!entry.isFile || !entry.name.endsWith(".json")) continue;
  verdicts.push(JSON.parse(await Deno.readTextFile(`${RUNTIME_RESULTS_DIR}/${entry.name}`)));
}

function rawFiles(name: string): Promise<Map<string, string>> {
  return readTraceFiles(`${RUNTIME_RESULTS_DIR}/${name}`);
}

Deno.test("the recorded runs include an honest run, kills, checkpoints and a Byzantine node", () => {
  assert.deepEqual(verdicts.map((v) => v.name).sort(), [
    "byzantine-equivocation",
    "coordinator-kill",
    "honest",
    "kills-with-checkpoints",
    "replica-kill",
  ]);
  const restarts = new Map(verdicts.map((v) => [v.name, v.constants.MaxCrashes]));
  assert.equal(restarts.get("honest"), 0);
  assert.ok((restarts.get("coordinator-kill") ?? 0) >= 1);
  assert.ok((restarts.get("replica-kill") ?? 0) >= 1);
});

for (const verdict of verdicts) {
  Deno.test(`TLC's verdict on the recorded run ${verdict.name} is current and passed`, async () => {
    assert.equal(verdict.outcome, "pass", verdict.reason);
    assert.equal(verdict.diameter, verdict.records + 1, "every record explained");
    assert.equal(
      verdict.specSha256,
      await runtimeSpecHash(),
      "ButterflyCoordination.tla or TraceRuntime.tla changed since TLC checked this run: rerun " +
        `deno task tlc-trace tla/results/runtime/${verdict.name} --inference ` +
        `${verdict.inference} --record ${verdict.name}`,
    );
    const merged = await Deno.readTextFile(`${RUNTIME_RESULTS_DIR}/${verdict.name}.ndjson`);
    assert.equal(textHash(merged), verdict.traceSha256, "the merged trace is the one TLC read");
    const files = await rawFiles(verdict.name);
    const trace = runtimeTraceToTla(files, verdict.inference, verdict.constants.Byzantine);
    assert.ok(!("error" in trace), "error" in trace ? trace.error : "");
    assert.equal(traceNdjson(trace), merged, "the converter still makes the trace TLC checked");
    assert.deepEqual(trace.constants, verdict.constants);
    const byzantine = verdict.constants.Byzantine.map((k) => `node-${k}`);
    const report = await validateTraceDir(`${RUNTIME_RESULTS_DIR}/${verdict.name}`, { byzantine });
    assert.deepEqual(report.problems, []);
  });
}

Deno.test("the run with checkpoints shows TLC checkpoints taken, made stable and restored", async () => {
  const merged = await Deno.readTextFile(`${RUNTIME_RESULTS_DIR}/kills-with-checkpoints.ndjson`);
  const actions = new Set(merged.trim().split("\n").map((line) => JSON.parse(line).action));
  for (const action of ["TakeCheckpoint", "HandleCheckpoint", "RestoreCheckpoint", "Crash"]) {
    assert.ok(actions.has(action), action);
  }
});

Deno.test("the Byzantine run shows TLC its lies and the honest nodes' exclusion of it", async () => {
  const merged = await Deno.readTextFile(`${RUNTIME_RESULTS_DIR}/byzantine-equivocation.ndjson`);
  const records = merged.trim().split("\n").map((line) => JSON.parse(line));
  const lies = records.filter((r) => r.action === "ByzantineSend");
  assert.ok(lies.length > 0 && lies.every((r) => r.node === 2));
  const exclusions = records.filter((r) => r.action === "ExcludeNode");
  assert.deepEqual(exclusions.map((r) => r.node).sort(), [1, 3, 4]);
});

Deno.test("the converter refuses a trace where a node receives what nobody signed", async () => {
  const files = await rawFiles("honest");
  // Drop node-1's file: the Assign it signed is received by everyone, signed by no one traced.
  files.delete("node-1.ndjson");
  const trace = runtimeTraceToTla(files, 7001);
  assert.ok("error" in trace);
  assert.match(trace.error, /^no order explains the trace: node \d received .*"Assign"/);
});

Deno.test("the converter refuses an inference too long for the spec's value digits", async () => {
  const files = await rawFiles("honest");
  const longer = new Map(
    [...files].map(([name, text]) => [name, text.replaceAll('"tokenCount":9', '"tokenCount":12')]),
  );
  const trace = runtimeTraceToTla(longer, 7001);
  assert.ok("error" in trace);
  assert.match(trace.error, /ASSUME T < 10/);
});

Deno.test("the converter maps an honest output to Out(1, t, s) and another value to garbage", async () => {
  const files = await rawFiles("honest");
  const trace = runtimeTraceToTla(files, 7001);
  assert.ok(!("error" in trace));
  const outputs = trace.records.flatMap((r) => r.sent ?? [])
    .filter((m) => (m as { type: string }).type === "StageOutput") as {
      token: number;
      stage: number;
      value: number;
    }[];
  assert.ok(outputs.length > 0);
  for (const m of outputs) assert.equal(m.value, 100 + 10 * m.token + m.stage);
  // node 2 as Byzantine: its outputs no longer define the correct ones, yet the others agree.
  const withByzantine = runtimeTraceToTla(files, 7001, [2]);
  assert.ok(!("error" in withByzantine));
  assert.ok(withByzantine.records.every((r) => r.node !== 2 || r.action === "ByzantineSend"));
});
