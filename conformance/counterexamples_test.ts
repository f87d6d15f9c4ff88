import assert from "node:assert/strict";
import { TLA_DIR } from "../tla/spec_hash.ts";
import { checkCounterexample, checkCounterexamples, modelCluster } from "./counterexamples.ts";

Deno.test("checkCounterexamples(): every committed counterexample fails exactly at its end", async () => {
  const results = await checkCounterexamples();
  assert.ok(results.length >= 7, `only ${results.length} counterexamples`);
  for (const result of results) assert.equal(result.problem, undefined, result.model);
});

async function consistencyCounterexample(): Promise<{ config: string; trace: unknown }> {
  const config = await Deno.readTextFile(`${TLA_DIR}/MCTwoFPlusOneMajority.cfg`);
  const trace = JSON.parse(
    await Deno.readTextFile(`${TLA_DIR}/results/TwoFPlusOneMajority.trace.json`),
  );
  return { config, trace };
}

Deno.test("checkCounterexample() reports an invariant that holds where TLC's failed", async () => {
  const { config, trace } = await consistencyCounterexample();
  const states = (trace as { counterexample: { state: unknown[] } }).counterexample.state;
  const cut = { counterexample: { state: states.slice(0, -1) } };
  const result = checkCounterexample("cut", "Consistency", config, cut);
  assert.match(result.problem ?? "", /^holds at state \d+, where TLC found Consistency violated$/);
});

Deno.test("checkCounterexample() reports an invariant that fails before TLC's state", async () => {
  const { config, trace } = await consistencyCounterexample();
  const states = (trace as { counterexample: { state: unknown[] } }).counterexample.state;
  const early = { counterexample: { state: [states.at(-1), ...states] } };
  const result = checkCounterexample("early", "Consistency", config, early);
  assert.match(result.problem ?? "", /^fails at state 1 of \d+, before TLC's: Consistency/);
});

Deno.test("modelCluster() applies a configuration's quorum override", async () => {
  const config = await Deno.readTextFile(`${TLA_DIR}/MCBugQuorumTooSmall.cfg`);
  assert.equal(modelCluster(config).cluster.quorum, 2);
  const unknown = config.replaceAll("BugQuorumTooSmall", "BugNonsense");
  assert.throws(() => modelCluster(unknown), /unknown quorum override BugNonsense/);
});
