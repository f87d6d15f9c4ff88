/**
 * Detection, masking and rejoining with real node processes, measured (not a test):
 *
 *     deno run -A bench/recovery_report.ts [--trials N] [--json FILE]
 *
 * For each setting (the default 100 ms heartbeats, and the seed's low-latency tuning of 50 ms),
 * a 4-node cluster (f = 1) of `deno task node` processes on loopback runs the default model in
 * two stages, 3 replicas each. Each trial starts a long inference and, once 20 tokens are
 * accepted, kills (kill -9) one replica that is not the coordinator, then:
 *
 * - detection: from the kill to the `peer suspected` line of every live node (their log times);
 * - stall: the longest gap between two tokens the client streams after the kill, against the
 *   median gap before it (with 2f + 1 replicas per stage a single crash should cost about one
 *   token's time, not a recovery);
 * - rejoin: the killed node restarts from its data directory; from the restart to `node
 *   started`, and to its commit of the inference (it catches up from the stable checkpoint).
 *
 * Timestamps come from the nodes' JSON log lines (`time`, ms) and the client's clock, all on one
 * machine. Prints a table and writes the figures as JSON.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ButterflyClient } from "../src/runtime/client.ts";
import { LocalCluster } from "../src/runtime/local_cluster.ts";
import type { LogRecord } from "../src/runtime/log.ts";

interface Trial {
  readonly victim: string;
  readonly detectionMs: number;
  readonly stallMs: number;
  readonly gapBeforeMs: number;
  readonly startMs: number;
  readonly rejoinCommitMs: number;
}

interface Setting {
  readonly name: string;
  readonly heartbeatMs: number;
}

const SETTINGS: readonly Setting[] = [
  { name: "default (100 ms heartbeats)", heartbeatMs: 100 },
  { name: "low latency (50 ms heartbeats)", heartbeatMs: 50 },
];

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const timeOf = (record: LogRecord) => Date.parse(record.time as string);

async function trialsOf(setting: Setting, trials: number): Promise<Trial[]> {
  const cluster = await LocalCluster.create({
    preset: "default",
    boundaries: [4],
    env: { BUTTERFLY_HEARTBEAT_INTERVAL_MS: String(setting.heartbeatMs) },
  });
  const out: Trial[] = [];
  let client: ButterflyClient | undefined;
  try {
    await cluster.startAll();
    client = await ButterflyClient.connect({ cluster: cluster.cluster, signer: cluster.client });
    for (let k = 0; k < trials; k++) {
      // node-1 is the view-0 coordinator: kill one of the others, in turn.
      const victim = cluster.nodeIds[1 + (k % 3)]!;
      const times: number[] = [];
      let killedAt = 0;
      let killing: Promise<unknown> | undefined;
      const inferenceId = 1000 + k;
      const running = client.infer({
        prompt: "Hello",
        tokenCount: 160,
        inferenceId,
        timeoutMs: 120_000,
        onToken: ({ token }) => {
          times.push(Date.now());
          if (token === 20) {
            killedAt = Date.now();
            killing = cluster.stop(victim, "SIGKILL");
          }
        },
      });
      await cluster.waitFor(() => killing !== undefined, "token 20", 60_000);
      await killing;
      const restartAt = Date.now();
      const before = cluster.logs.get(victim)!.length;
      await cluster.start(victim);
      const startedAt = timeOf(
        cluster.logs.get(victim)!.slice(before).find((r) => r.msg === "node started")!,
      );
      await running;
      await cluster.waitFor(
        () =>
          cluster.logs.get(victim)!.slice(before).some((r) =>
            r.msg === "inference committed" && r.inference === inferenceId
          ),
        `${victim} to commit after its restart`,
        60_000,
      );
      const committedAt = timeOf(
        cluster.logs.get(victim)!.slice(before).find((r) =>
          r.msg === "inference committed" && r.inference === inferenceId
        )!,
      );
      const live = cluster.nodeIds.filter((id) => id !== victim);
      const suspected = live.map((id) =>
        cluster.logs.get(id)!.find((r) =>
          r.msg === "peer suspected" && r.peer === victim && timeOf(r) >= killedAt - 5
        )
      );
      if (suspected.some((r) => r === undefined)) {
        console.error(`trial ${k}: not every live node suspected ${victim}; skipped`);
        continue;
      }
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      const killIndex = times.findIndex((t) => t >= killedAt);
      out.push({
        victim,
        detectionMs: Math.max(...suspected.map((r) => timeOf(r!))) - killedAt,
        stallMs: Math.max(...gaps.slice(killIndex)),
        gapBeforeMs: quantile(gaps.slice(0, Math.max(1, killIndex - 1)), 0.5),
        startMs: startedAt - restartAt,
        rejoinCommitMs: committedAt - restartAt,
      });
      // Let the cluster settle (the restarted node trusted again everywhere).
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    await client?.close();
    await cluster.close();
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      trials: { type: "string", default: "10" },
      json: { type: "string", default: "bench/results/recovery.json" },
    },
  });
  const trials = Number(values.trials);
  if (!Number.isSafeInteger(trials) || trials < 1) {
    console.error(`recovery_report: --trials needs a positive whole number, got ${values.trials}`);
    Deno.exit(2);
  }
  const results = [];
  for (const setting of SETTINGS) {
    const measured = await trialsOf(setting, trials);
    const figure = (pick: (t: Trial) => number) => {
      const xs = measured.map(pick);
      return { p50: quantile(xs, 0.5), p90: quantile(xs, 0.9), p99: quantile(xs, 0.99) };
    };
    const row = {
      setting: setting.name,
      heartbeatMs: setting.heartbeatMs,
      trials: measured.length,
      detectionMs: figure((t) => t.detectionMs),
      stallMs: figure((t) => t.stallMs),
      tokenGapBeforeMs: figure((t) => t.gapBeforeMs),
      restartToStartedMs: figure((t) => t.startMs),
      restartToCommitMs: figure((t) => t.rejoinCommitMs),
    };
    results.push(row);
    const f = (x: { p50: number; p90: number; p99: number }) =>
      `${x.p50.toFixed(0)} / ${x.p90.toFixed(0)} / ${x.p99.toFixed(0)}`;
    console.log(`${setting.name}, ${measured.length} trials (p50 / p90 / p99, ms):`);
    console.log(`  kill -9 to suspected by every live node   ${f(row.detectionMs)}`);
    console.log(`  longest token gap after the kill          ${f(row.stallMs)}`);
    console.log(`  token gap before it (median per trial)    ${f(row.tokenGapBeforeMs)}`);
    console.log(`  restart to node started                   ${f(row.restartToStartedMs)}`);
    console.log(`  restart to its commit of the inference    ${f(row.restartToCommitMs)}`);
  }
  await Deno.mkdir("bench/results", { recursive: true });
  await Deno.writeTextFile(
    values.json,
    JSON.stringify({ machine: `${navigator.hardwareConcurrency} cores`, results }, null, 2) + "\n",
  );
  console.log(`wrote ${values.json}`);
}
