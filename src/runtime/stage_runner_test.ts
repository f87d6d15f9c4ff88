import assert from "node:assert/strict";
import { closePipeline, createPipeline, generate } from "../model/generate.ts";
import { FOUR_LAYER_TINY_CONFIG } from "../model/_test_util.ts";
import { CacheCheckpoints } from "./cache_checkpoints.ts";
import { type ModelInference, type Rebuild, StageRunner } from "./stage_runner.ts";
import { tokensValue } from "./spec_wire.ts";

const PROMPT = Array.from(new TextEncoder().encode("Hello"));
const TOKENS = 6;

/** Runs a whole inference stage by stage on the runner, as the replicas would. */
async function runAll(
  runner: StageRunner,
  inferenceId: number,
  count = TOKENS,
  tokens: number[] = [],
): Promise<number[]> {
  for (let token = tokens.length + 1; token <= count; token++) {
    const inference: ModelInference = { prompt: PROMPT, tokens };
    let outcome = await runner.compute(inferenceId, inference, token, 1, {
      kind: "tokens",
      tokens: token === 1 ? PROMPT : [tokens[token - 2]!],
    });
    for (let stage = 2; stage <= runner.stageCount; stage++) {
      outcome = await runner.compute(inferenceId, inference, token, stage, {
        kind: "activation",
        tensor: outcome.activation!,
      });
    }
    assert.equal(outcome.value, tokensValue([...tokens, outcome.token!], 256));
    tokens.push(outcome.token!);
  }
  return tokens;
}

Deno.test("stage by stage, the runner chooses the tokens generate() does", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [1, 3] });
  try {
    const expected: number[] = [];
    for await (
      const { token } of generate(Uint8Array.from(PROMPT), { maxTokens: TOKENS, pipeline })
    ) {
      expected.push(token);
    }
    const runner = new StageRunner(pipeline);
    assert.deepEqual(await runAll(runner, 1), expected);
    // Two inferences interleaved keep their own caches.
    const [a, b] = await Promise.all([runAll(runner, 2), runAll(runner, 3)]);
    assert.deepEqual(a, expected);
    assert.deepEqual(b, expected);
    runner.release(1);
    assert.equal(runner.held, 2);
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("a replica that joins late rebuilds its cache and computes the same bits", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [1, 3] });
  try {
    const runner = new StageRunner(pipeline);
    const tokens = await runAll(runner, 1);
    // Token 4, stage 2, computed by a replica with no cache at all...
    const late = new StageRunner(pipeline);
    const inference = { prompt: PROMPT, tokens: tokens.slice(0, 3) };
    const stage1 = await runner.compute(9, inference, 4, 1, {
      kind: "tokens",
      tokens: [tokens[2]!],
    });
    const fresh = await late.compute(5, inference, 4, 2, {
      kind: "activation",
      tensor: stage1.activation!,
    });
    // ...equals the same computation on a replica that ran every token.
    const steady = new StageRunner(pipeline);
    let value = "";
    for (let token = 1; token <= 4; token++) {
      const prefix = { prompt: PROMPT, tokens: tokens.slice(0, token - 1) };
      const first = await steady.compute(6, prefix, token, 1, {
        kind: "tokens",
        tokens: token === 1 ? PROMPT : [tokens[token - 2]!],
      });
      value = (await steady.compute(6, prefix, token, 2, {
        kind: "activation",
        tensor: first.activation!,
      })).value;
    }
    assert.equal(fresh.value, value);
    await assert.rejects(
      () => late.compute(5, { prompt: PROMPT, tokens: [] }, 3, 1, { kind: "tokens", tokens: [1] }),
      /needs 2 accepted tokens/,
    );
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("a restarted replica restores its stage caches from the newest checkpoint and computes the same bits", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [1, 3] });
  const dir = await Deno.makeTempDir({ prefix: "butterfly-caches-" });
  try {
    const options = { directoryOf: (id: number) => `${dir}/${id}`, everyPasses: 3, keep: 2 };
    const checkpoints = new CacheCheckpoints(options);
    const straight = await runAll(new StageRunner(pipeline), 1, 11);
    // The first run stops after token 8 (passes 3 and 6 checkpointed; 8 is not one).
    const first = await runAll(new StageRunner(pipeline, { checkpoints }), 7, 8);
    assert.deepEqual(first, straight.slice(0, 8));
    await checkpoints.close();
    // Only the newest two checkpoints of each stage are kept.
    for (const stage of [1, 2, 3]) {
      assert.deepEqual(await new CacheCheckpoints(options).passesOnDisk(7, stage), [3, 6]);
    }
    // A new process: its caches come from pass 6, so tokens 7 and 8 are recomputed, not 1..8.
    const rebuilds: Rebuild[] = [];
    const restartedCheckpoints = new CacheCheckpoints(options);
    const restarted = new StageRunner(pipeline, {
      checkpoints: restartedCheckpoints,
      onRebuild: (rebuild) => rebuilds.push(rebuild),
    });
    const resumed = await runAll(restarted, 7, 11, first.slice());
    assert.deepEqual(resumed, straight);
    // One rebuild per stage, at token 9 (each runs its lower stages too), none after.
    assert.deepEqual(
      rebuilds.map(({ token, stage, restoredPasses, recomputedPasses }) => ({
        token,
        stage,
        restoredPasses,
        recomputedPasses,
      })),
      [1, 2, 3].map((stage) => ({ token: 9, stage, restoredPasses: 6, recomputedPasses: 2 })),
    );
    // A checkpoint written for other tokens is not this inference's state: recompute it all.
    // (One process per data directory: the previous one's writes end first.)
    await restartedCheckpoints.close();
    const other = new StageRunner(pipeline, {
      checkpoints: new CacheCheckpoints(options),
      onRebuild: (rebuild) => rebuilds.push(rebuild),
    });
    const tampered = first.slice();
    tampered[1] = (tampered[1]! + 1) % 256;
    await other.compute(7, { prompt: PROMPT, tokens: tampered }, 9, 1, {
      kind: "tokens",
      tokens: [tampered[7]!],
    });
    assert.equal(rebuilds.at(-1)!.restoredPasses, 0);
    assert.equal(rebuilds.at(-1)!.recomputedPasses, 8);
  } finally {
    await closePipeline(pipeline);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a speculative computation goes back unless confirmed, and its checkpoint waits for the confirmation", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [1, 3] });
  const dir = await Deno.makeTempDir({ prefix: "butterfly-caches-" });
  try {
    const straight = await runAll(new StageRunner(pipeline), 1, 4);
    const options = { directoryOf: (id: number) => `${dir}/${id}`, everyPasses: 3, keep: 2 };
    const checkpoints = new CacheCheckpoints(options);
    const rebuilds: Rebuild[] = [];
    const runner = new StageRunner(pipeline, {
      checkpoints,
      onRebuild: (rebuild) => rebuilds.push(rebuild),
    });
    const tokens = await runAll(runner, 2, 2);
    // Token 3's first stage from a wrong previous token (a Byzantine first output), before it
    // is certified: pass 3 is due a checkpoint, which waits.
    const wrong = (tokens[1]! + 1) % 256;
    await runner.compute(2, { prompt: PROMPT, tokens: [tokens[0]!, wrong] }, 3, 1, {
      kind: "tokens",
      tokens: [wrong],
    }, { speculative: true });
    assert.equal(runner.isAt(2, 4, 1, PROMPT.length), false);
    // The certified input: computed again from the cache before the speculation (no rebuild),
    // it gives the tokens of a run without it.
    assert.deepEqual(await runAll(runner, 2, 4, tokens.slice()), straight);
    assert.deepEqual(rebuilds.filter((rebuild) => rebuild.token > 1), []);
    await checkpoints.close();
    const written = new CacheCheckpoints(options);
    assert.deepEqual(await written.passesOnDisk(2, 1), [3]);
    // Confirmed, a speculation's cache stays and its checkpoint is written; unconfirmed, none.
    for (const confirmed of [true, false]) {
      const id = confirmed ? 3 : 4;
      const other = new CacheCheckpoints(options);
      const ahead = new StageRunner(pipeline, { checkpoints: other });
      const prefix = await runAll(ahead, id, 2);
      await ahead.compute(id, { prompt: PROMPT, tokens: prefix }, 3, 1, {
        kind: "tokens",
        tokens: [prefix[1]!],
      }, { speculative: true });
      if (confirmed) ahead.confirm(id, 3, 1);
      assert.equal(ahead.isAt(id, 4, 1, PROMPT.length), confirmed);
      await other.close();
      assert.deepEqual(
        await new CacheCheckpoints(options).passesOnDisk(id, 1),
        confirmed ? [3] : [],
      );
    }
  } finally {
    await closePipeline(pipeline);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a speculative computation waits for the certified ones, and is not run once its stage moved on or its inference was released", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [1, 3] });
  try {
    const runner = new StageRunner(pipeline);
    const prefixes = new Map<number, number[]>();
    for (const id of [5, 6, 7, 8, 9]) prefixes.set(id, await runAll(runner, id, 2));
    const next = (id: number, token = prefixes.get(id)![1]!) =>
      [id, { prompt: PROMPT, tokens: prefixes.get(id)! }, 3, 1, {
        kind: "tokens",
        tokens: [token],
      }] as const;
    const order: string[] = [];
    const done = (name: string) => () => void order.push(name);
    const running = runner.compute(...next(5)).then(done("certified 5"));
    const speculative = runner.compute(...next(6), { speculative: true }).then(
      done("speculative 6"),
    );
    const certified = runner.compute(...next(7)).then(done("certified 7"));
    const later = runner.compute(...next(9)).then(done("certified 9"));
    // Inference 8's stage 1 is computed (from another input) before its speculation's turn.
    const moved = runner.compute(...next(8, 0), { speculative: true }).catch((error) => error);
    await runner.compute(...next(8, 1));
    await Promise.all([running, speculative, certified, later]);
    assert.deepEqual(order, ["certified 5", "certified 7", "certified 9", "speculative 6"]);
    assert.match(String(await moved), /computation not run: the stage's cache moved on/);
    // Released, an inference's waiting speculations are not run.
    const blocker = runner.compute(...next(6, 2));
    const released = runner.compute(...next(5, 2), { speculative: true }).catch((error) => error);
    runner.release(5);
    await blocker.catch(() => {});
    assert.match(String(await released), /computation not run: the inference was released/);
  } finally {
    await closePipeline(pipeline);
  }
});
