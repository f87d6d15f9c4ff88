/**
 * What a replica that lost its stage caches pays to rebuild them, measured in one process (not a
 * test):
 *
 *     deno run -A bench/rebuild_report.ts [--repeats R] [--gpt2] [--json FILE]
 *
 * A restarted node of a stage must bring that stage's KV cache to where the next token needs it,
 * `prompt + tokens accepted` positions in. Three ways, each timed on the same prefixes:
 *
 * - from checkpoint (what a node here does): restore the newest stage-cache checkpoint on disk
 *   (`BUTTERFLY_CHECKPOINT_FREQUENCY`, default every 10 passes) and recompute the passes after it;
 *   the prefixes are chosen one pass short of the next checkpoint, the worst case (9 passes);
 * - recompute token by token: the same passes from an empty cache, the way every replica ran them
 *   (what a node here does with no checkpoint on disk, and the only way to get a bit-identical
 *   cache);
 * - recompute in one pass: the whole prefix in one forward pass, which is what a system without
 *   replicas or checkpoints does when a server fails (Petals' client replays its inputs through
 *   the replacement server); the cheapest way to recompute, but its cache is not the one the other
 *   replicas hold bit for bit.
 *
 * The rebuilt stages are the whole model split in two at layer 4 (a replica of the last stage
 * rebuilds the stages before it too, having no activations for them), on one intra-op thread of
 * ONNX Runtime's CPU provider, as the nodes run it. `--gpt2` adds the GPT-2-small-shaped model
 * (12 layers split at 6, 1024 positions; about 12 s and 2 GB to build). Prints the medians of R
 * repeats (default 5) and writes them as JSON.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  DEFAULT_MODEL_CONFIG,
  GPT2_SMALL_SHAPED_CONFIG,
  type ModelConfig,
} from "../src/model/config.ts";
import { closePipeline, createPipeline, type ModelPipeline } from "../src/model/generate.ts";
import type { KvCache } from "../src/model/kv_cache.ts";
import { type StageTensor, tokenTensor } from "../src/model/tensor.ts";
import { CacheCheckpoints } from "../src/runtime/cache_checkpoints.ts";
import { type Rebuild, type StageInput, StageRunner } from "../src/runtime/stage_runner.ts";

const EVERY_PASSES = 10;
// BUTTERFLY_MAX_CHECKPOINTS's default: a restarted node reads (and verifies) every one it keeps.
const KEEP = 10;
const PROMPT = [...new TextEncoder().encode("Hello")];

interface Model {
  readonly name: string;
  readonly config: ModelConfig;
  readonly boundaries: readonly number[];
  // Tokens accepted before the rebuilt token: one pass short of a checkpoint each.
  readonly prefixes: readonly number[];
}

const MODELS: readonly Model[] = [
  { name: "default", config: DEFAULT_MODEL_CONFIG, boundaries: [4], prefixes: [29, 79, 159, 239] },
  {
    name: "gpt2-small-shaped",
    config: GPT2_SMALL_SHAPED_CONFIG,
    boundaries: [6],
    prefixes: [79, 239, 499, 999],
  },
];

/** One prefix's medians, ms. */
export interface RebuildRow {
  readonly model: string;
  readonly positions: number;
  readonly tokensAccepted: number;
  readonly fromCheckpointMs: number;
  readonly restoredPasses: number;
  readonly recomputedPassesAfterRestore: number;
  readonly tokenByTokenMs: number;
  readonly onePassMs: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const tenths = (ms: number) => Math.round(ms * 10) / 10;

// Any token ids do for the cost; these stay inside every vocabulary.
const tokensOf = (count: number) => Array.from({ length: count }, (_, k) => (k * 37 + 11) % 256);

// Runs every pass of every stage for tokens 1..count+1, so that checkpoints land on disk.
async function writeCheckpoints(
  pipeline: ModelPipeline,
  checkpoints: CacheCheckpoints,
  inferenceId: number,
  tokens: readonly number[],
): Promise<void> {
  const runner = new StageRunner(pipeline, { checkpoints });
  for (let token = 1; token <= tokens.length + 1; token++) {
    const inference = { prompt: PROMPT, tokens: tokens.slice(0, token - 1) };
    let input: StageInput = { kind: "tokens", tokens: token === 1 ? PROMPT : [tokens[token - 2]!] };
    for (let stage = 1; stage <= pipeline.stages.length; stage++) {
      const outcome = await runner.compute(inferenceId, inference, token, stage, input);
      if (outcome.activation !== undefined) {
        input = { kind: "activation", tensor: outcome.activation };
      }
    }
  }
  await checkpoints.flush(inferenceId);
}

// Rebuilds the last stage's cache (and so every stage's) for the token after `tokens`.
async function rebuildOnce(
  pipeline: ModelPipeline,
  checkpoints: CacheCheckpoints | undefined,
  inferenceId: number,
  tokens: readonly number[],
): Promise<Rebuild> {
  let seen: Rebuild | undefined;
  const runner = new StageRunner(pipeline, {
    ...(checkpoints === undefined ? {} : { checkpoints }),
    onRebuild: (rebuild) => seen = rebuild,
  });
  const last = pipeline.stages.length;
  const token = tokens.length + 1;
  // The input's values do not matter: the rebuild runs before the stage's own computation.
  const input: StageInput = last === 1 ? { kind: "tokens", tokens: [tokens.at(-1)!] } : {
    kind: "activation",
    tensor: {
      dtype: "float32",
      dims: [1, 1, pipeline.config.hiddenSize],
      data: new Float32Array(pipeline.config.hiddenSize),
    },
  };
  await runner.compute(inferenceId, { prompt: PROMPT, tokens }, token, last, input);
  runner.release(inferenceId);
  if (seen === undefined) throw new Error("no rebuild happened");
  return seen;
}

async function onePass(pipeline: ModelPipeline, tokens: readonly number[]): Promise<number> {
  const startedAt = performance.now();
  let activation: StageTensor = tokenTensor([...PROMPT, ...tokens]);
  let cache: KvCache | undefined;
  for (const stage of pipeline.stages) {
    const result = await stage.run(activation, stage.emptyCache());
    activation = result.output;
    cache = result.cache;
  }
  if (cache?.position !== PROMPT.length + tokens.length) throw new Error("short prefill");
  return performance.now() - startedAt;
}

async function measure(model: Model, repeats: number, dir: string): Promise<RebuildRow[]> {
  const pipeline = await createPipeline(model.config, { boundaries: model.boundaries });
  const rows: RebuildRow[] = [];
  try {
    const checkpoints = new CacheCheckpoints({
      directoryOf: (id) => `${dir}/${model.name}-${id}`,
      everyPasses: EVERY_PASSES,
      keep: KEEP,
    });
    for (const [k, accepted] of model.prefixes.entries()) {
      if (PROMPT.length + accepted > model.config.sequenceLengthMax) continue;
      const tokens = tokensOf(accepted);
      const inferenceId = 1 + k;
      await writeCheckpoints(pipeline, checkpoints, inferenceId, tokens);
      // A warm-up of each way, then the repeats.
      const restored: Rebuild[] = [];
      const byToken: number[] = [];
      const inOne: number[] = [];
      for (let r = 0; r <= repeats; r++) {
        // A fresh reader of the directory, as a restarted node has.
        const reader = new CacheCheckpoints({
          directoryOf: (id) => `${dir}/${model.name}-${id}`,
          everyPasses: EVERY_PASSES,
          keep: KEEP,
        });
        const fromDisk = await rebuildOnce(pipeline, reader, inferenceId, tokens);
        await reader.close();
        const recomputed = await rebuildOnce(pipeline, undefined, inferenceId, tokens);
        const single = await onePass(pipeline, tokens);
        if (r === 0) continue;
        restored.push(fromDisk);
        byToken.push(recomputed.durationMs);
        inOne.push(single);
      }
      rows.push({
        model: model.name,
        positions: PROMPT.length + accepted,
        tokensAccepted: accepted,
        fromCheckpointMs: tenths(median(restored.map((r) => r.durationMs))),
        restoredPasses: restored[0]!.restoredPasses,
        recomputedPassesAfterRestore: restored[0]!.recomputedPasses,
        tokenByTokenMs: tenths(median(byToken)),
        onePassMs: tenths(median(inOne)),
      });
    }
    await checkpoints.close();
  } finally {
    await closePipeline(pipeline);
  }
  return rows;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      repeats: { type: "string", default: "5" },
      gpt2: { type: "boolean", default: false },
      json: { type: "string", default: "bench/results/rebuild.json" },
    },
  });
  const repeats = Number(values.repeats);
  if (!Number.isSafeInteger(repeats) || repeats < 1) {
    console.error(`rebuild_report: --repeats needs a positive whole number, got ${values.repeats}`);
    Deno.exit(2);
  }
  const dir = await Deno.makeTempDir({ prefix: "butterfly-rebuild-" });
  const rows: RebuildRow[] = [];
  try {
    for (const model of MODELS.filter((m) => values.gpt2 || m.name === "default")) {
      rows.push(...await measure(model, repeats, dir));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log(
    `medians of ${repeats} (ms): positions | from checkpoint | token by token | one pass`,
  );
  for (const row of rows) {
    console.log(
      `  ${row.model} ${row.positions} | ${row.fromCheckpointMs.toFixed(1)} ` +
        `(${row.restoredPasses} restored + ${row.recomputedPassesAfterRestore}) | ` +
        `${row.tokenByTokenMs.toFixed(1)} | ${row.onePassMs.toFixed(1)}`,
    );
  }
  await Deno.mkdir("bench/results", { recursive: true });
  await Deno.writeTextFile(
    values.json,
    JSON.stringify(
      { machine: `${navigator.hardwareConcurrency} cores`, everyPasses: EVERY_PASSES, rows },
      null,
      2,
    ) + "\n",
  );
  console.log(`wrote ${values.json}`);
}
