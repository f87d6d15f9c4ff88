/**
 * `deno task node --cluster cluster.json --id node-1 --data ./data/node-1`: runs one reference
 * node until SIGINT or SIGTERM, logging JSON lines on stderr.
 *
 * @module
 */

import { readArgs, UsageError, usageFailure } from "../cli/args.ts";
import { ConfigError } from "../config/config.ts";
import { ClusterFileError, loadClusterFile } from "./cluster_file.ts";
import { loadNodeConfig, traceDirFromEnv } from "./config.ts";
import { KeyFileError, readKeyFile } from "./keys.ts";
import { Logger, parseLogLevel } from "./log.ts";

const COMMAND = {
  name: "node",
  usage: "deno task node --cluster FILE --id ID --data DIR [--key FILE] [--log-level LEVEL] " +
    "[--device cpu|cuda] [--trace DIR] [--listen HOST:PORT]",
  description:
    "Runs one reference node of the cluster FILE describes, as member ID, keeping its\n" +
    "state in DIR (its key is DIR/node.key unless --key says otherwise). Logs are JSON lines on\n" +
    "stderr at LEVEL (debug, info, warn, error; default info). SIGINT or SIGTERM stops it\n" +
    "cleanly; a node killed outright resumes from DIR. --trace DIR (or BUTTERFLY_TRACE=DIR)\n" +
    "appends one line per protocol step to DIR/ID.ndjson, for deno task validate-trace.\n" +
    "--listen HOST:PORT listens there rather than at the cluster file's address (behind a\n" +
    "proxy or a port forward; peers still dial the cluster file's address).\n" +
    "BUTTERFLY_* variables tune it; an unknown one is an error.",
  options: {
    cluster: { type: "string" },
    id: { type: "string" },
    data: { type: "string" },
    key: { type: "string" },
    "log-level": { type: "string", default: "info" },
    device: { type: "string", default: "cpu" },
    trace: { type: "string" },
    listen: { type: "string" },
  },
} as const;

async function main(args: string[]): Promise<number> {
  const read = readArgs(COMMAND, args);
  if ("exit" in read) return read.exit;
  const { values } = read;
  let level;
  let listen: { host: string; port: number } | undefined;
  try {
    for (const flag of ["cluster", "id", "data"] as const) {
      if (values[flag] === undefined || values[flag] === "") {
        throw new UsageError(`--${flag} is required`);
      }
    }
    if (values.trace === "") throw new UsageError("--trace needs a directory");
    if (values.listen !== undefined) listen = listenAddress(values.listen);
    if (values.device !== "cpu" && values.device !== "cuda") {
      throw new UsageError(`--device must be cpu or cuda, got ${JSON.stringify(values.device)}`);
    }
    try {
      level = parseLogLevel(values["log-level"]);
    } catch (error) {
      throw new UsageError(`--log-level: ${(error as Error).message}`);
    }
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(COMMAND, error);
    throw error;
  }
  const id = values.id!;
  const dataDir = values.data!;
  let config, cluster, signer;
  try {
    config = loadNodeConfig();
    cluster = await loadClusterFile(values.cluster!);
    if (!cluster.nodes.some((node) => node.id === id)) {
      throw new ClusterFileError("nodes", `has no member ${JSON.stringify(id)}`, values.cluster);
    }
    signer = await readKeyFile(values.key ?? `${dataDir}/node.key`, id);
    const member = cluster.nodes.find((node) => node.id === id)!;
    if (member.publicKey.some((byte, k) => byte !== signer!.publicKey[k])) {
      throw new KeyFileError(
        values.key ?? `${dataDir}/node.key`,
        `is not the key the cluster file lists for ${id}`,
      );
    }
  } catch (error) {
    if (
      error instanceof ConfigError || error instanceof ClusterFileError ||
      error instanceof KeyFileError
    ) {
      console.error(`node: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const log = new Logger(id, level);
  // ONNX Runtime loads only now, after every argument is checked.
  const { openClusterModel } = await import("./model_source.ts");
  const { ButterflyNode } = await import("./node.ts");
  const { closePipeline } = await import("../model/generate.ts");
  let pipeline, node;
  try {
    pipeline = await openClusterModel(cluster, {
      device: values.device as "cpu" | "cuda",
      onFallback: (message) => log.warn(message),
    });
    const traceDir = values.trace ?? traceDirFromEnv();
    node = await ButterflyNode.start({
      cluster,
      signer,
      dataDir,
      pipeline,
      config,
      log,
      ...(traceDir === undefined ? {} : { traceDir }),
      ...(listen === undefined ? {} : { listen }),
    });
  } catch (error) {
    // A port in use, a data directory that is not this node's, a model that does not load:
    // one line, not a stack trace.
    if (pipeline !== undefined) await closePipeline(pipeline);
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    console.error(`node: cannot start ${id}: ${message}`);
    return 1;
  }
  const stopped = Promise.withResolvers<void>();
  const stop = () => stopped.resolve();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await stopped.promise;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  await node.close();
  await closePipeline(pipeline);
  return 0;
}

/**
 * Reads `--listen HOST:PORT`.
 *
 * @param text The flag's value.
 * @returns The address.
 * @throws {UsageError} If it is not a host and a port 1 to 65535.
 */
export function listenAddress(text: string): { host: string; port: number } {
  const match = text.match(/^(.+):(\d{1,5})$/);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || !(port >= 1 && port <= 65535)) {
    throw new UsageError(`--listen needs HOST:PORT with a port from 1 to 65535, got ${text}`);
  }
  return { host: match[1]!, port };
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
