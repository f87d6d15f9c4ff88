// Checks the spec's derived operators against their TLA+ definitions, over many sizes.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  clusterConfig,
  computeValue,
  isReplica,
  primaryOf,
  resultOf,
  seedOfValue,
  stageValue,
} from "./spec_state.ts";

Deno.test("isReplica() is the spec's Replicas(v, s) = {((v + s + k) % N) + 1 : k in 0..R-1}", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: 0, max: 20 }),
      fc.integer({ min: 1, max: 5 }),
      (nodeCount, view, stage) => {
        const replicaCount = Math.min(3, nodeCount);
        const cluster = clusterConfig({
          nodeCount,
          faultsMax: 0,
          stageCount: stage,
          tokenCount: 1,
          checkpointIntervalTokens: 1,
          replicaCount,
          seeds: [1],
          viewMax: view,
        });
        const expected = new Set<number>();
        for (let k = 0; k < replicaCount; k++) expected.add(((view + stage + k) % nodeCount) + 1);
        for (let node = 1; node <= nodeCount; node++) {
          assert.equal(isReplica(node, view, stage, cluster), expected.has(node));
        }
      },
    ),
  );
});

Deno.test("primaryOf() rotates through the nodes and clusterConfig() derives the quorums", () => {
  const cluster = clusterConfig({
    nodeCount: 7,
    faultsMax: 2,
    stageCount: 1,
    tokenCount: 1,
    checkpointIntervalTokens: 1,
    replicaCount: 3,
    seeds: [2, 1],
    viewMax: 9,
  });
  assert.deepEqual([0, 6, 7].map((v) => primaryOf(v, cluster)), [1, 7, 1]);
  assert.equal(cluster.quorum, 5);
  assert.equal(cluster.fastQuorum, 7);
  assert.equal(cluster.stageAcceptThreshold, 3);
  assert.deepEqual(cluster.seeds, [1, 2]);
});

Deno.test("stageValue() is distinct per seed, token and stage, and computeValue() keeps the seed", () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 50 }),
    fc.integer({ min: 0, max: 9 }),
    fc.integer({ min: 0, max: 9 }),
    (seed, token, stage) => {
      const value = stageValue(seed, token, stage);
      assert.equal(seedOfValue(value), seed);
      assert.equal(value % 100, token * 10 + stage);
      assert.equal(
        computeValue(value, 9 - token, 9 - stage),
        stageValue(seed, 9 - token, 9 - stage),
      );
    },
  ));
});

Deno.test("clusterConfig() refuses token and stage counts a value's digits cannot hold", () => {
  const base = {
    nodeCount: 4,
    faultsMax: 1,
    stageCount: 2,
    tokenCount: 3,
    checkpointIntervalTokens: 1,
    replicaCount: 3,
    seeds: [2, 1],
    viewMax: 1,
  };
  assert.deepEqual(clusterConfig(base).seeds, [1, 2]);
  assert.equal(resultOf(2, clusterConfig(base)), 232);
  for (const tokenCount of [0, 10]) {
    assert.throws(() => clusterConfig({ ...base, tokenCount }), /tokenCount must be 1\.\.9/);
  }
  for (const stageCount of [0, 10]) {
    assert.throws(() => clusterConfig({ ...base, stageCount }), /stageCount must be 1\.\.9/);
  }
});
