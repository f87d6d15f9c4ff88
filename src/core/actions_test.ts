// The action table: its names and parameters are the spec's, its probes hold its candidates, and
// the enumeration finds the enabled instances of a known state.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ACTIONS,
  enabledTransitions,
  NODE_ACTIONS,
  nodeAction,
  PROTOCOL_ACTIONS,
} from "./actions.ts";
import { messageKey, messageSetKey } from "./message_key.ts";
import { MessageLog } from "./received.ts";
import {
  clusterConfig,
  computeValue,
  initialNodeState,
  NO_VOTE,
  type SpecMessage,
  stageValue,
  type VoteMessage,
} from "./spec_state.ts";
import { TEST_CLUSTER } from "./_test_cluster.ts";

const cluster = TEST_CLUSTER;

Deno.test("the table lists every node action of the spec's Next once, with its parameters", async () => {
  const spec = await Deno.readTextFile(
    new URL("../../tla/ButterflyCoordination.tla", import.meta.url),
  );
  assert.deepEqual(ACTIONS.map((a) => a.name), [...NODE_ACTIONS]);
  for (const action of ACTIONS) {
    // The definition's header, `Name(i, a, b) ==`, names the parameters.
    const header = new RegExp(`^${action.name}\\(([^)]*)\\) ==`, "m").exec(spec);
    assert.ok(header !== null, `${action.name} is not defined in the spec`);
    const params = (header[1] as string).split(",").map((p) => p.trim());
    assert.deepEqual(params, ["i", ...action.params], action.name);
    // And the spec's Next takes it.
    assert.match(spec, new RegExp(`${action.name}\\(i[,)]`), action.name);
  }
  assert.equal(ACTIONS.filter((a) => a.gate === "protocol").length, PROTOCOL_ACTIONS.length);
  assert.deepEqual(ACTIONS.filter((a) => !a.fair).map((a) => a.name), [
    "ExcludeNode",
    "ViewTimeout",
    "Suspect",
    "HandleHeartbeat",
  ]);
  assert.throws(() => nodeAction("Crash"), /no node action is named Crash/);
});

Deno.test("enabledTransitions() finds the Prepare vote and both orders of the evidence", () => {
  const node = { ...initialNodeState(2, cluster), seed: 1, tokens: [111] };
  const proposal: VoteMessage = { type: "PrePrepare", view: 0, value: 111, from: 1 };
  const received = new MessageLog([proposal, { ...proposal, value: 211 }]);
  const input = { cluster, received, model: computeValue };
  const actions = enabledTransitions(node, input).map((a) => a.action);
  // Node 2 replicates stage 1 and has not computed it yet, so ComputeStage is enabled as well;
  // the spec's ExcludeNode(i, m1, m2) takes the pair in either order.
  assert.deepEqual(actions.sort(), [
    "ComputeStage",
    "ExcludeNode",
    "ExcludeNode",
    "HandlePrePrepare",
    "TakeCheckpoint",
  ]);
});

Deno.test("enabledTransitions() finds nothing for a node without an assignment", () => {
  const received = new MessageLog();
  assert.deepEqual(enabledTransitions(initialNodeState(3, cluster), { cluster, received }), []);
  // The gated actions are apart: a node may always suspect another, and time out in view 0.
  const gated = enabledTransitions(initialNodeState(3, cluster), { cluster, received }, "timer");
  assert.deepEqual(gated.map((a) => a.action), ["ViewTimeout"]);
});

// Two tokens of two stages, so that a stage's input is the stage before's or the token before's.
const wide = clusterConfig({ ...cluster, stageCount: 2, tokenCount: 2 });
const RESULTS = [0, 1, 2].map((x) => stageValue(x, 2, 2));

const voteArbitrary: fc.Arbitrary<SpecMessage> = fc.record({
  type: fc.constantFrom("PrePrepare", "Prepare", "Commit"),
  view: fc.nat(1),
  value: fc.constantFrom(...RESULTS),
  from: fc.integer({ min: 1, max: 4 }),
}) as fc.Arbitrary<SpecMessage>;

// Stage outputs signed alike by one to three nodes, so that some are certified (F + 1).
const outputsArbitrary: fc.Arbitrary<SpecMessage[]> = fc.record({
  view: fc.nat(1),
  seed: fc.constantFrom(1, 2),
  token: fc.integer({ min: 1, max: 2 }),
  stage: fc.integer({ min: 1, max: 2 }),
  of: fc.constantFrom(0, 1, 2),
  signers: fc.uniqueArray(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
}).map(({ of, signers, ...m }) =>
  signers.map((from) => ({
    type: "StageOutput" as const,
    ...m,
    value: stageValue(of, m.token, m.stage),
    from,
  }))
);

const messageArbitrary: fc.Arbitrary<SpecMessage> = fc.oneof(
  voteArbitrary,
  fc.record({
    type: fc.constant("Assign"),
    view: fc.constant(0),
    seed: fc.constantFrom(1, 2),
    from: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({
    type: fc.constant("ViewChange"),
    view: fc.constant(1),
    prepared: fc.constant(NO_VOTE),
    voted: fc.constant(NO_VOTE),
    from: fc.integer({ min: 1, max: 4 }),
  }),
) as fc.Arbitrary<SpecMessage>;

function paramsKey(params: Readonly<Record<string, unknown>>): string {
  return Object.entries(params).map(([name, value]) => {
    if (typeof value === "number") return `${name}=${value}`;
    if (Array.isArray(value)) return `${name}={${messageSetKey(value as SpecMessage[])}}`;
    return `${name}=${messageKey(value as SpecMessage)}`;
  }).join(",");
}

Deno.test("every action's probes hold its candidates, each once, and nothing else is enabled", () => {
  fc.assert(
    fc.property(
      fc.array(messageArbitrary, { maxLength: 10 }),
      fc.array(outputsArbitrary, { maxLength: 6 }),
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom(0, 1, 2),
      fc.nat(1),
      fc.nat(2),
      (messages, outputs, id, seed, view, tokenCount) => {
        const received = new MessageLog([...messages, ...outputs.flat()]);
        const tokens = [1, 2].slice(0, tokenCount).map((t) => stageValue(seed, t, 2));
        const progress = [tokenCount, 0];
        const node = { ...initialNodeState(id, wide), seed, view, tokens, progress };
        const input = { cluster: wide, received, model: computeValue };
        for (const action of ACTIONS) {
          const probes = new Set<string>();
          action.probes(node, input, (params) => {
            const key = paramsKey(params);
            assert.ok(!probes.has(key), `${action.name} probes ${key} twice`);
            probes.add(key);
          });
          const candidates = new Set<string>();
          action.candidates(node, input, (params) => {
            const key = paramsKey(params);
            assert.ok(probes.has(key), `${action.name}: candidate ${key} is not a probe`);
            candidates.add(key);
          });
          // What a guard enables among the probes, it enables among the candidates: the
          // candidates hold the spec's whole domain.
          action.probes(node, input, (params) => {
            if (action.apply(node, input, params).enabled) {
              assert.ok(candidates.has(paramsKey(params)), `${action.name} ${paramsKey(params)}`);
            }
          });
        }
      },
    ),
    { numRuns: 400 },
  );
});

// Checkpoints of one or two positions, of the seed's tokens or of others.
const checkpointArbitrary: fc.Arbitrary<SpecMessage> = fc.record({
  seed: fc.constantFrom(1, 2),
  position: fc.integer({ min: 1, max: 2 }),
  of: fc.constantFrom(0, 1),
  from: fc.integer({ min: 1, max: 4 }),
}).map(({ of, ...m }) => ({
  type: "Checkpoint" as const,
  ...m,
  digest: [1, 2].slice(0, m.position).map((t) => stageValue(m.seed + of, t, 2)),
}));

// A node at any point of an inference: its tokens, each stage's progress, its stable checkpoint
// and the signers it excluded.
const nodeArbitrary = fc.record({
  id: fc.integer({ min: 1, max: 4 }),
  seed: fc.constantFrom(0, 1, 2),
  view: fc.nat(1),
  tokenCount: fc.nat(2),
  progress: fc.tuple(fc.nat(2), fc.nat(2)),
  stablePosition: fc.nat(2),
  excluded: fc.uniqueArray(fc.integer({ min: 1, max: 4 }), { maxLength: 2 }),
}).map(({ id, seed, view, tokenCount, progress, stablePosition, excluded }) => {
  const tokens = [1, 2].slice(0, tokenCount).map((t) => stageValue(seed, t, 2));
  const stableTokens = [1, 2].slice(0, stablePosition).map((t) => stageValue(seed, t, 2));
  return {
    ...initialNodeState(id, wide),
    seed,
    view,
    tokens,
    progress,
    stableCheckpoint: { seed, position: stablePosition, tokens: stableTokens },
    excluded: excluded.sort(),
  };
});

Deno.test("candidates left out only instances the node's state disables, at any point of an inference", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(messageArbitrary, checkpointArbitrary), { maxLength: 10 }),
      fc.array(outputsArbitrary, { maxLength: 6 }),
      nodeArbitrary,
      (messages, outputs, node) => {
        const received = new MessageLog([...messages, ...outputs.flat()]);
        const input = { cluster: wide, received, model: computeValue };
        for (const action of ACTIONS) {
          const enabled = (enumerate: typeof action.candidates) => {
            const keys: string[] = [];
            enumerate(node, input, (params) => {
              if (action.apply(node, input, params).enabled) keys.push(paramsKey(params));
            });
            return keys;
          };
          const fromCandidates = enabled(action.candidates);
          assert.deepEqual(
            [...fromCandidates].sort(),
            [...new Set(enabled(action.probes))].sort(),
            action.name,
          );
          if (action.name === "ComputeStage") {
            // In the spec's (token, stage) order.
            const order = fromCandidates.map((key) => {
              const [t, s] = key.split(",").map((part) => Number(part.split("=")[1]));
              return 10 * t! + s!;
            });
            assert.deepEqual(order, [...order].sort((a, b) => a - b));
          }
        }
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("ExcludeNode's candidates, only pairs of one slot, enable what every pair does, in the same order", () => {
  const exclude = nodeAction("ExcludeNode");
  fc.assert(
    fc.property(
      fc.array(messageArbitrary, { maxLength: 12 }),
      fc.array(outputsArbitrary, { maxLength: 6 }),
      fc.integer({ min: 1, max: 4 }),
      (messages, outputs, id) => {
        const received = new MessageLog([...messages, ...outputs.flat()]);
        const node = initialNodeState(id, wide);
        const input = { cluster: wide, received, model: computeValue };
        const enabled = (enumerate: typeof exclude.candidates) => {
          const keys: string[] = [];
          enumerate(node, input, (params) => {
            if (exclude.apply(node, input, params).enabled) keys.push(paramsKey(params));
          });
          return keys;
        };
        assert.deepEqual(enabled(exclude.candidates), enabled(exclude.probes));
      },
    ),
    { numRuns: 400 },
  );
});
