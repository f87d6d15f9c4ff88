import assert from "node:assert/strict";
import fc from "fast-check";
import { BarrierCoordinator } from "./barrier_coordinator.ts";

function setup(participants: string[], timeoutMs = 1000): {
  barrier: BarrierCoordinator;
  advance: (ms: number) => void;
} {
  let nowMs = 0;
  const barrier = new BarrierCoordinator(participants, { clock: () => nowMs, timeoutMs });
  return { barrier, advance: (ms) => void (nowMs += ms) };
}

Deno.test("BarrierCoordinator completes exactly when every participant has arrived, duplicates ignored", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.nat(5), { maxLength: 30 }),
      (count, arrivals) => {
        const nodes = Array.from({ length: count }, (_, i) => `n${i}`);
        const { barrier } = setup(nodes);
        barrier.begin(0);
        const seen = new Set<string>();
        for (const index of arrivals) {
          if (index >= count) continue;
          const node = nodes[index]!;
          const outcome = barrier.arrive(node, 0);
          if (seen.has(node)) {
            assert.deepEqual(outcome, { kind: "duplicate" });
            continue;
          }
          seen.add(node);
          if (seen.size === count) assert.deepEqual(outcome, { kind: "complete" });
          else {assert.deepEqual(outcome, {
              kind: "waiting",
              missing: nodes.filter((n) => !seen.has(n)),
            });}
        }
        assert.equal(barrier.status().kind, seen.size === count ? "complete" : "waiting");
      },
    ),
  );
});

Deno.test("BarrierCoordinator rejects arrivals from an old epoch and from strangers", () => {
  const { barrier } = setup(["a", "b"]);
  barrier.begin(5);
  assert.deepEqual(barrier.arrive("a", 4), { kind: "stale", currentEpoch: 5 });
  assert.deepEqual(barrier.arrive("mallory", 5), { kind: "notParticipant" });
  assert.deepEqual(barrier.arrive("a", 7), { kind: "tooEarly", currentEpoch: 5 });
  // None of those counted.
  assert.deepEqual(barrier.status(), {
    kind: "waiting",
    epoch: 5,
    missing: ["a", "b"],
    remainingMs: 1000,
  });
});

Deno.test("BarrierCoordinator holds arrivals for the next epoch until it begins", () => {
  const { barrier } = setup(["a", "b", "c"]);
  barrier.begin(1);
  assert.deepEqual(barrier.arrive("c", 2), { kind: "early" });
  assert.deepEqual(barrier.arrive("c", 2), { kind: "duplicate" });
  assert.deepEqual(barrier.status(), {
    kind: "waiting",
    epoch: 1,
    missing: ["a", "b", "c"],
    remainingMs: 1000,
  });
  assert.equal(barrier.begin(2).kind, "waiting");
  assert.deepEqual(barrier.arrive("a", 2), { kind: "waiting", missing: ["b"] });
  // Skipping an epoch drops what was held for the skipped one.
  barrier.arrive("a", 3);
  barrier.begin(4);
  assert.deepEqual(barrier.status(), {
    kind: "waiting",
    epoch: 4,
    missing: ["a", "b", "c"],
    remainingMs: 1000,
  });
});

Deno.test("BarrierCoordinator times out and reports exactly the missing nodes", () => {
  const { barrier, advance } = setup(["d", "a", "c", "b"], 500);
  barrier.begin(0);
  barrier.arrive("c", 0);
  barrier.arrive("a", 0);
  advance(499);
  assert.deepEqual(barrier.status(), {
    kind: "waiting",
    epoch: 0,
    missing: ["b", "d"],
    remainingMs: 1,
  });
  advance(1);
  assert.deepEqual(barrier.status(), { kind: "timedOut", epoch: 0, missing: ["b", "d"] });
  // A late arrival does not reopen the barrier or change what was reported missing.
  assert.deepEqual(barrier.arrive("b", 0), { kind: "closed" });
  assert.deepEqual(barrier.status(), { kind: "timedOut", epoch: 0, missing: ["b", "d"] });
  // The next epoch starts afresh.
  barrier.begin(1);
  assert.equal(barrier.status().kind, "waiting");
});

Deno.test("BarrierCoordinator.begin() refuses epochs that do not move forward, and bad participants", () => {
  const { barrier } = setup(["a"]);
  assert.deepEqual(barrier.status(), { kind: "idle" });
  barrier.begin(2);
  assert.throws(() => barrier.begin(2), /Epoch 2 does not come after the current epoch 2/);
  assert.throws(() => barrier.begin(1), /does not come after/);
  assert.throws(() => new BarrierCoordinator([]), /between 1 and/);
  assert.throws(() => new BarrierCoordinator(["a", "a"]), /must not repeat/);
  assert.throws(
    () => new BarrierCoordinator(["a"], { timeoutMs: 0 }),
    /timeoutMs must be a positive/,
  );
});
