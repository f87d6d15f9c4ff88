// The seed's "Work Assignment" example: contiguous pipeline stages over three nodes.
//
//     deno run examples/work_assignment.ts
import { type LayerInfo, WorkAssigner } from "@butterfly/bcp";

const assigner = new WorkAssigner();

const layers: LayerInfo[] = Array.from({ length: 12 }, (_, id) => ({
  id,
  layerType: { kind: "linear", inputDim: 768, outputDim: 768 },
  computeCost: 1e9,
  memoryBytes: 1024 * 1024,
  outputSize: 768,
}));

const nodes = ["node-0", "node-1", "node-2"];

// The seed's `assign` was async; this one is synchronous (it does no I/O).
const assignment = assigner.assign(layers, nodes);

console.log(`Execution order: ${assignment.dependencies.executionOrder.join(", ")}`);
for (const stage of assignment.stages) {
  console.log(
    `stage ${stage.index} on ${stage.nodes.join(", ")}: layers ${stage.layerIds.join(", ")}`,
  );
}
