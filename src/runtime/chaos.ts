/**
 * Chaos with real processes: a run starts a local cluster of node processes (n = 4, f = 1 or
 * n = 7, f = 2), submits several inferences at once, and meanwhile injects faults drawn from
 * its seed: kill -9 of any node (the coordinator included) and its restart from disk, and pauses
 * (SIGSTOP, then SIGCONT) longer than the failure detector's threshold, one at a time or
 * overlapping, never more than f nodes at once. Then the faults heal and the run checks:
 *
 * - every committed result equals the single-process output for its input;
 * - every node commits every inference once the faults heal (within a bound);
 * - every node's runtime trace checks (`validateTrace`): each action enabled, each state
 *   matched, restarts restoring what was on disk, a commit never changing, and Agreement,
 *   Consistency and ExclusionAccuracy across the nodes (no honest node excluded).
 *
 * A failing run keeps its directory (cluster file, data, traces, logs) and says how to rerun it.
 * Network faults and Byzantine nodes are not injected yet.
 *
 * @module
 */

import { join } from "node:path";
import { nextUniform, prngFromSeed, type PrngState } from "../model/_prng.ts";
import type { NodeId } from "../core/types.ts";
import { ButterflyClient, type CommittedInference } from "./client.ts";
import { LocalCluster } from "./local_cluster.ts";
import type { ModelPreset } from "./cluster_file.ts";
import { BYZANTINE_MODES, type ByzantineMode } from "./chaos_byzantine.ts";
import { FaultProxy, type LinkFault } from "./chaos_proxy.ts";
import { readTraceFiles, type TraceLine, type TraceReport, validateTraceDir } from "./trace.ts";

/** Options of {@linkcode chaosRun}. */
export interface ChaosOptions {
  /** The run's seed: it draws every fault and its timing. */
  readonly seed: number;
  /** Members: 4 (f = 1) or 7 (f = 2). */
  readonly nodeCount: 4 | 7;
  /** Inferences submitted at once (default 3). */
  readonly inferences?: number;
  /** Tokens per inference (default 48). */
  readonly tokens?: number;
  /**
   * Network faults through a proxy between every pair of members (default off): frames lost,
   * delayed, duplicated or reordered, one-way and two-way partitions, each healed later.
   */
  readonly network?: boolean;
  /** Tokens between checkpoints (`BUTTERFLY_CHECKPOINT_FREQUENCY`; default the nodes'). */
  readonly checkpointEvery?: number;
  /** The embedded model (default `default`, split in two stages). */
  readonly preset?: ModelPreset;
  /** How long faults are injected, in ms (default 6000; they stop sooner once all committed). */
  readonly faultMs?: number;
  /** The bound on committing everything once the faults heal, in ms (default 60,000). */
  readonly livenessMs?: number;
  /** Where the run's directory goes (default: the system's temporary directory). */
  readonly root?: string;
  /** Keep the run's directory even when it passes. */
  readonly keep?: boolean;
  /**
   * Byzantine members, at most f (default 0): drawn from the seed, each with a mode drawn from
   * {@linkcode BYZANTINE_MODES}; kills and pauses then take at most f minus them at once.
   */
  readonly byzantine?: number;
}

const BYZANTINE_MAIN = new URL("./chaos_byzantine_main.ts", import.meta.url).pathname;

/** A fault the run injected. */
export interface ChaosFault {
  /** When, in ms from the first submission. */
  readonly atMs: number;
  /** What. */
  readonly kind: "kill" | "restart" | "pause" | "resume" | "link" | "heal";
  /** Which node (for a link fault, the sender). */
  readonly node: NodeId;
  /** A link fault's receiver. */
  readonly peer?: NodeId;
  /** A link fault: what happens to the frames from `node` to `peer` (and back, if `both`). */
  readonly link?: LinkFault & { readonly both: boolean };
}

/** A member the run made Byzantine. */
export interface ChaosByzantine {
  /** The member. */
  readonly node: NodeId;
  /** What its outgoing frames do. */
  readonly mode: ByzantineMode;
}

/** What a run did and found. */
export interface ChaosReport {
  /** The seed. */
  readonly seed: number;
  /** Members. */
  readonly nodeCount: number;
  /** The faults, in order. */
  readonly faults: readonly ChaosFault[];
  /** The Byzantine members and their modes. */
  readonly byzantine: readonly ChaosByzantine[];
  /** What the network faults did to frames (`network` runs). */
  readonly frames?: FaultProxy["counts"] | undefined;
  /** Each excluded member and the honest members that excluded it. */
  readonly excludedBy: Readonly<Record<NodeId, readonly NodeId[]>>;
  /** Inferences committed and equal to the single-process output, of those submitted. */
  readonly committed: number;
  /** Inferences submitted. */
  readonly submitted: number;
  /** What the trace check saw. */
  readonly trace: Omit<TraceReport, "problems"> | undefined;
  /** Every violation found; empty when the run passes. */
  readonly violations: readonly string[];
  /** How long the run took, in ms. */
  readonly durationMs: number;
  /** The run's directory, where it was kept. */
  readonly dir: string | undefined;
  /** The command that reruns it. */
  readonly command: string;
}

const PROMPTS = ["Hello", "The quick brown fox", "Byzantine", "agreement", "pipeline", "cheap"];

/**
 * One chaos run.
 *
 * @param options The seed, the cluster's size and the load.
 * @returns What it did and found.
 */
export async function chaosRun(options: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const nodeCount = options.nodeCount;
  const faultsMax = nodeCount === 7 ? 2 : 1;
  const inferences = options.inferences ?? 3;
  const tokens = options.tokens ?? 48;
  const preset = options.preset ?? "default";
  const boundaries = preset === "default" ? [4] : [1];
  const byzantineCount = options.byzantine ?? 0;
  if (!(Number.isInteger(byzantineCount) && byzantineCount >= 0 && byzantineCount <= faultsMax)) {
    throw new RangeError(`byzantine must be 0..${faultsMax} for ${nodeCount} nodes`);
  }
  const command = `deno task chaos --runs 1 --seed ${options.seed} --nodes ${nodeCount}` +
    (byzantineCount > 0 ? ` --byzantine ${byzantineCount}` : "") +
    (options.tokens === undefined ? "" : ` --tokens ${options.tokens}`) +
    (options.inferences === undefined ? "" : ` --inferences ${options.inferences}`) +
    (options.checkpointEvery === undefined
      ? ""
      : ` --checkpoint-every ${options.checkpointEvery}`) +
    (options.network === true ? " --network" : "") +
    " --keep";
  const dir = await Deno.makeTempDir({
    prefix: `butterfly-chaos-${nodeCount}-${options.seed}-`,
    ...(options.root === undefined ? {} : { dir: options.root }),
  });
  const traceDir = join(dir, "traces");
  const violations: string[] = [];
  const faults: ChaosFault[] = [];
  const prng = prngFromSeed(options.seed);
  const byzantine = drawByzantine(prng, nodeCount, byzantineCount);
  const cluster = await LocalCluster.create({
    nodeCount,
    faultsMax,
    preset,
    boundaries,
    dir: join(dir, "cluster"),
    traceDir,
    behindProxy: options.network === true,
    ...(options.checkpointEvery === undefined
      ? {}
      : { env: { BUTTERFLY_CHECKPOINT_FREQUENCY: String(options.checkpointEvery) } }),
    entry: (id) => {
      const lying = byzantine.find((b) => b.node === id);
      return lying === undefined ? undefined : {
        script: BYZANTINE_MAIN,
        args: ["--mode", lying.mode, "--seed", String(options.seed)],
      };
    },
  });
  let client: ButterflyClient | undefined;
  let trace: Omit<TraceReport, "problems"> | undefined;
  let committed = 0;
  let exclusions = new Map<NodeId, Set<NodeId>>();
  let proxy: FaultProxy | undefined;
  try {
    if (options.network === true) {
      proxy = FaultProxy.start(
        cluster.cluster.nodes.map((node) => ({
          id: node.id,
          advertised: { host: node.host, port: node.port },
          actual: cluster.listenAddress(node.id)!,
        })),
        prngFromSeed(options.seed + LINK_SEED_OFFSET),
      );
    }
    await cluster.startAll();
    client = await ButterflyClient.connect({ cluster: cluster.cluster, signer: cluster.client });
    const t0 = performance.now();
    const requests = Array.from({ length: inferences }, (_, k) => ({
      inferenceId: options.seed * 1000 + k + 1,
      prompt: PROMPTS[k % PROMPTS.length]!,
    }));
    const results = requests.map(({ inferenceId, prompt }) =>
      client!.infer({
        prompt,
        tokenCount: tokens,
        inferenceId,
        timeoutMs: (options.faultMs ?? 6000) + (options.livenessMs ?? 60_000),
      }).then(
        (result) => ({ ok: true as const, result }),
        (error: Error) => ({ ok: false as const, error }),
      )
    );
    let settled = 0;
    for (const result of results) void result.then(() => settled++);
    const at = () => Math.round(performance.now() - t0);
    const done = () => settled === results.length;
    await Promise.all([
      injectFaults(cluster, prng, {
        faultsMax: faultsMax - byzantine.length,
        spared: byzantine.map((b) => b.node),
        untilMs: options.faultMs ?? 6000,
        done,
        record: (kind, node) => faults.push({ atMs: at(), kind, node }),
      }),
      proxy === undefined ? Promise.resolve() : injectLinkFaults(
        proxy,
        cluster.nodeIds,
        prngFromSeed(options.seed + LINK_SEED_OFFSET + 1),
        {
          untilMs: options.faultMs ?? 6000,
          done,
          record: (fault) => faults.push({ ...fault, atMs: at() }),
        },
      ),
    ]);
    if (proxy !== undefined && faults.some((f) => f.kind === "link")) {
      proxy.healAll();
      faults.push({ atMs: at(), kind: "heal", node: "all" });
    }
    // Heal: every node runs again.
    for (const id of cluster.nodeIds) {
      if (cluster.isPaused(id)) {
        cluster.resume(id);
        faults.push({ atMs: Math.round(performance.now() - t0), kind: "resume", node: id });
      }
    }
    await Promise.all(
      cluster.nodeIds.filter((id) => !cluster.isRunning(id)).map(async (id) => {
        faults.push({ atMs: Math.round(performance.now() - t0), kind: "restart", node: id });
        await cluster.start(id);
      }),
    );
    const outcomes = await Promise.all(results);
    const expected = await expectedOutputs(preset, boundaries, requests, tokens);
    outcomes.forEach((outcome, k) => {
      const { inferenceId, prompt } = requests[k]!;
      if (!outcome.ok) {
        violations.push(
          `inference ${inferenceId} (${prompt}) did not commit: ${outcome.error.message}`,
        );
        return;
      }
      if (!sameTokens(outcome.result, expected[k]!)) {
        violations.push(`inference ${inferenceId} committed tokens other than one process's`);
        return;
      }
      committed++;
    });
    // Liveness once healed: every node commits every inference.
    const livenessMs = options.livenessMs ?? 60_000;
    const honest = cluster.nodeIds.filter((id) => !byzantine.some((b) => b.node === id));
    const missing = () =>
      honest.flatMap((id) =>
        requests.filter(({ inferenceId }) =>
          !cluster.logs.get(id)!.some((r) =>
            r.msg === "inference committed" && r.inference === inferenceId
          )
        ).map(({ inferenceId }) => `${id}/${inferenceId}`)
      );
    try {
      await cluster.waitFor(() => missing().length === 0, "every node to commit", livenessMs);
    } catch {
      violations.push(
        `${missing().join(", ")} not committed ${livenessMs} ms after the faults healed`,
      );
    }
    await client.close();
    client = undefined;
    await cluster.close();
    const report = await validateTraceDir(traceDir, { byzantine: byzantine.map((b) => b.node) });
    const { problems, ...counts } = report;
    trace = counts;
    for (const problem of problems.slice(0, 20)) {
      violations.push(`trace ${problem.file}:${problem.line}: ${problem.message}`);
    }
    exclusions = await exclusionsOf(traceDir);
    violations.push(...exclusionViolations(exclusions, byzantine));
  } catch (error) {
    violations.push(`the run failed: ${(error as Error).message.split("\n")[0]}`);
  } finally {
    await client?.close();
    await cluster.close();
    proxy?.close();
  }
  const keep = violations.length > 0 || options.keep === true;
  if (keep) {
    await Deno.mkdir(join(dir, "logs"), { recursive: true });
    for (const [id, records] of cluster.logs) {
      await Deno.writeTextFile(
        join(dir, "logs", `${id}.ndjson`),
        records.map((r) => JSON.stringify(r)).join("\n") + "\n",
      );
    }
    await Deno.writeTextFile(join(dir, "faults.json"), JSON.stringify(faults, null, 2) + "\n");
    await Deno.writeTextFile(
      join(dir, "byzantine.json"),
      JSON.stringify(byzantine, null, 2) + "\n",
    );
    await Deno.writeTextFile(
      join(dir, "violations.json"),
      JSON.stringify(violations, null, 2) + "\n",
    );
  } else {
    await Deno.remove(dir, { recursive: true });
  }
  return {
    seed: options.seed,
    nodeCount,
    faults,
    byzantine,
    frames: proxy === undefined ? undefined : { ...proxy.counts },
    excludedBy: Object.fromEntries([...exclusions].map(([id, by]) => [id, [...by].sort()])),
    committed,
    submitted: inferences,
    trace,
    violations,
    durationMs: Math.round(performance.now() - started),
    dir: keep ? dir : undefined,
    command,
  };
}

// Injects faults until `untilMs` has passed or `done` holds: at each tick (100 to 400 ms apart)
// a node that is not disturbed is killed or paused, at most f at once, and a disturbed one whose
// time is up comes back (a killed node restarts from its data directory, a paused one goes on).
async function injectFaults(
  cluster: LocalCluster,
  prng: PrngState,
  how: {
    readonly faultsMax: number;
    readonly spared: readonly NodeId[];
    readonly untilMs: number;
    readonly done: () => boolean;
    readonly record: (kind: ChaosFault["kind"], node: NodeId) => void;
  },
): Promise<void> {
  const start = performance.now();
  const back = new Map<NodeId, number>(); // when each disturbed node comes back
  const starting = new Set<Promise<void>>();
  const draw = (min: number, max: number) => min + Math.floor(nextUniform(prng) * (max - min));
  while (performance.now() - start < how.untilMs && !how.done()) {
    await new Promise((resolve) => setTimeout(resolve, draw(100, 400)));
    const now = performance.now();
    for (const [id, at] of [...back]) {
      if (now < at) continue;
      back.delete(id);
      if (cluster.isPaused(id)) {
        cluster.resume(id);
        how.record("resume", id);
      } else if (!cluster.isRunning(id)) {
        how.record("restart", id);
        const restart = cluster.start(id).catch(() => {});
        starting.add(restart);
        void restart.finally(() => starting.delete(restart));
      }
    }
    if (back.size >= how.faultsMax || starting.size > 0) continue;
    const calm = cluster.nodeIds.filter((id) =>
      cluster.isRunning(id) && !back.has(id) && !how.spared.includes(id)
    );
    const roll = nextUniform(prng);
    if (roll < 0.3 || calm.length === 0) continue;
    const node = calm[draw(0, calm.length)]!;
    if (roll < 0.65) {
      await cluster.stop(node, "SIGKILL");
      how.record("kill", node);
    } else {
      cluster.pause(node);
      how.record("pause", node);
    }
    // Longer than the detector's threshold at the default 100 ms heartbeats.
    back.set(node, performance.now() + draw(300, 1500));
  }
  await Promise.all(starting);
}

// The link faults' draws come from streams of their own, so that a seed's kills and pauses are
// drawn the same with and without --network.
const LINK_SEED_OFFSET = 1_000_003;

// Network faults until `untilMs` has passed or `done` holds: every 200 to 600 ms, at most two at
// once, a fault on the frames from one member to another (both ways for a two-way partition),
// healed 300 to 2000 ms later.
async function injectLinkFaults(
  proxy: FaultProxy,
  nodeIds: readonly NodeId[],
  prng: PrngState,
  how: {
    readonly untilMs: number;
    readonly done: () => boolean;
    readonly record: (fault: Omit<ChaosFault, "atMs">) => void;
  },
): Promise<void> {
  const start = performance.now();
  const draw = (min: number, max: number) => min + Math.floor(nextUniform(prng) * (max - min));
  const active = new Map<string, number>(); // "from>to>both|one" → heal time
  while (performance.now() - start < how.untilMs && !how.done()) {
    await new Promise((resolve) => setTimeout(resolve, draw(200, 600)));
    const now = performance.now();
    for (const [key, healAt] of [...active]) {
      if (now < healAt) continue;
      active.delete(key);
      const [from, to, both] = key.split(">") as [NodeId, NodeId, string];
      proxy.setFault(from, to, undefined);
      if (both === "both") proxy.setFault(to, from, undefined);
      how.record({ kind: "heal", node: from, peer: to });
    }
    if (active.size >= 2 || nextUniform(prng) < 0.4) continue;
    const from = nodeIds[draw(0, nodeIds.length)]!;
    const others = nodeIds.filter((id) => id !== from);
    const to = others[draw(0, others.length)]!;
    const busy = [...active.keys()].some((key) =>
      key.startsWith(`${from}>${to}>`) || key.startsWith(`${to}>${from}>`)
    );
    if (busy) continue;
    const roll = draw(0, 6);
    const fault: LinkFault = roll === 0
      ? { kind: "loss", rate: draw(30, 90) / 100 }
      : roll === 1
      ? { kind: "delay", ms: draw(20, 400) }
      : roll === 2
      ? { kind: "duplicate" }
      : roll === 3
      ? { kind: "reorder" }
      : { kind: "partition" };
    const both = roll === 5;
    proxy.setFault(from, to, fault);
    if (both) proxy.setFault(to, from, fault);
    active.set(`${from}>${to}>${both ? "both" : "one"}`, performance.now() + draw(300, 2000));
    how.record({ kind: "link", node: from, peer: to, link: { ...fault, both } });
  }
}

// The Byzantine members of a run and their modes, drawn from its seed.
function drawByzantine(prng: PrngState, nodeCount: number, count: number): ChaosByzantine[] {
  const ids = Array.from({ length: nodeCount }, (_, k) => `node-${k + 1}`);
  const out: ChaosByzantine[] = [];
  while (out.length < count) {
    const node = ids[Math.floor(nextUniform(prng) * ids.length)]!;
    if (out.some((b) => b.node === node)) continue;
    const mode = BYZANTINE_MODES[Math.floor(nextUniform(prng) * BYZANTINE_MODES.length)]!;
    out.push({ node, mode });
  }
  return out;
}

// Who excluded whom, from the honest nodes' traces (the core's ExcludeNode, on evidence).
async function exclusionsOf(traceDir: string): Promise<Map<NodeId, Set<NodeId>>> {
  const out = new Map<NodeId, Set<NodeId>>();
  for (const text of (await readTraceFiles(traceDir)).values()) {
    let members: readonly NodeId[] = [];
    for (const raw of text.split("\n")) {
      if (raw === "") continue;
      const line = JSON.parse(raw) as TraceLine;
      if (line.kind === "instance") {
        members = line.members;
        continue;
      }
      for (const index of line.state.excluded) {
        const excluded = members[index - 1]!;
        out.set(excluded, (out.get(excluded) ?? new Set()).add(line.node));
      }
    }
  }
  return out;
}

// Only Byzantine members are excluded, and an equivocating one is, by some honest node.
function exclusionViolations(
  exclusions: ReadonlyMap<NodeId, ReadonlySet<NodeId>>,
  byzantine: readonly ChaosByzantine[],
): string[] {
  const out: string[] = [];
  for (const [excluded, by] of exclusions) {
    if (!byzantine.some((b) => b.node === excluded)) {
      out.push(`honest ${excluded} was excluded by ${[...by].sort().join(", ")}`);
    }
  }
  for (const { node, mode } of byzantine) {
    if (mode === "equivocate" && !exclusions.has(node)) {
      out.push(`${node} equivocated and no honest node excluded it`);
    }
  }
  return out;
}

async function expectedOutputs(
  preset: ModelPreset,
  boundaries: readonly number[],
  requests: readonly { readonly prompt: string }[],
  tokens: number,
): Promise<number[][]> {
  const { createPipeline, closePipeline, generate } = await import("../model/generate.ts");
  const { PRESET_CONFIGS } = await import("./model_source.ts");
  const pipeline = await createPipeline(PRESET_CONFIGS[preset], { boundaries });
  try {
    const out: number[][] = [];
    for (const { prompt } of requests) {
      const ids: number[] = [];
      for await (const { token } of generate(prompt, { maxTokens: tokens, pipeline })) {
        ids.push(token);
      }
      out.push(ids);
    }
    return out;
  } finally {
    await closePipeline(pipeline);
  }
}

function sameTokens(result: CommittedInference, expected: readonly number[]): boolean {
  return result.tokens.length === expected.length &&
    result.tokens.every((token, k) => token === expected[k]);
}
