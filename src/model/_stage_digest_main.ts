// Run by stage_executor_test.ts in a separate process: builds the default model's stages,
// runs a fixed prompt and two decode steps, and prints each stage output's digest as JSON, so
// the test can compare digests across processes.

import { DEFAULT_MODEL_CONFIG } from "./config.ts";
import { closePipeline, createPipeline, emptyPipelineCaches, runPipeline } from "./generate.ts";
import type { KvCache } from "./kv_cache.ts";

const pipeline = await createPipeline(DEFAULT_MODEL_CONFIG, { boundaries: [3, 6] });
let caches: readonly KvCache[] = emptyPipelineCaches(pipeline);
const digests: string[][] = [];
for (const tokens of [Array.from(new TextEncoder().encode("Determinism")), [32], [33]]) {
  const step = await runPipeline(pipeline, tokens, caches);
  caches = step.caches;
  digests.push([...step.digests]);
}
await closePipeline(pipeline);
console.log(JSON.stringify(digests));
