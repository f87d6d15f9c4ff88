import assert from "node:assert/strict";
import { TINY_MODEL_CONFIG } from "./config.ts";
import { closePipeline, createPipeline, emptyPipelineCaches, runPipeline } from "./generate.ts";
import {
  checkStageFiles,
  exportStageModels,
  ManifestError,
  type ModelManifest,
  parseModelManifest,
} from "./manifest.ts";
import { FOUR_LAYER_TINY_CONFIG } from "./_test_util.ts";

function exported(): { json: ModelManifest; files: Map<string, Uint8Array> } {
  const { manifest, files } = exportStageModels(FOUR_LAYER_TINY_CONFIG, { boundaries: [1, 3] });
  return { json: JSON.parse(JSON.stringify(manifest)), files };
}

function withStages(
  manifest: ModelManifest,
  edit: (stages: Record<string, unknown>[]) => void,
): unknown {
  const copy = JSON.parse(JSON.stringify(manifest));
  edit(copy.stages);
  return copy;
}

Deno.test("exportStageModels() output parses, checks and runs like the built model", async () => {
  const { json, files } = exported();
  const manifest = parseModelManifest(json);
  const bytes = checkStageFiles(manifest, files);
  const tokens = [10, 20, 30];
  const user = await createPipeline(manifest.model, {
    boundaries: manifest.stages.slice(1).map((stage) => stage.layerStart),
    stageModelBytes: bytes,
  });
  const built = await createPipeline(FOUR_LAYER_TINY_CONFIG);
  try {
    const a = await runPipeline(user, tokens, emptyPipelineCaches(user));
    const b = await runPipeline(built, tokens, emptyPipelineCaches(built));
    assert.deepEqual(a.logits.data, b.logits.data);
  } finally {
    await closePipeline(user);
    await closePipeline(built);
  }
});

Deno.test("parseModelManifest() reports a gap in layer ranges", () => {
  const { json } = exported();
  const gap = withStages(json, (stages) => {
    stages[1]!.layerStart = 2;
  });
  assert.throws(() => parseModelManifest(gap), /Gap in layer ranges: layers 1 to 1/);
});

Deno.test("parseModelManifest() reports an overlap in layer ranges", () => {
  const { json } = exported();
  const overlap = withStages(json, (stages) => {
    stages[2]!.layerStart = 2;
  });
  assert.throws(() => parseModelManifest(overlap), /Overlap in layer ranges: stage 2/);
});

Deno.test("parseModelManifest() reports ranges that stop short of the model", () => {
  const { json } = exported();
  const short = { ...json, stages: json.stages.slice(0, 2) };
  assert.throws(() => parseModelManifest(short), /end at 3, but the model has 4 layers/);
});

Deno.test("parseModelManifest() reports a shape mismatch with the tensor's name", () => {
  const { json } = exported();
  const wrongShape = withStages(json, (stages) => {
    (stages[1]!.inputs as { shape: unknown[] }[])[0]!.shape = ["batch", "sequence", 17];
  });
  assert.throws(
    () => parseModelManifest(wrongShape),
    /Stage 1 \(stage_1.onnx\) input hidden_in has shape mismatch: found hidden_in float32 \[batch, sequence, 17\], expected hidden_in float32 \[batch, sequence, 16\]/,
  );
});

Deno.test("parseModelManifest() reports missing fields, bad formats and bad models", () => {
  const { json } = exported();
  assert.throws(() => parseModelManifest([]), /JSON object/);
  assert.throws(() => parseModelManifest({ ...json, format: "onnx" }), /format/);
  assert.throws(() => parseModelManifest({ ...json, stages: [] }), /1 to 1024 stages/);
  const noFile = withStages(json, (stages) => {
    delete stages[0]!.file;
  });
  assert.throws(() => parseModelManifest(noFile), /Stage 0 has a missing or invalid "file"/);
  const badModel = { ...json, model: { ...json.model, headCount: 5 } };
  assert.throws(() => parseModelManifest(badModel), ManifestError);
  const extraInput = withStages(json, (stages) => {
    (stages[0]!.inputs as unknown[]).push({ name: "extra", dtype: "int32", shape: [1] });
  });
  assert.throws(() => parseModelManifest(extraInput), /unexpected inputs: extra int32 \[1\]/);
});

Deno.test("checkStageFiles() reports a missing file, a non-ONNX file and a file for other layers", () => {
  const { json, files } = exported();
  const manifest = parseModelManifest(json);
  const missing = new Map(files);
  missing.delete("stage_2.onnx");
  assert.throws(
    () => checkStageFiles(manifest, missing),
    /Stage 2 \(stage_2.onnx\): the file is missing/,
  );
  const garbage = new Map(files).set("stage_0.onnx", new Uint8Array([0xff, 0xff, 0xff]));
  assert.throws(() => checkStageFiles(manifest, garbage), /not an ONNX model/);
  // Stage 1 covers layers 1 and 2; give it stage 2's file (layer 3 only, logits out).
  const swapped = new Map(files).set("stage_1.onnx", files.get("stage_2.onnx")!);
  assert.throws(
    () => checkStageFiles(manifest, swapped),
    /Stage 1 \(stage_1.onnx\) file lacks input past_key.1/,
  );
});

Deno.test("checkStageFiles() reports a file whose hidden size differs from the manifest", () => {
  const { json, files } = exported();
  const manifest = parseModelManifest(json);
  const wide = exportStageModels({ ...FOUR_LAYER_TINY_CONFIG, hiddenSize: 32 }, {
    boundaries: [1, 3],
  });
  const mixed = new Map(files).set("stage_1.onnx", wide.files.get("stage_1.onnx")!);
  assert.throws(() => checkStageFiles(manifest, mixed), /hidden_in has shape mismatch/);
  assert.equal(checkStageFiles(manifest, files).length, 3);
  assert.equal(exportStageModels(TINY_MODEL_CONFIG).manifest.stages.length, 1);
});

Deno.test("parseModelManifest() keeps stage files inside the model directory", () => {
  const { json } = exported();
  for (
    const file of ["../../../outside/the/model.onnx", "/etc/passwd", "a/../b.onnx", "./x", "a\\b"]
  ) {
    const escaping = withStages(json, (stages) => {
      stages[0]!.file = file;
    });
    assert.throws(
      () => parseModelManifest(escaping),
      (error: unknown) =>
        error instanceof ManifestError &&
        /file must be a path inside the model directory/.test(error.message) &&
        error.message.includes(JSON.stringify(file)),
      file,
    );
  }
  // A path into a subfolder is inside.
  const nested = withStages(json, (stages) => {
    stages[0]!.file = "stages/stage_0.onnx";
  });
  assert.equal(parseModelManifest(nested).stages[0]?.file, "stages/stage_0.onnx");
});

Deno.test("parseModelManifest() names an unknown key and an unsupported dtype", () => {
  const { json } = exported();
  const extraTop = { ...JSON.parse(JSON.stringify(json)), comment: "hi" };
  assert.throws(() => parseModelManifest(extraTop), /Manifest has unknown key "comment"/);
  const extraModel = JSON.parse(JSON.stringify(json));
  extraModel.model.layerCnt = 4;
  assert.throws(() => parseModelManifest(extraModel), /Manifest model has unknown key "layerCnt"/);
  const extraStage = withStages(json, (stages) => {
    stages[1]!.device = "cuda";
  });
  assert.throws(() => parseModelManifest(extraStage), /Stage 1 has unknown key "device"/);
  const half = withStages(json, (stages) => {
    (stages[0]!.inputs as { dtype: string }[])[0]!.dtype = "float16";
  });
  assert.throws(
    () => parseModelManifest(half),
    /Stage 0 input 0 \(\w+\): dtype "float16" is not supported \(float32, int32, int64, bool\)/,
  );
});

Deno.test("checkStageFiles() refuses a sequenceLengthMax beyond the graph's position table", () => {
  const { json, files } = exported();
  const longer = JSON.parse(JSON.stringify(json));
  longer.model.sequenceLengthMax = FOUR_LAYER_TINY_CONFIG.sequenceLengthMax + 1;
  // The manifest alone is consistent (it declares the longer length everywhere it appears)...
  const manifest = parseModelManifest(longer);
  // ...but the first stage's graph embeds only the exported length of positions.
  assert.throws(
    () => checkStageFiles(manifest, files),
    new RegExp(
      `Stage 0 \\(stage_0.onnx\\): model.sequenceLengthMax is ${
        FOUR_LAYER_TINY_CONFIG.sequenceLengthMax + 1
      } but the graph's position table .* has ${FOUR_LAYER_TINY_CONFIG.sequenceLengthMax} rows`,
    ),
  );
  // A shorter length than the graph supports is fine.
  const shorter = JSON.parse(JSON.stringify(json));
  shorter.model.sequenceLengthMax = FOUR_LAYER_TINY_CONFIG.sequenceLengthMax - 1;
  assert.equal(checkStageFiles(parseModelManifest(shorter), files).length, 3);
});
