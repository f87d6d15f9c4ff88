// The one entry point: each event's action, the honest policy to quiescence, and the effects in
// the order the shell carries them out.
import assert from "node:assert/strict";
import { MessageLog } from "./received.ts";
import {
  clusterConfig,
  clusterConfigWith,
  computeValue,
  durableOf,
  initialNodeState,
  NO_VOTE,
  type NodeState,
  stageValue,
} from "./spec_state.ts";
import {
  type CommitEffect,
  type ComputeEffect,
  type NodeEvent,
  type Ready,
  step,
  type StepNode,
} from "./step.ts";
import { TEST_CLUSTER } from "./_test_cluster.ts";

// The shared test cluster with one seed and views up to 2.
const cluster = clusterConfig({ ...TEST_CLUSTER, seeds: [1], viewMax: 2 });

function kinds(ready: Ready): string[] {
  return ready.effects.map((effect) => effect.kind);
}

function at(state: NodeState, received = new MessageLog()): StepNode {
  return { cluster, state, received };
}

Deno.test("step() on start: the coordinator assigns, every node starts its view timer", () => {
  // The coordinator sees its own Assign at once and takes the seed (durable: persisted first).
  const primary = step(at(initialNodeState(1, cluster)), { kind: "start" });
  assert.deepEqual(primary.actions, ["SendAssign", "HandleAssign"]);
  assert.deepEqual(kinds(primary), ["persist", "send", "timer"]);
  assert.deepEqual(primary.effects[2], { kind: "timer", view: 0 });
  const other = step(at(initialNodeState(2, cluster)), { kind: "start" });
  assert.deepEqual(other.actions, []);
  assert.deepEqual(kinds(other), ["timer"]);
  // Nothing new arrived: nothing to do, and no timer restarted.
  assert.deepEqual(kinds(step(at(other.state), { kind: "messages" })), []);
});

Deno.test("step() persists before it sends, and asks the model for the stage", () => {
  const received = new MessageLog([{ type: "Assign", view: 0, seed: 1, from: 1 }]);
  const ready = step(at(initialNodeState(2, cluster), received), { kind: "messages" });
  assert.deepEqual(ready.actions, ["HandleAssign"]);
  assert.equal(ready.state.seed, 1);
  // The seed is durable; node 2 replicates stage 1, whose input is seed 1's.
  assert.deepEqual(ready.effects, [
    { kind: "persist", fields: ["seed"] },
    { kind: "compute", token: 1, stage: 1, input: stageValue(1, 0, 0) },
  ]);
  // The model answers: the node signs what it returned, and the policy goes on.
  const output = computeValue(stageValue(1, 0, 0), 1, 1);
  const computed = step(at(ready.state, received), {
    kind: "computed",
    token: 1,
    stage: 1,
    input: stageValue(1, 0, 0),
    output,
  });
  assert.deepEqual(computed.actions, ["ComputeStage"]);
  assert.deepEqual(computed.effects, [{
    kind: "send",
    message: { type: "StageOutput", view: 0, seed: 1, token: 1, stage: 1, value: output, from: 2 },
  }]);
});

Deno.test("step() takes every enabled action, seeing what it signed itself", () => {
  // Node 1, the coordinator, has its own Assign and two replicas' outputs: it accepts the token,
  // checkpoints it, proposes it, and votes Prepare on its own proposal, each once.
  const result = computeValue(stageValue(1, 0, 0), 1, 1);
  const outputs = [2, 3].map((from) =>
    ({
      type: "StageOutput",
      view: 0,
      seed: 1,
      token: 1,
      stage: 1,
      value: result,
      from,
    }) as const
  );
  const received = new MessageLog([{ type: "Assign", view: 0, seed: 1, from: 1 }, ...outputs]);
  const node = { ...initialNodeState(1, cluster), seed: 1 };
  const ready = step(at(node, received), { kind: "messages" });
  assert.deepEqual(ready.actions, [
    "AcceptToken",
    "TakeCheckpoint",
    "SendPrePrepare",
    "HandlePrePrepare",
  ]);
  assert.deepEqual(kinds(ready), ["persist", "send", "send", "send"]);
  assert.deepEqual(ready.state.vote, { view: 0, value: result });
  const sent = ready.effects.flatMap((e) => e.kind === "send" ? [e.message.type] : []);
  assert.deepEqual(sent, ["Checkpoint", "PrePrepare", "Prepare"]);
});

Deno.test("step() commits with its certificate and stops the view timer", () => {
  // (Its stage is computed: progress 1.)
  const node = {
    ...initialNodeState(2, cluster),
    seed: 1,
    progress: [1],
    vote: { view: 0, value: 7 },
  };
  const prepares = [1, 2, 3].map((from) => ({ type: "Prepare", view: 0, value: 7, from }) as const);
  const commits = [1, 3, 4].map((from) => ({ type: "Commit", view: 0, value: 7, from }) as const);
  const ready = step(at(node, new MessageLog([...prepares, ...commits])), { kind: "messages" });
  assert.deepEqual(ready.actions, ["SendCommit", "CommitStandard"]);
  assert.deepEqual(kinds(ready), ["persist", "send", "cancelTimer", "commit"]);
  assert.deepEqual(ready.effects[0], { kind: "persist", fields: ["prepared", "committed"] });
  const commit = ready.effects[3];
  assert.ok(commit?.kind === "commit");
  assert.equal(commit.value, 7);
  assert.equal(commit.view, 0);
  // The certificate: the quorum of Commits, its own among them.
  assert.deepEqual(commit.certificate.map((m) => m.from).sort(), [1, 2, 3, 4]);
  assert.ok(commit.certificate.every((m) => m.type === "Commit" && m.value === 7));
});

Deno.test("step() on a timeout moves to the next view; a stale timer is ignored", () => {
  const node = initialNodeState(3, cluster);
  const stale = step(at({ ...node, view: 1 }), { kind: "timeout", view: 0 });
  assert.deepEqual(stale.actions, []);
  assert.deepEqual(kinds(stale), []);
  const ready = step(at(node), { kind: "timeout", view: 0 });
  assert.deepEqual(ready.actions, ["ViewTimeout"]);
  assert.equal(ready.state.view, 1);
  assert.deepEqual(ready.effects, [
    { kind: "persist", fields: ["view"] },
    {
      kind: "send",
      message: { type: "ViewChange", view: 1, prepared: NO_VOTE, voted: NO_VOTE, from: 3 },
    },
    { kind: "timer", view: 1 },
  ]);
});

Deno.test("step() on a suspicion of the coordinator starts a view change", () => {
  const ready = step(at(initialNodeState(3, cluster)), { kind: "suspect", peer: 1 });
  assert.deepEqual(ready.actions, ["Suspect", "StartViewChange"]);
  assert.equal(ready.state.view, 1);
  const cleared = step(at({ ...initialNodeState(3, cluster), suspected: [2] }), {
    kind: "heartbeat",
    peer: 2,
  });
  assert.deepEqual(cleared.actions, ["HandleHeartbeat"]);
  assert.deepEqual(cleared.state.suspected, []);
});

Deno.test("step() on a restart rebuilds the node from its disk alone", () => {
  const before = {
    ...initialNodeState(4, cluster),
    view: 1,
    vote: { view: 0, value: 7 },
    tokens: [7],
    suspected: [1],
    progress: [1],
  };
  // The in-memory state passed in is ignored: only the durable fields survive.
  const ready = step(at(before), { kind: "restart", durable: durableOf(before) });
  assert.deepEqual(ready.state, {
    ...initialNodeState(4, cluster),
    view: 1,
    vote: { view: 0, value: 7 },
  });
  assert.deepEqual(kinds(ready), ["timer"]);
});

Deno.test("step() runs a cluster whose values are digests to a commit on every node", () => {
  // The core over strings, as a runtime instantiates it: the first input is the prompt's digest
  // for the seed, the model's output a digest of its input, and nothing is known of a result up
  // front. Four honest nodes, every message delivered to everyone, every computation answered.
  const digest = (text: string): string => {
    let h = 2166136261;
    for (let k = 0; k < text.length; k++) h = Math.imul(h ^ text.charCodeAt(k), 16777619) >>> 0;
    return h.toString(16).padStart(8, "0");
  };
  const strings = clusterConfigWith<string>({
    nodeCount: 4,
    faultsMax: 1,
    stageCount: 2,
    tokenCount: 3,
    checkpointIntervalTokens: 2,
    replicaCount: 3,
    seeds: [5],
    viewMax: 2,
  }, { firstInput: (seed) => digest(`prompt/${seed}`), resultOf: () => undefined });
  const model = (input: string, token: number, stage: number) =>
    digest(`${input}|${token}|${stage}`);
  const nodes = [1, 2, 3, 4].map((id) => initialNodeState(id, strings));
  const inboxes = nodes.map(() => new MessageLog<string>());
  const pending: [number, ComputeEffect<string>][] = [];
  const commits: CommitEffect<string>[] = [];
  const run = (index: number, event: NodeEvent<string>): void => {
    const ready = step({
      cluster: strings,
      state: nodes[index] as NodeState<string>,
      received: inboxes[index] as MessageLog<string>,
    }, event);
    nodes[index] = ready.state;
    for (const effect of ready.effects) {
      if (effect.kind === "send") { for (const inbox of inboxes) inbox.add(effect.message); }
      if (effect.kind === "compute") pending.push([index, effect]);
      if (effect.kind === "commit") commits.push(effect);
    }
  };
  nodes.forEach((_, index) => run(index, { kind: "start" }));
  for (let round = 0; round < 50 && commits.length < 4; round++) {
    for (const [index, c] of pending.splice(0)) {
      const { token, stage, input } = c;
      run(index, { kind: "computed", token, stage, input, output: model(input, token, stage) });
    }
    nodes.forEach((_, index) => run(index, { kind: "messages" }));
  }
  // Every node committed the last stage's output of the last token, computed from the prompt.
  let expected = digest("prompt/5");
  for (let token = 1; token <= 3; token++) {
    for (let stage = 1; stage <= 2; stage++) expected = model(expected, token, stage);
  }
  assert.equal(commits.length, 4);
  for (const commit of commits) {
    assert.equal(commit.value, expected);
    assert.ok(commit.certificate.length >= strings.quorum);
  }
  assert.ok(nodes.every((node) => node.committed === expected && node.tokens.length === 3));
  assert.deepEqual(nodes.map((node) => node.stableCheckpoint.position), [2, 2, 2, 2]);
});
