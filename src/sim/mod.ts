/**
 * The deterministic simulator: the environment's actions (delivery, crash, recovery, Byzantine
 * sends) around honest nodes driven through the core's `step`, the lift of a system state to the
 * spec's variables, and seeded runs that check the spec's invariants and liveness. Importing it
 * loads no native code.
 *
 * @example A seeded run
 * ```ts
 * import { simulate } from "@butterfly/bcp/sim";
 * import assert from "node:assert/strict";
 *
 * const report = simulate({ seed: 42, steps: 300 });
 * assert.ok(report.ok, report.failure);
 * ```
 *
 * @module
 */

export {
  applyStep,
  applyTransition,
  byzantineSend,
  crash,
  deliver,
  DurabilityError,
  EffectError,
  type EnvironmentConfig,
  type EnvironmentResult,
  initialSystem,
  isByzantineMessage,
  isUp,
  liftSystem,
  mayHeartbeat,
  maySuspect,
  mayTimeOut,
  type NodeStatus,
  recover,
  type SpecVariables,
  type SystemState,
} from "./system.ts";
export { Prng } from "./prng.ts";
export {
  simulate,
  type SimulateOptions,
  SIMULATION_BYZANTINE_MESSAGES_MAX,
  SIMULATION_CRASHES_MAX,
  SIMULATION_FALSE_SUSPICIONS_MAX,
  SIMULATION_IN_FLIGHT_MAX,
  SIMULATION_LIVENESS_ROUNDS_MAX,
  SIMULATION_NODE_COUNT,
  SIMULATION_VIEW_MAX,
  type SimulationReport,
} from "./simulator.ts";
