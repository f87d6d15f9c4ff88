import assert from "node:assert/strict";
import { closePipeline, createPipeline, generate } from "../model/generate.ts";
import { FOUR_LAYER_TINY_CONFIG } from "../model/_test_util.ts";
import { type ModelInference, StageRunner } from "./stage_runner.ts";
import { tokensValue } from "./spec_wire.ts";

const PROMPT = Array.from(new TextEncoder().encode("Hello"));
const TOKENS = 6;

/** Runs a whole inference stage by stage on the runner, as the replicas would. */
async function runAll(runner: StageRunner, inferenceId: number): Promise<number[]> {
  const tokens: number[] = [];
  for (let token = 1; token <= TOKENS; token++) {
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
