/**
 * A Byzantine member for the chaos harness (`deno task chaos --byzantine K` starts it, never a
 * user): the reference node, unchanged, whose outgoing frames pass through
 * {@linkcode byzantineNetwork}. `--cluster FILE --id ID --data DIR --mode MODE --seed S`; it
 * writes no trace (what it signs is not what its steps say) and stops on SIGTERM.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { prngFromSeed } from "../model/_prng.ts";
import { BYZANTINE_MODES, byzantineNetwork, isByzantineMode } from "./chaos_byzantine.ts";
import { loadClusterFile } from "./cluster_file.ts";
import { loadNodeConfig } from "./config.ts";
import { readKeyFile } from "./keys.ts";
import { Logger } from "./log.ts";
import { listenAddress } from "./node_main.ts";
import { Transport } from "./transport.ts";

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      cluster: { type: "string" },
      id: { type: "string" },
      data: { type: "string" },
      mode: { type: "string" },
      seed: { type: "string", default: "1" },
      "log-level": { type: "string", default: "info" },
      listen: { type: "string" },
    },
  });
  const { cluster: clusterPath, id, data, mode } = values;
  if (clusterPath === undefined || id === undefined || data === undefined) {
    console.error("chaos-byzantine: --cluster, --id and --data are required");
    return 2;
  }
  if (mode === undefined || !isByzantineMode(mode)) {
    console.error(`chaos-byzantine: --mode must be one of ${BYZANTINE_MODES.join(", ")}`);
    return 2;
  }
  const cluster = await loadClusterFile(clusterPath);
  const signer = await readKeyFile(`${data}/node.key`, id);
  const log = new Logger(id, "info");
  const { openClusterModel } = await import("./model_source.ts");
  const { ButterflyNode } = await import("./node.ts");
  const { closePipeline } = await import("../model/generate.ts");
  const pipeline = await openClusterModel(cluster, { device: "cpu" });
  const node = await ButterflyNode.start({
    cluster,
    signer,
    dataDir: data,
    pipeline,
    config: loadNodeConfig(),
    log,
    network: async (handlers, membership, clients) => {
      const transport = await Transport.start({
        signer,
        membership,
        ...(clients === undefined ? {} : { clients }),
        addresses: new Map(cluster.nodes.map((n) => [n.id, { host: n.host!, port: n.port! }])),
        ...(values.listen === undefined ? {} : { listen: listenAddress(values.listen) }),
        log,
        ...handlers,
      });
      return byzantineNetwork(transport, {
        mode,
        signer,
        membership,
        prng: prngFromSeed(Number(values.seed)),
      });
    },
  });
  log.info("byzantine node running", { mode });
  const stopped = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGTERM", () => stopped.resolve());
  Deno.addSignalListener("SIGINT", () => stopped.resolve());
  await stopped.promise;
  await node.close();
  await closePipeline(pipeline);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
