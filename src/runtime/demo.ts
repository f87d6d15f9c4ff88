/**
 * `deno task demo [PROMPT]`: the main job. Starts four node processes (f = 1) on loopback, splits
 * the embedded default model into stages with the `WorkAssigner` (each stage computed by 3 of the
 * 4 nodes), generates tokens through BCP, shows each committed-to token as it is accepted, and
 * ends with a summary and the check that the tokens are bit-identical to `deno task generate`
 * with the same split. Leaves no process, port or directory behind.
 *
 * @module
 */

import { integerValue, readArgs, samplingFlags, UsageError, usageFailure } from "../cli/args.ts";
import type { LayerInfo } from "../core/types.ts";
import { WorkAssigner } from "../assign/work_assigner.ts";
import type { ModelConfig } from "../model/config.ts";
import type { Sampling } from "../model/sampling.ts";
import type { ButterflyClient } from "./client.ts";
import type { LocalCluster } from "./local_cluster.ts";
import { MODEL_PRESETS, type ModelPreset } from "./cluster_file.ts";
import { blockLayerInfo, decodeFlops } from "./profile.ts";

const USAGE = "deno task demo [--tokens N] [--stages S] [--kill NODE [--at-token T]] " +
  "[--model default|tiny] [--temperature T [--top-k K] [--seed S]] [--json] [PROMPT]";

const COMMAND = {
  name: "demo",
  usage: USAGE,
  description: "Runs a 4-node BCP cluster (f = 1) of node processes on loopback and generates N\n" +
    "tokens (default 32) for PROMPT on the embedded model split into S stages (default 2) by the\n" +
    "WorkAssigner, printing each token as the cluster accepts it, then a summary and whether the\n" +
    "tokens equal `deno task generate` with the same split. --kill NODE kills that node (kill -9)\n" +
    "when token T (default 5) is accepted. --temperature T (a multiple of 0.001), --top-k K and\n" +
    "--seed S sample as `deno task generate` does with the same flags (default: greedy).\n" +
    "--json prints one JSON object instead.",
  options: {
    tokens: { type: "string", default: "32" },
    stages: { type: "string", default: "2" },
    kill: { type: "string" },
    "at-token": { type: "string" },
    model: { type: "string", default: "default" },
    temperature: { type: "string" },
    "top-k": { type: "string" },
    seed: { type: "string", default: "0" },
    json: { type: "boolean", default: false },
  },
  positionals: true,
} as const;

const NODE_COUNT = 4;
const FAULTS_MAX = 1;

/**
 * The layers of a model as the work assigner sees them, costed analytically (the FLOPs of
 * decoding one token at an empty context; `deno task profile` measures them instead).
 *
 * @param config The model.
 * @returns One LayerInfo per block.
 */
export function modelLayers(config: ModelConfig): LayerInfo[] {
  return Array.from(
    { length: config.layerCount },
    (_, id) => blockLayerInfo(config, id, decodeFlops(config, id, 0)),
  );
}

/**
 * The stage split the work assigner makes for `stageCount` equal stage slots.
 *
 * @param config The model.
 * @param stageCount The stages wanted.
 * @returns The layer indices where stages 2.. start.
 */
export function assignBoundaries(config: ModelConfig, stageCount: number): number[] {
  const slots = Array.from({ length: stageCount }, (_, k) => `stage-${k + 1}`);
  const assignment = new WorkAssigner({ strategy: "loadBalanced" }).assign(
    modelLayers(config),
    slots,
  );
  return assignment.stages.slice(1).map((stage) => stage.layerIds[0]!);
}

/**
 * The `deno task generate` command with the demo's split, prompt and token count.
 *
 * @param boundaries The split.
 * @param tokens The token count.
 * @param prompt The prompt.
 * @param sampling The sampling rule (default greedy).
 * @returns The command line.
 */
export function generateCommand(
  boundaries: readonly number[],
  tokens: number,
  prompt: string,
  sampling: Sampling = { kind: "greedy" },
): string {
  const split = boundaries.length === 0 ? "" : ` --boundaries ${boundaries.join(",")}`;
  const sample = sampling.kind === "greedy" ? "" : ` --temperature ${sampling.temperature}` +
    (sampling.topK === undefined ? "" : ` --top-k ${sampling.topK}`) + ` --seed ${sampling.seed}`;
  return `deno task generate${split}${sample} --max-tokens ${tokens} ${JSON.stringify(prompt)}`;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function main(args: string[]): Promise<number> {
  const read = readArgs(COMMAND, args);
  if ("exit" in read) return read.exit;
  const { values, positionals } = read;
  let tokens: number, stages: number, atToken: number | undefined, preset: ModelPreset;
  let sampling: Sampling;
  const nodeIds = Array.from({ length: NODE_COUNT }, (_, k) => `node-${k + 1}`);
  try {
    if (positionals.length > 1) throw new UsageError("give at most one PROMPT (quote it)");
    if (!(MODEL_PRESETS as readonly string[]).includes(values.model)) {
      throw new UsageError(
        `--model must be one of ${MODEL_PRESETS.join(", ")}, got ${JSON.stringify(values.model)}`,
      );
    }
    preset = values.model as ModelPreset;
    tokens = integerValue("--tokens", values.tokens, 32, 1, 200);
    stages = integerValue("--stages", values.stages, 2, 1, 8);
    if (values.kill !== undefined && !nodeIds.includes(values.kill)) {
      throw new UsageError(`--kill must name one of ${nodeIds.join(", ")}, got ${values.kill}`);
    }
    if (values["at-token"] !== undefined && values.kill === undefined) {
      throw new UsageError("--at-token needs --kill");
    }
    atToken = values.kill === undefined
      ? undefined
      : integerValue("--at-token", values["at-token"], 5, 1, tokens);
    sampling = samplingFlags(values);
    if (
      sampling.kind === "sample" &&
      Math.round(sampling.temperature * 1000) / 1000 !== sampling.temperature
    ) {
      throw new UsageError(
        `--temperature must be a multiple of 0.001 (it travels in thousandths), got ${values.temperature}`,
      );
    }
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(COMMAND, error);
    throw error;
  }
  const prompt = positionals[0] ?? "The quick brown fox";
  const promptBytes = new TextEncoder().encode(prompt);
  if (promptBytes.length < 1) return usageFailure(COMMAND, new UsageError("the prompt is empty"));
  // ONNX Runtime and the cluster load only now, after every argument is checked.
  const { PRESET_CONFIGS } = await import("./model_source.ts");
  const config = PRESET_CONFIGS[preset];
  if (promptBytes.length + tokens - 1 > config.sequenceLengthMax) {
    return usageFailure(
      COMMAND,
      new UsageError(
        `${promptBytes.length} prompt bytes and ${tokens} tokens exceed the model's ` +
          `${config.sequenceLengthMax} positions`,
      ),
    );
  }
  if (stages > config.layerCount) {
    return usageFailure(
      COMMAND,
      new UsageError(`--stages must be at most the model's ${config.layerCount} layers`),
    );
  }
  const boundaries = assignBoundaries(config, stages);
  const { LocalCluster: Cluster } = await import("./local_cluster.ts");
  const { ButterflyClient: Client } = await import("./client.ts");
  const { renderByte } = await import("./generate.ts");
  const json = values.json;
  const out = (text: string) => {
    if (!json) Deno.stdout.writeSync(new TextEncoder().encode(text));
  };
  const ranges = [0, ...boundaries, config.layerCount].slice(0, -1).map((start, k) =>
    `${start}-${([...boundaries, config.layerCount][k]!) - 1}`
  );
  out(
    `[demo] ${NODE_COUNT} nodes, f = ${FAULTS_MAX}, the ${preset} model (${config.layerCount} ` +
      `layers) split by the WorkAssigner into ${stages} stage(s): layers ${ranges.join(" | ")} ` +
      `(--boundaries ${boundaries.join(",") || "none"}); each stage computed by ${
        2 * FAULTS_MAX + 1
      } of the ${NODE_COUNT} nodes\n`,
  );
  // Each token as the client streams it: once more than f nodes reported accepting it.
  const accepted: number[] = [];
  let killed: Promise<unknown> | undefined;
  const onToken = ({ token, tokenId }: { token: number; tokenId: number }) => {
    accepted.push(performance.now());
    out(renderByte(tokenId));
    if (atToken !== undefined && token === atToken && killed === undefined) {
      killed = cluster.stop(values.kill!, "SIGKILL").then(() => {
        out(`\n[demo] killed ${values.kill} (kill -9) at token ${token}\n`);
      });
    }
  };
  const cluster: LocalCluster = await Cluster.create({ preset, boundaries });
  let client: ButterflyClient | undefined;
  // Ctrl-C or SIGTERM stops every node and removes the directory (its keys with it).
  const interrupt = () => {
    void (async () => {
      await client?.close();
      await cluster.close();
      Deno.exit(130);
    })();
  };
  Deno.addSignalListener("SIGINT", interrupt);
  Deno.addSignalListener("SIGTERM", interrupt);
  try {
    out(`[demo] starting ${NODE_COUNT} node processes in ${cluster.dir}\n`);
    await cluster.startAll();
    client = await Client.connect({ cluster: cluster.cluster, signer: cluster.client });
    const inferenceId = 1 + Math.floor(Math.random() * 2 ** 40);
    out(`[demo] generating ${tokens} tokens for ${JSON.stringify(prompt)}\n${prompt}`);
    const started = performance.now();
    const result = await client.infer({
      prompt,
      tokenCount: tokens,
      inferenceId,
      sampling,
      onToken,
    });
    const finished = performance.now();
    await killed;
    // Every live node commits; their counts of frames and bytes sent make the traffic figures.
    await cluster.waitFor(
      () =>
        cluster.find("inference committed").filter((r) => r.inference === inferenceId).length >=
          cluster.nodeIds.filter((id) => cluster.isRunning(id)).length,
      "every live node to commit",
      30_000,
    );
    const commits = cluster.find("inference committed").filter((r) => r.inference === inferenceId);
    const frames = commits.reduce((sum, r) => sum + (r.framesSent as number), 0);
    const bytes = commits.reduce((sum, r) => sum + (r.bytesSent as number), 0);
    const times = accepted;
    const gaps = times.map((t, k) => t - (k === 0 ? started : times[k - 1]!)).slice(1)
      .sort((a, b) => a - b);
    const commitLatency = finished - (times.at(-1) ?? started);
    await client.close();
    client = undefined;
    await cluster.close();
    // The same split in one process: what `deno task generate --boundaries ...` prints.
    const { createPipeline, closePipeline, generate } = await import("../model/generate.ts");
    const pipeline = await createPipeline(config, { boundaries });
    const single: number[] = [];
    const singleTimes: number[] = [];
    try {
      let last = performance.now();
      for await (const { token } of generate(prompt, { maxTokens: tokens, pipeline, sampling })) {
        const now = performance.now();
        single.push(token);
        singleTimes.push(now - last);
        last = now;
      }
    } finally {
      await closePipeline(pipeline);
    }
    const committed = Array.from(result.output);
    const identical = committed.length === single.length &&
      committed.every((token, k) => token === single[k]);
    const singleGaps = singleTimes.slice(1).sort((a, b) => a - b);
    const summary = {
      prompt,
      tokens: committed,
      text: new TextDecoder().decode(result.output),
      boundaries,
      sampling,
      model: preset,
      identicalToGenerate: identical,
      path: result.path,
      view: result.view,
      signers: result.signers,
      killed: values.kill ?? null,
      tokensPerSecond: committed.length / ((finished - started) / 1000),
      latencyPerTokenMs: { p50: quantile(gaps, 0.5), p99: quantile(gaps, 0.99) },
      generateLatencyPerTokenMs: {
        p50: quantile(singleGaps, 0.5),
        p99: quantile(singleGaps, 0.99),
      },
      commitLatencyMs: commitLatency,
      framesPerToken: frames / committed.length,
      bytesPerToken: bytes / committed.length,
    };
    if (json) {
      console.log(JSON.stringify(summary));
    } else {
      const ms = (value: number) => `${value.toFixed(1)} ms`;
      out(
        `\n\n[demo] committed ${committed.length} tokens in view ${result.view} on the ${result.path} ` +
          `path (certificate signed by ${result.signers.join(", ")}), ` +
          `${summary.tokensPerSecond.toFixed(1)} tokens/s\n` +
          `[demo] per token: p50 ${ms(summary.latencyPerTokenMs.p50)}, p99 ${
            ms(summary.latencyPerTokenMs.p99)
          } (one process, deno task generate: p50 ${ms(summary.generateLatencyPerTokenMs.p50)}, ` +
          `p99 ${ms(summary.generateLatencyPerTokenMs.p99)}); last token to verified reply ` +
          `${ms(commitLatency)}\n` +
          `[demo] ${summary.framesPerToken.toFixed(1)} frames and ${
            Math.round(summary.bytesPerToken)
          } bytes sent per token (all nodes, protocol traffic)\n` +
          `[demo] ${identical ? "identical to" : "DIFFERENT from"} ${
            generateCommand(boundaries, tokens, prompt, sampling)
          }\n`,
      );
    }
    return identical ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", interrupt);
    Deno.removeSignalListener("SIGTERM", interrupt);
    await client?.close();
    await cluster.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
