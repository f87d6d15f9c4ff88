import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { DEFAULT_MODEL_CONFIG, TINY_MODEL_CONFIG } from "./config.ts";
import { generateParameter, layerParameterSpecs, WEIGHT_STD } from "./weights.ts";

Deno.test("generateParameter() draws from the seed and the name alone", () => {
  const [scale, bias, query] = layerParameterSpecs(TINY_MODEL_CONFIG, 0);
  const q1 = generateParameter(TINY_MODEL_CONFIG, query!);
  assert.deepEqual(generateParameter(TINY_MODEL_CONFIG, query!), q1);
  assert.notDeepEqual(generateParameter({ ...TINY_MODEL_CONFIG, seed: 8 }, query!), q1);
  assert.notDeepEqual(
    generateParameter(TINY_MODEL_CONFIG, layerParameterSpecs(TINY_MODEL_CONFIG, 1)[2]!),
    q1,
  );
  // Layer-norm scales sit around 1, biases around 0.
  const scales = generateParameter(TINY_MODEL_CONFIG, scale!);
  assert.ok(scales.every((value) => Math.abs(value - 1) < 0.1));
  assert.ok(generateParameter(TINY_MODEL_CONFIG, bias!).every((value) => Math.abs(value) < 0.1));
});

Deno.test("generateParameter() has the requested mean and standard deviation", () => {
  const spec = layerParameterSpecs(DEFAULT_MODEL_CONFIG, 0).find((s) =>
    s.name.endsWith("mlp.up.weight")
  )!;
  const values = generateParameter(DEFAULT_MODEL_CONFIG, spec);
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
  assert.ok(Math.abs(mean) < 1e-4, `mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(variance) - WEIGHT_STD) < 2e-4, `std ${Math.sqrt(variance)}`);
});

Deno.test("generateParameter() matches the pinned digest, so every machine builds the same weights", () => {
  // If this digest changes, nodes built by the old and new code would vote on different outputs:
  // change it only with the weight format, on purpose.
  const spec = layerParameterSpecs(TINY_MODEL_CONFIG, 1)[4]!;
  const values = generateParameter(TINY_MODEL_CONFIG, spec);
  const digest = bytesToHex(sha256(new Uint8Array(values.buffer)));
  assert.equal(digest, PINNED_DIGEST);
});

const PINNED_DIGEST = "4b9b43919ef309a6d5e3e875c73e05eee33a8848f445fd1ecc3b409148637768";
