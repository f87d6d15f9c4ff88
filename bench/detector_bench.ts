/**
 * Throughput of the phi accrual detector: recording heartbeats and computing phi, on a
 * simulated clock. Detection-time figures come from `deno run bench/detector_report.ts`.
 *
 *     deno bench bench/detector_bench.ts
 *
 * @module
 */

import { PhiAccrualFailureDetector } from "../src/detector/phi_accrual_failure_detector.ts";
import { DEFAULT_SCENARIO, heartbeatArrivals } from "./detector_report.ts";

const { arrivalsMs } = heartbeatArrivals({ ...DEFAULT_SCENARIO, durationMs: 600_000 });
const nodes = Array.from({ length: 64 }, (_, i) => `node-${i}`);

Deno.bench("PhiAccrualFailureDetector.recordHeartbeat() x 6000 (one node, 10 min)", () => {
  let nowMs = 0;
  const detector = new PhiAccrualFailureDetector(100, 8, 12, { clock: () => nowMs });
  for (const arrivalMs of arrivalsMs) {
    nowMs = arrivalMs;
    detector.recordHeartbeat("node");
  }
});

let nowMs = 0;
const warmed = new PhiAccrualFailureDetector(100, 8, 12, { clock: () => nowMs });
for (const arrivalMs of arrivalsMs.slice(0, 1500)) {
  nowMs = arrivalMs;
  for (const node of nodes) warmed.recordHeartbeat(node);
}

Deno.bench("PhiAccrualFailureDetector.health() over 64 nodes", () => {
  nowMs += 1;
  for (const node of nodes) warmed.health(node);
});
