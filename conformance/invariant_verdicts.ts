/**
 * The TypeScript invariants against TLC where they fail. On the corpus every invariant holds,
 * so a TypeScript invariant weakened in a way no committed counterexample shows would pass the
 * replay. Here states of each corpus file are perturbed (a committed result changed, a
 * certificate or a stage output forged, a token or checkpoint altered, an honest node excluded,
 * a message dropped; every probe type-correct), TLC evaluates every safety property of the spec
 * on each (`tla/TraceInvariants.tla`), and `invariantViolations` and `commitStableViolations`
 * must name exactly the properties TLC found false.
 *
 * The probes are drawn with a fixed seed from the committed corpus, so they are the same on
 * every machine; `conformance/verdicts/<name>.json` holds TLC's verdicts with the SHA-256 of the
 * probes it judged and of the spec, so a verdict file left stale by a new corpus, a new
 * generator or a new spec fails loudly. `deno task verdicts` (needs TLC) writes them;
 * `deno task conformance` checks them.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { commitStableViolations, invariantViolations } from "../src/core/invariants.ts";
import type { ClusterConfig, NodeIndex, ViewChangeMessage } from "../src/core/spec_state.ts";
import { Prng } from "../src/sim/prng.ts";
import type { EnvironmentConfig } from "../src/sim/system.ts";
import { hashFiles, SPEC_MODULE_FILE, TLA_DIR } from "../tla/spec_hash.ts";
import { allowedSeeds, validViewChangeQuorum } from "../src/core/_tally.ts";
import { MessageLog } from "../src/core/received.ts";
import { decodeState } from "./counterexamples.ts";
import { messageSchema } from "./variable_map.ts";
import { corpusFiles, fileConfig, parseConstants } from "./run.ts";
import { readTraceFile, type TraceFile } from "./trace_file.ts";

/** The folder of the committed verdict files. */
export const VERDICTS_DIR: string = new URL("./verdicts", import.meta.url).pathname;

/** The TLA+ module that judges the probes. */
export const VERDICT_MODULE_FILE = "TraceInvariants.tla";

/** The format tag of a verdict file. */
export const VERDICT_FORMAT = "butterfly-tlc-verdicts/1";

/** The properties judged, as the spec names them. */
export const PROPERTIES = [
  "Agreement",
  "Consistency",
  "Validity",
  "ByzantineResistance",
  "CheckpointIntegrity",
  "ExclusionAccuracy",
  "CommitStable",
] as const;

/** A property of {@linkcode PROPERTIES}. */
export type Property = typeof PROPERTIES[number];

/** Behaviours of a corpus file whose states are probed, states per behaviour, probes per state. */
const BEHAVIOURS_PROBED = 20;
const STATES_PER_BEHAVIOUR = 3;
const PROBES_PER_STATE = 3;

/** One probe: the spec's variables in TLC's JSON shape, and the committed results after a step. */
export interface Probe {
  /** The variables (TLC's JSON: sets as arrays, functions of nodes as arrays). */
  readonly state: Record<string, unknown>;
  /** Each node's committed result in the next state (for CommitStable). */
  readonly after: readonly number[];
  /** View changes (TLC's JSON) for the spec's AllowedSeeds and ValidViewChangeQuorum. */
  readonly vcs: readonly Record<string, unknown>[];
  /** The view ValidViewChangeQuorum checks them for. */
  readonly vcView: number;
}

/** A verdict file: TLC's judgement of one corpus file's probes. */
export interface VerdictFile {
  /** {@linkcode VERDICT_FORMAT}. */
  readonly format: string;
  /** The corpus file's configuration, for example `TraceTwoFPlusOne.cfg`. */
  readonly config: string;
  /** TLC's version line. */
  readonly tlcVersion: string;
  /** SHA-256 of `ButterflyCoordination.tla` and `TraceInvariants.tla`. */
  readonly specSha256: string;
  /** SHA-256 of the probes' NDJSON text, as TLC read it. */
  readonly probesSha256: string;
  /** Per probe, in order, the properties TLC found false. */
  readonly violated: readonly (readonly Property[])[];
  /** Per probe, the spec's AllowedSeeds(vcs), ascending. */
  readonly allowedSeeds: readonly (readonly number[])[];
  /** Per probe, the spec's ValidViewChangeQuorum(vcs, vcView). */
  readonly validQuorum: readonly boolean[];
}

/** What the check of one corpus file found. */
export interface VerdictResult {
  /** The corpus file's configuration. */
  readonly config: string;
  /** The probes judged. */
  readonly probes: number;
  /** Per property, the probes where TLC found it false, and the view-change probes' outcomes. */
  readonly violatedCounts: Readonly<VerdictCounts>;
  /** Where TypeScript and TLC disagree, or why the file could not be checked; empty if none. */
  readonly problems: readonly string[];
}

type Json = Record<string, unknown>;

/**
 * SHA-256 of the spec files the verdicts depend on.
 *
 * @returns The lowercase hex hash.
 */
export async function verdictSpecHash(): Promise<string> {
  return await hashFiles(TLA_DIR, [SPEC_MODULE_FILE, VERDICT_MODULE_FILE]);
}

/**
 * The constants the probes are drawn from, read from the configuration's text: the probes depend
 * on no code under test, so a mutant of the core cannot change them.
 */
export interface ProbeConstants {
  /** `N`. */
  readonly nodeCount: number;
  /** `T`. */
  readonly tokenCount: number;
  /** `S`. */
  readonly stageCount: number;
  /** `MaxView`. */
  readonly viewMax: number;
  /** `Seeds`, ascending. */
  readonly seeds: readonly number[];
  /** The spec's `Quorum`, (N + F) \div 2 + 1, worked out here from the constants. */
  readonly quorum: number;
  /** `Byzantine`. */
  readonly byzantine: readonly number[];
}

/**
 * The probes' constants of a configuration.
 *
 * @param configText The configuration's text.
 * @returns The constants.
 * @throws {Error} When the configuration lacks one.
 */
export function probeConstants(configText: string): ProbeConstants {
  const constants = parseConstants(configText);
  const number = (name: string): number => {
    const value = constants.get(name);
    if (typeof value !== "number") throw new Error(`the configuration sets no number ${name}`);
    return value;
  };
  const set = (name: string): number[] => {
    const value = constants.get(name);
    if (!Array.isArray(value)) throw new Error(`the configuration sets no set ${name}`);
    return [...value].sort((a, b) => a - b);
  };
  return {
    nodeCount: number("N"),
    tokenCount: number("T"),
    stageCount: number("S"),
    viewMax: number("MaxView"),
    seeds: set("Seeds"),
    quorum: Math.floor((number("N") + number("F")) / 2) + 1,
    byzantine: set("Byzantine"),
  };
}

// The spec's NoValue and Out(x, t, s) (ButterflyCoordination.tla), for the probes.
const NO_VALUE = -1;
function out(seed: number, token: number, stage: number): number {
  return seed * 100 + token * 10 + stage;
}

// The spec's ValuesAt(t, s).
function valuesAt(cluster: ProbeConstants, token: number, stage: number): number[] {
  return [0, ...cluster.seeds].map((x) => out(x, token, stage));
}

/**
 * The probes of one corpus file: states of every `lines.length / 20`-th behaviour, each
 * perturbed three times with one to three changes, drawn from a seed fixed per file.
 *
 * @param trace The corpus file.
 * @param cluster Its constants.
 * @returns The probes.
 */
export function probesOf(
  trace: TraceFile,
  cluster: ProbeConstants,
): Probe[] {
  const prng = new Prng(seedOf(trace.header.config));
  const stride = Math.max(1, Math.floor(trace.lines.length / BEHAVIOURS_PROBED));
  const out: Probe[] = [];
  for (let b = 0; b < trace.lines.length && out.length < maxProbes(); b += stride) {
    const states = JSON.parse(trace.lines[b] as string) as Json[];
    for (let k = 0; k < STATES_PER_BEHAVIOUR; k++) {
      const base = variablesOf(states[prng.below(states.length)] as Json);
      for (let p = 0; p < PROBES_PER_STATE; p++) {
        const state = structuredClone(base);
        const changes = 1 + prng.below(3);
        for (let c = 0; c < changes; c++) perturb(state, prng, cluster);
        const { vcs, vcView } = viewChangesOf(state, prng, cluster);
        out.push({ state, after: afterOf(state, prng, cluster), vcs, vcView });
      }
    }
  }
  return out;
}

function maxProbes(): number {
  return BEHAVIOURS_PROBED * STATES_PER_BEHAVIOUR * PROBES_PER_STATE;
}

// A seed per configuration name (FNV-1a), so that each file's probes differ.
function seedOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  }
  return hash;
}

// The spec's variables of a trace state (the trace module's bookkeeping left out).
function variablesOf(state: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(state)) {
    if (key !== "_action" && key !== "action" && key !== "enabled") out[key] = value;
  }
  return out;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let x = from; x <= to; x++) out.push(x);
  return out;
}

// Every value of the spec's Value: each seed's and garbage's at every token and stage.
function allValues(cluster: ProbeConstants): number[] {
  const out: number[] = [];
  for (let t = 0; t <= cluster.tokenCount; t++) {
    for (let s = 0; s <= cluster.stageCount; s++) out.push(...valuesAt(cluster, t, s));
  }
  return out;
}

// Fisher-Yates, with the probes' draws.
function shuffled<T>(items: readonly T[], prng: Prng): T[] {
  const out = [...items];
  for (let k = out.length - 1; k > 0; k--) {
    const j = prng.below(k + 1);
    [out[k], out[j]] = [out[j] as T, out[k] as T];
  }
  return out;
}

function results(cluster: ProbeConstants): number[] {
  return valuesAt(cluster, cluster.tokenCount, cluster.stageCount);
}

function perNode<T>(state: Json, field: string): T[] {
  return state[field] as T[];
}

function addMessage(state: Json, message: Json): void {
  const msgs = state.msgs as Json[];
  const text = JSON.stringify(message, Object.keys(message).sort());
  if (!msgs.some((m) => JSON.stringify(m, Object.keys(m).sort()) === text)) msgs.push(message);
}

// One type-correct change to the state (every value stays in the spec's TypeOK).
function perturb(
  state: Json,
  prng: Prng,
  cluster: ProbeConstants,
): void {
  const nodes = range(1, cluster.nodeCount);
  const node = prng.pick(nodes);
  const i = node - 1;
  const msgs = state.msgs as Json[];
  const committedValues = [...new Set(perNode<number>(state, "committed"))]
    .filter((x) => x !== NO_VALUE);
  switch (prng.below(12)) {
    case 0: { // a committed result: a result, nothing, or one already committed
      const choices = [...results(cluster), NO_VALUE, ...committedValues];
      perNode<number>(state, "committed")[i] = prng.pick(choices);
      return;
    }
    case 1: { // votes for one value in one view from some signers: up to every node
      const type = prng.pick(["Prepare", "Commit"]);
      const view = prng.below(cluster.viewMax + 1);
      const value = prng.pick([...results(cluster), ...committedValues]);
      const size = prng.pick([cluster.quorum - 1, cluster.quorum, cluster.nodeCount]);
      const signers = shuffled(nodes, prng).slice(0, size);
      for (const from of signers) addMessage(state, { from, type, view, value });
      return;
    }
    case 2: { // one message, or every message of one signer, dropped
      if (msgs.length === 0) return;
      if (prng.chance(0.5)) msgs.splice(prng.below(msgs.length), 1);
      else {
        const from = (msgs[prng.below(msgs.length)] as Json).from;
        state.msgs = msgs.filter((m) => m.from !== from);
      }
      return;
    }
    case 3: { // a token changed, or one more
      const tokens = perNode<number[]>(state, "tokens")[i] as number[];
      const value = prng.pick(allValues(cluster));
      if (tokens.length > 0 && prng.chance(0.7)) tokens[prng.below(tokens.length)] = value;
      else if (tokens.length < cluster.tokenCount) tokens.push(value);
      return;
    }
    case 4: { // a stable checkpoint: mostly correct tokens, its length and position apart
      const seed = prng.pick([0, ...cluster.seeds]);
      const position = prng.below(cluster.tokenCount + 1);
      const length = prng.chance(0.6) ? position : prng.below(cluster.tokenCount + 1);
      const tokens = range(1, length).map((t) =>
        prng.chance(0.8) ? out(seed, t, cluster.stageCount) : prng.pick(allValues(cluster))
      );
      perNode<Json>(state, "stableCheckpoint")[i] = { seed, position, tokens };
      return;
    }
    case 5: // the seed changed under the node's tokens
      perNode<number>(state, "seed")[i] = prng.pick([0, ...cluster.seeds]);
      return;
    case 6: { // a node excluded, honest or not
      const excluded = perNode<number[]>(state, "excluded")[i] as number[];
      const who = prng.pick(nodes);
      if (!excluded.includes(who)) {
        excluded.push(who);
        excluded.sort((a, b) => a - b);
      }
      return;
    }
    case 7: { // an assignment: an Assign, or a NewView citing no view change
      const from = prng.pick(nodes);
      const seed = prng.pick(cluster.seeds);
      if (cluster.viewMax >= 1 && prng.chance(0.5)) {
        const view = 1 + prng.below(cluster.viewMax);
        addMessage(state, { from, type: "NewView", view, viewChanges: [], seed });
      } else addMessage(state, { from, type: "Assign", view: 0, seed });
      return;
    }
    case 8: { // a stage output, often of the last stage and token, often of a committed value
      const token = prng.chance(0.7) ? cluster.tokenCount : 1 + prng.below(cluster.tokenCount);
      const stage = prng.chance(0.7) ? cluster.stageCount : 1 + prng.below(cluster.stageCount);
      const value = committedValues.length > 0 && prng.chance(0.5)
        ? prng.pick(committedValues)
        : prng.pick(valuesAt(cluster, token, stage));
      addMessage(state, {
        from: prng.pick(
          cluster.byzantine.length > 0 && prng.chance(0.5) ? cluster.byzantine : nodes,
        ),
        type: "StageOutput",
        view: prng.below(cluster.viewMax + 1),
        seed: prng.pick(cluster.seeds),
        token,
        stage,
        value,
      });
      return;
    }
    case 9: { // two certificates: each of two results gets a quorum of votes, or every node's
      const [first, second] = shuffled(results(cluster), prng) as [number, number];
      for (const value of [first, second]) {
        const type = prng.pick(["Prepare", "Commit"]);
        const view = prng.below(cluster.viewMax + 1);
        const size = type === "Prepare" && prng.chance(0.5) ? cluster.nodeCount : cluster.quorum;
        for (const from of shuffled(nodes, prng).slice(0, size)) {
          addMessage(state, { from, type, view, value });
        }
      }
      return;
    }
    case 10: { // two nodes commit results, the same or not
      const [a, b] = shuffled(nodes, prng) as [number, number];
      const committed = perNode<number>(state, "committed");
      committed[a - 1] = prng.pick(results(cluster));
      committed[b - 1] = prng.chance(0.5)
        ? committed[a - 1] as number
        : prng.pick(results(cluster));
      return;
    }
    default: { // the node's tokens made the correct prefix of its seed (or of another)
      const seed = perNode<number>(state, "seed")[i] as number;
      const length = prng.below(cluster.tokenCount + 1);
      perNode<number[]>(state, "tokens")[i] = range(1, length).map((t) =>
        out(prng.chance(0.8) ? seed : prng.pick(cluster.seeds), t, cluster.stageCount)
      );
      return;
    }
  }
}

// A vote a view change may claim: none, or a result in an earlier view.
function claimedVote(prng: Prng, cluster: ProbeConstants, view: number): Json {
  if (prng.chance(0.3)) return { view: -1, value: NO_VALUE };
  return { view: prng.below(view), value: prng.pick(results(cluster)) };
}

// View changes for a view: some the state holds, some forged (most of them then added to the
// network, so received), claims shared by F + 1 of them (a fast-path vote) and prepared claims
// with a quorum of Prepare votes (a certificate), some of another view or of one signer twice.
function viewChangesOf(
  state: Json,
  prng: Prng,
  cluster: ProbeConstants,
): { vcs: Json[]; vcView: number } {
  const view = 1 + prng.below(cluster.viewMax);
  const msgs = state.msgs as Json[];
  const vcs: Json[] = shuffled(msgs.filter((m) => m.type === "ViewChange" && m.view === view), prng)
    .slice(0, cluster.quorum);
  const shared = claimedVote(prng, cluster, view);
  for (const from of shuffled(range(1, cluster.nodeCount), prng)) {
    if (vcs.length >= cluster.quorum + (prng.chance(0.2) ? 1 : 0)) break;
    if (vcs.some((vc) => vc.from === from) && prng.chance(0.8)) continue;
    const vc: Json = {
      from,
      type: "ViewChange",
      view: prng.chance(0.9) ? view : 1 + prng.below(cluster.viewMax),
      prepared: prng.chance(0.5) ? shared : claimedVote(prng, cluster, view),
      voted: prng.chance(0.6) ? shared : claimedVote(prng, cluster, view),
    };
    vcs.push(vc);
    if (prng.chance(0.85)) addMessage(state, vc);
  }
  for (const vc of vcs) {
    const prepared = vc.prepared as { view: number; value: number };
    if (prepared.view < 0 || !prng.chance(0.4)) continue;
    const size = prng.chance(0.8) ? cluster.quorum : cluster.quorum - 1;
    for (const from of shuffled(range(1, cluster.nodeCount), prng).slice(0, size)) {
      addMessage(state, { from, type: "Prepare", view: prepared.view, value: prepared.value });
    }
  }
  const unique = vcs.filter((vc, k) =>
    vcs.findIndex((other) => JSON.stringify(other) === JSON.stringify(vc)) === k
  );
  const vcView = prng.chance(0.9) ? view : prng.below(cluster.viewMax + 2);
  return { vcs: unique, vcView };
}

// The committed results after a step: mostly unchanged, sometimes one node's changed.
function afterOf(state: Json, prng: Prng, cluster: ProbeConstants): number[] {
  const after = [...perNode<number>(state, "committed")];
  if (prng.chance(0.4)) {
    after[prng.below(after.length)] = prng.pick([...results(cluster), NO_VALUE]);
  }
  return after;
}

/**
 * The probes as TLC reads them: one JSON object per line.
 *
 * @param probes The probes.
 * @returns The NDJSON text.
 */
export function probesText(probes: readonly Probe[]): string {
  return probes.map((probe) => JSON.stringify(probe)).join("\n") + "\n";
}

/**
 * The properties the TypeScript invariants find false in a probe.
 *
 * @param probe The probe.
 * @param cluster The cluster.
 * @param byzantine The Byzantine nodes.
 * @returns The false properties, in {@linkcode PROPERTIES} order.
 */
export function typeScriptVerdict(
  probe: Probe,
  cluster: ClusterConfig,
  byzantine: readonly NodeIndex[],
): Property[] {
  const { nodes, messages } = decodeState(probe.state, cluster.nodeCount);
  const lines = invariantViolations({ cluster, nodes, messages, byzantine });
  const next = nodes.map((node, index) => ({ ...node, committed: probe.after[index] as number }));
  lines.push(...commitStableViolations(nodes, next, byzantine));
  const names = new Set(lines.map((line) => line.slice(0, line.indexOf(":"))));
  return PROPERTIES.filter((name) => names.has(name));
}

/**
 * The TypeScript AllowedSeeds and ValidViewChangeQuorum of a probe's view changes.
 *
 * @param probe The probe.
 * @param cluster The cluster.
 * @returns The allowed seeds, ascending, and whether the view changes are a valid quorum.
 */
export function typeScriptViewChange(
  probe: Probe,
  cluster: ClusterConfig,
): { allowedSeeds: number[]; validQuorum: boolean } {
  const received = new MessageLog(decodeState(probe.state, cluster.nodeCount).messages);
  const vcs = probe.vcs.map((vc, k) => messageSchema.decode(vc, `vcs[${k}]`) as ViewChangeMessage);
  return {
    allowedSeeds: [...allowedSeeds(cluster, received, vcs)].sort((a, b) => a - b),
    validQuorum: validViewChangeQuorum(cluster, received, vcs, probe.vcView),
  };
}

/** A corpus file with its cluster, environment and probes. */
export interface ProbedFile {
  /** The corpus file's name without folder and extension, for example `TwoFPlusOne`. */
  readonly name: string;
  /** Its configuration file. */
  readonly config: string;
  /** Its configuration's text. */
  readonly configText: string;
  /** The cluster. */
  readonly cluster: ClusterConfig;
  /** The environment. */
  readonly environment: EnvironmentConfig;
  /** The probes. */
  readonly probes: readonly Probe[];
}

/**
 * Reads a corpus file and draws its probes.
 *
 * @param path The corpus file.
 * @returns The file's probes and what they are judged under.
 */
export async function probedFile(path: string): Promise<ProbedFile> {
  const trace = await readTraceFile(path);
  const config = trace.header.config;
  const configText = await Deno.readTextFile(`${TLA_DIR}/${config}`);
  const { cluster, environment } = fileConfig(configText);
  const name = (path.split("/").pop() as string).replace(/\.ndjson(\.gz)?$/, "");
  return {
    name,
    config,
    configText,
    cluster,
    environment,
    probes: probesOf(trace, probeConstants(configText)),
  };
}

/**
 * The SHA-256 of a text.
 *
 * @param text The text.
 * @returns The lowercase hex hash.
 */
export function textHash(text: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(text)));
}

/** Per property, the probes TLC found it false in; and how many view-change probes were what. */
export type VerdictCounts = Record<Property, number> & {
  /** Probes whose AllowedSeeds rules out a seed. */
  restricted: number;
  /** Probes whose view changes are a valid quorum. */
  validQuorum: number;
};

function emptyCounts(): VerdictCounts {
  const counts = Object.fromEntries(PROPERTIES.map((name) => [name, 0]));
  return { ...counts, restricted: 0, validQuorum: 0 } as VerdictCounts;
}

/**
 * Checks one corpus file's probes against its committed verdicts.
 *
 * @param file The probed file.
 * @param verdicts Its verdict file, or undefined when there is none.
 * @param specSha256 The current {@linkcode verdictSpecHash}.
 * @returns What was found.
 */
export function checkFile(
  file: ProbedFile,
  verdicts: VerdictFile | undefined,
  specSha256: string,
): VerdictResult {
  const counts = emptyCounts();
  const result = (problems: string[]): VerdictResult => ({
    config: file.config,
    probes: file.probes.length,
    violatedCounts: counts,
    problems,
  });
  const rerun = "run `deno task verdicts` (needs TLC)";
  if (verdicts === undefined) return result([`no verdicts for ${file.name}: ${rerun}`]);
  if (verdicts.format !== VERDICT_FORMAT) {
    return result([`${file.name}: verdict format ${verdicts.format}, not ${VERDICT_FORMAT}`]);
  }
  if (verdicts.specSha256 !== specSha256) {
    return result([`${file.name}: the verdicts are of another spec: ${rerun}`]);
  }
  if (verdicts.probesSha256 !== textHash(probesText(file.probes))) {
    return result([
      `${file.name}: the verdicts are of other probes (corpus or generator): ${rerun}`,
    ]);
  }
  if (
    verdicts.violated.length !== file.probes.length ||
    verdicts.allowedSeeds?.length !== file.probes.length ||
    verdicts.validQuorum?.length !== file.probes.length
  ) {
    return result([
      `${file.name}: ${verdicts.violated.length} verdicts, ${file.probes.length} probes`,
    ]);
  }
  const problems: string[] = [];
  const { cluster, environment } = file;
  file.probes.forEach((probe, index) => {
    const tlc = verdicts.violated[index] as readonly Property[];
    for (const name of tlc) counts[name] += 1;
    const ours = typeScriptVerdict(probe, cluster, environment.byzantine);
    const view = typeScriptViewChange(probe, cluster);
    const seeds = verdicts.allowedSeeds[index] as readonly number[];
    if (view.allowedSeeds.join(",") !== seeds.join(",")) {
      problems.push(
        `${file.name} probe ${index + 1}: AllowedSeeds is {${seeds}} for TLC, ` +
          `{${view.allowedSeeds}} for TypeScript`,
      );
    }
    if (view.validQuorum !== verdicts.validQuorum[index]) {
      problems.push(
        `${file.name} probe ${index + 1}: ValidViewChangeQuorum is ` +
          `${verdicts.validQuorum[index]} for TLC, ${view.validQuorum} for TypeScript`,
      );
    }
    if (seeds.length < cluster.seeds.length) counts.restricted += 1;
    if (verdicts.validQuorum[index] === true) counts.validQuorum += 1;
    const missing = tlc.filter((name) => !ours.includes(name));
    const extra = ours.filter((name) => !tlc.includes(name));
    if (missing.length > 0 || extra.length > 0) {
      problems.push(
        `${file.name} probe ${index + 1}: ` +
          (missing.length > 0 ? `TLC finds ${missing.join(", ")} false, TypeScript true` : "") +
          (missing.length > 0 && extra.length > 0 ? "; " : "") +
          (extra.length > 0 ? `TypeScript finds ${extra.join(", ")} false, TLC true` : ""),
      );
    }
  });
  return result(problems);
}

/**
 * Checks every corpus file's probes against the committed verdicts.
 *
 * @returns One result per corpus file.
 */
export async function checkVerdicts(): Promise<VerdictResult[]> {
  const specSha256 = await verdictSpecHash();
  const out: VerdictResult[] = [];
  for (const path of await corpusFiles()) {
    const file = await probedFile(path);
    let verdicts: VerdictFile | undefined;
    try {
      verdicts = JSON.parse(await Deno.readTextFile(`${VERDICTS_DIR}/${file.name}.json`));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    out.push(checkFile(file, verdicts, specSha256));
  }
  return out;
}

/**
 * One line per property: how many probes TLC found it false in, of how many.
 *
 * @param results The per-file results.
 * @returns The summary line.
 */
export function formatVerdicts(results: readonly VerdictResult[]): string {
  const probes = results.reduce((sum, r) => sum + r.probes, 0);
  const counts = PROPERTIES.map((name) =>
    `${name} ${results.reduce((sum, r) => sum + r.violatedCounts[name], 0)}`
  );
  const sum = (key: "restricted" | "validQuorum"): number =>
    results.reduce((total, r) => total + r.violatedCounts[key], 0);
  return `${probes} probes; false in (per TLC): ${counts.join(", ")}; AllowedSeeds restricted ` +
    `in ${sum("restricted")}, ValidViewChangeQuorum true in ${sum("validQuorum")}`;
}
