// The replayer's enabledness, checked off the corpus: along random walks of the system (every
// configuration of the corpus, honest steps drawn from the simulator's enumeration plus
// view-change timeouts, suspicions, heartbeats, crashes and recoveries), the remembered
// enabledness equals a full recomputation at every step, equals the simulator's own enumeration
// of enabled actions, and
// every Handle* action is disabled on messages of any other type (the replayer tries each
// handler on the messages of its type only).
import assert from "node:assert/strict";
import fc from "fast-check";
import { ACTIONS, enabledTransitions, nodeAction } from "../src/core/actions.ts";
import { MessageLog } from "../src/core/received.ts";
import { clusterConfig, computeValue, type NodeState, valuesAt } from "../src/core/spec_state.ts";
import { TEST_CLUSTER } from "../src/core/_test_cluster.ts";
import { Prng } from "../src/sim/prng.ts";
import { byzantineMessage } from "../src/sim/simulator.ts";
import {
  applyTransition,
  byzantineSend,
  crash,
  initialSystem,
  isUp,
  mayHeartbeat,
  maySuspect,
  mayTimeOut,
  recover,
  type SystemState,
} from "../src/sim/system.ts";
import { TLA_DIR } from "../tla/spec_hash.ts";
import {
  applyAction,
  enabledKeys,
  enabledNodes,
  newEnabledCache,
  PROTOCOL_ACTIONS,
  viewStuck,
} from "./replay.ts";
import { corpusFiles, type FileConfig, fileConfig } from "./run.ts";
import { readTraceFile } from "./trace_file.ts";

const STEPS = 80;

async function corpusConfigs(): Promise<Map<string, FileConfig>> {
  const configs = new Map<string, FileConfig>();
  for (const path of await corpusFiles()) {
    const { header } = await readTraceFile(path);
    configs.set(header.config, fileConfig(await Deno.readTextFile(`${TLA_DIR}/${header.config}`)));
  }
  return configs;
}

// The simulator's enabled actions, per protocol action, the up nodes ascending.
function simulatorEnabled(system: SystemState): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const action of PROTOCOL_ACTIONS) out[action] = [];
  for (const node of system.nodes) {
    if (!isUp(system, node.id)) continue;
    const input = {
      cluster: system.cluster,
      received: new MessageLog(system.messages),
      model: computeValue,
    };
    const names = new Set(enabledTransitions(node, input).map((named) => named.action));
    for (const action of PROTOCOL_ACTIONS) if (names.has(action)) out[action]?.push(node.id);
  }
  return out;
}

// One random step: an enabled honest action, a view-change timeout, a suspicion, a heartbeat, a
// crash, a recovery or a Byzantine message.
function randomStep(system: SystemState, prng: Prng): void {
  const { cluster } = system;
  const received = new MessageLog(system.messages);
  const choices: (() => void)[] = [];
  const stuck = viewStuck(system);
  for (const sender of system.environment.byzantine) {
    choices.push(() => byzantineSend(system, sender, byzantineMessage(system, prng, sender)));
  }
  for (const node of system.nodes) {
    if (!isUp(system, node.id)) {
      choices.push(() => recover(system, node.id));
      continue;
    }
    for (const named of enabledTransitions(node, { cluster, received, model: computeValue })) {
      choices.push(() => applyTransition(system, node.id, named.transition));
    }
    choices.push(() => crash(system, node.id));
    const timeout = mayTimeOut(system, stuck)
      ? nodeAction("ViewTimeout").apply(node, { cluster, received }, {})
      : undefined;
    if (timeout?.enabled) choices.push(() => applyTransition(system, node.id, timeout));
    for (const peer of system.nodes) {
      const step = maySuspect(system, peer.id)
        ? nodeAction("Suspect").apply(node, { cluster, received }, { j: peer.id })
        : undefined;
      if (step?.enabled) choices.push(() => applyTransition(system, node.id, step));
      const beat = mayHeartbeat(system, peer.id)
        ? nodeAction("HandleHeartbeat").apply(node, { cluster, received }, { j: peer.id })
        : undefined;
      if (beat?.enabled) choices.push(() => applyTransition(system, node.id, beat));
    }
  }
  if (choices.length > 0) (choices[prng.below(choices.length)] as () => void)();
}

Deno.test("viewStuck() ignores pending evidence, as ViewStuck ignores ExcludeNode", () => {
  // Node 1 (the coordinator) crashed after assigning nothing; the Byzantine node 4 signed two
  // conflicting Commits. The only step left is excluding node 4, which is not a ProtocolStep:
  // the view is stuck, and ViewTimeout may fire once timeouts are accurate.
  const cluster = clusterConfig({ ...TEST_CLUSTER, seeds: [1] });
  const system = initialSystem(cluster, {
    byzantine: [4],
    byzantineMessagesMax: 2,
    crashesMax: 1,
    falseSuspicions: false,
  });
  assert.ok(!viewStuck(system), "the coordinator can still assign");
  assert.ok(crash(system, 1).ok);
  for (const value of valuesAt(cluster, cluster.tokenCount, cluster.stageCount)) {
    assert.ok(byzantineSend(system, 4, { type: "Commit", view: 0, value, from: 4 }).ok);
  }
  assert.deepEqual(enabledNodes(system)["ExcludeNode"], [2, 3]);
  assert.ok(viewStuck(system));
  assert.deepEqual(applyAction(system, "ViewTimeout", { i: 2 }), { ok: true });
  assert.equal((system.nodes[1] as NodeState).view, 1);
});

Deno.test("the replayer's enabledness matches a full recomputation and the simulator", async () => {
  const configs = await corpusConfigs();
  assert.ok(configs.size >= 5);
  let steps = 0;
  let handlerChecks = 0;
  const seen = new Map<string, number>();
  for (const [name, { cluster, environment }] of configs) {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        const system = initialSystem(cluster, environment);
        const cache = newEnabledCache();
        const prng = new Prng(seed);
        for (let step = 0; step < STEPS; step++) {
          const remembered = enabledKeys(system, cache);
          assert.deepEqual(
            remembered,
            enabledKeys(system, newEnabledCache(true)),
            `${name}, step ${step}`,
          );
          const enabled = enabledNodes(system, cache);
          assert.deepEqual(enabled, simulatorEnabled(system), `${name}, step ${step}`);
          for (const [action, nodes] of Object.entries(enabled)) {
            seen.set(action, (seen.get(action) ?? 0) + nodes.length);
          }
          const received = new MessageLog(system.messages);
          for (const node of system.nodes as NodeState[]) {
            for (const action of ACTIONS) {
              if (action.handles === undefined) continue;
              for (const message of system.messages) {
                if (message.type === action.handles) continue;
                const enabled = action.apply(node, { cluster, received }, { m: message }).enabled;
                assert.ok(!enabled, `${action.name} on a ${message.type}`);
                handlerChecks += 1;
              }
            }
          }
          randomStep(system, prng);
          steps += 1;
        }
      }),
      { numRuns: 12 },
    );
  }
  assert.ok(steps >= 5 * 12 * STEPS);
  // The walks reach every protocol action (so every guard's reads are exercised).
  for (const action of PROTOCOL_ACTIONS) {
    assert.ok((seen.get(action) ?? 0) > 0, `${action} never enabled`);
  }
  assert.ok(handlerChecks > 10_000, `only ${handlerChecks} handler checks`);
});
