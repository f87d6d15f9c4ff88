/**
 * The TypeScript invariants against TLC's committed counterexamples: for every model of
 * `tla/models.json` that TLC expects to violate an invariant, the counterexample it wrote
 * (`tla/results/<model>.trace.json`) is decoded state by state, and `invariantViolations` must
 * report that invariant at the last state and at no state before, as TLC found it. Models whose
 * bug overrides the quorum (`Quorum <- BugQuorum...` in the configuration) are evaluated with
 * that quorum, as TLC evaluated `Agreement` with it.
 *
 * @module
 */

import { invariantViolations } from "../src/core/invariants.ts";
import type { ClusterConfig, NodeIndex, NodeState, SpecMessage } from "../src/core/spec_state.ts";
import { TLA_DIR } from "../tla/spec_hash.ts";
import { fileConfig } from "./run.ts";
import { VARIABLE_MAP } from "./variable_map.ts";

/** A model of `tla/models.json`, as far as this check reads it. */
interface ModelEntry {
  readonly name: string;
  readonly config: string;
  readonly expect: { readonly outcome: string; readonly invariant?: string };
}

/** What one counterexample showed. */
export interface CounterexampleResult {
  /** The model. */
  readonly model: string;
  /** The invariant TLC found violated. */
  readonly invariant: string;
  /** The counterexample's length in states. */
  readonly states: number;
  /** Why the TypeScript invariants disagree with TLC; undefined when they agree. */
  readonly problem: string | undefined;
}

/**
 * The quorum a configuration's bug sets, by the operator it substitutes (`tla/MC.tla`): the
 * invariants count certificates with it, as TLC does.
 */
const QUORUM_OVERRIDES: Readonly<Record<string, (n: number, f: number) => number>> = {
  BugQuorumTooSmall: (n, f) => Math.floor((n + f) / 2),
  BugQuorumMajority: (_n, f) => f + 1,
};

/**
 * The cluster of a model's configuration, with its quorum override applied.
 *
 * @param configText The configuration's text.
 * @returns The cluster and the Byzantine nodes.
 * @throws {Error} On a quorum override this check does not know.
 */
export function modelCluster(
  configText: string,
): { cluster: ClusterConfig; byzantine: readonly NodeIndex[] } {
  const { cluster, environment } = fileConfig(configText);
  const override = /^\s*Quorum\s*<-\s*(\w+)\s*$/m.exec(configText)?.[1];
  if (override === undefined) return { cluster, byzantine: environment.byzantine };
  const quorum = QUORUM_OVERRIDES[override];
  if (quorum === undefined) throw new Error(`unknown quorum override ${override}`);
  const changed = quorum(cluster.nodeCount, cluster.faultsMax);
  return {
    cluster: { ...cluster, quorum: changed, checkpointQuorum: changed },
    byzantine: environment.byzantine,
  };
}

/**
 * The nodes and messages of one TLC state (its variables as TLC's JSON writes them).
 *
 * @param variables The state's variables.
 * @param nodeCount The number of nodes.
 * @returns Every node's state and the network.
 */
export function decodeState(
  variables: Readonly<Record<string, unknown>>,
  nodeCount: number,
): { nodes: NodeState[]; messages: SpecMessage[] } {
  const decoded = new Map<string, unknown>();
  for (const { variable, schema } of VARIABLE_MAP) {
    if (!(variable in variables)) throw new Error(`the state lacks ${variable}`);
    decoded.set(variable, schema.decode(variables[variable], variable));
  }
  const field = <T>(name: string, id: number): T => (decoded.get(name) as T[])[id - 1] as T;
  const nodes: NodeState[] = [];
  for (let id = 1; id <= nodeCount; id++) {
    nodes.push({
      id,
      view: field("view", id),
      seed: field("seed", id),
      progress: field("progress", id),
      tokens: field("tokens", id),
      vote: field("vote", id),
      prepared: field("prepared", id),
      committed: field("committed", id),
      stableCheckpoint: field("stableCheckpoint", id),
      suspected: field("suspected", id),
      excluded: field("excluded", id),
    });
  }
  return { nodes, messages: decoded.get("msgs") as SpecMessage[] };
}

/**
 * Checks one counterexample: the invariant must fail at its last state only.
 *
 * @param model The model's name.
 * @param invariant The invariant TLC found violated.
 * @param configText The model's configuration.
 * @param trace TLC's `-dumpTrace json` output.
 * @returns What the TypeScript invariants said.
 */
export function checkCounterexample(
  model: string,
  invariant: string,
  configText: string,
  trace: unknown,
): CounterexampleResult {
  const { cluster, byzantine } = modelCluster(configText);
  const states = (trace as { counterexample?: { state?: unknown } }).counterexample?.state;
  if (!Array.isArray(states) || states.length === 0) {
    return { model, invariant, states: 0, problem: "no counterexample states" };
  }
  const failing = (index: number): string[] => {
    const entry = states[index] as [number, Record<string, unknown>];
    const { nodes, messages } = decodeState(entry[1], cluster.nodeCount);
    return invariantViolations({ cluster, nodes, messages, byzantine })
      .filter((line) => line.startsWith(`${invariant}:`));
  };
  for (let index = 0; index < states.length - 1; index++) {
    const early = failing(index);
    if (early.length > 0) {
      return {
        model,
        invariant,
        states: states.length,
        problem: `fails at state ${index + 1} of ${states.length}, before TLC's: ${early[0]}`,
      };
    }
  }
  const last = failing(states.length - 1);
  return {
    model,
    invariant,
    states: states.length,
    problem: last.length > 0
      ? undefined
      : `holds at state ${states.length}, where TLC found ${invariant} violated`,
  };
}

/**
 * Checks every committed counterexample of an invariant.
 *
 * @returns One result per model that TLC expects to violate an invariant.
 */
export async function checkCounterexamples(): Promise<CounterexampleResult[]> {
  const models: ModelEntry[] = JSON.parse(await Deno.readTextFile(`${TLA_DIR}/models.json`));
  const out: CounterexampleResult[] = [];
  for (const model of models) {
    const invariant = model.expect.invariant;
    if (model.expect.outcome !== "invariant" || invariant === undefined) continue;
    const configText = await Deno.readTextFile(`${TLA_DIR}/${model.config}`);
    let trace: unknown;
    try {
      trace = JSON.parse(
        await Deno.readTextFile(`${TLA_DIR}/results/${model.name}.trace.json`),
      );
    } catch (error) {
      out.push({
        model: model.name,
        invariant,
        states: 0,
        problem: `no counterexample: ${(error as Error).message}`,
      });
      continue;
    }
    out.push(checkCounterexample(model.name, invariant, configText, trace));
  }
  return out;
}
