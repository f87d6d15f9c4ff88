/**
 * The core's cost per token on a fault-free run, measured (not a test):
 *
 *     deno run bench/core_step_report.ts [--nodes N] [--stages S] [--tokens T]
 *
 * N nodes (f = (N - 1) / 3, 2f + 1 replicas per stage) step through one inference in this
 * process: every message reaches every node, every `compute` effect is answered at once with a
 * value of its token and stage, so only `step` runs. Prints the time in `step` per token and per
 * node, and the steps taken, over the first and the last quarter of the tokens (a cost that grows
 * with the inference's length shows as a ratio above 1).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { MessageLog } from "../src/core/received.ts";
import {
  clusterConfigWith,
  initialNodeState,
  type NodeState,
  type SpecMessage,
} from "../src/core/spec_state.ts";
import { step, type StepEffect } from "../src/core/step.ts";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "4" },
    stages: { type: "string", default: "4" },
    tokens: { type: "string", default: "64" },
  },
});
const nodeCount = Number(values.nodes);
const faultsMax = Math.floor((nodeCount - 1) / 3);
const stageCount = Number(values.stages);
const tokenCount = Number(values.tokens);
const cluster = clusterConfigWith<string>({
  nodeCount,
  faultsMax,
  stageCount,
  tokenCount,
  checkpointIntervalTokens: 4,
  replicaCount: 2 * faultsMax + 1,
  seeds: [1],
  viewMax: 4,
}, { firstInput: () => "prompt", resultOf: () => undefined });

interface Sim {
  state: NodeState<string>;
  readonly received: MessageLog<string>;
}
const nodes: Sim[] = Array.from({ length: nodeCount }, (_, k) => ({
  state: initialNodeState(k + 1, cluster),
  received: new MessageLog<string>(),
}));
type Event = Parameters<typeof step<string>>[1];
const queue: { node: number; event: Event; message?: SpecMessage<string> }[] = [];
const stepMs: number[] = [];
const stepsAt: number[] = [];
let steps = 0;

function carry(k: number, effects: readonly StepEffect<string>[]): void {
  for (const effect of effects) {
    if (effect.kind === "send") {
      nodes[k]!.received.add(effect.message);
      for (let to = 0; to < nodeCount; to++) {
        if (to !== k) {
          queue.push({ node: to, event: { kind: "messages" }, message: effect.message });
        }
      }
    }
    if (effect.kind === "compute") {
      queue.push({
        node: k,
        event: {
          kind: "computed",
          token: effect.token,
          stage: effect.stage,
          input: effect.input,
          output: `out ${effect.token}/${effect.stage} of ${effect.input}`,
        },
      });
    }
  }
}

function run(k: number, event: Event): void {
  const node = nodes[k]!;
  const tokensBefore = node.state.tokens.length;
  const started = performance.now();
  const ready = step({ cluster, state: node.state, received: node.received }, event);
  const ms = performance.now() - started;
  steps++;
  node.state = ready.state;
  // Charged to the token the node is on.
  const token = Math.min(tokensBefore, tokenCount - 1);
  stepMs[token] = (stepMs[token] ?? 0) + ms;
  stepsAt[token] = (stepsAt[token] ?? 0) + 1;
  carry(k, ready.effects);
}

for (let k = 0; k < nodeCount; k++) run(k, { kind: "start" });
while (queue.length > 0) {
  const { node, event, message } = queue.shift()!;
  if (message !== undefined && !nodes[node]!.received.add(message)) continue;
  run(node, event);
}
const committed = nodes.filter((node) => node.state.committed !== -1).length;
const quarter = Math.max(1, Math.floor(tokenCount / 4));
const per = (from: number, to: number, of: number[]) => {
  let sum = 0;
  for (let t = from; t < to; t++) sum += of[t] ?? 0;
  return sum / (to - from) / nodeCount;
};
const first = per(0, quarter, stepMs);
const last = per(tokenCount - quarter, tokenCount, stepMs);
console.log(JSON.stringify(
  {
    nodeCount,
    stageCount,
    tokenCount,
    committed,
    steps,
    stepsPerTokenPerNode: per(0, tokenCount, stepsAt),
    stepMsPerTokenPerNode: {
      all: per(0, tokenCount, stepMs),
      firstQuarter: first,
      lastQuarter: last,
    },
    growth: last / first,
  },
  null,
  2,
));
