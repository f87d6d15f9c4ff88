/**
 * Time to plan with each strategy. The comparison with the seed's greedy passes is
 * `deno run bench/assign_report.ts`.
 *
 *     deno bench bench/assign_bench.ts
 *
 * @module
 */

import type { LayerInfo } from "../src/core/types.ts";
import { WorkAssigner } from "../src/assign/work_assigner.ts";
import { mulberry32 } from "./detector_report.ts";

const random = mulberry32(1);
function layers(count: number): LayerInfo[] {
  return Array.from({ length: count }, (_, id) => ({
    id,
    layerType: {
      kind: "transformerBlock",
      hiddenDim: 768,
      headCount: 12,
      feedForwardDim: 3072,
    } as const,
    computeCost: (0.2 + 1.8 * random()) * 1e9,
    memoryBytes: 1 << 20,
    outputSize: 768,
  }));
}
const nodes = (count: number): string[] => Array.from({ length: count }, (_, i) => `node-${i}`);
const links = (names: string[]): Map<string, Map<string, number>> =>
  new Map(names.map((a, i) => [a, new Map(names.map((b, j) => [b, 1 + ((i * 7 + j * 3) % 5)]))]));

const gpt2 = layers(48);
const big = layers(96);
const loadBalanced = new WorkAssigner({ strategy: "loadBalanced" });
const hybrid = new WorkAssigner({ strategy: "hybrid" });

Deno.bench("loadBalanced: 48 layers, 8 equal nodes", () => {
  loadBalanced.assign(gpt2, nodes(8));
});
Deno.bench("loadBalanced: 96 layers, 32 equal nodes", () => {
  loadBalanced.assign(big, nodes(32));
});
Deno.bench("loadBalanced: 48 layers, 12 nodes in 3 speed classes", () => {
  const names = nodes(12);
  loadBalanced.assign(gpt2, names, {
    capacities: new Map(names.map((n, i) => [n, [1e6, 2e6, 4e6][i % 3]!])),
  });
});
Deno.bench("hybrid: 48 layers, 8 nodes with a link matrix", () => {
  const names = nodes(8);
  hybrid.assign(gpt2, names, { linkCosts: links(names) });
});
