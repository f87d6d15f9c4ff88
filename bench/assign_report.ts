/**
 * How much the seed's greedy assignment loses against the exact contiguous partition.
 *
 *     deno run bench/assign_report.ts
 *
 * The seed (`work_assignment.rs`) had three passes, each reproduced here faithfully:
 * - LoadBalanced: each layer, in model order, to the node with the least accumulated time (ties
 *   to the first node; the seed's hash map broke them at random). Not contiguous: a node runs
 *   scattered layers, so a token crosses the network at nearly every layer; its per-token
 *   bottleneck is still the busiest node's total time, which is what we compare.
 * - TopologyAware: ceil(L / N) consecutive layers per node, in node order.
 * - Hybrid (the seed's default): TopologyAware, replaced by LoadBalanced when the busiest
 *   node is more than 20% above the average.
 * The seed assumed every node runs at 1 GFLOPS; on heterogeneous instances its plans are
 * scored at the real speeds. The ratio is seed bottleneck / optimal bottleneck (1 is optimal).
 *
 * @module
 */

import type { LayerInfo } from "../src/core/types.ts";
import { WorkAssigner } from "../src/assign/work_assigner.ts";
import { mulberry32 } from "./detector_report.ts";

/** The seed's LoadBalanced pass: node loads after least-load greedy, scored at real speeds. */
export function seedLeastLoad(layers: readonly LayerInfo[], speeds: readonly number[]): number {
  const loads = speeds.map(() => 0);
  for (const layer of layers) {
    let best = 0;
    for (let node = 1; node < loads.length; node++) if (loads[node]! < loads[best]!) best = node;
    loads[best]! += layer.computeCost;
  }
  return Math.max(...loads.map((load, node) => load / speeds[node]!));
}

/** The seed's TopologyAware pass: ceil(L / N) consecutive layers per node. */
export function seedChunks(layers: readonly LayerInfo[], speeds: readonly number[]): number {
  const perNode = Math.ceil(layers.length / speeds.length);
  let worst = 0;
  for (let node = 0; node * perNode < layers.length; node++) {
    const cost = layers.slice(node * perNode, (node + 1) * perNode)
      .reduce((sum, layer) => sum + layer.computeCost, 0);
    worst = Math.max(worst, cost / speeds[node]!);
  }
  return worst;
}

/** The seed's Hybrid pass, as it judged imbalance (at its assumed uniform speed). */
export function seedHybrid(layers: readonly LayerInfo[], speeds: readonly number[]): number {
  const perNode = Math.ceil(layers.length / speeds.length);
  const loads: number[] = [];
  for (let node = 0; node * perNode < layers.length; node++) {
    loads.push(
      layers.slice(node * perNode, (node + 1) * perNode).reduce(
        (s, layer) => s + layer.computeCost,
        0,
      ),
    );
  }
  const average = loads.reduce((a, b) => a + b, 0) / loads.length;
  const imbalance = (Math.max(...loads) - average) / average;
  return imbalance > 0.2 ? seedLeastLoad(layers, speeds) : seedChunks(layers, speeds);
}

/** A random instance: layer costs 0.2-2 GFLOP, 8-64 layers, 2-12 nodes. */
export function randomInstance(
  random: () => number,
  heterogeneous: boolean,
): { layers: LayerInfo[]; nodes: string[]; speeds: number[] } {
  const layerCount = 8 + Math.floor(random() * 57);
  const nodeCount = 2 + Math.floor(random() * 11);
  const layers = Array.from({ length: layerCount }, (_, id) => ({
    id,
    layerType: {
      kind: "transformerBlock",
      hiddenDim: 768,
      headCount: 12,
      feedForwardDim: 3072,
    } as const,
    computeCost: (0.2 + 1.8 * random()) * 1e9,
    memoryBytes: 0,
    outputSize: 768,
  }));
  const nodes = Array.from({ length: nodeCount }, (_, i) => `node-${String(i).padStart(2, "0")}`);
  const speeds = nodes.map(() => (heterogeneous ? [1, 2, 4][Math.floor(random() * 3)]! : 1) * 1e6);
  return { layers, nodes, speeds };
}

function summary(ratios: number[]): string {
  ratios.sort((a, b) => a - b);
  const q = (p: number): string =>
    ratios[Math.min(ratios.length - 1, Math.floor(p * ratios.length))]!.toFixed(3);
  const below = ratios.filter((r) => r < 1 - 1e-9).length;
  return `min ${ratios[0]!.toFixed(3)}  median ${q(0.5)}  p90 ${q(0.9)}  max ${
    ratios.at(-1)!.toFixed(3)
  }  (${below} below 1)`;
}

if (import.meta.main) {
  const instanceCount = 1000;
  for (const heterogeneous of [false, true]) {
    const random = mulberry32(heterogeneous ? 7 : 5);
    const ratios = { leastLoad: [] as number[], chunks: [] as number[], hybrid: [] as number[] };
    const assigner = new WorkAssigner({ strategy: "loadBalanced" });
    for (let i = 0; i < instanceCount; i++) {
      const { layers, nodes, speeds } = randomInstance(random, heterogeneous);
      const capacities = new Map(nodes.map((node, index) => [node, speeds[index]!] as const));
      const optimal = assigner.assign(layers, nodes, { capacities }).bottleneckMs;
      ratios.leastLoad.push(seedLeastLoad(layers, speeds) / optimal);
      ratios.chunks.push(seedChunks(layers, speeds) / optimal);
      ratios.hybrid.push(seedHybrid(layers, speeds) / optimal);
    }
    console.log(
      `\n${instanceCount} random instances (8-64 layers of 0.2-2 GFLOP, 2-12 nodes, ` +
        `${heterogeneous ? "speeds 1, 2 or 4 GFLOPS" : "equal speeds"}, seed ${
          heterogeneous ? 7 : 5
        }):`,
    );
    console.log(
      `  seed least-load greedy (not contiguous) / optimal: ${summary(ratios.leastLoad)}`,
    );
    console.log(`  seed equal-count chunks / optimal:                 ${summary(ratios.chunks)}`);
    console.log(`  seed hybrid (its default) / optimal:               ${summary(ratios.hybrid)}`);
  }
}
