import assert from "node:assert/strict";
import fc from "fast-check";
import type { LayerInfo, NodeId } from "../core/types.ts";
import { type Assignment, AssignmentError, WorkAssigner } from "./work_assigner.ts";

interface Instance {
  readonly layers: LayerInfo[];
  readonly nodes: NodeId[];
  readonly capacities: Map<NodeId, number>;
  readonly memoryBytesMax: Map<NodeId, number>;
  readonly linkCosts: Map<NodeId, Map<NodeId, number>>;
}

const instanceArbitrary: fc.Arbitrary<Instance> = fc
  .record({
    costs: fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 1, maxLength: 6 }),
    outputs: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 6, maxLength: 6 }),
    memories: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 6, maxLength: 6 }),
    speeds: fc.array(fc.constantFrom(0, 1, 2, 3), { minLength: 1, maxLength: 4 }),
    limits: fc.array(fc.constantFrom(Infinity, 4, 8), { minLength: 4, maxLength: 4 }),
    links: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 16, maxLength: 16 }),
  })
  .map(({ costs, outputs, memories, speeds, limits, links }) => {
    const nodes = speeds.map((_, i) => `n${i}`);
    const layers = costs.map((cost, id) => ({
      id,
      layerType: { kind: "activation" } as const,
      computeCost: cost * 1e6,
      memoryBytes: memories[id]!,
      outputSize: outputs[id]!,
    }));
    const linkCosts = new Map(
      nodes.map((a, i) =>
        [a, new Map(nodes.map((b, j) => [b, links[i * 4 + j]!] as const))] as const
      ),
    );
    return {
      layers,
      nodes,
      capacities: new Map(nodes.map((node, i) => [node, speeds[i]! * 1e6] as const)),
      memoryBytesMax: new Map(nodes.map((node, i) => [node, limits[i]!] as const)),
      linkCosts,
    };
  });

interface BrutePlan {
  readonly units: NodeId[];
  readonly cuts: number[];
  readonly bottleneckMs: number;
  readonly transferCost: number;
}

/** Every contiguous plan: compositions of the layers times injective node sequences. */
function allPlans(instance: Instance, pins: ReadonlyMap<number, NodeId> = new Map()): BrutePlan[] {
  const { layers, capacities, memoryBytesMax, linkCosts } = instance;
  const nodes = instance.nodes.filter((node) => capacities.get(node)! > 0);
  const plans: BrutePlan[] = [];
  const layerCount = layers.length;
  function sequences(length: number, prefix: NodeId[]): NodeId[][] {
    if (prefix.length === length) return [prefix];
    return nodes.filter((n) => !prefix.includes(n)).flatMap((n) =>
      sequences(length, [...prefix, n])
    );
  }
  for (let mask = 0; mask < 1 << (layerCount - 1); mask++) {
    const cuts = [0];
    for (let i = 1; i < layerCount; i++) if (mask & (1 << (i - 1))) cuts.push(i);
    cuts.push(layerCount);
    const stageCount = cuts.length - 1;
    if (stageCount > nodes.length) continue;
    for (const units of sequences(stageCount, [])) {
      let bottleneckMs = 0;
      let transferCost = 0;
      let valid = true;
      for (let s = 0; s < stageCount; s++) {
        const stage = layers.slice(cuts[s], cuts[s + 1]);
        const cost = stage.reduce((sum, layer) => sum + layer.computeCost, 0);
        bottleneckMs = Math.max(bottleneckMs, cost / capacities.get(units[s]!)!);
        const memory = stage.reduce((sum, layer) => sum + layer.memoryBytes, 0);
        if (memory > memoryBytesMax.get(units[s]!)!) valid = false;
        for (const layer of stage) {
          const pin = pins.get(layer.id);
          if (pin !== undefined && pin !== units[s]) valid = false;
        }
        if (s > 0) {
          transferCost += linkCosts.get(units[s - 1]!)!.get(units[s]!)! *
            layers[cuts[s]! - 1]!.outputSize;
        }
      }
      if (valid) plans.push({ units, cuts, bottleneckMs, transferCost });
    }
  }
  return plans;
}

function assertWellFormed(assignment: Assignment, instance: Instance): void {
  assert.deepEqual(
    assignment.stages.flatMap((stage) => stage.layerIds),
    instance.layers.map((l) => l.id),
  );
  const used = assignment.stages.flatMap((stage) => stage.nodes);
  assert.equal(new Set(used).size, used.length, "a node runs two stages");
  assert.deepEqual([...used, ...assignment.idleNodes].sort(), [...instance.nodes].sort());
  assert.deepEqual(
    assignment.dependencies.executionOrder,
    assignment.stages.map((s) => s.nodes[0]),
  );
  assert.equal(assignment.dependencies.edges.length, Math.max(0, assignment.stages.length - 1));
  for (const stage of assignment.stages) assert.ok(stage.layerIds.length > 0, "empty stage");
}

function hasCapacity(instance: Instance): boolean {
  return instance.nodes.some((node) => instance.capacities.get(node)! > 0);
}

Deno.test("WorkAssigner.assign() loadBalanced equals the brute-force optimal bottleneck", () => {
  fc.assert(
    fc.property(instanceArbitrary, (instance) => {
      const plans = allPlans(instance);
      const assign = (): Assignment =>
        new WorkAssigner({ strategy: "loadBalanced" }).assign(
          instance.layers,
          instance.nodes,
          instance,
        );
      if (!hasCapacity(instance) || plans.length === 0) {
        assert.throws(assign, AssignmentError);
        return;
      }
      const assignment = assign();
      assertWellFormed(assignment, instance);
      const best = Math.min(...plans.map((plan) => plan.bottleneckMs));
      assert.equal(assignment.bottleneckMs, best);
      assert.equal(Math.max(0, ...assignment.stages.map((stage) => stage.estimatedTimeMs)), best);
    }),
    { numRuns: 300 },
  );
});

Deno.test("WorkAssigner.assign() topologyAware equals the brute-force minimal transfer cost", () => {
  fc.assert(
    fc.property(instanceArbitrary, (instance) => {
      const plans = allPlans(instance);
      const assign = (): Assignment =>
        new WorkAssigner({ strategy: "topologyAware" }).assign(
          instance.layers,
          instance.nodes,
          instance,
        );
      if (!hasCapacity(instance) || plans.length === 0) {
        assert.throws(assign, AssignmentError);
        return;
      }
      const assignment = assign();
      assertWellFormed(assignment, instance);
      assert.equal(assignment.transferCost, Math.min(...plans.map((plan) => plan.transferCost)));
    }),
    { numRuns: 300 },
  );
});

Deno.test("WorkAssigner.assign() hybrid minimizes transfer within the slack of the best bottleneck", () => {
  fc.assert(
    fc.property(instanceArbitrary, fc.constantFrom(0, 0.1, 0.5), (instance, slack) => {
      const plans = allPlans(instance);
      if (!hasCapacity(instance) || plans.length === 0) return;
      const assignment = new WorkAssigner().assign(instance.layers, instance.nodes, {
        ...instance,
        hybridSlackRatio: slack,
      });
      assertWellFormed(assignment, instance);
      const best = Math.min(...plans.map((plan) => plan.bottleneckMs));
      const allowed = plans.filter((plan) => plan.bottleneckMs <= best * (1 + slack));
      assert.ok(assignment.bottleneckMs <= best * (1 + slack));
      assert.equal(assignment.transferCost, Math.min(...allowed.map((plan) => plan.transferCost)));
    }),
    { numRuns: 300 },
  );
});

Deno.test("WorkAssigner.assign() honours affinity pins, optimally, or says none fits", () => {
  fc.assert(
    fc.property(
      instanceArbitrary,
      fc.array(fc.tuple(fc.nat(5), fc.nat(3)), { maxLength: 3 }),
      (instance, rawPins) => {
        const pins = new Map<number, NodeId>();
        for (const [layer, node] of rawPins) {
          if (layer < instance.layers.length && node < instance.nodes.length) {
            pins.set(layer, instance.nodes[node]!);
          }
        }
        const assign = (): Assignment =>
          new WorkAssigner({ strategy: "loadBalanced" }).assign(instance.layers, instance.nodes, {
            ...instance,
            affinity: pins,
          });
        const pinnedToZero = [...pins.values()].some((node) => instance.capacities.get(node) === 0);
        const plans = allPlans(instance, pins);
        if (!hasCapacity(instance) || pinnedToZero || plans.length === 0) {
          assert.throws(assign, AssignmentError);
          return;
        }
        const assignment = assign();
        assertWellFormed(assignment, instance);
        for (const [layer, node] of pins) {
          const stage = assignment.stages.find((s) => s.layerIds.includes(layer))!;
          assert.equal(stage.nodes[0], node, `layer ${layer} not on ${node}`);
        }
        assert.equal(assignment.bottleneckMs, Math.min(...plans.map((plan) => plan.bottleneckMs)));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("WorkAssigner.assign() gives the same plan whatever the order of nodes and maps", () => {
  fc.assert(
    fc.property(
      instanceArbitrary,
      fc.constantFrom("loadBalanced", "topologyAware", "hybrid") as fc.Arbitrary<
        "loadBalanced" | "topologyAware" | "hybrid"
      >,
      (instance, strategy) => {
        if (!hasCapacity(instance) || allPlans(instance).length === 0) return;
        const assigner = new WorkAssigner({ strategy });
        const forward = assigner.assign(instance.layers, instance.nodes, instance);
        const reversed = <K, V>(map: Map<K, V>): Map<K, V> => new Map([...map].reverse());
        const backward = assigner.assign(instance.layers, [...instance.nodes].reverse(), {
          capacities: reversed(instance.capacities),
          memoryBytesMax: reversed(instance.memoryBytesMax),
          linkCosts: new Map([...instance.linkCosts].reverse().map(([k, v]) => [k, reversed(v)])),
        });
        assert.deepEqual(backward.stages, forward.stages);
        assert.deepEqual(backward.dependencies, forward.dependencies);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("WorkAssigner.assign() puts each stage on r distinct nodes with replication", () => {
  const layers = Array.from({ length: 6 }, (_, id) => ({
    id,
    layerType: { kind: "activation" } as const,
    computeCost: 1e6,
    memoryBytes: 0,
    outputSize: 1,
  }));
  const nodes = ["a", "b", "c", "d", "e", "f", "g"];
  const assignment = new WorkAssigner({ strategy: "loadBalanced" }).assign(layers, nodes, {
    replicationFactor: 2,
  });
  assert.equal(assignment.stages.length, 3);
  for (const stage of assignment.stages) assert.equal(new Set(stage.nodes).size, 2);
  assert.deepEqual(assignment.idleNodes, ["g"]);
  assert.equal(assignment.bottleneckMs, 2);
  assert.throws(
    () => new WorkAssigner().assign(layers, ["a"], { replicationFactor: 2 }),
    /needs at least 2 nodes/,
  );
});

Deno.test("WorkAssigner.assign() handles edge cases with results or clear errors", () => {
  const layer = (id: number, computeCost: number): LayerInfo => ({
    id,
    layerType: { kind: "normalization" },
    computeCost,
    memoryBytes: 0,
    outputSize: 4,
  });
  const assigner = new WorkAssigner({ strategy: "loadBalanced" });
  assert.throws(() => assigner.assign([layer(0, 1)], []), /No nodes to assign layers to/);
  const empty = assigner.assign([], ["a", "b"]);
  assert.deepEqual(empty.stages, []);
  assert.deepEqual(empty.idleNodes, ["a", "b"]);
  // Zero-cost layers: a valid plan with zero bottleneck, on as few stages as possible.
  const free = assigner.assign([layer(0, 0), layer(1, 0)], ["a", "b"]);
  assert.equal(free.bottleneckMs, 0);
  assert.equal(free.stages.length, 1);
  // A zero-capacity node gets nothing; all zero is an error.
  const skewed = assigner.assign([layer(0, 1e6), layer(1, 1e6)], ["a", "b"], {
    capacities: new Map([["a", 0]]),
  });
  assert.deepEqual(skewed.stages.map((s) => s.nodes), [["b"]]);
  assert.deepEqual(skewed.idleNodes, ["a"]);
  assert.throws(
    () => assigner.assign([layer(0, 1)], ["a"], { capacities: new Map([["a", 0]]) }),
    /Every node has zero capacity/,
  );
  assert.throws(
    () => assigner.assign([layer(0, 1), layer(0, 1)], ["a"]),
    /Layer id 0 appears twice/,
  );
  assert.throws(() => assigner.assign([layer(0, -1)], ["a"]), /computeCost must be a non-negative/);
  assert.throws(() => assigner.assign([layer(0, 1)], ["a", "a"]), /appears twice/);
  assert.throws(
    () => assigner.assign([layer(0, 1)], ["a"], { affinity: new Map([[0, "z"]]) }),
    /unknown node z/,
  );
  assert.throws(
    () =>
      assigner.assign([layer(0, 1), layer(1, 1)], ["a", "b"], {
        memoryBytesMax: new Map([["a", -1]]),
      }),
    /Memory of a/,
  );
  assert.throws(
    () =>
      new WorkAssigner({ strategy: "topologyAware" }).assign(
        [layer(0, 1), layer(1, 1)],
        ["a", "b"],
        {
          linkCosts: new Map([["a", new Map()]]),
          memoryBytesMax: new Map([["a", 0], ["b", 0]]),
        },
      ),
    AssignmentError,
  );
});

Deno.test("WorkAssigner.rebalance() moves the fewest layers to reach the best bottleneck", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 2, maxLength: 7 }),
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 3 }),
      fc.constantFrom(0, 0.05, 0.3),
      (costs, slowdowns, tolerance) => {
        const layers = costs.map((cost, id) => ({
          id,
          layerType: { kind: "activation" } as const,
          computeCost: cost * 1e6,
          memoryBytes: 0,
          outputSize: 1,
        }));
        const nodes = slowdowns.map((_, i) => `n${i}`);
        const assigner = new WorkAssigner({ strategy: "loadBalanced" });
        const before = assigner.assign(layers, nodes);
        const stageCount = before.stages.length;
        // Each stage runs `slowdown` times slower than planned.
        const measured = before.stages.map((stage, i) => stage.estimatedTimeMs * slowdowns[i]!);
        const { assignment, layersMoved } = assigner.rebalance(before, measured, {
          toleranceRatio: tolerance,
        });
        // Brute force over compositions into the same number of non-empty stages, same order.
        const speeds = before.stages.map((stage, i) =>
          stage.computeCost > 0 && measured[i]! > 0
            ? stage.computeCost / measured[i]!
            : stage.capacityFlopsPerMs
        );
        const owner = before.stages.flatMap((stage) => stage.layerIds.map(() => stage.index));
        const options: { bottleneckMs: number; moved: number }[] = [];
        for (let mask = 0; mask < 1 << (layers.length - 1); mask++) {
          const cuts = [0];
          for (let i = 1; i < layers.length; i++) if (mask & (1 << (i - 1))) cuts.push(i);
          cuts.push(layers.length);
          if (cuts.length - 1 !== stageCount) continue;
          let bottleneckMs = 0;
          let moved = 0;
          for (let s = 0; s < stageCount; s++) {
            const cost = layers.slice(cuts[s], cuts[s + 1]).reduce(
              (sum, l) => sum + l.computeCost,
              0,
            );
            bottleneckMs = Math.max(bottleneckMs, cost / speeds[s]!);
            for (let l = cuts[s]!; l < cuts[s + 1]!; l++) if (owner[l] !== s) moved++;
          }
          options.push({ bottleneckMs, moved });
        }
        const best = Math.min(...options.map((o) => o.bottleneckMs));
        const fewest = Math.min(
          ...options.filter((o) => o.bottleneckMs <= best * (1 + tolerance)).map((o) => o.moved),
        );
        assert.equal(layersMoved, fewest);
        assert.ok(assignment.bottleneckMs <= best * (1 + tolerance));
        assert.deepEqual(
          assignment.dependencies.executionOrder,
          before.dependencies.executionOrder,
        );
        assert.deepEqual(assignment.stages.flatMap((s) => s.layerIds), layers.map((l) => l.id));
      },
    ),
    { numRuns: 300 },
  );
});
