/**
 * What agreement costs, measured (not a test):
 *
 *     deno task bench:cluster [--quick] [--runs R] [--only SECTION] [--json FILE] [--svg DIR]
 *
 * Prints each table and writes the figures to `bench/results/cluster.json` and the plots
 * `bench/results/cluster_{latency,costs,throughput}.svg` (`--quick`: `cluster_quick.json` and
 * `_quick` plots). Sections (`--only`): latency, commit, throughput, memory.
 *
 * - **latency**: per-token latency three ways, in one run, same model, same prompt, same split:
 *   (a) `generate` in one process; (b) the unreplicated pipeline a user would otherwise run
 *   (`bench/pipeline_node.ts`: as many processes as the cluster has members, each stage on the
 *   member that holds its first replica in view 0, activations over TCP with no signatures,
 *   votes, replication or disk); (c) the BCP cluster (`LocalCluster`, `ButterflyClient`), every
 *   stage on 2f + 1 replicas. A token's latency is the gap between two tokens as the client sees
 *   them stream (token 1, which carries the prompt, is left out); (a), (b) and (c) run in turn,
 *   `runs` times (default 5, `--quick` 3); p50 and p99 over every gap, and the ratios of the
 *   medians of the runs' medians. The three must give the same tokens. With each, where (c)'s
 *   nodes spent their time per token (their `costs` at commit). Fixed-latency stages
 *   (`model.fixedLatency`: each block waits a set time instead of computing) take the model off
 *   the cores, so what (c) adds is what coordination costs.
 * - **commit**: each node's time from the step in which it accepted the last token to its
 *   commit (`commitMs`), every member up (the fast path) and one down (the standard path),
 *   against the loopback round trip and an fsync, measured here.
 * - **throughput**: the seed's example (50 blocks of 10 ms) on 4, 7 and 10 members, one stage
 *   each, with k = 1, 2, 4, 8 inferences at once, against N / (R L T_layer); frames and bytes
 *   the nodes sent per token; each node's resident memory after.
 * - **memory**: each node's resident memory with the default model, idle, with one and with 8
 *   inferences at once, and with 8 while one member is paused.
 *
 * `--quick` (4 members throughout, under a minute here): the fixed-latency (8 x 1 ms) and
 * default-model latency, the commit, throughput with k = 1, 2, 4 of 4 tokens each, and memory
 * with 16-token inferences.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { ButterflyClient } from "../src/runtime/client.ts";
import { freePorts, LocalCluster } from "../src/runtime/local_cluster.ts";
import { type ClusterModel, parseClusterFile } from "../src/runtime/cluster_file.ts";
import { openModel } from "../src/runtime/model_source.ts";
import { closePipeline, generate, type ModelPipeline } from "../src/model/generate.ts";
import { decodePipelineFrame, encodePipelineFrame, KIND } from "./pipeline_node.ts";
import { FramedConnection } from "../src/runtime/framed.ts";
import { barChart, lineChart } from "./_svg.ts";

const PIPELINE_NODE = new URL("./pipeline_node.ts", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;
const PROMPT = "What does agreement cost? ";

/** A model as the cluster file names it. */
type ModelJson = { preset: string } | { fixedLatency: { layers: number; layerMs: number } };

/** One latency configuration. */
interface LatencyConfig {
  readonly name: string;
  readonly model: ModelJson;
  readonly boundaries: readonly number[];
  readonly nodes: number;
  readonly f: number;
  readonly tokens: number;
}

const LATENCY_CONFIGS: readonly LatencyConfig[] = [
  {
    name: "fixed-latency 8 x 1 ms, 4 stages",
    model: { fixedLatency: { layers: 8, layerMs: 1 } },
    boundaries: [2, 4, 6],
    nodes: 4,
    f: 1,
    tokens: 64,
  },
  {
    name: "fixed-latency 50 x 10 ms (the seed's example), 4 stages",
    model: { fixedLatency: { layers: 50, layerMs: 10 } },
    boundaries: [13, 25, 38],
    nodes: 4,
    f: 1,
    tokens: 12,
  },
  {
    name: "default model, 2 stages",
    model: { preset: "default" },
    boundaries: [4],
    nodes: 4,
    f: 1,
    tokens: 64,
  },
  {
    name: "GPT-2-small shape, 2 stages",
    model: { preset: "gpt2-small-shaped" },
    boundaries: [6],
    nodes: 4,
    f: 1,
    tokens: 24,
  },
];

// Short names for the plots.
const LABELS: Readonly<Record<string, string>> = {
  "fixed-latency 8 x 1 ms, 4 stages": "fixed 8 x 1 ms",
  "fixed-latency 50 x 10 ms (the seed's example), 4 stages": "fixed 50 x 10 ms",
  "default model, 2 stages": "default model",
  "GPT-2-small shape, 2 stages": "GPT-2-small shape",
};

// The configurations `--quick` runs.
const QUICK_LATENCY = ["fixed-latency 8 x 1 ms, 4 stages", "default model, 2 stages"];

/** Latency figures of one way of running. */
interface Way {
  readonly gapsMs: number[];
  readonly runMediansMs: number[];
  tokens?: readonly number[];
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const median = (values: readonly number[]) => quantile(values, 0.5);

function gapsOf(times: readonly number[]): number[] {
  return times.slice(2).map((time, k) => time - times[k + 1]!);
}

function clusterModel(model: ModelJson): ClusterModel {
  return parseClusterFile({
    model,
    nodes: [{ id: "x", address: "127.0.0.1:1", publicKey: "00".repeat(32) }],
    f: 0,
  }, ".").model;
}

// (a): every stage in this process, one after another.
async function oneProcess(
  pipeline: ModelPipeline,
  tokenCount: number,
): Promise<{ times: number[]; tokens: number[] }> {
  const times: number[] = [];
  const tokens: number[] = [];
  const start = performance.now();
  for await (const { token } of generate(PROMPT, { maxTokens: tokenCount, pipeline })) {
    times.push(performance.now());
    tokens.push(token);
  }
  return { times: [start, ...times], tokens };
}

/** The unreplicated pipeline's processes. */
class Pipeline {
  readonly #children: Deno.ChildProcess[];
  readonly #ports: number[];
  readonly #routes: number[];

  private constructor(children: Deno.ChildProcess[], ports: number[], routes: number[]) {
    this.#children = children;
    this.#ports = ports;
    this.#routes = routes;
  }

  // Stage s on the member of its first replica in view 0: core index ((s mod n) + 1) of the
  // members sorted by id bytes (the core's isReplica).
  static async start(config: LatencyConfig, cluster: LocalCluster): Promise<Pipeline> {
    const order = [...cluster.nodeIds].sort((a, b) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b))
    );
    const ports = freePorts(config.nodes);
    const portOf = new Map(order.map((id, k) => [id, ports[k]!]));
    const stageCount = config.boundaries.length + 1;
    const routes = Array.from(
      { length: stageCount },
      (_, k) => portOf.get(order[(k + 1) % config.nodes]!)!,
    );
    const children = ports.map((port) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--frozen",
          "-A",
          PIPELINE_NODE,
          "--port",
          String(port),
          "--routes",
          routes.join(","),
          "--model",
          JSON.stringify(config.model),
          "--boundaries",
          config.boundaries.join(","),
        ],
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "inherit",
      }).spawn()
    );
    const pipeline = new Pipeline(children, ports, routes);
    try {
      await Promise.all(children.map(async (child) => {
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        while (!text.includes("\n")) {
          const { value, done } = await reader.read();
          if (done) throw new Error("a pipeline node ended before it listened");
          text += value;
        }
        reader.releaseLock();
        void child.stdout.cancel().catch(() => {});
      }));
    } catch (error) {
      await pipeline.close();
      throw error;
    }
    return pipeline;
  }

  async infer(
    inference: number,
    tokenCount: number,
  ): Promise<{ times: number[]; tokens: number[] }> {
    const done = Promise.withResolvers<void>();
    const times: number[] = [];
    const tokens: number[] = [];
    const connections = await Promise.all(this.#ports.map(async (port) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      return new FramedConnection(conn, {
        onFrame: (bytes) => {
          const frame = decodePipelineFrame(bytes);
          if (frame.kind !== KIND.token || frame.inference !== inference) return;
          times.push(performance.now());
          tokens.push(frame.tokenId);
          if (tokens.length === tokenCount) done.resolve();
        },
        onFramingError: (_code, message) => done.reject(new Error(message)),
        onClose: () => {},
      });
    }));
    const empty = new Uint8Array();
    const header = { inference, token: 0, stage: 0, tokenCount, tokenId: 0 };
    for (const connection of connections) {
      connection.send(encodePipelineFrame({ ...header, kind: KIND.hello, payload: empty }));
    }
    // Let the hellos land before the request.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const first = this.#ports.indexOf(this.#routes[0]!);
    const start = performance.now();
    connections[first]!.send(
      encodePipelineFrame({
        ...header,
        kind: KIND.request,
        payload: new TextEncoder().encode(PROMPT),
      }),
    );
    const timer = setTimeout(() => done.reject(new Error("the pipeline timed out")), 300_000);
    try {
      await done.promise;
    } finally {
      clearTimeout(timer);
      for (const connection of connections) connection.close();
    }
    return { times: [start, ...times], tokens };
  }

  /** Loopback round trips to one of the processes, in ms. */
  async roundTrips(count: number): Promise<number[]> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.#ports[0]! });
    const times: number[] = [];
    let next = Promise.withResolvers<void>();
    const connection = new FramedConnection(conn, {
      onFrame: () => next.resolve(),
      onFramingError: (_code, message) => next.reject(new Error(message)),
      onClose: () => {},
    });
    const frame = encodePipelineFrame({
      kind: KIND.echo,
      inference: 0,
      token: 0,
      stage: 0,
      tokenCount: 0,
      tokenId: 0,
      payload: new Uint8Array(64),
    });
    try {
      for (let k = 0; k < count; k++) {
        next = Promise.withResolvers<void>();
        const started = performance.now();
        connection.send(frame);
        await next.promise;
        times.push(performance.now() - started);
      }
    } finally {
      connection.close();
    }
    return times;
  }

  async close(): Promise<void> {
    for (const child of this.#children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Gone.
      }
    }
    await Promise.all(this.#children.map((child) => child.status));
  }
}

// (c): the cluster, through the client.
async function onCluster(
  client: ButterflyClient,
  inferenceId: number,
  tokenCount: number,
): Promise<{ times: number[]; tokens: number[]; path: string }> {
  const times: number[] = [];
  const start = performance.now();
  const result = await client.infer({
    prompt: PROMPT,
    tokenCount,
    inferenceId,
    timeoutMs: 300_000,
    onToken: () => times.push(performance.now()),
  });
  return { times: [start, ...times], tokens: [...result.tokens], path: result.path };
}

// Every node's costs of an inference (its commit line), per token, averaged over the nodes.
async function costsOf(
  cluster: LocalCluster,
  inferenceId: number,
  tokens: number,
): Promise<Record<string, number>> {
  const lines = () =>
    cluster.find("inference committed").filter((record) => record.inference === inferenceId);
  await cluster.waitFor(() => lines().length === cluster.nodeIds.length, "every commit", 30_000);
  const sum: Record<string, number> = {};
  for (const line of lines()) {
    const costs = line.costs as Record<string, number>;
    for (const [kind, ms] of Object.entries(costs)) sum[kind] = (sum[kind] ?? 0) + ms;
    for (const kind of ["framesSent", "bytesSent"]) {
      sum[kind] = (sum[kind] ?? 0) + (line[kind] as number);
    }
  }
  const nodes = lines().length;
  return Object.fromEntries(
    Object.entries(sum).map(([kind, total]) => [kind, total / nodes / tokens]),
  );
}

function medianRecord(records: readonly Record<string, number>[]): Record<string, number> {
  const kinds = Object.keys(records[0] ?? {});
  return Object.fromEntries(kinds.map((kind) => [kind, median(records.map((r) => r[kind]!))]));
}

interface LatencyResult {
  readonly name: string;
  readonly nodes: number;
  readonly f: number;
  readonly stages: number;
  readonly tokens: number;
  readonly runs: number;
  readonly ways: Record<"a" | "b" | "c", { p50Ms: number; p99Ms: number; medianOfRunsMs: number }>;
  readonly cOverB: number;
  readonly cOverA: number;
  readonly addedPerHopMs: number;
  readonly paths: string[];
  /** Each cost's median over the runs, per token and node (ms; `steps`: a count). */
  readonly perTokenPerNode: Record<string, number>;
}

async function latency(config: LatencyConfig, runs: number): Promise<LatencyResult> {
  const ways: Record<"a" | "b" | "c", Way> = {
    a: { gapsMs: [], runMediansMs: [] },
    b: { gapsMs: [], runMediansMs: [] },
    c: { gapsMs: [], runMediansMs: [] },
  };
  const paths: string[] = [];
  const costs: Record<string, number>[] = [];
  const cluster = await LocalCluster.create({
    nodeCount: config.nodes,
    faultsMax: config.f,
    boundaries: config.boundaries,
    ...("preset" in config.model
      ? { preset: config.model.preset as "default" }
      : { fixedLatency: config.model.fixedLatency }),
  });
  let pipeline: Pipeline | undefined;
  let client: ButterflyClient | undefined;
  let local: ModelPipeline | undefined;
  try {
    // One at a time: a large model takes each process a while to build, on two cores.
    for (const id of cluster.nodeIds) await cluster.start(id);
    pipeline = await Pipeline.start(config, cluster);
    client = await ButterflyClient.connect({ cluster: cluster.cluster, signer: cluster.client });
    const record = (way: Way, run: { times: number[]; tokens: number[] }) => {
      const gaps = gapsOf(run.times);
      way.gapsMs.push(...gaps);
      way.runMediansMs.push(median(gaps));
      if (way.tokens === undefined) way.tokens = run.tokens;
      else if (way.tokens.join(",") !== run.tokens.join(",")) {
        throw new Error(`${config.name}: the tokens changed from one run to the next`);
      }
    };
    // A warm-up of each, not counted (first connections, JIT).
    local = await openModel(clusterModel(config.model), config.boundaries);
    await oneProcess(local, 4);
    await pipeline.infer(1, 4);
    await onCluster(client, 1, 4);
    for (let run = 0; run < runs; run++) {
      record(ways.a, await oneProcess(local, config.tokens));
      record(ways.b, await pipeline.infer(100 + run, config.tokens));
      const c = await onCluster(client, 100 + run, config.tokens);
      paths.push(c.path);
      record(ways.c, c);
      costs.push(await costsOf(cluster, 100 + run, config.tokens));
    }
  } finally {
    await client?.close();
    await pipeline?.close();
    await cluster.close();
    if (local !== undefined) await closePipeline(local);
  }
  const [a, b, c] = [ways.a, ways.b, ways.c];
  for (const [name, way] of [["b", b], ["c", c]] as const) {
    if (way.tokens!.join(",") !== a.tokens!.join(",")) {
      throw new Error(`${config.name}: (${name}) gave other tokens than (a)`);
    }
  }
  const figures = (way: Way) => ({
    p50Ms: quantile(way.gapsMs, 0.5),
    p99Ms: quantile(way.gapsMs, 0.99),
    medianOfRunsMs: median(way.runMediansMs),
  });
  const stages = config.boundaries.length + 1;
  return {
    name: config.name,
    nodes: config.nodes,
    f: config.f,
    stages,
    tokens: config.tokens,
    runs,
    ways: { a: figures(a), b: figures(b), c: figures(c) },
    cOverB: median(c.runMediansMs) / median(b.runMediansMs),
    cOverA: median(c.runMediansMs) / median(a.runMediansMs),
    // A token crosses every stage, and back to stage 1: stages hops.
    addedPerHopMs: (median(c.runMediansMs) - median(b.runMediansMs)) / stages,
    paths,
    perTokenPerNode: medianRecord(costs),
  };
}

const fmt = (value: number, digits = 2) => Number.isFinite(value) ? value.toFixed(digits) : "-";

function latencyTable(results: readonly LatencyResult[]): string {
  const lines = [
    "| configuration | (a) p50 / p99 ms | (b) p50 / p99 ms | (c) p50 / p99 ms | (c)/(b) | (c)/(a) | added per hop ms |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const way = (w: { p50Ms: number; p99Ms: number }) => `${fmt(w.p50Ms)} / ${fmt(w.p99Ms)}`;
    lines.push(
      `| ${r.name} (n = ${r.nodes}, ${r.tokens} tokens x ${r.runs}) | ${way(r.ways.a)} | ${
        way(r.ways.b)
      } | ${way(r.ways.c)} | ${fmt(r.cOverB, 3)} | ${fmt(r.cOverA, 3)} | ${
        fmt(r.addedPerHopMs, 3)
      } |`,
    );
  }
  return lines.join("\n");
}

function costTable(results: readonly LatencyResult[]): string {
  const kinds = Object.keys(results[0]?.perTokenPerNode ?? {});
  const lines = [
    `| (c), per token and node | ${kinds.join(" | ")} |`,
    `|---|${kinds.map(() => "---").join("|")}|`,
  ];
  for (const r of results) {
    lines.push(
      `| ${r.name} | ${kinds.map((kind) => fmt(r.perTokenPerNode[kind]!, 3)).join(" | ")} |`,
    );
  }
  return lines.join("\n");
}

// The core's order of the members (ids sorted by their UTF-8 bytes).
function coreOrder(cluster: LocalCluster): string[] {
  const bytes = (id: string) => new TextEncoder().encode(id);
  return [...cluster.nodeIds].sort((a, b) => {
    const [x, y] = [bytes(a), bytes(b)];
    for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] !== y[k]) return x[k]! - y[k]!;
    return x.length - y.length;
  });
}

// An append and its fsync in a temporary directory (where the nodes keep their data), alone.
async function fsyncMs(count: number): Promise<number[]> {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-fsync-" });
  const times: number[] = [];
  try {
    const file = await Deno.open(join(dir, "log"), { create: true, append: true });
    try {
      const line = new TextEncoder().encode(`${"x".repeat(200)}\n`);
      for (let k = 0; k < count; k++) {
        const started = performance.now();
        await file.write(line);
        await file.sync();
        times.push(performance.now() - started);
      }
    } finally {
      file.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return times;
}

interface CommitResult {
  readonly fsyncMs: { readonly p50: number; readonly p99: number };
  readonly roundTripMs: { readonly p50: number; readonly p99: number };
  readonly paths: Record<"fast" | "standard", {
    readonly runs: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly roundTrips: number;
    readonly seen: string[];
    /** The live nodes' CPU time over their commit windows, summed per run: p50 (ms). */
    readonly nodesCpuMs: number;
    /** That divided by the machine's cores: the least the commit could take (ms). */
    readonly cpuFloorMs: number;
    /** Where one node's commit window goes, p50 over every node's (ms; `steps` a count). */
    readonly window: CommitWindow;
  }>;
}

/** One node's commit window taken apart by its own counters (p50s over the nodes' windows). */
interface CommitWindow {
  /** The window (the node's `commitMs`). */
  readonly commitMs: number;
  /** The node's process CPU over it (`commitCpuMs`). */
  readonly cpuMs: number;
  /** Waiting for its steps' records to be on disk (append and fsync). */
  readonly persistMs: number;
  /** Work waiting in the inference's queue (behind a step, often one waiting for the disk). */
  readonly queueMs: number;
  /** Opening frames: decoding, signatures, the cache. */
  readonly verifyMs: number;
  /** Signing. */
  readonly signMs: number;
  /** Encoding messages. */
  readonly encodeMs: number;
  /** In the core's `step`. */
  readonly stepMs: number;
  /** How many steps. */
  readonly steps: number;
  /** CPU besides verifying, signing, encoding and steps: the runtime, I/O, GC, other threads. */
  readonly otherCpuMs: number;
}

// The p50 of each part of the nodes' commit windows, from their commit lines.
function commitWindow(lines: readonly Record<string, unknown>[]): CommitWindow {
  const windows = lines.filter((line) =>
    typeof line.commitMs === "number" && typeof line.commitCpuMs === "number" &&
    typeof line.commitCosts === "object" && line.commitCosts !== null
  );
  const of = (part: (line: Record<string, unknown>, costs: Record<string, number>) => number) =>
    median(windows.map((line) => part(line, line.commitCosts as Record<string, number>)));
  return {
    commitMs: of((line) => line.commitMs as number),
    cpuMs: of((line) => line.commitCpuMs as number),
    persistMs: of((_, c) => c.persist!),
    queueMs: of((_, c) => c.queue!),
    verifyMs: of((_, c) => c.verify!),
    signMs: of((_, c) => c.sign!),
    encodeMs: of((_, c) => c.encode!),
    stepMs: of((_, c) => c.step!),
    steps: of((_, c) => c.steps!),
    otherCpuMs: of((line, c) =>
      (line.commitCpuMs as number) - c.verify! - c.sign! - c.encode! - c.step!
    ),
  };
}

// Commit latency: each node's time from accepting the last token to its commit (its own
// counter, `commitMs`), with every member up (the fast path: Prepares from all n) and with one
// member down (the standard path: a quorum of Commits), against the loopback round trip.
async function commitLatency(runs: number): Promise<CommitResult> {
  const config = { ...LATENCY_CONFIGS[0]!, tokens: 8 };
  const cluster = await LocalCluster.create({
    nodeCount: config.nodes,
    faultsMax: config.f,
    boundaries: config.boundaries,
    fixedLatency: (config.model as { fixedLatency: { layers: number; layerMs: number } })
      .fixedLatency,
  });
  let pipeline: Pipeline | undefined;
  let client: ButterflyClient | undefined;
  const of = { fast: [] as number[], standard: [] as number[] };
  const cpu = { fast: [] as number[], standard: [] as number[] };
  const windows = {
    fast: [] as Record<string, unknown>[],
    standard: [] as Record<string, unknown>[],
  };
  const seen = { fast: [] as string[], standard: [] as string[] };
  let roundTrips: number[] = [];
  try {
    await cluster.startAll();
    pipeline = await Pipeline.start(config, cluster);
    roundTrips = await pipeline.roundTrips(2000);
    client = await ButterflyClient.connect({ cluster: cluster.cluster, signer: cluster.client });
    await onCluster(client, 1, 2);
    const order = coreOrder(cluster);
    let id = 200;
    for (const path of ["fast", "standard"] as const) {
      if (path === "standard") {
        // The last member in the core's order: not view 0's primary, so no view change.
        const victim = order.at(-1)!;
        await cluster.stop(victim);
        await cluster.waitFor(
          () =>
            cluster.find("peer suspected").filter((record) => record.peer === victim).length >=
              config.nodes - 1,
          `every live member to suspect ${victim}`,
          30_000,
        );
      }
      for (let run = 0; run < runs; run++) {
        const inference = id++;
        const result = await onCluster(client, inference, config.tokens);
        seen[path].push(result.path);
        const live = cluster.nodeIds.filter((node) => cluster.isRunning(node)).length;
        const lines = () =>
          cluster.find("inference committed").filter((record) => record.inference === inference);
        await cluster.waitFor(() => lines().length >= live, "every live commit", 30_000);
        for (const line of lines()) {
          if (typeof line.commitMs === "number") of[path].push(line.commitMs);
          windows[path].push(line);
        }
        cpu[path].push(
          lines().reduce((sum, line) => sum + (Number(line.commitCpuMs) || 0), 0),
        );
      }
    }
  } finally {
    await client?.close();
    await pipeline?.close();
    await cluster.close();
  }
  const rtt = median(roundTrips);
  const figures = (path: "fast" | "standard") => ({
    runs,
    p50Ms: quantile(of[path], 0.5),
    p99Ms: quantile(of[path], 0.99),
    roundTrips: quantile(of[path], 0.5) / rtt,
    seen: seen[path],
    nodesCpuMs: median(cpu[path]),
    cpuFloorMs: median(cpu[path]) / navigator.hardwareConcurrency,
    window: commitWindow(windows[path]),
  });
  const fsyncs = await fsyncMs(200);
  return {
    fsyncMs: { p50: median(fsyncs), p99: quantile(fsyncs, 0.99) },
    roundTripMs: { p50: rtt, p99: quantile(roundTrips, 0.99) },
    paths: { fast: figures("fast"), standard: figures("standard") },
  };
}

interface ThroughputResult {
  readonly nodes: number;
  readonly f: number;
  readonly replicas: number;
  readonly stages: number;
  readonly concurrent: number;
  readonly tokensEach: number;
  readonly runs: number;
  readonly tokensPerSecond: number;
  readonly idealTokensPerSecond: number;
  readonly ofIdeal: number;
  readonly framesPerToken: number;
  readonly bytesPerToken: number;
  readonly rssMiB: { readonly median: number; readonly max: number };
}

const THROUGHPUT_LAYERS = 50;
const THROUGHPUT_LAYER_MS = 10;

// Even stage boundaries of `layers` blocks in `stages` stages.
function evenBoundaries(layers: number, stages: number): number[] {
  return Array.from({ length: stages - 1 }, (_, k) => Math.round(((k + 1) * layers) / stages));
}

// Resident memory of processes, by `ps` (Deno lets only --allow-all read /proc), in MiB; NaN
// for one that is gone.
async function rssMiB(pids: readonly (number | undefined)[]): Promise<number[]> {
  const known = pids.filter((pid): pid is number => pid !== undefined);
  if (known.length === 0) return pids.map(() => NaN);
  const { stdout } = await new Deno.Command("ps", {
    args: ["-o", "pid=,rss=", "-p", known.join(",")],
    stdout: "piped",
    stderr: "null",
  }).output();
  const byPid = new Map<number, number>();
  for (const line of new TextDecoder().decode(stdout).split("\n")) {
    const [pid, kib] = line.trim().split(/\s+/).map(Number);
    if (pid !== undefined && kib !== undefined && Number.isFinite(kib)) byPid.set(pid, kib / 1024);
  }
  return pids.map((pid) => (pid === undefined ? undefined : byPid.get(pid)) ?? NaN);
}

// The seed's example (50 blocks of 10 ms) on n members, one stage per member, each on
// 2f + 1 replicas, with k inferences at once: tokens per second against N / (R L T_layer).
async function throughput(
  nodes: number,
  concurrency: readonly number[],
  tokensEach: number,
  runs: number,
): Promise<ThroughputResult[]> {
  const f = Math.floor((nodes - 1) / 3);
  const replicas = 2 * f + 1;
  const cluster = await LocalCluster.create({
    nodeCount: nodes,
    faultsMax: f,
    boundaries: evenBoundaries(THROUGHPUT_LAYERS, nodes),
    fixedLatency: { layers: THROUGHPUT_LAYERS, layerMs: THROUGHPUT_LAYER_MS },
  });
  let client: ButterflyClient | undefined;
  const results: ThroughputResult[] = [];
  try {
    await cluster.startAll();
    client = await ButterflyClient.connect({ cluster: cluster.cluster, signer: cluster.client });
    await onCluster(client, 1, 2);
    let id = 1000;
    const ideal = nodes / (replicas * THROUGHPUT_LAYERS * THROUGHPUT_LAYER_MS / 1000);
    for (const k of concurrency) {
      const rates: number[] = [];
      const frames: number[] = [];
      const bytes: number[] = [];
      for (let run = 0; run < runs; run++) {
        const ids = Array.from({ length: k }, () => id++);
        const started = performance.now();
        await Promise.all(
          ids.map((inference) =>
            client!.infer({
              prompt: PROMPT,
              tokenCount: tokensEach,
              inferenceId: inference,
              timeoutMs: 600_000,
            })
          ),
        );
        const seconds = (performance.now() - started) / 1000;
        rates.push((k * tokensEach) / seconds);
        const lines = () =>
          cluster.find("inference committed").filter((r) => ids.includes(r.inference as number));
        await cluster.waitFor(() => lines().length === nodes * k, "every commit", 60_000);
        frames.push(
          lines().reduce((sum, r) => sum + (r.framesSent as number), 0) / (k * tokensEach),
        );
        bytes.push(lines().reduce((sum, r) => sum + (r.bytesSent as number), 0) / (k * tokensEach));
      }
      const rss = await rssMiB(cluster.nodeIds.map((node) => cluster.pid(node)));
      const rate = median(rates);
      results.push({
        nodes,
        f,
        replicas,
        stages: nodes,
        concurrent: k,
        tokensEach,
        runs,
        tokensPerSecond: rate,
        idealTokensPerSecond: ideal,
        ofIdeal: rate / ideal,
        framesPerToken: median(frames),
        bytesPerToken: median(bytes),
        rssMiB: { median: median(rss), max: Math.max(...rss) },
      });
      console.error(
        `throughput n = ${nodes}, k = ${k}: ${fmt(rate)} tokens/s (ideal ${fmt(ideal)})`,
      );
    }
  } finally {
    await client?.close();
    await cluster.close();
  }
  return results;
}

function throughputTable(results: readonly ThroughputResult[]): string {
  const lines = [
    "| n (f, R) | k | tokens/s | ideal N/(R L T) | of ideal | frames per token | KiB per token | RSS MiB median / max |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    lines.push(
      `| ${r.nodes} (${r.f}, ${r.replicas}) | ${r.concurrent} | ${fmt(r.tokensPerSecond)} | ${
        fmt(r.idealTokensPerSecond)
      } | ${fmt(r.ofIdeal)} | ${fmt(r.framesPerToken, 1)} | ${fmt(r.bytesPerToken / 1024, 1)} | ${
        fmt(r.rssMiB.median, 0)
      } / ${fmt(r.rssMiB.max, 0)} |`,
    );
  }
  return lines.join("\n");
}

interface MemoryResult {
  readonly phase: string;
  readonly rssMiB: { readonly median: number; readonly max: number };
}

// Each node's resident memory (the default model, 4 members): idle, running one inference,
// running 8 at once, and running 8 at once with one member paused (its peers' queues to it must
// stay within their bound).
async function memory(tokens: number): Promise<MemoryResult[]> {
  const cluster = await LocalCluster.create({ preset: "default", boundaries: [4] });
  let client: ButterflyClient | undefined;
  const results: MemoryResult[] = [];
  try {
    await cluster.startAll();
    client = await ButterflyClient.connect({ cluster: cluster.cluster, signer: cluster.client });
    const order = coreOrder(cluster);
    const sample = async (phase: string, run: () => Promise<unknown>, of = cluster.nodeIds) => {
      const peak = new Map<string, number>();
      const measure = async () => {
        const values = await rssMiB(of.map((node) => cluster.pid(node)));
        of.forEach((node, k) => peak.set(node, Math.max(peak.get(node) ?? 0, values[k]!)));
      };
      let running = true;
      const sampler = (async () => {
        while (running) {
          await measure();
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      try {
        await run();
      } finally {
        running = false;
        await sampler;
      }
      await measure();
      const values = of.map((node) => peak.get(node)!);
      results.push({ phase, rssMiB: { median: median(values), max: Math.max(...values) } });
    };
    let id = 3000;
    const infer = (k: number) =>
      Promise.all(
        Array.from({ length: k }, () =>
          client!.infer({
            prompt: PROMPT,
            tokenCount: tokens,
            inferenceId: id++,
            timeoutMs: 600_000,
          })),
      );
    await sample("idle", () => new Promise((resolve) => setTimeout(resolve, 1000)));
    await sample("1 inference", () => infer(1));
    await sample("8 inferences at once", () => infer(8));
    const paused = order.at(-1)!;
    cluster.pause(paused);
    try {
      await sample(
        `8 at once, ${paused} paused (the others)`,
        () => infer(8),
        cluster.nodeIds.filter((node) => node !== paused),
      );
    } finally {
      cluster.resume(paused);
    }
  } finally {
    await client?.close();
    await cluster.close();
  }
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      runs: { type: "string" },
      json: { type: "string" },
      svg: { type: "string", default: join(ROOT, "bench/results") },
      only: { type: "string" },
    },
  });
  const quick = values.quick!;
  // The reduced set keeps its figures apart from the full one's.
  const suffix = quick ? "_quick" : "";
  const jsonPath = values.json ?? join(ROOT, `bench/results/cluster${suffix}.json`);
  const runs = Number(values.runs ?? (quick ? 3 : 5));
  const section = (name: string) => values.only === undefined || values.only === name;
  const started = performance.now();
  const report: Record<string, unknown> = {
    command: `deno task bench:cluster${quick ? " --quick" : ""}`,
    cores: navigator.hardwareConcurrency,
    runs,
  };
  const latencies: LatencyResult[] = [];
  if (section("latency")) {
    const configs = LATENCY_CONFIGS.filter((config) =>
      !quick || QUICK_LATENCY.includes(config.name)
    );
    for (const config of configs) {
      const result = await latency(config, runs);
      latencies.push(result);
      console.error(`${config.name}: done at ${fmt((performance.now() - started) / 1000, 1)} s`);
    }
    report.latency = latencies;
    console.log(latencyTable(latencies));
    console.log();
    console.log(costTable(latencies));
    console.log();
  }
  if (section("commit")) {
    const commit = await commitLatency(runs);
    report.commit = commit;
    console.log(
      `loopback round trip p50 ${fmt(commit.roundTripMs.p50, 3)} ms, p99 ${
        fmt(commit.roundTripMs.p99, 3)
      } ms; an append and its fsync alone p50 ${fmt(commit.fsyncMs.p50, 3)} ms, p99 ${
        fmt(commit.fsyncMs.p99, 3)
      } ms`,
    );
    console.log(
      "| path | commit after the last token p50 / p99 ms | round trips (p50) | seed's claim " +
        `| nodes' CPU in it, summed (p50 ms) | that / ${navigator.hardwareConcurrency} cores (ms) |`,
    );
    console.log("|---|---|---|---|---|---|");
    for (const [path, claim] of [["fast", "1 RTT"], ["standard", "3 RTT"]] as const) {
      const figures = commit.paths[path];
      console.log(
        `| ${path} (${figures.seen.join(", ")}) | ${fmt(figures.p50Ms, 3)} / ${
          fmt(figures.p99Ms, 3)
        } | ${fmt(figures.roundTrips, 1)} | ${claim} | ${fmt(figures.nodesCpuMs, 2)} | ${
          fmt(figures.cpuFloorMs, 2)
        } |`,
      );
    }
    console.log();
    console.log(
      "| path | one node's window (p50 ms) | its CPU | waiting for its records | in the queue " +
        "| verifying | signing | encoding | steps (how many) | other CPU |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|---|");
    for (const path of ["fast", "standard"] as const) {
      const w = commit.paths[path].window;
      console.log(
        `| ${path} | ${fmt(w.commitMs, 2)} | ${fmt(w.cpuMs, 2)} | ${fmt(w.persistMs, 2)} | ${
          fmt(w.queueMs, 2)
        } | ${fmt(w.verifyMs, 2)} | ${fmt(w.signMs, 2)} | ${fmt(w.encodeMs, 2)} | ${
          fmt(w.stepMs, 2)
        } (${fmt(w.steps, 0)}) | ${fmt(w.otherCpuMs, 2)} |`,
      );
    }
    console.log();
  }
  const throughputs: ThroughputResult[] = [];
  if (section("throughput")) {
    const sizes = quick ? [4] : [4, 7, 10];
    const concurrency = quick ? [1, 2, 4] : [1, 2, 4, 8];
    for (const nodes of sizes) {
      throughputs.push(
        ...await throughput(nodes, concurrency, quick ? 4 : 8, quick ? 1 : runs),
      );
    }
    report.throughput = throughputs;
    console.log(throughputTable(throughputs));
    console.log();
  }
  if (section("memory")) {
    const memoryResults = await memory(quick ? 16 : 32);
    report.memory = memoryResults;
    console.log("| default model, 4 members | RSS MiB median / max |");
    console.log("|---|---|");
    for (const m of memoryResults) {
      console.log(`| ${m.phase} | ${fmt(m.rssMiB.median, 0)} / ${fmt(m.rssMiB.max, 0)} |`);
    }
    console.log();
  }
  report.seconds = (performance.now() - started) / 1000;
  await Deno.writeTextFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  await writePlots(values.svg!, suffix, latencies, throughputs);
  console.error(`done in ${fmt((performance.now() - started) / 1000, 1)} s`);
}

async function writePlots(
  dir: string,
  suffix: string,
  latencies: readonly LatencyResult[],
  throughputs: readonly ThroughputResult[],
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  if (latencies.length > 0) {
    const labels = latencies.map((r) => LABELS[r.name] ?? r.name);
    await Deno.writeTextFile(
      join(dir, `cluster_latency${suffix}.svg`),
      barChart(
        "Per-token latency p50, as a multiple of (a) one process",
        "x (a)",
        labels,
        (["a", "b", "c"] as const).map((way, k) => ({
          name: ["(a) one process", "(b) unreplicated pipeline", "(c) BCP cluster"][k]!,
          values: latencies.map((r) => r.ways[way].p50Ms / r.ways.a.p50Ms),
        })),
      ),
    );
    // Coordination only: the model's own time is (a)'s.
    const kinds = ["step", "persist", "log", "encode", "sign", "verify", "queue"];
    await Deno.writeTextFile(
      join(dir, `cluster_costs${suffix}.svg`),
      barChart(
        "Where a node's time goes in (c) besides the model, per token (ms)",
        "ms per token and node",
        labels,
        kinds.map((kind) => ({
          name: kind,
          values: latencies.map((r) => r.perTokenPerNode[kind]!),
        })),
      ),
    );
  }
  if (throughputs.length > 0) {
    const sizes = [...new Set(throughputs.map((r) => r.nodes))];
    const ks = [...new Set(throughputs.map((r) => r.concurrent))];
    await Deno.writeTextFile(
      join(dir, `cluster_throughput${suffix}.svg`),
      lineChart(
        "Throughput, fixed-latency stages (50 x 10 ms): measured and N / (R L T)",
        "inferences at once (k)",
        "tokens per second",
        ks,
        sizes.flatMap((nodes, k) => {
          const rows = ks.map((c) =>
            throughputs.find((r) => r.nodes === nodes && r.concurrent === c)!
          );
          return [
            { name: `n = ${nodes} measured`, values: rows.map((r) => r.tokensPerSecond), color: k },
            {
              name: `n = ${nodes} ideal`,
              values: rows.map((r) => r.idealTokensPerSecond),
              dashed: true,
              color: k,
            },
          ];
        }),
      ),
    );
  }
}

if (import.meta.main) await main();
