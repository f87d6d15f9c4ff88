/**
 * `deno task cluster --nodes 4 --f 1`: starts a local cluster of reference node processes and
 * keeps it running until SIGINT or SIGTERM, printing its cluster file, so another implementation
 * can join it or test against it.
 *
 * @module
 */

import { integerValue, readArgs, UsageError, usageFailure } from "../cli/args.ts";
import { MODEL_PRESETS, type ModelPreset } from "./cluster_file.ts";

const COMMAND = {
  name: "cluster",
  usage: "deno task cluster [--nodes N] [--f F] [--model default|tiny] [--stages S] [--dir DIR] " +
    "[--base-port P]",
  description: "Starts N reference nodes (default 4) tolerating F Byzantine ones (default 1) on\n" +
    "loopback and keeps them running until SIGINT or SIGTERM. Prints the cluster file (members,\n" +
    "addresses, public keys) and where the client key is. DIR keeps keys, the cluster file and\n" +
    "each node's data (default: a temporary directory, removed at exit); a DIR that holds a\n" +
    "cluster already runs that cluster again. Ports start at P (default: free ports).",
  options: {
    nodes: { type: "string", default: "4" },
    f: { type: "string", default: "1" },
    model: { type: "string", default: "default" },
    stages: { type: "string", default: "2" },
    dir: { type: "string" },
    "base-port": { type: "string" },
  },
} as const;

async function main(args: string[]): Promise<number> {
  const read = readArgs(COMMAND, args);
  if ("exit" in read) return read.exit;
  const { values } = read;
  let nodeCount: number, faultsMax: number, stages: number, basePort: number | undefined;
  try {
    nodeCount = integerValue("--nodes", values.nodes, 4, 1, 64);
    faultsMax = integerValue("--f", values.f, 1, 0, 21);
    if (nodeCount < 3 * faultsMax + 1) {
      throw new UsageError(
        `--nodes ${nodeCount} cannot tolerate --f ${faultsMax}: BCP needs n >= 3f + 1 = ${
          3 * faultsMax + 1
        }`,
      );
    }
    stages = integerValue("--stages", values.stages, 2, 1, 8);
    basePort = values["base-port"] === undefined
      ? undefined
      : integerValue("--base-port", values["base-port"], 0, 1, 65535 - nodeCount);
    if (!(MODEL_PRESETS as readonly string[]).includes(values.model)) {
      throw new UsageError(`--model must be one of ${MODEL_PRESETS.join(", ")}`);
    }
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(COMMAND, error);
    throw error;
  }
  const preset = values.model as ModelPreset;
  const { PRESET_CONFIGS } = await import("./model_source.ts");
  const { assignBoundaries } = await import("./demo.ts");
  const { LocalCluster } = await import("./local_cluster.ts");
  const config = PRESET_CONFIGS[preset];
  if (stages > config.layerCount) {
    return usageFailure(COMMAND, new UsageError(`--stages must be at most ${config.layerCount}`));
  }
  const cluster = await LocalCluster.create({
    nodeCount,
    faultsMax,
    preset,
    boundaries: assignBoundaries(config, stages),
    ...(values.dir === undefined ? {} : { dir: values.dir }),
    ...(basePort === undefined ? {} : { basePort }),
  });
  // Signals are handled from here on, so an interrupted start still stops every node.
  const stopped = Promise.withResolvers<void>();
  const stop = () => stopped.resolve();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    await Promise.race([cluster.startAll(), stopped.promise]);
    console.log(await Deno.readTextFile(cluster.clusterPath));
    console.error(
      `[cluster] ${nodeCount} nodes running; cluster file ${cluster.clusterPath}, client key ` +
        `${cluster.dir}/client.key (client-1). Ctrl-C stops them.`,
    );
    await stopped.promise;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    await cluster.close();
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
