/**
 * Reads the node configuration from the process environment. The parsing itself is pure and
 * lives in `src/config/config.ts`; this shell only gathers the `BUTTERFLY_*` variables.
 *
 * @module
 */

import { type ButterflyConfig, CONFIG_VARIABLES, parseConfig } from "../config/config.ts";

/**
 * Loads the configuration from `Deno.env`, reading only the `BUTTERFLY_*` variables (so
 * `--allow-env=BUTTERFLY_HEARTBEAT_INTERVAL_MS,...` suffices).
 *
 * @returns The validated configuration, with the seed's defaults for unset variables.
 * @throws {ConfigError} If a variable is malformed or out of range.
 *
 * @example Usage
 * ```ts
 * import { loadConfigFromEnv } from "@butterfly/bcp/runtime";
 * import assert from "node:assert/strict";
 * Deno.env.set("BUTTERFLY_PHI_FAILED", "14");
 * assert.equal(loadConfigFromEnv().phiFailed, 14);
 * Deno.env.delete("BUTTERFLY_PHI_FAILED");
 * ```
 */
export function loadConfigFromEnv(): ButterflyConfig {
  const env: Record<string, string | undefined> = {};
  for (const name of CONFIG_VARIABLES) env[name] = Deno.env.get(name);
  return parseConfig(env);
}

/**
 * Loads a node's configuration from the whole environment, refusing any `BUTTERFLY_` variable
 * that is not a setting, so a misspelt one is an error naming it rather than silently ignored
 * (needs `--allow-env`).
 *
 * @returns The validated configuration.
 * @throws {ConfigError} If a variable is unknown, malformed or out of range.
 *
 * @example A misspelling is refused
 * ```ts
 * import { loadNodeConfig } from "@butterfly/bcp/runtime";
 * import assert from "node:assert/strict";
 * Deno.env.set("BUTTERFLY_HEARTBEAT_MS", "50");
 * assert.throws(() => loadNodeConfig(), /BUTTERFLY_HEARTBEAT_MS is not a Butterfly setting/);
 * Deno.env.delete("BUTTERFLY_HEARTBEAT_MS");
 * ```
 */
export function loadNodeConfig(): ButterflyConfig {
  return parseConfig(Deno.env.toObject(), {
    refuseUnknown: true,
    alsoKnown: RUNTIME_VARIABLES,
  });
}

/** The `BUTTERFLY_` variables of the runtime that are not settings of the protocol. */
export const RUNTIME_VARIABLES: readonly string[] = ["BUTTERFLY_TRACE"];

/**
 * The trace directory `BUTTERFLY_TRACE` names, if it is set and not empty (needs
 * `--allow-env`).
 *
 * @returns The directory, or `undefined`.
 */
export function traceDirFromEnv(): string | undefined {
  const dir = Deno.env.get("BUTTERFLY_TRACE");
  return dir === undefined || dir === "" ? undefined : dir;
}
