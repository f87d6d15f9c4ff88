import assert from "node:assert/strict";
import { join } from "node:path";
import { TINY_MODEL_CONFIG } from "../model/config.ts";
import { exportStageModels } from "../model/manifest.ts";
import { loadUserModel } from "./user_model.ts";

async function writeModel(directory: string): Promise<void> {
  const { manifest, files } = exportStageModels({ ...TINY_MODEL_CONFIG, layerCount: 3 }, {
    boundaries: [2],
  });
  await Deno.writeTextFile(join(directory, "manifest.json"), JSON.stringify(manifest, null, 2));
  for (const [name, bytes] of files) await Deno.writeFile(join(directory, name), bytes);
}

Deno.test("loadUserModel() reads a written model and gives its boundaries and stage bytes", async () => {
  const directory = await Deno.makeTempDir();
  try {
    await writeModel(directory);
    const model = await loadUserModel(directory);
    assert.equal(model.config.layerCount, 3);
    assert.deepEqual(model.boundaries, [2]);
    assert.equal(model.stageModelBytes.length, 2);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("loadUserModel() names the missing manifest and the missing stage file", async () => {
  const directory = await Deno.makeTempDir();
  try {
    await assert.rejects(loadUserModel(directory), /Cannot read .*manifest.json/);
    await writeModel(directory);
    await Deno.remove(join(directory, "stage_1.onnx"));
    await assert.rejects(loadUserModel(directory), /Stage 1 \(stage_1.onnx\): the file is missing/);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
