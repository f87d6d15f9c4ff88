// The probes are the same on every run and decode; a verdict file of another spec or other
// probes is refused; a TypeScript verdict that differs from TLC's is reported by name.
import assert from "node:assert/strict";
import { decodeState } from "./counterexamples.ts";
import {
  checkFile,
  probedFile,
  probesText,
  textHash,
  typeScriptVerdict,
  typeScriptViewChange,
  VERDICT_FORMAT,
  type VerdictFile,
} from "./invariant_verdicts.ts";
import { probeConfig } from "./generate_verdicts.ts";
import { TRACES_DIR } from "./trace_file.ts";

const path = `${TRACES_DIR}/TwoFPlusOne.ndjson.gz`;

function ownVerdicts(file: Awaited<ReturnType<typeof probedFile>>): VerdictFile {
  return {
    format: VERDICT_FORMAT,
    config: file.config,
    tlcVersion: "test",
    specSha256: "spec",
    probesSha256: textHash(probesText(file.probes)),
    violated: file.probes.map((probe) =>
      typeScriptVerdict(probe, file.cluster, file.environment.byzantine)
    ),
    allowedSeeds: file.probes.map((probe) =>
      typeScriptViewChange(probe, file.cluster).allowedSeeds
    ),
    validQuorum: file.probes.map((probe) => typeScriptViewChange(probe, file.cluster).validQuorum),
  };
}

Deno.test("probedFile() draws the same type-correct probes every time", async () => {
  const [first, second] = [await probedFile(path), await probedFile(path)];
  assert.ok(first.probes.length >= 100);
  assert.equal(probesText(first.probes), probesText(second.probes));
  for (const probe of first.probes) {
    const { nodes } = decodeState(probe.state, first.cluster.nodeCount);
    assert.equal(nodes.length, first.cluster.nodeCount);
    assert.equal(probe.after.length, first.cluster.nodeCount);
  }
  // The perturbations break properties: some probes are judged false by TypeScript.
  const verdicts = ownVerdicts(first).violated;
  assert.ok(verdicts.some((v) => v.length > 0) && verdicts.some((v) => v.length === 0));
});

Deno.test("checkFile() refuses missing and stale verdicts and names a disagreement", async () => {
  const file = await probedFile(path);
  const own = ownVerdicts(file);
  assert.deepEqual(checkFile(file, own, "spec").problems, []);
  assert.match(checkFile(file, undefined, "spec").problems[0] as string, /no verdicts/);
  assert.match(checkFile(file, own, "other").problems[0] as string, /another spec/);
  const otherProbes = { ...own, probesSha256: "0" };
  assert.match(checkFile(file, otherProbes, "spec").problems[0] as string, /other probes/);
  const index = own.violated.findIndex((v) => v.length === 0);
  const flipped = own.violated.map((v, k) => k === index ? ["Agreement" as const] : v);
  const problems = checkFile(file, { ...own, violated: flipped }, "spec").problems;
  assert.deepEqual(problems, [
    `TwoFPlusOne probe ${index + 1}: TLC finds Agreement false, TypeScript true`,
  ]);
});

Deno.test("probeConfig() copies the spec's constants and names the probe files", async () => {
  const file = await probedFile(path);
  const text = probeConfig(file.configText, "/tmp/p.ndjson", "/tmp/v.ndjson");
  assert.match(text, /^INIT ProbeInit$/m);
  assert.match(text, /^ {4}N = 3$/m);
  assert.match(text, /^ {4}Seeds = \{1, 2\}$/m);
  assert.match(text, /^ {4}ProbeFile = "\/tmp\/p.ndjson"$/m);
  assert.doesNotMatch(text, /TraceDepth/);
  assert.throws(() => probeConfig("CONSTANTS\n  N = 3\n", "a", "b"), /sets no F/);
});
