import assert from "node:assert/strict";
import { loadConfigFromEnv } from "./config.ts";

Deno.test("loadConfigFromEnv() reads BUTTERFLY_* variables from the process environment", () => {
  Deno.env.set("BUTTERFLY_HEARTBEAT_INTERVAL_MS", "250");
  Deno.env.set("BUTTERFLY_MAX_CHECKPOINTS", "4");
  try {
    const config = loadConfigFromEnv();
    assert.equal(config.heartbeatIntervalMs, 250);
    assert.equal(config.checkpointsMax, 4);
    assert.equal(config.phiSuspect, 8);
  } finally {
    Deno.env.delete("BUTTERFLY_HEARTBEAT_INTERVAL_MS");
    Deno.env.delete("BUTTERFLY_MAX_CHECKPOINTS");
  }
});

Deno.test("loadConfigFromEnv() reports a bad variable by name", () => {
  Deno.env.set("BUTTERFLY_PHI_FAILED", "lots");
  try {
    assert.throws(() => loadConfigFromEnv(), /BUTTERFLY_PHI_FAILED must be a number in \[1, 100\]/);
  } finally {
    Deno.env.delete("BUTTERFLY_PHI_FAILED");
  }
});
