/**
 * Detection time and false suspicions of the phi accrual detector on a simulated clock.
 *
 *     deno run bench/detector_report.ts
 *
 * The sender heartbeats every 100 ms with normal jitter (sd 15 ms) and, on average every 30 s,
 * a GC-like pause of 200-500 ms. One hour is simulated per setting, from one seed. For every
 * gap between heartbeats we ask two questions, using that phi only grows with silence:
 * - if the node crashed in this gap (uniformly within the nominal interval), how long after the
 *   crash would the detector suspect it (or declare it failed)?
 * - the node did not crash: did phi reach the threshold before the next heartbeat arrived
 *   (a false suspicion)?
 *
 * @module
 */

import { PhiAccrualFailureDetector } from "../src/detector/phi_accrual_failure_detector.ts";

/** A seeded PRNG (mulberry32): the same seed gives the same run on every machine. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return function next(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(random: () => number): number {
  // Box-Muller; 1 - random() avoids log(0).
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** The sender and network model. */
export interface Scenario {
  readonly intervalMs: number;
  readonly jitterSdMs: number;
  readonly pauseEveryMs: number;
  readonly pauseMinMs: number;
  readonly pauseMaxMs: number;
  readonly durationMs: number;
  readonly seed: number;
}

/** Detector settings under test. */
export interface Setting {
  readonly phiSuspect: number;
  readonly phiFailed: number;
  readonly acceptableHeartbeatPauseMs: number;
  readonly minStdDeviationMs: number;
}

/** What one simulated run measured. */
export interface Figures {
  readonly suspectMs: { readonly median: number; readonly p90: number; readonly p99: number };
  readonly failedMs: { readonly median: number; readonly p90: number; readonly p99: number };
  readonly falseSuspicionsPerHour: number;
  readonly falseFailuresPerHour: number;
  readonly pausesPerHour: number;
  readonly gaps: number;
}

/** The default scenario: 100 ms heartbeats, sd 15 ms jitter, a 200-500 ms pause every 30 s. */
export const DEFAULT_SCENARIO: Scenario = {
  intervalMs: 100,
  jitterSdMs: 15,
  pauseEveryMs: 30_000,
  pauseMinMs: 200,
  pauseMaxMs: 500,
  durationMs: 3_600_000,
  seed: 42,
};

/** Arrival times of the heartbeats of one run, and how many pauses it had. */
export function heartbeatArrivals(scenario: Scenario): { arrivalsMs: number[]; pauses: number } {
  const random = mulberry32(scenario.seed);
  const arrivalsMs = [0];
  let pauses = 0;
  const pauseProbability = scenario.intervalMs / scenario.pauseEveryMs;
  let nowMs = 0;
  while (nowMs < scenario.durationMs) {
    let gapMs = scenario.intervalMs + scenario.jitterSdMs * normal(random);
    if (random() < pauseProbability) {
      gapMs += scenario.pauseMinMs + (scenario.pauseMaxMs - scenario.pauseMinMs) * random();
      pauses++;
    }
    nowMs += Math.max(1, gapMs);
    arrivalsMs.push(nowMs);
  }
  return { arrivalsMs, pauses };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Runs one setting over one scenario. */
export function simulate(setting: Setting, scenario: Scenario = DEFAULT_SCENARIO): Figures {
  const { arrivalsMs, pauses } = heartbeatArrivals(scenario);
  const random = mulberry32(scenario.seed ^ 0x9e3779b9);
  let nowMs = 0;
  const detector = new PhiAccrualFailureDetector(
    scenario.intervalMs,
    setting.phiSuspect,
    setting.phiFailed,
    {
      clock: () => nowMs,
      acceptableHeartbeatPauseMs: setting.acceptableHeartbeatPauseMs,
      minStdDeviationMs: setting.minStdDeviationMs,
    },
  );
  // Silence after the last heartbeat at which phi first reaches `threshold` (bisection: phi
  // grows monotonically with silence).
  const crossingMs = (lastMs: number, threshold: number): number => {
    let low = 0;
    let high = 100 * scenario.intervalMs;
    for (let i = 0; i < 40; i++) {
      const middle = (low + high) / 2;
      nowMs = lastMs + middle;
      if (detector.phi("node")! >= threshold) high = middle;
      else low = middle;
    }
    return high;
  };
  const suspect: number[] = [];
  const failed: number[] = [];
  let falseSuspicions = 0;
  let falseFailures = 0;
  // The first minute warms the window up; only later gaps are measured.
  const warmupMs = 60_000;
  for (let i = 0; i < arrivalsMs.length - 1; i++) {
    nowMs = arrivalsMs[i]!;
    detector.recordHeartbeat("node");
    if (arrivalsMs[i]! < warmupMs) continue;
    const gapMs = arrivalsMs[i + 1]! - arrivalsMs[i]!;
    const suspectAfterMs = crossingMs(arrivalsMs[i]!, setting.phiSuspect);
    const failedAfterMs = crossingMs(arrivalsMs[i]!, setting.phiFailed);
    if (suspectAfterMs <= gapMs) falseSuspicions++;
    if (failedAfterMs <= gapMs) falseFailures++;
    // Crash uniformly within the nominal interval after this heartbeat.
    const crashOffsetMs = random() * scenario.intervalMs;
    suspect.push(suspectAfterMs - crashOffsetMs);
    failed.push(failedAfterMs - crashOffsetMs);
  }
  suspect.sort((a, b) => a - b);
  failed.sort((a, b) => a - b);
  const hours = (scenario.durationMs - warmupMs) / 3_600_000;
  const summary = (values: number[]): Figures["suspectMs"] => ({
    median: quantile(values, 0.5),
    p90: quantile(values, 0.9),
    p99: quantile(values, 0.99),
  });
  return {
    suspectMs: summary(suspect),
    failedMs: summary(failed),
    falseSuspicionsPerHour: falseSuspicions / hours,
    falseFailuresPerHour: falseFailures / hours,
    pausesPerHour: pauses / (scenario.durationMs / 3_600_000),
    gaps: suspect.length,
  };
}

function row(name: string, setting: Setting, scenario: Scenario): string {
  const f = simulate(setting, scenario);
  const ms = (value: number): string => value.toFixed(0).padStart(5);
  return [
    name.padEnd(42),
    `${setting.phiSuspect}/${setting.phiFailed}`.padStart(6),
    String(setting.acceptableHeartbeatPauseMs).padStart(6),
    String(setting.minStdDeviationMs).padStart(6),
    `${ms(f.suspectMs.median)} ${ms(f.suspectMs.p90)} ${ms(f.suspectMs.p99)}`,
    `${ms(f.failedMs.median)} ${ms(f.failedMs.p90)} ${ms(f.failedMs.p99)}`,
    f.falseSuspicionsPerHour.toFixed(1).padStart(7),
    f.falseFailuresPerHour.toFixed(1).padStart(7),
  ].join("  ");
}

if (import.meta.main) {
  const scenarios: [string, Scenario][] = [
    ["jitter sd 15 ms + 200-500 ms pause every 30 s", DEFAULT_SCENARIO],
    ["jitter sd 15 ms, no pauses", { ...DEFAULT_SCENARIO, pauseEveryMs: Infinity }],
  ];
  const settings: [string, Setting][] = [
    ["default: Akka ratios (pause 3x, sd>=x/10)", {
      phiSuspect: 8,
      phiFailed: 12,
      acceptableHeartbeatPauseMs: 300,
      minStdDeviationMs: 10,
    }],
    ["Akka absolute (pause 3 s, sd>=100)", {
      phiSuspect: 8,
      phiFailed: 12,
      acceptableHeartbeatPauseMs: 3000,
      minStdDeviationMs: 100,
    }],
    ["for 300 ms: pause 0, sd>=10", {
      phiSuspect: 8,
      phiFailed: 12,
      acceptableHeartbeatPauseMs: 0,
      minStdDeviationMs: 10,
    }],
    ["for 300 ms: pause 50, sd>=10", {
      phiSuspect: 8,
      phiFailed: 12,
      acceptableHeartbeatPauseMs: 50,
      minStdDeviationMs: 10,
    }],
  ];
  for (const pause of [0, 50, 100, 150, 200, 300, 500]) {
    for (const minSd of [10, 20, 50]) {
      settings.push([`sweep`, {
        phiSuspect: 8,
        phiFailed: 12,
        acceptableHeartbeatPauseMs: pause,
        minStdDeviationMs: minSd,
      }]);
    }
  }
  for (const [scenarioName, scenario] of scenarios) {
    const { pauses } = heartbeatArrivals(scenario);
    console.log(
      `\nScenario: ${scenarioName}; 100 ms heartbeats, 1 h simulated, seed ${scenario.seed}, ${pauses} pauses`,
    );
    console.log(
      [
        "setting".padEnd(42),
        "phi".padStart(6),
        "pause".padStart(6),
        "minSd".padStart(6),
        "suspect ms: p50   p90   p99",
        "failed ms: p50   p90   p99",
        "falseS/h",
        "falseF/h",
      ].join("  "),
    );
    for (const [name, setting] of settings) console.log(row(name, setting, scenario));
  }
}
