/**
 * Detection, masking and rejoining with real node processes, measured (not a test):
 *
 *     deno run -A bench/recovery_report.ts [--trials N] [--json FILE]
 *
 * For each setting (the default 100 ms heartbeats, and the seed's low-latency tuning of 50 ms),
 * a 4-node cluster (f = 1) of `deno task node` processes on loopback runs the default model in
 * two stages, 3 replicas each. Each trial starts an inference of 250 tokens and, once 10 are
 * accepted, kills (kill -9) one replica that is not the coordinator, then:
 *
 * - detection: from the kill to the `peer suspected` line of every live node (their log times);
 * - stall: the longest gap between two tokens the client streams from the kill to the restart,
 *   against the median gap before it (with 2f + 1 replicas per stage a single crash should cost
 *   about one token's time, not a recovery);
 * - rejoin: once every live node suspects it, the node restarts from its data directory; the
 *   longest token gap from then on (what its start and catching up cost the others on this
 *   machine's two cores); from the restart to `node
 *   started`, to its first token accepted (back in the protocol: it caught up from the stable
 *   checkpoint), and to its commit of the inference (which waits for the inference's last
 *   token); and its stage-cache rebuilds when it next computes (passes restored from its
 *   stage-cache checkpoints, passes recomputed, time). `bench/rebuild_report.ts` sets those rebuilds against
 *   recomputing the whole prefix.
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
  readonly rejoinStallMs: number;
  readonly gapBeforeMs: number;
  readonly startMs: number;
  readonly rejoinMs: number;
  readonly rejoinToken: number;
  readonly rebuildMs: number;
  readonly rebuildToken: number;
  readonly restoredPasses: number;
  readonly recomputedPasses: number;
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

// The longest the cluster runs without the killed node before it restarts.
const DOWN_MS_MAX = 10_000;
// The token after which a replica is killed.
const KILL_AT = 10;

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
        tokenCount: 250,
        inferenceId,
        timeoutMs: 120_000,
        onToken: ({ token }) => {
          times.push(Date.now());
          if (token === KILL_AT) {
            killedAt = Date.now();
            killing = cluster.stop(victim, "SIGKILL");
          }
        },
      });
      await cluster.waitFor(() => killing !== undefined, `token ${KILL_AT}`, 60_000);
      await killing;
      // The cluster runs without it until every live node suspects it (so that neither the
      // masking nor the detection is measured with a starting process beside them), then it
      // restarts.
      const live = cluster.nodeIds.filter((id) => id !== victim);
      const suspicionOf = (id: string) =>
        cluster.logs.get(id)!.find((r) =>
          r.msg === "peer suspected" && r.peer === victim && timeOf(r) >= killedAt - 5
        );
      await cluster.waitFor(
        () => live.every((id) => suspicionOf(id) !== undefined),
        `every live node to suspect ${victim}`,
        DOWN_MS_MAX,
      ).catch(() => {});
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
      // Back in the protocol: its first token accepted after the restart, once it caught up from
      // the stable checkpoint.
      const after = cluster.logs.get(victim)!.slice(before);
      // (Tokens it had accepted before the kill it logs again as it resumes them from disk; its
      // commit counts, if the inference ended before it was back.)
      const acceptedBefore = Math.max(
        0,
        ...cluster.logs.get(victim)!.slice(0, before).filter((r) =>
          r.msg === "token accepted" && r.inference === inferenceId
        ).map((r) => r.token as number),
      );
      const firstAccepted = after.find((r) =>
        r.inference === inferenceId && (r.msg === "inference committed" ||
          (r.msg === "token accepted" && (r.token as number) > acceptedBefore))
      )!;
      // Its stage caches, rebuilt when it next computes a stage: how, and at what cost.
      const rebuilds = after.filter((r) =>
        r.msg === "stage caches rebuilt" && r.inference === inferenceId
      );
      const sum = (key: string) => rebuilds.reduce((total, r) => total + (r[key] as number), 0);
      const suspected = live.map(suspicionOf);
      if (suspected.some((r) => r === undefined)) {
        console.error(`trial ${k}: not every live node suspected ${victim}; skipped`);
        continue;
      }
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      // gaps[i] ends at times[i + 1].
      const killIndex = times.findIndex((t) => t >= killedAt) - 1;
      const firstAfterRestart = times.findIndex((t) => t >= restartAt);
      const restartIndex = firstAfterRestart === -1 ? gaps.length : firstAfterRestart - 1;
      out.push({
        victim,
        detectionMs: Math.max(...suspected.map((r) => timeOf(r!))) - killedAt,
        stallMs: Math.max(...gaps.slice(killIndex, restartIndex)),
        rejoinStallMs: Math.max(0, ...gaps.slice(restartIndex)),
        gapBeforeMs: quantile(gaps.slice(0, Math.max(1, killIndex - 1)), 0.5),
        startMs: startedAt - restartAt,
        rejoinMs: timeOf(firstAccepted) - restartAt,
        rejoinToken: (firstAccepted.token ?? firstAccepted.tokens) as number,
        rebuildMs: sum("ms"),
        rebuildToken: Math.max(0, ...rebuilds.map((r) => r.token as number)),
        restoredPasses: sum("restoredPasses"),
        recomputedPasses: sum("recomputedPasses"),
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
      trials: { type: "string", default: "20" },
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
      rejoinStallMs: figure((t) => t.rejoinStallMs),
      tokenGapBeforeMs: figure((t) => t.gapBeforeMs),
      restartToStartedMs: figure((t) => t.startMs),
      restartToRejoinMs: figure((t) => t.rejoinMs),
      rejoinToken: figure((t) => t.rejoinToken),
      rebuildMs: figure((t) => t.rebuildMs),
      rebuildToken: figure((t) => t.rebuildToken),
      restoredPasses: figure((t) => t.restoredPasses),
      recomputedPasses: figure((t) => t.recomputedPasses),
      restartToCommitMs: figure((t) => t.rejoinCommitMs),
    };
    results.push(row);
    const f = (x: { p50: number; p90: number; p99: number }) =>
      `${x.p50.toFixed(0)} / ${x.p90.toFixed(0)} / ${x.p99.toFixed(0)}`;
    console.log(`${setting.name}, ${measured.length} trials (p50 / p90 / p99, ms):`);
    console.log(`  kill -9 to suspected by every live node   ${f(row.detectionMs)}`);
    console.log(`  longest token gap after the kill          ${f(row.stallMs)}`);
    console.log(`  longest token gap after the restart       ${f(row.rejoinStallMs)}`);
    console.log(`  token gap before it (median per trial)    ${f(row.tokenGapBeforeMs)}`);
    console.log(`  restart to node started                   ${f(row.restartToStartedMs)}`);
    console.log(`  restart to its first token accepted       ${f(row.restartToRejoinMs)}`);
    console.log(`    at token                                ${f(row.rejoinToken)}`);
    console.log(`  its stage-cache rebuilds after, ms        ${f(row.rebuildMs)}`);
    console.log(`      for token                             ${f(row.rebuildToken)}`);
    console.log(`      passes restored from checkpoints      ${f(row.restoredPasses)}`);
    console.log(`      passes recomputed                     ${f(row.recomputedPasses)}`);
    console.log(`  restart to its commit of the inference    ${f(row.restartToCommitMs)}`);
  }
  await Deno.mkdir("bench/results", { recursive: true });
  await Deno.writeTextFile(
    values.json,
    JSON.stringify({ machine: `${navigator.hardwareConcurrency} cores`, results }, null, 2) + "\n",
  );
  console.log(`wrote ${values.json}`);
}
