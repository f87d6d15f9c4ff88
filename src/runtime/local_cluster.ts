/**
 * A cluster of reference node processes on loopback: keys, the cluster file, one `deno task
 * node` process per member, their JSON-lines logs, kill and restart. `deno task cluster`, `deno
 * task demo` and the scenario tests run on it. Closing it stops every process it started and
 * removes the directory it created.
 *
 * @module
 */

import { join } from "node:path";
import type { NodeId } from "../core/types.ts";
import type { NodeSigner } from "../wire/identity.ts";
import {
  type ClusterFile,
  clusterFileJson,
  type ModelPreset,
  parseClusterFile,
} from "./cluster_file.ts";
import { readKeyFile, toHex, writeNewKeyFile } from "./keys.ts";
import type { LogLevel, LogRecord } from "./log.ts";

const NODE_MAIN = new URL("./node_main.ts", import.meta.url).pathname;
const ROOT = new URL("../..", import.meta.url).pathname;

/** Options of {@linkcode LocalCluster.create}. */
export interface LocalClusterOptions {
  /** Members (default 4). */
  readonly nodeCount?: number;
  /** f (default 1). */
  readonly faultsMax?: number;
  /** The embedded model (default `default`). */
  readonly preset?: ModelPreset;
  /**
   * Stages that wait `layerMs` per block instead of computing (the cluster file's
   * `model.fixedLatency`; benchmarks). It replaces `preset`.
   */
  readonly fixedLatency?: { readonly layers: number; readonly layerMs: number };
  /** Layer indices where stages start. */
  readonly boundaries?: readonly number[];
  /** Where to keep keys, the cluster file and data (default: a new temporary directory). */
  readonly dir?: string;
  /** The first port (default: free ports the system picks). */
  readonly basePort?: number;
  /** Extra environment of the node processes (`BUTTERFLY_*`). */
  readonly env?: Readonly<Record<string, string>>;
  /** The nodes' log level (default `info`). */
  readonly logLevel?: LogLevel;
  /** Each log line of each node, as it arrives. */
  readonly onLog?: (node: NodeId, record: LogRecord) => void;
  /** Where the nodes write their runtime traces (`--trace`; default: none). */
  readonly traceDir?: string;
  /**
   * Each node listens on a port of its own (`--listen`, {@linkcode LocalCluster.listenAddress})
   * rather than at its cluster-file address, which a proxy then takes (the chaos harness's).
   */
  readonly behindProxy?: boolean;
  /**
   * Another program for some members (the chaos harness's Byzantine node): its script and its
   * arguments after `--cluster`, `--id` and `--data`; `undefined` runs the reference node.
   */
  readonly entry?: (
    id: NodeId,
  ) => { readonly script: string; readonly args: readonly string[] } | undefined;
}

interface Running {
  readonly child: Deno.ChildProcess;
  readonly stderrDone: Promise<void>;
}

/** A local cluster of node processes. */
export class LocalCluster {
  /** The directory holding `cluster.json`, the keys and each node's data. */
  readonly dir: string;
  /** The cluster file's path. */
  readonly clusterPath: string;
  /** The cluster. */
  readonly cluster: ClusterFile;
  /** The client's signer (its key is in the cluster file). */
  readonly client: NodeSigner;
  /** Every log line of each node, in order. */
  readonly logs: Map<NodeId, LogRecord[]> = new Map();
  readonly #options: LocalClusterOptions;
  readonly #ownsDir: boolean;
  readonly #running = new Map<NodeId, Running>();
  readonly #paused = new Set<NodeId>();
  readonly #listenPorts = new Map<NodeId, number>();
  #closed = false;

  private constructor(
    dir: string,
    ownsDir: boolean,
    cluster: ClusterFile,
    client: NodeSigner,
    options: LocalClusterOptions,
  ) {
    this.dir = dir;
    this.#ownsDir = ownsDir;
    this.clusterPath = join(dir, "cluster.json");
    this.cluster = cluster;
    this.client = client;
    this.#options = options;
    for (const node of cluster.nodes) this.logs.set(node.id, []);
  }

  /**
   * Writes the keys and the cluster file (no process starts yet).
   *
   * @param options The cluster's shape.
   * @returns The cluster.
   */
  static async create(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? await Deno.makeTempDir({ prefix: "butterfly-cluster-" });
    if (!ownsDir) {
      // A directory that holds a cluster already: run that cluster again (its keys and data).
      let existing: string | undefined;
      try {
        existing = await Deno.readTextFile(join(dir, "cluster.json"));
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      if (existing !== undefined) {
        const cluster = parseClusterFile(JSON.parse(existing), dir);
        const client = await readKeyFile(join(dir, "client.key"), "client-1");
        return new LocalCluster(dir, false, cluster, client, options);
      }
    }
    try {
      const count = options.nodeCount ?? 4;
      const nodes = [];
      const all = freePorts(options.behindProxy === true ? 2 * count : count);
      const ports = options.basePort === undefined
        ? all.slice(0, count)
        : Array.from({ length: count }, (_, k) => options.basePort! + k);
      for (let k = 1; k <= count; k++) {
        const id = `node-${k}`;
        await Deno.mkdir(join(dir, id), { recursive: true });
        const publicKey = await writeNewKeyFile(join(dir, id, "node.key"));
        const port = ports[k - 1]!;
        nodes.push({ id, address: `127.0.0.1:${port}`, publicKey: toHex(publicKey) });
      }
      await writeNewKeyFile(join(dir, "client.key"));
      const client = await readKeyFile(join(dir, "client.key"), "client-1");
      const json = {
        f: options.faultsMax ?? 1,
        model: options.fixedLatency === undefined
          ? { preset: options.preset ?? "default" }
          : { fixedLatency: options.fixedLatency },
        boundaries: [...(options.boundaries ?? [])],
        nodes,
        clients: [{ id: "client-1", publicKey: toHex(client.publicKey) }],
      };
      const cluster = parseClusterFile(json, dir);
      await Deno.writeTextFile(
        join(dir, "cluster.json"),
        `${JSON.stringify(clusterFileJson(cluster), null, 2)}\n`,
      );
      const created = new LocalCluster(dir, ownsDir, cluster, client, options);
      if (options.behindProxy === true) {
        all.slice(count).forEach((port, k) => created.#listenPorts.set(`node-${k + 1}`, port));
      }
      return created;
    } catch (error) {
      if (ownsDir) await Deno.remove(dir, { recursive: true });
      throw error;
    }
  }

  /**
   * Where a node listens when the cluster is `behindProxy` (its cluster-file address is the
   * proxy's).
   *
   * @param id The member.
   * @returns The address, or `undefined` where it listens at its cluster-file address.
   */
  listenAddress(id: NodeId): { readonly host: string; readonly port: number } | undefined {
    const port = this.#listenPorts.get(id);
    return port === undefined ? undefined : { host: "127.0.0.1", port };
  }

  /** The members' ids. */
  get nodeIds(): NodeId[] {
    return this.cluster.nodes.map((node) => node.id);
  }

  /**
   * Starts every node that is not running.
   *
   * @returns When each has logged that it started.
   */
  async startAll(): Promise<void> {
    await Promise.all(
      this.nodeIds.filter((id) => !this.#running.has(id)).map((id) => this.start(id)),
    );
  }

  /**
   * Starts (or restarts) one node's process.
   *
   * @param id The member.
   * @returns When it has logged that it started.
   */
  async start(id: NodeId): Promise<void> {
    if (this.#running.has(id)) throw new Error(`${id} is running`);
    const before = this.logs.get(id)!.length;
    const other = this.#options.entry?.(id);
    const listen = this.#listenPorts.get(id);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--frozen",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-ffi",
        "--allow-sys",
        "--allow-net",
        other?.script ?? NODE_MAIN,
        "--cluster",
        this.clusterPath,
        "--id",
        id,
        "--data",
        join(this.dir, id),
        ...(listen === undefined ? [] : ["--listen", `127.0.0.1:${listen}`]),
        ...(other !== undefined ? other.args : [
          "--log-level",
          this.#options.logLevel ?? "info",
          ...(this.#options.traceDir === undefined ? [] : ["--trace", this.#options.traceDir]),
        ]),
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1", ...this.#options.env },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderrDone = this.#readLogs(id, child.stderr);
    this.#running.set(id, { child, stderrDone });
    void child.status.then(() => {
      if (this.#running.get(id)?.child === child) this.#running.delete(id);
    });
    await this.waitFor(
      () => this.logs.get(id)!.slice(before).some((r) => r.msg === "node started"),
      `${id} to start`,
      60_000,
      () => this.#running.get(id)?.child === child,
    );
  }

  /**
   * Whether a node's process is running.
   *
   * @param id The member.
   * @returns `true` while it runs.
   */
  isRunning(id: NodeId): boolean {
    return this.#running.has(id);
  }

  /**
   * A running node's process id (to read its resident memory, say).
   *
   * @param id The member.
   * @returns The pid, or `undefined` where it is not running.
   */
  pid(id: NodeId): number | undefined {
    return this.#running.get(id)?.child.pid;
  }

  /**
   * Sends a signal to a node's process and waits for it to end.
   *
   * @param id The member.
   * @param signal `SIGKILL` (kill -9, the default) or `SIGTERM` (a clean stop).
   * @returns The exit status.
   */
  async stop(id: NodeId, signal: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus> {
    const running = this.#running.get(id);
    if (running === undefined) throw new Error(`${id} is not running`);
    try {
      running.child.kill(signal);
    } catch {
      // Already exited.
    }
    const status = await running.child.status;
    await running.stderrDone;
    this.#running.delete(id);
    this.#paused.delete(id);
    return status;
  }

  /**
   * Pauses a node's process (SIGSTOP): it holds its sockets and state but answers nothing, as
   * a process stalled by the machine would.
   *
   * @param id The member.
   */
  pause(id: NodeId): void {
    const running = this.#running.get(id);
    if (running === undefined) throw new Error(`${id} is not running`);
    running.child.kill("SIGSTOP");
    this.#paused.add(id);
  }

  /**
   * Lets a paused node's process go on (SIGCONT).
   *
   * @param id The member.
   */
  resume(id: NodeId): void {
    const running = this.#running.get(id);
    this.#paused.delete(id);
    if (running === undefined) return;
    try {
      running.child.kill("SIGCONT");
    } catch {
      // Gone.
    }
  }

  /**
   * Whether a node's process is paused.
   *
   * @param id The member.
   * @returns `true` between `pause` and `resume`.
   */
  isPaused(id: NodeId): boolean {
    return this.#paused.has(id);
  }

  /**
   * Waits until `check` holds.
   *
   * @param check The condition (polled).
   * @param what What is awaited, for the error.
   * @param timeoutMs The guard against a hang.
   * @param alive While this holds, keep waiting (default: always).
   */
  async waitFor(
    check: () => boolean,
    what: string,
    timeoutMs = 60_000,
    alive: () => boolean = () => true,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (!alive()) throw new Error(`gave up waiting for ${what}: the process ended`);
      if (Date.now() > deadline) {
        // What each node said last, so a hang can be understood from the error alone.
        const recent = [...this.logs.values()]
          .flatMap((records) => records.slice(-6))
          .map((record) => JSON.stringify(record))
          .join("\n");
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; each node's last lines:\n${recent}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Every node's log lines with message `msg`.
   *
   * @param msg The message.
   * @returns The lines, with their node.
   */
  find(msg: string): LogRecord[] {
    return [...this.logs.values()].flat().filter((record) => record.msg === msg);
  }

  /** Stops every process (SIGTERM, then SIGKILL after 10 s) and removes a directory it made. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A stopped process would not see the SIGTERM.
    for (const id of [...this.#paused]) this.resume(id);
    await Promise.all([...this.#running.keys()].map(async (id) => {
      const running = this.#running.get(id)!;
      const timer = setTimeout(() => {
        try {
          running.child.kill("SIGKILL");
        } catch {
          // Gone.
        }
      }, 10_000);
      try {
        await this.stop(id, "SIGTERM");
      } finally {
        clearTimeout(timer);
      }
    }));
    if (this.#ownsDir) await Deno.remove(this.dir, { recursive: true });
  }

  async #readLogs(id: NodeId, stream: ReadableStream<Uint8Array>): Promise<void> {
    const lines = this.logs.get(id)!;
    let rest = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, newline);
        rest = rest.slice(newline + 1);
        if (line.trim() === "") continue;
        let record: LogRecord;
        try {
          record = JSON.parse(line);
        } catch {
          record = { time: new Date().toISOString(), level: "error", node: id, msg: line };
        }
        lines.push(record);
        this.#options.onLog?.(id, record);
      }
    }
  }
}

/**
 * Ports of 127.0.0.1 free now, distinct: each listener stays open until all are chosen (a port
 * closed and asked for again can come back).
 *
 * @param count How many.
 * @returns The ports.
 */
export function freePorts(count: number): number[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((listener) => listener.addr.port);
  for (const listener of listeners) listener.close();
  return ports;
}
