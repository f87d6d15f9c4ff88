// The seed's "Failure Detection" example, on the real clock: twenty heartbeats 100 ms apart,
// then a silence of a second and a half.
//
//     deno run examples/failure_detection.ts
import { PhiAccrualFailureDetector } from "@butterfly/bcp";
import { setTimeout as sleep } from "node:timers/promises";

const detector = new PhiAccrualFailureDetector(
  100, // base heartbeat interval (ms)
  8.0, // phi suspect threshold
  12.0, // phi failed threshold
);

// Record heartbeats.
for (let i = 0; i < 20; i++) {
  detector.recordHeartbeat("node-0");
  await sleep(100);
}
console.log(`After 20 heartbeats: phi = ${detector.phi("node-0")?.toFixed(2)}`);

// A node that never sent a heartbeat has no phi, and no verdict but "unknown".
console.log(`node-9: phi ${detector.phi("node-9")}, health ${detector.health("node-9")}`);

await sleep(1_500);

// Check failure status.
if (detector.isSuspected("node-0")) {
  console.log(`Node 0 suspected of failure (phi = ${detector.phi("node-0")?.toFixed(2)})`);
}
