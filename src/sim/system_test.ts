import assert from "node:assert/strict";
import { NO_VOTE, type NodeState } from "../core/spec_state.ts";
import { TEST_CLUSTER } from "../core/_test_cluster.ts";
import { enabled, type Transition } from "../core/transition.ts";
import {
  applyTransition,
  crash,
  DurabilityError,
  EffectError,
  initialSystem,
  recover,
} from "./system.ts";

const cluster = TEST_CLUSTER;
const environment = {
  byzantine: [],
  byzantineMessagesMax: 0,
  crashesMax: 1,
  falseSuspicions: false,
};
const prepare = { type: "Prepare", view: 0, value: 1, from: 2 } as const;

function voted(node: NodeState): NodeState {
  return { ...node, vote: { view: 0, value: 1 } };
}

Deno.test("applyTransition() writes persisted fields to the disk a crash restores", () => {
  const system = initialSystem(cluster, environment);
  const next = { ...voted(system.nodes[1] as NodeState), tokens: [1] };
  applyTransition(
    system,
    2,
    enabled(next, [{ kind: "persist", fields: ["vote"] }, { kind: "send", message: prepare }]),
  );
  assert.deepEqual(system.disks[1]?.vote, { view: 0, value: 1 });
  assert.equal(system.messages.length, 1);
  // What the node signed is on its disk too, for a restarted node to read back.
  assert.deepEqual(system.signedLogs[1], [prepare]);
  assert.deepEqual(system.signedLogs[0], []);
  assert.ok(crash(system, 2).ok);
  assert.ok(recover(system, 2).ok);
  assert.deepEqual(system.nodes[1]?.vote, { view: 0, value: 1 });
  assert.deepEqual(system.nodes[1]?.tokens, []);
});

Deno.test("applyTransition() refuses a send before its persist, and changes nothing", () => {
  const system = initialSystem(cluster, environment);
  const before = system.nodes[1];
  const transition: Transition = enabled(voted(before as NodeState), [
    { kind: "send", message: prepare },
    { kind: "persist", fields: ["vote"] },
  ]);
  assert.throws(
    () => applyTransition(system, 2, transition),
    (error: unknown) =>
      error instanceof DurabilityError &&
      error.message === "node 2 sends Prepare before persisting vote",
  );
  assert.equal(system.nodes[1], before);
  assert.equal(system.disks[1]?.vote, NO_VOTE);
  assert.equal(system.messages.length, 0);
  assert.deepEqual(system.signedLogs[1], []);
});

Deno.test("applyTransition() refuses a durable change never persisted, or a volatile persist", () => {
  const system = initialSystem(cluster, environment);
  const node = system.nodes[1] as NodeState;
  assert.throws(
    () => applyTransition(system, 2, enabled(voted(node), [])),
    /node 2 changed vote without persisting it/,
  );
  assert.throws(
    () =>
      applyTransition(
        system,
        2,
        enabled({ ...node, tokens: [1] }, [{ kind: "persist", fields: ["tokens"] }]),
      ),
    /node 2 persists tokens, which is not durable/,
  );
  // A field persisted again with the value already on disk is no violation.
  applyTransition(system, 2, enabled(node, [{ kind: "persist", fields: ["view"] }]));
});

Deno.test("applyTransition() refuses an effect of an unknown kind", () => {
  const system = initialSystem(cluster, environment);
  const node = system.nodes[1] as NodeState;
  const odd = { kind: "", message: prepare } as unknown as {
    kind: "send";
    message: typeof prepare;
  };
  assert.throws(
    () => applyTransition(system, 2, enabled(node, [odd])),
    (error: unknown) => error instanceof EffectError && /unknown kind/.test(error.message),
  );
  assert.equal(system.messages.length, 0);
});
