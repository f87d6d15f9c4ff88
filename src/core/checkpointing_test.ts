// Each test builds a node, its stable checkpoint and the checkpoint messages it received, runs one
// action, and checks that the guard refuses or allows as the spec's action does.
import assert from "node:assert/strict";
import { receivedOf } from "./_test_cluster.ts";
import { handleCheckpoint, restoreCheckpoint, takeCheckpoint } from "./checkpointing.ts";
import { type CheckpointMessage, clusterConfig, initialNodeState } from "./spec_state.ts";

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

function checkpoint(digest: readonly number[], from: number): CheckpointMessage {
  return { type: "Checkpoint", seed: 1, position: digest.length, digest, from };
}

Deno.test("takeCheckpoint() refuses a position the node has not reached", () => {
  const node = { ...initialNodeState(2, cluster), seed: 1, tokens: [1] };
  assert.ok(!takeCheckpoint(node, { cluster, received: receivedOf([]), position: 2 }).enabled);
  assert.ok(!takeCheckpoint(node, { cluster, received: receivedOf([]), position: 0 }).enabled);
  assert.ok(takeCheckpoint(node, { cluster, received: receivedOf([]), position: 1 }).enabled);
});

Deno.test("takeCheckpoint() refuses to sign the same checkpoint twice", () => {
  const node = { ...initialNodeState(2, cluster), seed: 1, tokens: [1] };
  const received = [checkpoint([1], 2)];
  assert.ok(
    !takeCheckpoint(node, { cluster, received: receivedOf(received), position: 1 }).enabled,
  );
});

const assigned = { ...initialNodeState(4, cluster), seed: 1 };

Deno.test("handleCheckpoint() refuses a digest that fewer than a quorum signed", () => {
  // Three signers, but node 3 signed another digest: two matching are short of the quorum 3.
  const received = [checkpoint([1], 1), checkpoint([1], 2), checkpoint([0], 3)];
  const next = handleCheckpoint(assigned, {
    cluster,
    received: receivedOf(received),
    message: received[0] as CheckpointMessage,
  });
  assert.ok(!next.enabled);
  assert.match(next.reason, /too few matching checkpoint digests/);
});

Deno.test("handleCheckpoint() counts a signer the node excluded after it signed", () => {
  // A quorum of matching signatures holds F + 1 honest signers, whoever signed the rest; a node
  // that excluded a signer and refused the checkpoint the others restored could not gather the
  // stage outputs they skip recomputing (MCBugCheckpointHonorsExclusion in TLC).
  const received = [checkpoint([1], 1), checkpoint([1], 2), checkpoint([1], 3)];
  const node = { ...assigned, excluded: [1] };
  const message = received[1] as CheckpointMessage;
  const next = handleCheckpoint(node, { cluster, received: receivedOf(received), message });
  assert.ok(next.enabled);
  assert.deepEqual(next.state.stableCheckpoint, { seed: 1, position: 1, tokens: [1] });
  assert.deepEqual(next.effects, [{ kind: "persist", fields: ["stableCheckpoint"] }]);
});

Deno.test("handleCheckpoint() refuses a checkpoint of a seed other than the node's", () => {
  // Another seed's checkpoint cannot be restored, and taking every seed's would let a node swap
  // two stable checkpoints back and forth forever.
  const received = [checkpoint([1], 1), checkpoint([1], 2), checkpoint([1], 3)];
  const message = received[0] as CheckpointMessage;
  for (const seed of [0, 2]) {
    const next = handleCheckpoint({ ...assigned, seed }, {
      cluster,
      received: receivedOf(received),
      message,
    });
    assert.ok(!next.enabled);
    assert.match(next.reason, /not of the node's seed/);
  }
  const other = { ...assigned, stableCheckpoint: { seed: 2, position: 2, tokens: [2, 2] } };
  assert.ok(handleCheckpoint(other, { cluster, received: receivedOf(received), message }).enabled);
});

Deno.test("handleCheckpoint() refuses a checkpoint no later than the one on disk", () => {
  const received = [checkpoint([1], 1), checkpoint([1], 2), checkpoint([1], 3)];
  const node = { ...assigned, stableCheckpoint: { seed: 1, position: 2, tokens: [1, 1] } };
  const message = received[0] as CheckpointMessage;
  assert.ok(!handleCheckpoint(node, { cluster, received: receivedOf(received), message }).enabled);
});

Deno.test("restoreCheckpoint() refuses a checkpoint of another seed", () => {
  const node = {
    ...initialNodeState(2, cluster),
    seed: 2,
    stableCheckpoint: { seed: 1, position: 1, tokens: [1] },
  };
  assert.ok(!restoreCheckpoint(node, { cluster, received: receivedOf([]) }).enabled);
});

Deno.test("restoreCheckpoint() refuses a node that is not behind the checkpoint", () => {
  const node = {
    ...initialNodeState(2, cluster),
    seed: 1,
    tokens: [1],
    stableCheckpoint: { seed: 1, position: 1, tokens: [1] },
  };
  assert.ok(!restoreCheckpoint(node, { cluster, received: receivedOf([]) }).enabled);
});

Deno.test("restoreCheckpoint() restores the tokens and leaves stages ahead of it alone", () => {
  const node = {
    ...initialNodeState(2, cluster),
    seed: 1,
    progress: [0, 2],
    stableCheckpoint: { seed: 1, position: 1, tokens: [1] },
  };
  const next = restoreCheckpoint(node, { cluster, received: receivedOf([]) });
  assert.ok(next.enabled);
  assert.deepEqual(next.state.tokens, [1]);
  assert.deepEqual(next.state.progress, [1, 2]);
});
