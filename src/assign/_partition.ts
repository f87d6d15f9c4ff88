/**
 * Exact contiguous partitioning of a layer chain over units (nodes, or replica groups), by
 * dynamic programming. Private to `work_assigner.ts`.
 *
 * A plan cuts layers [0, L) into contiguous segments, one per used unit, each unit used at most
 * once. A segment [i, j) on unit u is allowed when its time (cost / capacity) is within the
 * threshold, its memory fits the unit, and every layer pinned in it is pinned to u. Among the
 * allowed plans the solvers minimize (transfer cost, bottleneck time) lexicographically; that
 * order obeys the principle of optimality (transfer is additive, the bottleneck monotone), so
 * the DP is exact. Minimizing the bottleneck itself is a search over thresholds.
 *
 * @module
 */

/** A unit that runs one stage: a node, or r nodes running the same stage. */
export interface Unit {
  /** Pipeline speed in FLOPs per millisecond (the slowest replica's). */
  readonly capacity: number;
  /** Memory available, in bytes (the smallest replica's); Infinity when unlimited. */
  readonly memoryBytesMax: number;
  /** Canonical rank of the unit: equal units are used in this order, so plans are deterministic. */
  readonly rank: number;
}

/** The layer chain and units to partition. */
export interface PartitionProblem {
  /** Compute cost of each layer, in FLOPs. */
  readonly costs: readonly number[];
  /** Memory of each layer, in bytes. */
  readonly memoryBytes: readonly number[];
  /** Activation elements each layer hands on. */
  readonly outputSizes: readonly number[];
  /** For each layer, the unit it is pinned to, or -1. */
  readonly pins: readonly number[];
  /** The units; none has zero capacity. */
  readonly units: readonly Unit[];
  /** Cost per activation element of sending from unit `from` to unit `to`. */
  readonly link: (from: number, to: number) => number;
}

/** One stage of a plan: unit `unit` runs layers [start, end). */
export interface Segment {
  readonly unit: number;
  readonly start: number;
  readonly end: number;
}

/** A partition with its figures. */
export interface Plan {
  readonly segments: readonly Segment[];
  readonly bottleneckMs: number;
  readonly transferCost: number;
}

/** Most capacity-class states the load-balancing DP explores (product of class sizes + 1). */
export const CLASS_STATES_MAX = 4096;
/** Most units the topology-aware DP handles: it explores every ordering (2^n n states per cut). */
export const TOPOLOGY_UNITS_MAX = 8;

class Prefix {
  readonly cost: Float64Array;
  readonly memory: Float64Array;
  constructor(problem: PartitionProblem) {
    const count = problem.costs.length;
    this.cost = new Float64Array(count + 1);
    this.memory = new Float64Array(count + 1);
    for (let i = 0; i < count; i++) {
      this.cost[i + 1] = this.cost[i]! + problem.costs[i]!;
      this.memory[i + 1] = this.memory[i]! + problem.memoryBytes[i]!;
    }
  }
  timeMs(start: number, end: number, unit: Unit): number {
    return (this.cost[end]! - this.cost[start]!) / unit.capacity;
  }
  fits(start: number, end: number, unit: Unit): boolean {
    return this.memory[end]! - this.memory[start]! <= unit.memoryBytesMax;
  }
}

/** Every segment time that could be a bottleneck, sorted ascending and deduplicated. */
export function thresholdCandidates(problem: PartitionProblem): number[] {
  const prefix = new Prefix(problem);
  const capacities = [...new Set(problem.units.map((unit) => unit.capacity))];
  const values = new Set<number>();
  const count = problem.costs.length;
  for (let start = 0; start < count; start++) {
    for (let end = start + 1; end <= count; end++) {
      for (const capacity of capacities) {
        values.add((prefix.cost[end]! - prefix.cost[start]!) / capacity);
      }
    }
  }
  return [...values].sort((left, right) => left - right);
}

/** The smallest candidate threshold for which `feasible` holds, or undefined if none does. */
export function smallestFeasible(
  candidates: readonly number[],
  feasible: (thresholdMs: number) => boolean,
): number | undefined {
  if (candidates.length === 0 || !feasible(candidates.at(-1)!)) return undefined;
  let low = 0;
  let high = candidates.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (feasible(candidates[middle]!)) high = middle;
    else low = middle + 1;
  }
  return candidates[low];
}

function better(
  transfer: number,
  bottleneck: number,
  bestTransfer: number,
  bestBottleneck: number,
): boolean {
  return transfer < bestTransfer || (transfer === bestTransfer && bottleneck < bestBottleneck);
}

/**
 * Load-balancing DP over capacity classes: units with the same capacity, memory and no pins are
 * interchangeable, so the state is how many of each class are used, not which. Links count as
 * uniform (transfer = activation elements crossing stage boundaries).
 */
export function solveByClasses(problem: PartitionProblem, thresholdMs: number): Plan | undefined {
  const prefix = new Prefix(problem);
  const layerCount = problem.costs.length;
  const pinned = new Set(problem.pins.filter((pin) => pin >= 0));
  const classes: { unit: Unit; members: number[]; pinnedUnit: number }[] = [];
  const order = problem.units.map((_, index) => index).sort((a, b) =>
    problem.units[a]!.rank - problem.units[b]!.rank
  );
  for (const index of order) {
    const unit = problem.units[index]!;
    const match = pinned.has(index)
      ? undefined
      : classes.find((group) =>
        group.pinnedUnit < 0 && group.unit.capacity === unit.capacity &&
        group.unit.memoryBytesMax === unit.memoryBytesMax
      );
    if (match !== undefined) match.members.push(index);
    else classes.push({ unit, members: [index], pinnedUnit: pinned.has(index) ? index : -1 });
  }
  const strides: number[] = [];
  let stateCount = 1;
  for (const group of classes) {
    strides.push(stateCount);
    stateCount *= group.members.length + 1;
    if (stateCount > CLASS_STATES_MAX) {
      throw new RangeError(
        `Too many distinct node capacities for an exact plan (more than ${CLASS_STATES_MAX} ` +
          "capacity-class states); group nodes into fewer capacity classes",
      );
    }
  }
  const width = layerCount + 1;
  const size = stateCount * width;
  const transfer = new Float64Array(size).fill(Infinity);
  const bottleneck = new Float64Array(size).fill(Infinity);
  const back = new Int32Array(size).fill(-1);
  const backClass = new Int32Array(size).fill(-1);
  transfer[0] = 0;
  bottleneck[0] = 0;
  for (let start = 0; start < layerCount; start++) {
    for (let state = 0; state < stateCount; state++) {
      const from = state * width + start;
      if (transfer[from] === Infinity) continue;
      const crossing = start > 0 ? problem.outputSizes[start - 1]! : 0;
      for (let c = 0; c < classes.length; c++) {
        const group = classes[c]!;
        const used = Math.floor(state / strides[c]!) % (group.members.length + 1);
        if (used === group.members.length) continue;
        const next = state + strides[c]!;
        for (let end = start + 1; end <= layerCount; end++) {
          const pin = problem.pins[end - 1]!;
          if (pin >= 0 && pin !== group.pinnedUnit) break;
          const timeMs = prefix.timeMs(start, end, group.unit);
          if (timeMs > thresholdMs || !prefix.fits(start, end, group.unit)) break;
          const to = next * width + end;
          const newTransfer = transfer[from]! + crossing;
          const newBottleneck = Math.max(bottleneck[from]!, timeMs);
          if (better(newTransfer, newBottleneck, transfer[to]!, bottleneck[to]!)) {
            transfer[to] = newTransfer;
            bottleneck[to] = newBottleneck;
            back[to] = from;
            backClass[to] = c;
          }
        }
      }
    }
  }
  let best = -1;
  for (let state = 0; state < stateCount; state++) {
    const at = state * width + layerCount;
    if (transfer[at] === Infinity) continue;
    if (best < 0 || better(transfer[at]!, bottleneck[at]!, transfer[best]!, bottleneck[best]!)) {
      best = at;
    }
  }
  if (best < 0) return undefined;
  const cuts: { group: number; start: number; end: number }[] = [];
  for (let at = best; back[at]! >= 0; at = back[at]!) {
    cuts.push({ group: backClass[at]!, start: back[at]! % width, end: at % width });
  }
  cuts.reverse();
  const nextMember = classes.map(() => 0);
  const segments = cuts.map(({ group, start, end }) => ({
    unit: classes[group]!.members[nextMember[group]!++]!,
    start,
    end,
  }));
  return planOf(problem, segments);
}

/**
 * Exact DP over orderings for link-aware plans: the state is (units used, last unit, layers
 * covered), so the cost of each link between consecutive stages is known. At most
 * {@linkcode TOPOLOGY_UNITS_MAX} units.
 */
export function solveBySubsets(problem: PartitionProblem, thresholdMs: number): Plan | undefined {
  const unitCount = problem.units.length;
  if (unitCount > TOPOLOGY_UNITS_MAX) {
    throw new RangeError(
      `Topology-aware plans are exact and explore every node order, so they support at most ` +
        `${TOPOLOGY_UNITS_MAX} stages' worth of nodes, got ${unitCount}`,
    );
  }
  const prefix = new Prefix(problem);
  const layerCount = problem.costs.length;
  const width = layerCount + 1;
  const size = (1 << unitCount) * unitCount * width;
  const transfer = new Float64Array(size).fill(Infinity);
  const bottleneck = new Float64Array(size).fill(Infinity);
  const back = new Int32Array(size).fill(-1);
  const indexOf = (mask: number, last: number, end: number): number =>
    (mask * unitCount + last) * width + end;
  const relax = (to: number, from: number, newTransfer: number, newBottleneck: number): void => {
    if (better(newTransfer, newBottleneck, transfer[to]!, bottleneck[to]!)) {
      transfer[to] = newTransfer;
      bottleneck[to] = newBottleneck;
      back[to] = from;
    }
  };
  const extend = (
    from: number,
    unit: number,
    start: number,
    mask: number,
    base: number,
    peak: number,
  ): void => {
    const target = problem.units[unit]!;
    for (let end = start + 1; end <= layerCount; end++) {
      const pin = problem.pins[end - 1]!;
      if (pin >= 0 && pin !== unit) break;
      const timeMs = prefix.timeMs(start, end, target);
      if (timeMs > thresholdMs || !prefix.fits(start, end, target)) break;
      relax(indexOf(mask | (1 << unit), unit, end), from, base, Math.max(peak, timeMs));
    }
  };
  for (let unit = 0; unit < unitCount; unit++) extend(-1, unit, 0, 0, 0, 0);
  for (let mask = 1; mask < 1 << unitCount; mask++) {
    for (let last = 0; last < unitCount; last++) {
      if ((mask & (1 << last)) === 0) continue;
      for (let start = 1; start < layerCount; start++) {
        const from = indexOf(mask, last, start);
        if (transfer[from] === Infinity) continue;
        for (let unit = 0; unit < unitCount; unit++) {
          if ((mask & (1 << unit)) !== 0) continue;
          const linkCost = problem.link(last, unit) * problem.outputSizes[start - 1]!;
          extend(from, unit, start, mask, transfer[from]! + linkCost, bottleneck[from]!);
        }
      }
    }
  }
  let best = -1;
  for (let mask = 1; mask < 1 << unitCount; mask++) {
    for (let last = 0; last < unitCount; last++) {
      const at = indexOf(mask, last, layerCount);
      if (transfer[at] === Infinity) continue;
      if (best < 0 || better(transfer[at]!, bottleneck[at]!, transfer[best]!, bottleneck[best]!)) {
        best = at;
      }
    }
  }
  if (best < 0) return undefined;
  const segments: Segment[] = [];
  for (let at = best; at >= 0; at = back[at]!) {
    const end = at % width;
    const unit = Math.floor(at / width) % unitCount;
    const previous = back[at]!;
    segments.push({ unit, start: previous < 0 ? 0 : previous % width, end });
  }
  segments.reverse();
  return planOf(problem, segments);
}

/**
 * Fixed-order DP for rebalancing: units keep their pipeline order and each keeps a non-empty
 * stage; among plans within the threshold, the one moving the fewest layers off their current
 * unit (then the lowest bottleneck).
 */
export function solveFixedOrder(
  problem: PartitionProblem,
  thresholdMs: number,
  currentUnits: readonly number[],
): Plan | undefined {
  const prefix = new Prefix(problem);
  const layerCount = problem.costs.length;
  const unitCount = problem.units.length;
  const width = layerCount + 1;
  const moved = new Float64Array((unitCount + 1) * width).fill(Infinity);
  const bottleneck = new Float64Array((unitCount + 1) * width).fill(Infinity);
  const back = new Int32Array((unitCount + 1) * width).fill(-1);
  moved[0] = 0;
  bottleneck[0] = 0;
  for (let stage = 0; stage < unitCount; stage++) {
    const unit = problem.units[stage]!;
    for (let start = 0; start < layerCount; start++) {
      const from = stage * width + start;
      if (moved[from] === Infinity) continue;
      let movedHere = 0;
      for (let end = start + 1; end <= layerCount; end++) {
        const pin = problem.pins[end - 1]!;
        if (pin >= 0 && pin !== stage) break;
        const timeMs = prefix.timeMs(start, end, unit);
        if (timeMs > thresholdMs || !prefix.fits(start, end, unit)) break;
        if (currentUnits[end - 1] !== stage) movedHere++;
        const to = (stage + 1) * width + end;
        const newMoved = moved[from]! + movedHere;
        const newBottleneck = Math.max(bottleneck[from]!, timeMs);
        if (better(newMoved, newBottleneck, moved[to]!, bottleneck[to]!)) {
          moved[to] = newMoved;
          bottleneck[to] = newBottleneck;
          back[to] = from;
        }
      }
    }
  }
  const final = unitCount * width + layerCount;
  if (moved[final] === Infinity) return undefined;
  const segments: Segment[] = [];
  for (let at = final; back[at]! >= 0; at = back[at]!) {
    segments.push({ unit: Math.floor(at / width) - 1, start: back[at]! % width, end: at % width });
  }
  segments.reverse();
  return planOf(problem, segments);
}

/** Figures of a plan: its bottleneck time and its transfer cost under the problem's links. */
export function planOf(problem: PartitionProblem, segments: readonly Segment[]): Plan {
  const prefix = new Prefix(problem);
  let bottleneckMs = 0;
  let transferCost = 0;
  segments.forEach((segment, index) => {
    bottleneckMs = Math.max(
      bottleneckMs,
      prefix.timeMs(segment.start, segment.end, problem.units[segment.unit]!),
    );
    if (index > 0) {
      const previous = segments[index - 1]!;
      transferCost += problem.link(previous.unit, segment.unit) *
        problem.outputSizes[segment.start - 1]!;
    }
  });
  return { segments, bottleneckMs, transferCost };
}
