import assert from "node:assert/strict";
import { TINY_MODEL_CONFIG } from "../model/config.ts";
import { decodeFlops, median, profileModel } from "./profile.ts";

Deno.test("median() takes the middle value, or the mean of the middle two", () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), RangeError);
});

Deno.test("profileModel() gives one LayerInfo per block whose costs add up to the analytic FLOPs", async () => {
  const contextLength = 4;
  const profile = await profileModel(TINY_MODEL_CONFIG, { contextLength, sampleCount: 3 });
  assert.deepEqual(profile.layerInfos.map((info) => info.id), [0, 1]);
  const analytic = decodeFlops(TINY_MODEL_CONFIG, 0, contextLength) +
    decodeFlops(TINY_MODEL_CONFIG, 1, contextLength);
  const total = profile.layerInfos.reduce((sum, info) => sum + info.computeCost, 0);
  assert.ok(Math.abs(total - analytic) <= 1, `${total} vs ${analytic}`);
  assert.ok(profile.layers.every((layer) => layer.medianLatencyMs > 0));
  assert.deepEqual(profile.layerInfos.map((info) => info.outputSize), [16, 256]);
  await assert.rejects(profileModel(TINY_MODEL_CONFIG, { contextLength: 32 }), /below/);
});
