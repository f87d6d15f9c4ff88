/**
 * Node configuration from `BUTTERFLY_*` environment variables, parsed in one place. This module
 * is pure: it takes the variables as a record, so tests and the simulator need no environment;
 * `loadConfigFromEnv()` in `src/runtime/config.ts` reads the real one.
 *
 * @module
 */

import { requireKind } from "../core/_arguments.ts";

/** A node's tunable settings, with the seed's defaults (see {@linkcode DEFAULT_CONFIG}). */
export interface ButterflyConfig {
  /** Base heartbeat interval in milliseconds (`BUTTERFLY_HEARTBEAT_INTERVAL_MS`). */
  readonly heartbeatIntervalMs: number;
  /** Phi at which a node is suspected (`BUTTERFLY_PHI_SUSPECT`). */
  readonly phiSuspect: number;
  /** Phi at which a node is declared failed (`BUTTERFLY_PHI_FAILED`). */
  readonly phiFailed: number;
  /** Tokens between two checkpoints (`BUTTERFLY_CHECKPOINT_FREQUENCY`). */
  readonly checkpointFrequencyTokens: number;
  /** Checkpoints kept before the oldest is evicted (`BUTTERFLY_MAX_CHECKPOINTS`). */
  readonly checkpointsMax: number;
}

/** The seed's defaults: 100 ms heartbeats, phi 8 / 12, a checkpoint every 10 tokens, keep 10. */
export const DEFAULT_CONFIG: ButterflyConfig = Object.freeze({
  heartbeatIntervalMs: 100,
  phiSuspect: 8,
  phiFailed: 12,
  checkpointFrequencyTokens: 10,
  checkpointsMax: 10,
});

/** Smallest accepted heartbeat interval: below 1 ms timer jitter dominates the signal. */
export const HEARTBEAT_INTERVAL_MS_MIN = 1;
/** Largest accepted heartbeat interval: one minute, beyond which detection is meaningless. */
export const HEARTBEAT_INTERVAL_MS_MAX = 60_000;
/** Smallest accepted phi threshold: phi 1 already means a 10% chance of a wrong suspicion. */
export const PHI_MIN = 1;
/** Largest accepted phi threshold: phi 100 is a 1e-100 error rate, far past any real use. */
export const PHI_MAX = 100;
/** Largest accepted checkpoint frequency, in tokens. */
export const CHECKPOINT_FREQUENCY_TOKENS_MAX = 1_000_000;
/** Largest accepted number of kept checkpoints. */
export const CHECKPOINTS_MAX = 10_000;

/** The environment variables that {@linkcode parseConfig} reads, in the order it checks them. */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze([
  "BUTTERFLY_HEARTBEAT_INTERVAL_MS",
  "BUTTERFLY_PHI_SUSPECT",
  "BUTTERFLY_PHI_FAILED",
  "BUTTERFLY_CHECKPOINT_FREQUENCY",
  "BUTTERFLY_MAX_CHECKPOINTS",
]);

/** Raised when a configuration variable is malformed or out of range; names the variable. */
export class ConfigError extends Error {
  /** The environment variable at fault. */
  readonly variable: string;
  /** Creates the error for `variable` with a message that names it and its allowed range. */
  constructor(variable: string, message: string) {
    super(message);
    this.name = "ConfigError";
    this.variable = variable;
  }
}

/** Options of {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /**
   * Refuse a `BUTTERFLY_` variable that is not a setting (a misspelling must not be silently
   * ignored). Default `false`, for callers that pass a record holding other variables' names.
   */
  readonly refuseUnknown?: boolean;
  /** Other `BUTTERFLY_` variables that are known though not settings (the runtime's own). */
  readonly alsoKnown?: readonly string[];
}

/**
 * Parses the `BUTTERFLY_*` variables into a configuration; unset variables take the seed's
 * defaults. Values must be plain decimal numbers (no hex, no `Infinity`, no empty string), within
 * the named bounds, and the suspect threshold must not exceed the failed threshold.
 *
 * @param env The variables, for example `Deno.env.toObject()` or a test's literal record.
 * @param options Whether an unknown `BUTTERFLY_` variable is an error.
 * @returns The validated configuration.
 * @throws {ConfigError} If a value is not a number, out of range, or phi suspect > phi failed,
 * or (with `refuseUnknown`) a `BUTTERFLY_` variable is not a setting.
 *
 * @example Defaults and overrides
 * ```ts
 * import { parseConfig } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 * assert.equal(parseConfig({}).heartbeatIntervalMs, 100);
 * assert.equal(parseConfig({ BUTTERFLY_PHI_SUSPECT: "6" }).phiSuspect, 6);
 * assert.throws(
 *   () => parseConfig({ BUTTERFLY_PHI_SUSPECT: "13" }),
 *   /BUTTERFLY_PHI_SUSPECT \(13\) must not exceed BUTTERFLY_PHI_FAILED \(12\)/,
 * );
 * assert.throws(
 *   () => parseConfig({ BUTTERFLY_PHI_SUSPCT: "6" }, { refuseUnknown: true }),
 *   /BUTTERFLY_PHI_SUSPCT is not a Butterfly setting/,
 * );
 * ```
 */
export function parseConfig(
  env: Readonly<Record<string, string | undefined>>,
  options: ParseConfigOptions = {},
): ButterflyConfig {
  requireKind("env", env, "object");
  if (options.refuseUnknown === true) {
    for (const name of Object.keys(env).sort()) {
      const known = CONFIG_VARIABLES.includes(name) || options.alsoKnown?.includes(name);
      if (name.startsWith("BUTTERFLY_") && !known) {
        const all = [...CONFIG_VARIABLES, ...options.alsoKnown ?? []];
        throw new ConfigError(
          name,
          `${name} is not a Butterfly setting (the settings: ${all.join(", ")})`,
        );
      }
    }
  }
  const heartbeatIntervalMs = readNumber(env, "BUTTERFLY_HEARTBEAT_INTERVAL_MS", {
    fallback: DEFAULT_CONFIG.heartbeatIntervalMs,
    min: HEARTBEAT_INTERVAL_MS_MIN,
    max: HEARTBEAT_INTERVAL_MS_MAX,
    integer: true,
  });
  const phiSuspect = readNumber(env, "BUTTERFLY_PHI_SUSPECT", {
    fallback: DEFAULT_CONFIG.phiSuspect,
    min: PHI_MIN,
    max: PHI_MAX,
    integer: false,
  });
  const phiFailed = readNumber(env, "BUTTERFLY_PHI_FAILED", {
    fallback: DEFAULT_CONFIG.phiFailed,
    min: PHI_MIN,
    max: PHI_MAX,
    integer: false,
  });
  if (phiSuspect > phiFailed) {
    throw new ConfigError(
      "BUTTERFLY_PHI_SUSPECT",
      `BUTTERFLY_PHI_SUSPECT (${phiSuspect}) must not exceed BUTTERFLY_PHI_FAILED (${phiFailed}): ` +
        "a node is suspected before it is declared failed",
    );
  }
  const checkpointFrequencyTokens = readNumber(env, "BUTTERFLY_CHECKPOINT_FREQUENCY", {
    fallback: DEFAULT_CONFIG.checkpointFrequencyTokens,
    min: 1,
    max: CHECKPOINT_FREQUENCY_TOKENS_MAX,
    integer: true,
  });
  const checkpointsMax = readNumber(env, "BUTTERFLY_MAX_CHECKPOINTS", {
    fallback: DEFAULT_CONFIG.checkpointsMax,
    min: 1,
    max: CHECKPOINTS_MAX,
    integer: true,
  });
  return { heartbeatIntervalMs, phiSuspect, phiFailed, checkpointFrequencyTokens, checkpointsMax };
}

interface NumberBounds {
  readonly fallback: number;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

// A plain decimal, optionally signed, with an optional exponent. Number() alone would also
// accept "", " ", "0x10", "Infinity" and "1_0"-like surprises; a config typo must fail loudly.
const DECIMAL_PATTERN = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function readNumber(
  env: Readonly<Record<string, string | undefined>>,
  variable: string,
  bounds: NumberBounds,
): number {
  const raw = env[variable];
  if (raw === undefined) return bounds.fallback;
  const kind = bounds.integer ? "an integer" : "a number";
  const range = `${kind} in [${bounds.min}, ${bounds.max}]`;
  const text = raw.trim();
  if (!DECIMAL_PATTERN.test(text)) {
    throw new ConfigError(variable, `${variable} must be ${range}, got ${JSON.stringify(raw)}`);
  }
  const value = Number(text);
  if (bounds.integer && !Number.isInteger(value)) {
    throw new ConfigError(variable, `${variable} must be ${range}, got ${JSON.stringify(raw)}`);
  }
  if (!(value >= bounds.min && value <= bounds.max)) {
    throw new ConfigError(variable, `${variable} must be ${range}, got ${JSON.stringify(raw)}`);
  }
  return value;
}
