// Each test builds a replica and the stage outputs it received, runs one action, and checks that
// the guard refuses or allows as the spec's action does.
import assert from "node:assert/strict";
import { receivedOf } from "./_test_cluster.ts";
import { acceptToken, computeStage } from "./computation.ts";
import {
  clusterConfig,
  computeValue,
  initialNodeState,
  type StageOutputMessage,
  stageValue,
} from "./spec_state.ts";

const cluster = clusterConfig({
  nodeCount: 4,
  faultsMax: 1,
  stageCount: 2,
  tokenCount: 2,
  checkpointIntervalTokens: 1,
  replicaCount: 3,
  seeds: [1, 2],
  viewMax: 1,
});

function output(stage: number, value: number, from: number): StageOutputMessage {
  return { type: "StageOutput", view: 0, seed: 1, token: 1, stage, value, from };
}

Deno.test("computeStage() refuses a node that is no replica of the stage", () => {
  // Stage 1 in view 0 has replicas 2, 3, 4 ((0 + 1 + k) % 4 + 1 for k in 0..2).
  const node = { ...initialNodeState(1, cluster), seed: 1 };
  const next = computeStage(node, {
    cluster,
    received: receivedOf([]),
    token: 1,
    stage: 1,
    value: 1,
    output: 111,
  });
  assert.ok(!next.enabled);
  assert.match(next.reason, /no replica/);
});

Deno.test("computeStage() refuses an input other than the seed for the first token", () => {
  const node = { ...initialNodeState(3, cluster), seed: 1 };
  const seedInput = (seed: number) => stageValue(seed, 0, 0);
  const at = (value: number) =>
    computeStage(node, {
      cluster,
      received: receivedOf([]),
      token: 1,
      stage: 1,
      value,
      output: computeValue(value, 1, 1),
    });
  assert.ok(!at(seedInput(2)).enabled);
  assert.ok(!at(1).enabled);
  const next = at(seedInput(1));
  assert.ok(next.enabled);
  assert.deepEqual(next.effects[0]?.kind === "send" && next.effects[0].message, {
    type: "StageOutput",
    view: 0,
    seed: 1,
    token: 1,
    stage: 1,
    value: stageValue(1, 1, 1),
    from: 3,
  });
});

Deno.test("computeStage() signs what the model returned, whatever it is", () => {
  // The protocol decides that node 3 computes stage 1 of token 1 from seed 1's input; the output
  // is the model's (a runtime's ONNX digest), not the core's.
  const node = { ...initialNodeState(3, cluster), seed: 1 };
  const input = {
    cluster,
    received: receivedOf([]),
    token: 1,
    stage: 1,
    value: stageValue(1, 0, 0),
  };
  for (const output of [stageValue(1, 1, 1), 999]) {
    const next = computeStage(node, { ...input, output });
    assert.ok(next.enabled);
    const sent = next.effects[0];
    assert.equal(
      sent?.kind === "send" && sent.message.type === "StageOutput" && sent.message.value,
      output,
    );
  }
});

Deno.test("computeStage() refuses a token out of order", () => {
  const node = { ...initialNodeState(3, cluster), seed: 1 };
  assert.ok(
    !computeStage(node, {
      cluster,
      received: receivedOf([]),
      token: 2,
      stage: 1,
      value: 1,
      output: 121,
    })
      .enabled,
  );
});

Deno.test("computeStage() needs F + 1 previous-stage replicas to agree on the input", () => {
  // Stage 2 in view 0 has replicas 3, 4, 1; it reads stage 1's outputs (replicas 2, 3, 4).
  const node = { ...initialNodeState(4, cluster), seed: 1 };
  const one = [output(1, 1, 3)];
  assert.ok(
    !computeStage(node, {
      cluster,
      received: receivedOf(one),
      token: 1,
      stage: 2,
      value: 1,
      output: 12,
    })
      .enabled,
  );
  const two = [...one, output(1, 1, 4)];
  assert.ok(
    computeStage(node, {
      cluster,
      received: receivedOf(two),
      token: 1,
      stage: 2,
      value: 1,
      output: 12,
    })
      .enabled,
  );
});

Deno.test("acceptToken() refuses a value signed by F last-stage replicas only", () => {
  const node = { ...initialNodeState(3, cluster), seed: 1 };
  const received = [output(2, 0, 1)];
  assert.ok(
    !acceptToken(node, { cluster, received: receivedOf(received), token: 1, value: 0 }).enabled,
  );
});

Deno.test("acceptToken() ignores outputs signed by a node that is no replica of the stage", () => {
  const node = { ...initialNodeState(3, cluster), seed: 1 };
  // Node 2 is no replica of stage 2 in view 0: its signature does not count.
  const received = [output(2, 1, 1), output(2, 1, 2)];
  assert.ok(
    !acceptToken(node, { cluster, received: receivedOf(received), token: 1, value: 1 }).enabled,
  );
  const next = acceptToken(node, {
    cluster,
    received: receivedOf([...received, output(2, 1, 3)]),
    token: 1,
    value: 1,
  });
  assert.ok(next.enabled);
  assert.deepEqual(next.state.tokens, [1]);
});

Deno.test("acceptToken() refuses a token that is not the next one", () => {
  const node = { ...initialNodeState(3, cluster), seed: 1 };
  const received = [output(2, 1, 1), output(2, 1, 3)];
  assert.ok(
    !acceptToken(node, { cluster, received: receivedOf(received), token: 2, value: 1 }).enabled,
  );
});
