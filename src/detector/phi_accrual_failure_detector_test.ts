import assert from "node:assert/strict";
import fc from "fast-check";
import {
  PhiAccrualFailureDetector,
  phiOfSilence,
  UnknownNodeError,
} from "./phi_accrual_failure_detector.ts";

/** A detector on a hand-driven clock. */
function setup(
  options: ConstructorParameters<typeof PhiAccrualFailureDetector>[3] = {},
): { detector: PhiAccrualFailureDetector; advance: (ms: number) => void } {
  let nowMs = 0;
  const detector = new PhiAccrualFailureDetector(100, 8, 12, { clock: () => nowMs, ...options });
  return { detector, advance: (ms: number) => void (nowMs += ms) };
}

// Upper tail Q(y) of the standard normal distribution, from tables (Abramowitz and Stegun 26.2).
const NORMAL_TAIL: readonly [number, number][] = [
  [0, 0.5],
  [1, 0.15865525393145707],
  [2, 0.022750131948179195],
  [3, 0.0013498980316301],
  [5, 2.866515718791939e-7],
  [6, 9.865876450377e-10],
  [8, 6.220960574271784e-16],
  [10, 7.619853024160527e-24],
];

Deno.test("phiOfSilence() matches -log10(1 - F) of the normal distribution", () => {
  for (const [y, tail] of NORMAL_TAIL) {
    const expected = -Math.log10(tail);
    const actual = phiOfSilence(100 + 20 * y, 100, 20);
    assert.ok(
      Math.abs(actual - expected) < 1e-6 * Math.max(1, expected),
      `y=${y}: ${actual} vs ${expected}`,
    );
  }
  // Below the mean, phi = -log10(1 - Q(|y|)).
  assert.ok(Math.abs(phiOfSilence(80, 100, 20) - -Math.log10(1 - 0.15865525393145707)) < 1e-7);
});

Deno.test("phiOfSilence() stays finite far beyond where 1 - F rounds to zero", () => {
  const phi = phiOfSilence(100 + 20 * 50, 100, 20); // y = 50, Q(50) is about 2e-545
  assert.ok(Number.isFinite(phi) && phi > 540 && phi < 550, `phi=${phi}`);
});

Deno.test("PhiAccrualFailureDetector.phi() matches the formula over the sample window", () => {
  // samplesMax 4 pushes the two bootstrap samples out: the window is [80, 120, 80, 120],
  // mean 100 ms, standard deviation 20 ms.
  const { detector, advance } = setup({
    samplesMax: 4,
    minStdDeviationMs: 1,
    acceptableHeartbeatPauseMs: 0,
  });
  detector.recordHeartbeat("a");
  for (const intervalMs of [80, 120, 80, 120]) {
    advance(intervalMs);
    detector.recordHeartbeat("a");
  }
  advance(140); // y = (140 - 100) / 20 = 2
  assert.ok(Math.abs(detector.phi("a")! - -Math.log10(NORMAL_TAIL[2]![1])) < 1e-6);
});

Deno.test("PhiAccrualFailureDetector.phi() adds the acceptable pause to the mean and floors the deviation", () => {
  const { detector, advance } = setup({
    samplesMax: 4,
    minStdDeviationMs: 40,
    acceptableHeartbeatPauseMs: 50,
  });
  detector.recordHeartbeat("a");
  for (const intervalMs of [80, 120, 80, 120]) {
    advance(intervalMs);
    detector.recordHeartbeat("a");
  }
  advance(270); // mean 100 + 50, deviation max(20, 40) = 40: y = (270 - 150) / 40 = 3
  assert.ok(Math.abs(detector.phi("a")! - -Math.log10(NORMAL_TAIL[3]![1])) < 1e-6);
});

Deno.test("PhiAccrualFailureDetector.phi() bootstraps from the first heartbeat estimate", () => {
  // Bootstrap samples 75 and 125: mean 100, deviation 25.
  const { detector, advance } = setup({ minStdDeviationMs: 1, acceptableHeartbeatPauseMs: 0 });
  detector.recordHeartbeat("a");
  advance(150); // y = 2
  assert.ok(Math.abs(detector.phi("a")! - -Math.log10(NORMAL_TAIL[2]![1])) < 1e-6);
});

Deno.test("PhiAccrualFailureDetector.phi() forgets samples beyond the window", () => {
  const { detector, advance } = setup({
    samplesMax: 3,
    minStdDeviationMs: 1,
    acceptableHeartbeatPauseMs: 0,
  });
  detector.recordHeartbeat("a");
  for (let i = 0; i < 50; i++) {
    advance(100);
    detector.recordHeartbeat("a");
  }
  for (let i = 0; i < 3; i++) {
    advance(300);
    detector.recordHeartbeat("a");
  }
  // Only the 300 ms intervals remain: mean 300, deviation floored at 1. At 300 ms phi = log10 2.
  advance(300);
  assert.ok(Math.abs(detector.phi("a")! - Math.log10(2)) < 1e-6);
});

Deno.test("PhiAccrualFailureDetector.phi() is near zero right after a heartbeat", () => {
  const { detector, advance } = setup();
  for (let i = 0; i < 30; i++) {
    detector.recordHeartbeat("a");
    advance(i % 2 === 0 ? 90 : 110);
  }
  detector.recordHeartbeat("a");
  assert.ok(detector.phi("a")! < 1e-6, `phi=${detector.phi("a")}`);
  assert.equal(detector.health("a"), "alive");
});

Deno.test("PhiAccrualFailureDetector.phi() grows monotonically with silence", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 0, maxLength: 40 }),
      fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 2, maxLength: 20 }),
      (intervalsMs, silencesMs) => {
        const { detector, advance } = setup();
        detector.recordHeartbeat("a");
        for (const intervalMs of intervalsMs) {
          advance(intervalMs);
          detector.recordHeartbeat("a");
        }
        let previous = detector.phi("a")!;
        for (const silenceMs of silencesMs) {
          advance(silenceMs);
          const phi = detector.phi("a")!;
          assert.ok(phi >= previous, `phi fell from ${previous} to ${phi}`);
          assert.ok(Number.isFinite(phi));
          previous = phi;
        }
      },
    ),
  );
});

Deno.test("PhiAccrualFailureDetector moves from alive to suspected to failed as silence grows", () => {
  const { detector, advance } = setup();
  for (let i = 0; i < 20; i++) {
    detector.recordHeartbeat("a");
    advance(100);
  }
  const seen: string[] = [];
  for (let elapsedMs = 0; elapsedMs < 2_000; elapsedMs += 5) {
    const health = detector.health("a");
    if (seen.at(-1) !== health) seen.push(health);
    assert.equal(detector.isSuspected("a"), health !== "alive");
    assert.equal(detector.isFailed("a"), health === "failed");
    advance(5);
  }
  assert.deepEqual(seen, ["alive", "suspected", "failed"]);
});

Deno.test("PhiAccrualFailureDetector reports unknown nodes as unknown, not alive", () => {
  const { detector } = setup();
  assert.equal(detector.phi("ghost"), undefined);
  assert.equal(detector.health("ghost"), "unknown");
  assert.throws(() => detector.isSuspected("ghost"), UnknownNodeError);
  assert.throws(() => detector.isFailed("ghost"), /"ghost" has never sent a heartbeat/);
  detector.recordHeartbeat("a");
  assert.equal(detector.remove("a"), true);
  assert.equal(detector.health("a"), "unknown");
});

Deno.test("PhiAccrualFailureDetector keeps nodes apart", () => {
  const { detector, advance } = setup();
  detector.recordHeartbeat("a");
  detector.recordHeartbeat("b");
  advance(5_000);
  detector.recordHeartbeat("b");
  assert.equal(detector.health("a"), "failed");
  assert.equal(detector.health("b"), "alive");
});

Deno.test("PhiAccrualFailureDetector.recordHeartbeat() refuses a clock going backwards and too many nodes", () => {
  const { detector, advance } = setup({ nodesMax: 2 });
  detector.recordHeartbeat("a");
  advance(-1);
  assert.throws(() => detector.recordHeartbeat("a"), /Clock went backwards by 1 ms/);
  detector.recordHeartbeat("b");
  assert.throws(() => detector.recordHeartbeat("c"), /more than 2 nodes/);
});

Deno.test("PhiAccrualFailureDetector() defaults to Akka's ratios: pause 3 intervals, deviation floor a tenth", () => {
  const detector = new PhiAccrualFailureDetector(200, 8, 12);
  assert.equal(detector.acceptableHeartbeatPauseMs, 600);
  assert.equal(detector.minStdDeviationMs, 20);
  assert.equal(detector.samplesMax, 1000);
  // The bootstrap mean (200) plus the pause (600) is the silence at which phi = log10 2.
  let nowMs = 0;
  const clocked = new PhiAccrualFailureDetector(200, 8, 12, {
    clock: () => nowMs,
    minStdDeviationMs: 1,
  });
  clocked.recordHeartbeat("a");
  nowMs = 800;
  assert.ok(Math.abs(clocked.phi("a")! - Math.log10(2)) < 1e-6);
});

Deno.test("PhiAccrualFailureDetector() validates its parameters", () => {
  assert.throws(() => new PhiAccrualFailureDetector(0, 8, 12), /baseIntervalMs must be a positive/);
  assert.throws(
    () => new PhiAccrualFailureDetector(100, 13, 12),
    /phiSuspect \(13\) must not exceed/,
  );
  assert.throws(() => new PhiAccrualFailureDetector(100, Number.NaN, 12), /phiSuspect/);
  assert.throws(
    () => new PhiAccrualFailureDetector(100, 8, 12, { acceptableHeartbeatPauseMs: -1 }),
    /acceptableHeartbeatPauseMs/,
  );
  assert.throws(() => new PhiAccrualFailureDetector(100, 8, 12, { samplesMax: 1.5 }), /samplesMax/);
  assert.throws(
    () => new PhiAccrualFailureDetector(100, 8, 12, { minStdDeviationMs: 0 }),
    /minStdDeviationMs/,
  );
});

Deno.test("PhiAccrualFailureDetector refuses a clock that is not a function at construction", () => {
  // Before, `{ clock: 5 }` from plain JavaScript failed at the first heartbeat with
  // "this[#clock] is not a function".
  for (const clock of [5, "now", null, {}]) {
    assert.throws(
      () => new PhiAccrualFailureDetector(100, 8, 12, { clock: clock as unknown as () => number }),
      (error: unknown) =>
        error instanceof TypeError &&
        /^clock must be a function returning milliseconds/.test(error.message),
    );
  }
  assert.doesNotThrow(() => new PhiAccrualFailureDetector(100, 8, 12, { clock: () => 0 }));
});
