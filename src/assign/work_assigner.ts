/**
 * Work assignment: cuts a model's layer chain into contiguous pipeline stages, one per node (or
 * per replica group), by exact dynamic programming rather than the seed's greedy passes.
 *
 * - `loadBalanced` minimizes the bottleneck stage time (stage FLOPs / node capacity), which
 *   bounds pipeline throughput; among optimal plans it sends the fewest activation elements.
 * - `topologyAware` minimizes the activation transfer cost under a link-cost matrix (and
 *   memory limits): with no limits that is a single node.
 * - `hybrid` minimizes transfer cost among plans within `hybridSlackRatio` of the optimal
 *   bottleneck.
 *
 * Deterministic: nodes are put in canonical order (by id) first, so the same input gives the
 * same plan whatever the order of arrays and maps.
 *
 * @module
 */

import type { LayerInfo, NodeId } from "../core/types.ts";
import {
  type PartitionProblem,
  type Plan,
  planOf,
  smallestFeasible,
  solveByClasses,
  solveBySubsets,
  solveFixedOrder,
  thresholdCandidates,
  type Unit,
} from "./_partition.ts";
import { requireKind } from "../core/_arguments.ts";

export { CLASS_STATES_MAX, TOPOLOGY_UNITS_MAX } from "./_partition.ts";

/** Node speed assumed when no capacity is given: 1 GFLOPS, the seed's baseline, in FLOPs/ms. */
export const DEFAULT_CAPACITY_FLOPS_PER_MS = 1e6;
/** Largest replication factor accepted. */
export const REPLICATION_FACTOR_MAX = 16;
/** Most layers one assignment handles (the DPs are quadratic in layers). */
export const ASSIGN_LAYERS_MAX = 4096;

/** How the assigner trades load balance against communication. */
export type AssignmentStrategy = "loadBalanced" | "topologyAware" | "hybrid";

/** Options of {@linkcode WorkAssigner}. */
export interface WorkAssignerOptions {
  /** The default strategy for `assign`. Default `"hybrid"`, as in the seed. */
  readonly strategy?: AssignmentStrategy;
}

/** Options of {@linkcode WorkAssigner.assign}. */
export interface AssignOptions {
  /** Overrides the assigner's strategy for this call. */
  readonly strategy?: AssignmentStrategy;
  /** Node speeds in FLOPs per millisecond; missing nodes get {@linkcode DEFAULT_CAPACITY_FLOPS_PER_MS}. A zero-capacity node gets no work. */
  readonly capacities?: ReadonlyMap<NodeId, number>;
  /** Memory per node, in bytes; a stage's layers must fit. Missing nodes are unlimited. */
  readonly memoryBytesMax?: ReadonlyMap<NodeId, number>;
  /**
   * Cost per activation element sent from one node to another (for example ms per element).
   * Looked up as `linkCosts.get(from).get(to)`, else `linkCosts.get(to).get(from)`; a missing
   * pair is an error. Without the matrix every link costs 1.
   */
  readonly linkCosts?: ReadonlyMap<NodeId, ReadonlyMap<NodeId, number>>;
  /** Layers pinned to a node: layer id to node id. */
  readonly affinity?: ReadonlyMap<number, NodeId>;
  /** Nodes that run each stage (replicated execution). Default 1. */
  readonly replicationFactor?: number;
  /** For `hybrid`: how far above the optimal bottleneck a plan may go to save transfer. Default 0.1. */
  readonly hybridSlackRatio?: number;
}

/** Options of {@linkcode WorkAssigner.rebalance}. */
export interface RebalanceOptions {
  /** How far above the best achievable bottleneck (in the current node order) the plan may go to move fewer layers. Default 0.05. */
  readonly toleranceRatio?: number;
}

/** One pipeline stage: contiguous layers on one node, or on `nodes.length` replicas. */
export interface Stage {
  /** Position in the pipeline, from 0. */
  readonly index: number;
  /** The nodes running this stage: the primary first, then its replicas. */
  readonly nodes: readonly NodeId[];
  /** The layers, contiguous in model order. */
  readonly layerIds: readonly number[];
  /** Total compute of the stage, in FLOPs. */
  readonly computeCost: number;
  /** The capacity the plan assumed, in FLOPs per ms (the slowest replica's). */
  readonly capacityFlopsPerMs: number;
  /** Estimated time per pass, in ms: computeCost / capacity. */
  readonly estimatedTimeMs: number;
}

/** An edge of the stage graph: stage `fromStage` hands `activationSize` elements to `toStage`. */
export interface DependencyEdge {
  /** The producing stage. */
  readonly fromStage: number;
  /** The consuming stage. */
  readonly toStage: number;
  /** Activation elements sent. */
  readonly activationSize: number;
  /** Cost per element of the link between the two stages' primaries (1 without a matrix). */
  readonly linkCost: number;
}

/** The dependency graph of the stages and the order in which their primaries execute. */
export interface DependencyGraph {
  /** Stage-to-stage edges (a chain). */
  readonly edges: readonly DependencyEdge[];
  /** The primary node of each stage, in execution order. */
  readonly executionOrder: readonly NodeId[];
}

/** The result of {@linkcode WorkAssigner.assign}. */
export interface Assignment {
  /** The strategy used. */
  readonly strategy: AssignmentStrategy;
  /** The stages in pipeline order. */
  readonly stages: readonly Stage[];
  /** The dependency graph and execution order. */
  readonly dependencies: DependencyGraph;
  /** The slowest stage's estimated time, in ms: bounds throughput. */
  readonly bottleneckMs: number;
  /** Sum over stage boundaries of link cost times activation elements. */
  readonly transferCost: number;
  /** Nodes with no stage (more nodes than useful, zero capacity, or left over by replication). */
  readonly idleNodes: readonly NodeId[];
  /** The layers, as given, for rebalancing. */
  readonly layers: readonly LayerInfo[];
  /** The affinity pins the plan honours. */
  readonly affinity: ReadonlyMap<number, NodeId>;
}

/** The result of {@linkcode WorkAssigner.rebalance}. */
export interface Rebalance {
  /** The new assignment (same nodes, same order, moved boundaries). */
  readonly assignment: Assignment;
  /** How many layers changed stage. */
  readonly layersMoved: number;
}

/** Raised when no assignment exists or the input is invalid. */
export class AssignmentError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "AssignmentError";
  }
}

/**
 * Assigns layers to nodes as contiguous pipeline stages.
 *
 * @example The seed's example
 * ```ts
 * import { type LayerInfo, WorkAssigner } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 *
 * const assigner = new WorkAssigner();
 * const layers: LayerInfo[] = Array.from({ length: 6 }, (_, id) => ({
 *   id,
 *   layerType: { kind: "linear", inputDim: 768, outputDim: 768 },
 *   computeCost: 1e9,
 *   memoryBytes: 1024 * 1024,
 *   outputSize: 768,
 * }));
 * const nodes = ["node-0", "node-1", "node-2"];
 * const assignment = assigner.assign(layers, nodes);
 * console.log(`Execution order: ${assignment.dependencies.executionOrder.join(", ")}`);
 * assert.deepEqual(assignment.stages.map((stage) => stage.layerIds), [[0, 1], [2, 3], [4, 5]]);
 * ```
 */
export class WorkAssigner {
  /** The default strategy. */
  readonly strategy: AssignmentStrategy;

  /**
   * Creates an assigner.
   *
   * @param options The default strategy.
   */
  constructor(options: WorkAssignerOptions = {}) {
    requireKind("options", options, "object");
    this.strategy = options.strategy ?? "hybrid";
  }

  /**
   * Cuts `layers` (in model order) into contiguous stages over `nodes`.
   *
   * @param layers The layers in pipeline order; ids must be unique.
   * @param nodes The available nodes; order does not matter.
   * @param options Strategy, capacities, memory, links, affinity, replication.
   * @returns The assignment. With no layers, no stages and every node idle.
   * @throws {AssignmentError} If there are no nodes, no node has capacity, the input is invalid,
   *   or no plan satisfies the memory limits and pins.
   *
   * @example More nodes than layers leaves some idle
   * ```ts
   * import { WorkAssigner } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const layer = { layerType: { kind: "activation" }, computeCost: 1e6, memoryBytes: 0, outputSize: 8 } as const;
   * const assignment = new WorkAssigner({ strategy: "loadBalanced" })
   *   .assign([{ id: 0, ...layer }, { id: 1, ...layer }], ["a", "b", "c"]);
   * assert.equal(assignment.stages.length, 2);
   * assert.deepEqual(assignment.idleNodes, ["c"]);
   * ```
   */
  assign(
    layers: readonly LayerInfo[],
    nodes: readonly NodeId[],
    options: AssignOptions = {},
  ): Assignment {
    requireKind("layers", layers, "array");
    requireKind("nodes", nodes, "array");
    requireKind("options", options, "object");
    const strategy = options.strategy ?? this.strategy;
    const input = prepare(layers, nodes, options);
    if (layers.length === 0) {
      return build(strategy, input, planOf(input.problem, []));
    }
    const plan = solve(strategy, input.problem, options.hybridSlackRatio ?? 0.1);
    return build(strategy, input, plan);
  }

  /**
   * Moves stage boundaries after measuring the stages: each stage's capacity is re-estimated
   * from its measured time, then, keeping the nodes and their order, the plan within
   * `toleranceRatio` of the best achievable bottleneck that moves the fewest layers is chosen.
   *
   * @param assignment The current assignment.
   * @param measuredStageTimesMs Measured time per pass of each stage, in stage order.
   * @param options The tolerance.
   * @returns The new assignment and how many layers moved.
   * @throws {AssignmentError} If the measurements do not match the stages.
   *
   * @example A slow node sheds a layer
   * ```ts
   * import { WorkAssigner } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const layers = Array.from({ length: 6 }, (_, id) => ({
   *   id, layerType: { kind: "activation" } as const, computeCost: 1e6, memoryBytes: 0, outputSize: 1,
   * }));
   * const assigner = new WorkAssigner({ strategy: "loadBalanced" });
   * const before = assigner.assign(layers, ["a", "b"]);
   * const { assignment, layersMoved } = assigner.rebalance(before, [6, 3]); // "a" runs at half speed
   * assert.deepEqual(assignment.stages.map((stage) => stage.layerIds.length), [2, 4]);
   * assert.equal(layersMoved, 1);
   * ```
   */
  rebalance(
    assignment: Assignment,
    measuredStageTimesMs: readonly number[],
    options: RebalanceOptions = {},
  ): Rebalance {
    const stages = assignment.stages;
    if (measuredStageTimesMs.length !== stages.length) {
      throw new AssignmentError(
        `Expected ${stages.length} measured stage times, got ${measuredStageTimesMs.length}`,
      );
    }
    const toleranceRatio = options.toleranceRatio ?? 0.05;
    if (!(toleranceRatio >= 0 && Number.isFinite(toleranceRatio))) {
      throw new AssignmentError(
        `toleranceRatio must be a non-negative number, got ${toleranceRatio}`,
      );
    }
    const units: Unit[] = stages.map((stage, index) => {
      const measuredMs = measuredStageTimesMs[index]!;
      if (!(measuredMs >= 0 && Number.isFinite(measuredMs))) {
        throw new AssignmentError(
          `Measured time of stage ${index} must be a non-negative number, got ${measuredMs}`,
        );
      }
      const capacity = stage.computeCost > 0 && measuredMs > 0
        ? stage.computeCost / measuredMs
        : stage.capacityFlopsPerMs;
      return { capacity, memoryBytesMax: Infinity, rank: index };
    });
    const layers = assignment.layers;
    const problem: PartitionProblem = {
      costs: layers.map((layer) => layer.computeCost),
      memoryBytes: layers.map(() => 0),
      outputSizes: layers.map((layer) => layer.outputSize),
      pins: layers.map((layer) => {
        const node = assignment.affinity.get(layer.id);
        return node === undefined ? -1 : stages.findIndex((stage) => stage.nodes.includes(node));
      }),
      units,
      link: () => 1,
    };
    const currentUnits: number[] = [];
    for (const stage of stages) for (const _ of stage.layerIds) currentUnits.push(stage.index);
    const candidates = thresholdCandidates(problem);
    const best = smallestFeasible(
      candidates,
      (t) => solveFixedOrder(problem, t, currentUnits) !== undefined,
    );
    if (best === undefined) {
      throw new AssignmentError("No rebalanced plan keeps every stage non-empty");
    }
    const plan = solveFixedOrder(problem, best * (1 + toleranceRatio), currentUnits)!;
    let layersMoved = 0;
    for (const segment of plan.segments) {
      for (let layer = segment.start; layer < segment.end; layer++) {
        if (currentUnits[layer] !== segment.unit) layersMoved++;
      }
    }
    const newStages: Stage[] = plan.segments.map((segment, index) => {
      const old = stages[segment.unit]!;
      const stageLayers = layers.slice(segment.start, segment.end);
      const computeCost = stageLayers.reduce((sum, layer) => sum + layer.computeCost, 0);
      const capacity = units[segment.unit]!.capacity;
      return {
        index,
        nodes: old.nodes,
        layerIds: stageLayers.map((layer) => layer.id),
        computeCost,
        capacityFlopsPerMs: capacity,
        estimatedTimeMs: computeCost / capacity,
      };
    });
    // Same nodes in the same order: each boundary keeps its link, only the activations change.
    const linkCosts = assignment.dependencies.edges.map((edge) => edge.linkCost);
    const dependencies = dependenciesOf(newStages, layers, (index) => linkCosts[index]!);
    return {
      assignment: {
        ...assignment,
        stages: newStages,
        dependencies,
        bottleneckMs: plan.bottleneckMs,
        transferCost: transferOf(dependencies),
      },
      layersMoved,
    };
  }
}

interface PreparedInput {
  readonly problem: PartitionProblem;
  readonly unitNodes: readonly (readonly NodeId[])[];
  readonly idleNodes: readonly NodeId[];
  readonly layers: readonly LayerInfo[];
  readonly affinity: ReadonlyMap<number, NodeId>;
}

function solve(strategy: AssignmentStrategy, problem: PartitionProblem, slackRatio: number): Plan {
  if (!(slackRatio >= 0 && Number.isFinite(slackRatio))) {
    throw new AssignmentError(`hybridSlackRatio must be a non-negative number, got ${slackRatio}`);
  }
  if (strategy === "topologyAware") {
    const plan = solveBySubsets(problem, Infinity);
    if (plan === undefined) throw infeasible();
    return plan;
  }
  const candidates = thresholdCandidates(problem);
  const optimal = smallestFeasible(candidates, (t) => solveByClasses(problem, t) !== undefined);
  if (optimal === undefined) throw infeasible();
  if (strategy === "loadBalanced") return solveByClasses(problem, optimal)!;
  if (strategy !== "hybrid") {
    throw new AssignmentError(`Unknown strategy ${JSON.stringify(strategy)}`);
  }
  return solveBySubsets(problem, optimal * (1 + slackRatio))!;
}

function infeasible(): AssignmentError {
  return new AssignmentError(
    "No contiguous assignment satisfies the memory limits and affinity pins",
  );
}

function prepare(
  layers: readonly LayerInfo[],
  nodes: readonly NodeId[],
  options: AssignOptions,
): PreparedInput {
  if (nodes.length === 0) throw new AssignmentError("No nodes to assign layers to");
  if (layers.length > ASSIGN_LAYERS_MAX) {
    throw new AssignmentError(
      `At most ${ASSIGN_LAYERS_MAX} layers can be assigned, got ${layers.length}`,
    );
  }
  const layerIds = new Set<number>();
  for (const layer of layers) {
    if (layerIds.has(layer.id)) throw new AssignmentError(`Layer id ${layer.id} appears twice`);
    layerIds.add(layer.id);
    for (const field of ["computeCost", "memoryBytes", "outputSize"] as const) {
      if (!(layer[field] >= 0 && Number.isFinite(layer[field]))) {
        throw new AssignmentError(
          `Layer ${layer.id} ${field} must be a non-negative number, got ${layer[field]}`,
        );
      }
    }
  }
  const sorted = [...new Set(nodes)].sort();
  if (sorted.length !== nodes.length) {
    throw new AssignmentError("A node appears twice in the node list");
  }
  const capacityOf = (node: NodeId): number =>
    options.capacities?.get(node) ?? DEFAULT_CAPACITY_FLOPS_PER_MS;
  const memoryOf = (node: NodeId): number => options.memoryBytesMax?.get(node) ?? Infinity;
  for (const node of sorted) {
    const capacity = capacityOf(node);
    if (!(capacity >= 0 && Number.isFinite(capacity))) {
      throw new AssignmentError(
        `Capacity of ${node} must be a non-negative number, got ${capacity}`,
      );
    }
    if (!(memoryOf(node) >= 0)) {
      throw new AssignmentError(
        `Memory of ${node} must be a non-negative number, got ${memoryOf(node)}`,
      );
    }
  }
  const affinity = options.affinity ?? new Map<number, NodeId>();
  for (const [layerId, node] of affinity) {
    if (!layerIds.has(layerId)) throw new AssignmentError(`Affinity pins unknown layer ${layerId}`);
    if (!sorted.includes(node)) {
      throw new AssignmentError(`Affinity pins layer ${layerId} to unknown node ${node}`);
    }
    if (capacityOf(node) === 0) {
      throw new AssignmentError(
        `Affinity pins layer ${layerId} to ${node}, which has zero capacity`,
      );
    }
  }
  const eligible = sorted.filter((node) => capacityOf(node) > 0);
  if (eligible.length === 0) throw new AssignmentError("Every node has zero capacity");
  const replicationFactor = options.replicationFactor ?? 1;
  if (
    !Number.isSafeInteger(replicationFactor) || replicationFactor < 1 ||
    replicationFactor > REPLICATION_FACTOR_MAX
  ) {
    throw new AssignmentError(
      `replicationFactor must be an integer in [1, ${REPLICATION_FACTOR_MAX}], got ${replicationFactor}`,
    );
  }
  if (eligible.length < replicationFactor) {
    throw new AssignmentError(
      `Replication factor ${replicationFactor} needs at least ${replicationFactor} nodes with capacity, got ${eligible.length}`,
    );
  }
  // Replica groups: fastest nodes together, so each group's speed (its slowest member's) is as
  // high as it can be. Ties broken by id, for determinism.
  const bySpeed = [...eligible].sort((a, b) =>
    capacityOf(b) - capacityOf(a) || (a < b ? -1 : a > b ? 1 : 0)
  );
  const groupCount = Math.floor(bySpeed.length / replicationFactor);
  const unitNodes: NodeId[][] = [];
  for (let group = 0; group < groupCount; group++) {
    unitNodes.push(bySpeed.slice(group * replicationFactor, (group + 1) * replicationFactor));
  }
  // Pinning a layer to a leftover node cannot be honoured.
  const grouped = new Set(unitNodes.flat());
  for (const [layerId, node] of affinity) {
    if (!grouped.has(node)) {
      throw new AssignmentError(
        `Affinity pins layer ${layerId} to ${node}, left out of every replica group`,
      );
    }
  }
  unitNodes.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  const units: Unit[] = unitNodes.map((group, rank) => ({
    capacity: Math.min(...group.map(capacityOf)),
    memoryBytesMax: Math.min(...group.map(memoryOf)),
    rank,
  }));
  const unitOfNode = new Map<NodeId, number>();
  unitNodes.forEach((group, index) => group.forEach((node) => unitOfNode.set(node, index)));
  const linkCosts = options.linkCosts;
  const link = (from: number, to: number): number => {
    if (linkCosts === undefined) return 1;
    const a = unitNodes[from]![0]!;
    const b = unitNodes[to]![0]!;
    const cost = linkCosts.get(a)?.get(b) ?? linkCosts.get(b)?.get(a);
    if (cost === undefined || !(cost >= 0)) {
      throw new AssignmentError(`Link cost between ${a} and ${b} is missing or negative`);
    }
    return cost;
  };
  const problem: PartitionProblem = {
    costs: layers.map((layer) => layer.computeCost),
    memoryBytes: layers.map((layer) => layer.memoryBytes),
    outputSizes: layers.map((layer) => layer.outputSize),
    pins: layers.map((layer) => {
      const node = affinity.get(layer.id);
      return node === undefined ? -1 : unitOfNode.get(node)!;
    }),
    units,
    link,
  };
  const idleNodes = sorted.filter((node) => !grouped.has(node));
  return { problem, unitNodes, idleNodes, layers, affinity };
}

function build(strategy: AssignmentStrategy, input: PreparedInput, plan: Plan): Assignment {
  const used = new Set(plan.segments.map((segment) => segment.unit));
  const stages: Stage[] = plan.segments.map((segment, index) => {
    const stageLayers = input.layers.slice(segment.start, segment.end);
    const computeCost = stageLayers.reduce((sum, layer) => sum + layer.computeCost, 0);
    const capacity = input.problem.units[segment.unit]!.capacity;
    return {
      index,
      nodes: input.unitNodes[segment.unit]!,
      layerIds: stageLayers.map((layer) => layer.id),
      computeCost,
      capacityFlopsPerMs: capacity,
      estimatedTimeMs: computeCost / capacity,
    };
  });
  const idleNodes = [
    ...input.idleNodes,
    ...input.unitNodes.filter((_, index) => !used.has(index)).flat(),
  ].sort();
  return {
    strategy,
    stages,
    dependencies: dependenciesOf(
      stages,
      input.layers,
      (index) => input.problem.link(plan.segments[index]!.unit, plan.segments[index + 1]!.unit),
    ),
    bottleneckMs: plan.bottleneckMs,
    transferCost: plan.transferCost,
    idleNodes,
    layers: input.layers,
    affinity: input.affinity,
  };
}

function transferOf(dependencies: DependencyGraph): number {
  return dependencies.edges.reduce((sum, edge) => sum + edge.linkCost * edge.activationSize, 0);
}

function dependenciesOf(
  stages: readonly Stage[],
  layers: readonly LayerInfo[],
  linkCostAfter: (stageIndex: number) => number,
): DependencyGraph {
  const outputOf = new Map(layers.map((layer) => [layer.id, layer.outputSize] as const));
  const edges: DependencyEdge[] = [];
  for (let index = 1; index < stages.length; index++) {
    const lastLayer = stages[index - 1]!.layerIds.at(-1)!;
    edges.push({
      fromStage: index - 1,
      toStage: index,
      activationSize: outputOf.get(lastLayer)!,
      linkCost: linkCostAfter(index - 1),
    });
  }
  return { edges, executionOrder: stages.map((stage) => stage.nodes[0]!) };
}
