/**
 * A node's model: every stage of the split model on ONNX Runtime (the replicas of a stage change
 * with the view, so any node may have to run any stage), the KV caches of each inference and
 * stage, and the rule that makes replicas agree bit for bit: a stage runs the prompt in one pass
 * for token 1, then one token at a time, whoever runs it and whenever. A replica whose cache is
 * not where a computation needs it (it joined the stage late, or restarted) rebuilds it by
 * running the same passes over the tokens accepted so far.
 *
 * @module
 */

import type { ModelPipeline } from "../model/generate.ts";
import type { KvCache } from "../model/kv_cache.ts";
import { samplerAt, sampleToken, type Sampling } from "../model/sampling.ts";
import {
  type Float32Tensor,
  type StageTensor,
  tensorDigest,
  tokenTensor,
} from "../model/tensor.ts";
import type { CacheCheckpoints } from "./cache_checkpoints.ts";
import type { CostMeter } from "./costs.ts";
import { type DigestValue, tokensValue } from "./spec_wire.ts";

/** What a stage computation takes as input. */
export type StageInput =
  | { readonly kind: "tokens"; readonly tokens: readonly number[] }
  | { readonly kind: "activation"; readonly tensor: Float32Tensor };

/** What one stage computation gives. */
export interface StageOutcome {
  /** The value the replicas vote on. */
  readonly value: DigestValue;
  /** The activation the next stage takes (not for the last stage). */
  readonly activation?: Float32Tensor;
  /** The token chosen (the last stage only). */
  readonly token?: number;
}

/** One inference as the model sees it. */
export interface ModelInference {
  /** The prompt's token ids (its bytes, for the byte-level models). */
  readonly prompt: readonly number[];
  /** The ids of the tokens accepted so far, in order. */
  readonly tokens: readonly number[];
  /** How the last stage chooses tokens (default: greedy, as `deno task generate` does). */
  readonly sampling?: Sampling;
}

const GREEDY: Sampling = { kind: "greedy" };

// The position a stage's cache is at before token `token` (from 1): token 1 takes the prompt
// in one pass, each later token one position.
function positionOf(token: number, promptLength: number): number {
  return token === 1 ? 0 : promptLength + token - 2;
}

// A computation waiting or running; `speculative` until confirmed.
interface Job {
  readonly inferenceId: number;
  readonly token: number;
  readonly stage: number;
  speculative: boolean;
  readonly run: () => Promise<void>;
  readonly skip: (reason: string) => void;
}

interface Caches {
  readonly byStage: Map<number, KvCache>;
}

/** Options of {@linkcode StageRunner}. */
export interface StageRunnerOptions {
  /** Where each stage's cache is checkpointed, and restored from after a restart. */
  readonly checkpoints?: CacheCheckpoints;
  /** Told of each rebuild of caches (for the node's log). */
  readonly onRebuild?: (rebuild: Rebuild) => void;
  /** Where the time spent computing (rebuilds included) is counted. */
  readonly meter?: CostMeter;
}

/** A rebuild of an inference's caches, as a node logs it. */
export interface Rebuild {
  /** The inference. */
  readonly inferenceId: number;
  /** The token the caches were rebuilt for. */
  readonly token: number;
  /** The stages rebuilt (1 to `stage`). */
  readonly stage: number;
  /** The passes restored from a checkpoint (0: none, every pass recomputed). */
  readonly restoredPasses: number;
  /** The passes recomputed. */
  readonly recomputedPasses: number;
  /** How long the rebuild took, restore and recomputation (ms, from `performance.now()`). */
  readonly durationMs: number;
}

/**
 * Runs stages for many inferences on one pipeline, sequentially (one computation at a time,
 * certified ones before speculative ones).
 *
 * @example Token 1 of a one-stage pipeline
 * ```ts
 * import { createPipeline, closePipeline } from "../model/generate.ts";
 * import { TINY_MODEL_CONFIG } from "../model/config.ts";
 * import { StageRunner } from "./stage_runner.ts";
 * import assert from "node:assert/strict";
 * const pipeline = await createPipeline(TINY_MODEL_CONFIG);
 * const runner = new StageRunner(pipeline);
 * const prompt = [72, 105];
 * const outcome = await runner.compute(1, { prompt, tokens: [] }, 1, 1, { kind: "tokens", tokens: prompt });
 * assert.equal(typeof outcome.token, "number");
 * await closePipeline(pipeline);
 * ```
 */
export class StageRunner {
  /** The pipeline. */
  readonly pipeline: ModelPipeline;
  readonly #caches = new Map<number, Caches>();
  readonly #checkpoints: CacheCheckpoints | undefined;
  readonly #onRebuild: ((rebuild: Rebuild) => void) | undefined;
  readonly #meter: CostMeter | undefined;
  // Computations waiting: certified ones, and speculative ones (run only when none of the
  // first kind waits); and the one running.
  readonly #certified: Job[] = [];
  readonly #speculative: Job[] = [];
  #running: Job | undefined;
  // Speculative computations not confirmed, by `inference/stage`: the cache before each (the
  // stage goes back to it unless confirmed) and its checkpoint, if one was due.
  readonly #unconfirmed = new Map<
    string,
    { readonly token: number; readonly before: KvCache | undefined; readonly save?: () => void }
  >();

  /**
   * Wraps a pipeline (the caller closes it).
   *
   * @param pipeline The split model.
   * @param options Where stage caches are checkpointed, and who hears of a rebuild.
   */
  constructor(pipeline: ModelPipeline, options: StageRunnerOptions = {}) {
    this.pipeline = pipeline;
    this.#checkpoints = options.checkpoints;
    this.#onRebuild = options.onRebuild;
    this.#meter = options.meter;
  }

  /** The number of stages. */
  get stageCount(): number {
    return this.pipeline.stages.length;
  }

  /**
   * Computes stage `stage` of token `token` (both from 1) of an inference from `input`.
   *
   * @param inferenceId The inference.
   * @param inference Its prompt and the tokens accepted before `token`.
   * @param token The token.
   * @param stage The stage.
   * @param input The prompt or previous token (stage 1), or the previous stage's activation.
   * @param options `speculative`: the input is not certified yet. The computation runs only
   * once no certified one waits (one that comes while it runs waits for it), and only if the
   * stage's cache is then where the token needs it; else it is rejected unrun. The stage's
   * cache moves on, but its checkpoint waits for {@linkcode StageRunner.confirm}, and the next
   * computation of the stage, unless this one was confirmed, starts from the cache before it.
   * @returns The output's value, and the activation or the chosen token.
   */
  compute(
    inferenceId: number,
    inference: ModelInference,
    token: number,
    stage: number,
    input: StageInput,
    options: { readonly speculative?: boolean } = {},
  ): Promise<StageOutcome> {
    const done = Promise.withResolvers<StageOutcome>();
    const job: Job = {
      inferenceId,
      token,
      stage,
      speculative: options.speculative === true,
      run: async () => {
        const started = performance.now();
        let outcome: { ok: true; value: StageOutcome } | { ok: false; error: unknown };
        try {
          outcome = {
            ok: true,
            value: await this.#compute(inferenceId, inference, token, stage, input, job),
          };
        } catch (error) {
          outcome = { ok: false, error };
        }
        this.#meter?.add(inferenceId, "compute", performance.now() - started);
        // Done before its caller hears of it: a caller that starts the next computation finds
        // the runner idle.
        this.#running = undefined;
        if (outcome.ok) done.resolve(outcome.value);
        else done.reject(outcome.error);
      },
      skip: (reason) => done.reject(new Error(`computation not run: ${reason}`)),
    };
    (job.speculative ? this.#speculative : this.#certified).push(job);
    this.#pump();
    return done.promise;
  }

  /**
   * Confirms a speculative computation: its input was certified. Waiting, it becomes a
   * certified computation; done, its cache stays and its checkpoint, if one was due, is written.
   *
   * @param inferenceId The inference.
   * @param token The token.
   * @param stage The stage.
   */
  confirm(inferenceId: number, token: number, stage: number): void {
    const key = `${inferenceId}/${stage}`;
    const unconfirmed = this.#unconfirmed.get(key);
    if (unconfirmed?.token === token) {
      this.#unconfirmed.delete(key);
      unconfirmed.save?.();
      return;
    }
    const same = (job: Job) =>
      job.inferenceId === inferenceId && job.token === token && job.stage === stage;
    const waiting = this.#speculative.findIndex(same);
    if (waiting >= 0) {
      const [job] = this.#speculative.splice(waiting, 1);
      job!.speculative = false;
      this.#certified.push(job!);
      return;
    }
    // Running: it ends as a certified computation.
    if (this.#running !== undefined && same(this.#running)) this.#running.speculative = false;
  }

  // Runs the next computation, one at a time: the certified ones in order, then the
  // speculative ones.
  #pump(): void {
    if (this.#running !== undefined) return;
    const job = this.#certified.shift() ?? this.#speculative.shift();
    if (job === undefined) return;
    this.#running = job;
    void Promise.resolve().then(job.run).finally(() => this.#pump());
  }

  /**
   * Whether stage `stage`'s cache of an inference is where token `token` needs it, with no
   * speculative computation of the stage unconfirmed: computing it then needs no rebuild.
   *
   * @param inferenceId The inference.
   * @param token The token (from 1).
   * @param stage The stage (from 1).
   * @param promptLength The prompt's length in tokens.
   * @returns Whether no rebuild is needed.
   */
  isAt(inferenceId: number, token: number, stage: number, promptLength: number): boolean {
    if (this.#unconfirmed.has(`${inferenceId}/${stage}`)) return false;
    const cached = this.#caches.get(inferenceId)?.byStage.get(stage)?.position ?? 0;
    return cached === positionOf(token, promptLength);
  }

  /**
   * Forgets an inference's caches; its computations still waiting are rejected unrun.
   *
   * @param inferenceId The inference.
   */
  release(inferenceId: number): void {
    this.#caches.delete(inferenceId);
    // Its computations still waiting are not run: the inference is decided.
    for (const queue of [this.#certified, this.#speculative]) {
      for (let k = queue.length - 1; k >= 0; k--) {
        const job = queue[k]!;
        if (job.inferenceId !== inferenceId) continue;
        queue.splice(k, 1);
        job.skip("the inference was released");
      }
    }
    for (const key of this.#unconfirmed.keys()) {
      if (key.startsWith(`${inferenceId}/`)) this.#unconfirmed.delete(key);
    }
    this.#checkpoints?.release(inferenceId);
  }

  /** Whether no computation is running or waiting. */
  get idle(): boolean {
    return this.#running === undefined && this.#certified.length === 0 &&
      this.#speculative.length === 0;
  }

  /** The inferences with caches held. */
  get held(): number {
    return this.#caches.size;
  }

  async #compute(
    inferenceId: number,
    inference: ModelInference,
    token: number,
    stage: number,
    input: StageInput,
    job: Job,
  ): Promise<StageOutcome> {
    const executor = this.pipeline.stages[stage - 1];
    if (executor === undefined) throw new RangeError(`No stage ${stage}`);
    if (inference.tokens.length < token - 1) {
      throw new RangeError(`Token ${token} needs ${token - 1} accepted tokens`);
    }
    const position = positionOf(token, inference.prompt.length);
    if (job.speculative) {
      // Never a rebuild, nor a cache built on another speculation.
      if (!this.isAt(inferenceId, token, stage, inference.prompt.length)) {
        throw new Error("computation not run: the stage's cache moved on");
      }
    }
    const caches = this.#cachesOf(inferenceId);
    // An unconfirmed speculative computation of the stage came from an input that was not
    // certified (or not yet): the stage goes back to its cache before it.
    const unconfirmed = this.#unconfirmed.get(`${inferenceId}/${stage}`);
    if (unconfirmed !== undefined) {
      this.#unconfirmed.delete(`${inferenceId}/${stage}`);
      if (unconfirmed.before === undefined) caches.byStage.delete(stage);
      else caches.byStage.set(stage, unconfirmed.before);
    }
    if ((caches.byStage.get(stage)?.position ?? -1) !== position) {
      await this.#rebuild(inferenceId, caches, inference, token, stage);
    }
    const cache = caches.byStage.get(stage)!;
    const tensor: StageTensor = input.kind === "tokens" ? tokenTensor(input.tokens) : input.tensor;
    const result = await executor.run(tensor, cache);
    caches.byStage.set(stage, result.cache);
    // Token `token` is pass `token`: every so many, the stage's state goes to disk.
    const checkpoints = this.#checkpoints;
    const save = checkpoints?.due(token)
      ? () => checkpoints.save(inferenceId, stage, token, inference, result.cache)
      : undefined;
    // Confirmed while it ran, it is a certified computation.
    if (job.speculative) {
      this.#unconfirmed.set(`${inferenceId}/${stage}`, {
        token,
        before: cache,
        ...(save === undefined ? {} : { save }),
      });
    } else {
      save?.();
    }
    if (stage < this.stageCount) {
      return { value: tensorDigest(result.output), activation: result.output };
    }
    const width = this.pipeline.config.vocabSize;
    // Token `token` takes draw `token` of the request's seed, as one process drawing in order.
    const chosen = sampleToken(
      samplerAt(inference.sampling ?? GREEDY, token),
      result.output.data.subarray(result.output.data.length - width),
    );
    const prefix = inference.tokens.slice(0, token - 1);
    return {
      value: tokensValue([...prefix, chosen], this.pipeline.config.vocabSize),
      token: chosen,
    };
  }

  // Runs stages 1..stage over the prompt and tokens 1..token-1, in the passes every replica
  // uses, leaving stage `stage`'s cache where token `token` needs it. It starts from the newest
  // checkpoint that every one of those stages has on disk, if any. A lower stage's cache is
  // replaced only if it was behind: one already further on is what its next token needs.
  async #rebuild(
    inferenceId: number,
    caches: Caches,
    inference: ModelInference,
    token: number,
    stage: number,
  ): Promise<void> {
    const startedAt = performance.now();
    const stages = Array.from({ length: stage }, (_, k) => k + 1);
    const scratch = new Map<number, KvCache>();
    let restored = 0;
    if (this.#checkpoints !== undefined && token > 1) {
      const checkpoints = this.#checkpoints;
      const onDisk = await Promise.all(stages.map((s) => checkpoints.passesOnDisk(inferenceId, s)));
      const common = onDisk[0]!.filter((passes) =>
        passes < token && onDisk.every((list) => list.includes(passes))
      ).sort((a, b) => b - a);
      for (const passes of common) {
        const restoredCaches = await Promise.all(
          stages.map((s) => checkpoints.restore(inferenceId, s, passes, inference)),
        );
        if (restoredCaches.some((cache) => cache === undefined)) continue;
        restoredCaches.forEach((cache, k) => scratch.set(k + 1, cache!));
        restored = passes;
        break;
      }
    }
    if (restored === 0) {
      for (const s of stages) scratch.set(s, this.pipeline.stages[s - 1]!.emptyCache());
    }
    // Pass 1 is the prompt, pass k token k - 1; token `token` needs passes 1..token-1.
    const passes: number[][] = [];
    for (let pass = restored + 1; pass < token; pass++) {
      passes.push(pass === 1 ? [...inference.prompt] : [inference.tokens[pass - 2]!]);
    }
    for (const pass of passes) {
      let activation: StageTensor = tokenTensor(pass);
      for (let s = 1; s <= stage; s++) {
        const result = await this.pipeline.stages[s - 1]!.run(activation, scratch.get(s)!);
        scratch.set(s, result.cache);
        activation = result.output;
      }
    }
    for (const [s, cache] of scratch) {
      const current = caches.byStage.get(s);
      if (s === stage || current === undefined || current.position < cache.position) {
        caches.byStage.set(s, cache);
      }
    }
    this.#onRebuild?.({
      inferenceId,
      token,
      stage,
      restoredPasses: restored,
      recomputedPasses: passes.length,
      durationMs: performance.now() - startedAt,
    });
  }

  #cachesOf(inferenceId: number): Caches {
    let caches = this.#caches.get(inferenceId);
    if (caches === undefined) {
      caches = { byStage: new Map() };
      this.#caches.set(inferenceId, caches);
    }
    return caches;
  }
}
