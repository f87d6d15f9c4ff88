// ONNX Runtime, loaded through the stage executor, starts with its telemetry off: it leaves no
// /tmp/mat-debug-<pid>.log behind (as it did for every process that loaded it).
import assert from "node:assert/strict";
import { closePipeline, createPipeline } from "./generate.ts";
import { TINY_MODEL_CONFIG } from "./config.ts";

Deno.test("loading ONNX Runtime turns its telemetry off and leaves no debug log in /tmp", async () => {
  assert.equal(Deno.env.get("ORT_DISABLE_TELEMETRY"), "1");
  const pipeline = await createPipeline(TINY_MODEL_CONFIG);
  await closePipeline(pipeline);
  const log = `/tmp/mat-debug-${Deno.pid}.log`;
  const started = Date.now() - performance.now();
  const stat = await Deno.stat(log).catch(() => undefined);
  // A file of an earlier process with the same pid predates this one.
  assert.ok(stat === undefined || (stat.mtime?.getTime() ?? 0) < started, `${log} was written`);
});
