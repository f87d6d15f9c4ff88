import assert from "node:assert/strict";
import fc from "fast-check";
import { CONFIG_VARIABLES, ConfigError, DEFAULT_CONFIG, parseConfig } from "./config.ts";

Deno.test("parseConfig() gives the seed's defaults when nothing is set", () => {
  assert.deepEqual(parseConfig({}), {
    heartbeatIntervalMs: 100,
    phiSuspect: 8,
    phiFailed: 12,
    checkpointFrequencyTokens: 10,
    checkpointsMax: 10,
  });
  assert.deepEqual(parseConfig({ UNRELATED: "x" }), DEFAULT_CONFIG);
});

Deno.test("parseConfig() reads every variable", () => {
  const config = parseConfig({
    BUTTERFLY_HEARTBEAT_INTERVAL_MS: "50",
    BUTTERFLY_PHI_SUSPECT: "10.5",
    BUTTERFLY_PHI_FAILED: " 15 ",
    BUTTERFLY_CHECKPOINT_FREQUENCY: "20",
    BUTTERFLY_MAX_CHECKPOINTS: "3",
  });
  assert.deepEqual(config, {
    heartbeatIntervalMs: 50,
    phiSuspect: 10.5,
    phiFailed: 15,
    checkpointFrequencyTokens: 20,
    checkpointsMax: 3,
  });
});

Deno.test("parseConfig() rejects non-numbers, naming the variable and the range", () => {
  for (const bad of ["", " ", "abc", "0x10", "Infinity", "NaN", "1e", "10ms", "1,5"]) {
    assert.throws(
      () => parseConfig({ BUTTERFLY_HEARTBEAT_INTERVAL_MS: bad }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.variable === "BUTTERFLY_HEARTBEAT_INTERVAL_MS" &&
        error.message.includes("BUTTERFLY_HEARTBEAT_INTERVAL_MS must be an integer in [1, 60000]"),
      `accepted ${JSON.stringify(bad)}`,
    );
  }
});

Deno.test("parseConfig() rejects out-of-range and fractional values for every variable", () => {
  const cases: [string, string, RegExp][] = [
    ["BUTTERFLY_HEARTBEAT_INTERVAL_MS", "0", /integer in \[1, 60000\], got "0"/],
    ["BUTTERFLY_HEARTBEAT_INTERVAL_MS", "60001", /integer in \[1, 60000\]/],
    ["BUTTERFLY_HEARTBEAT_INTERVAL_MS", "100.5", /integer in \[1, 60000\]/],
    ["BUTTERFLY_PHI_SUSPECT", "0.5", /BUTTERFLY_PHI_SUSPECT must be a number in \[1, 100\]/],
    ["BUTTERFLY_PHI_FAILED", "101", /BUTTERFLY_PHI_FAILED must be a number in \[1, 100\]/],
    ["BUTTERFLY_PHI_FAILED", "-12", /BUTTERFLY_PHI_FAILED must be a number in \[1, 100\]/],
    ["BUTTERFLY_CHECKPOINT_FREQUENCY", "0", /integer in \[1, 1000000\]/],
    ["BUTTERFLY_CHECKPOINT_FREQUENCY", "2.5", /BUTTERFLY_CHECKPOINT_FREQUENCY must be an integer/],
    [
      "BUTTERFLY_MAX_CHECKPOINTS",
      "0",
      /BUTTERFLY_MAX_CHECKPOINTS must be an integer in \[1, 10000\]/,
    ],
    ["BUTTERFLY_MAX_CHECKPOINTS", "1e9", /BUTTERFLY_MAX_CHECKPOINTS must be an integer/],
  ];
  for (const [variable, value, pattern] of cases) {
    assert.throws(() => parseConfig({ [variable]: value }), pattern, `${variable}=${value}`);
  }
});

Deno.test("parseConfig() rejects a suspect threshold above the failed threshold", () => {
  assert.throws(
    () => parseConfig({ BUTTERFLY_PHI_SUSPECT: "9", BUTTERFLY_PHI_FAILED: "8" }),
    /BUTTERFLY_PHI_SUSPECT \(9\) must not exceed BUTTERFLY_PHI_FAILED \(8\)/,
  );
  // Equal thresholds are allowed: suspicion and failure then coincide.
  assert.equal(parseConfig({ BUTTERFLY_PHI_SUSPECT: "8", BUTTERFLY_PHI_FAILED: "8" }).phiFailed, 8);
});

Deno.test("parseConfig() accepts exactly the in-range integers it prints back", () => {
  fc.assert(
    fc.property(fc.integer({ min: -10, max: 70_000 }), (value) => {
      const env = { BUTTERFLY_HEARTBEAT_INTERVAL_MS: String(value) };
      if (value >= 1 && value <= 60_000) {
        assert.equal(parseConfig(env).heartbeatIntervalMs, value);
      } else {
        assert.throws(() => parseConfig(env), ConfigError);
      }
    }),
  );
});

Deno.test("CONFIG_VARIABLES lists the five documented variables", () => {
  assert.deepEqual([...CONFIG_VARIABLES].sort(), [
    "BUTTERFLY_CHECKPOINT_FREQUENCY",
    "BUTTERFLY_HEARTBEAT_INTERVAL_MS",
    "BUTTERFLY_MAX_CHECKPOINTS",
    "BUTTERFLY_PHI_FAILED",
    "BUTTERFLY_PHI_SUSPECT",
  ]);
});
