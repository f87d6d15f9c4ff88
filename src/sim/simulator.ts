/**
 * The deterministic simulator (after TigerBeetle's VOPR): one seed chooses the cluster, the
 * Byzantine nodes and every fault (loss, duplication, reordering, crashes, false suspicions,
 * premature view-change timeouts, Byzantine messages: equivocation, wrong votes, garbage
 * outputs, lies in view changes). Each honest node has its own inbox and is driven only through
 * the core's `step`: a node's turn handles what arrived, or the model answers one of the stages
 * it asked for (`compute` effects, answered with the spec's `Compute`), and the failure
 * detector, the view-change timer and restarts are events too. Its persists and sends are
 * carried out with the durability checks of `applyStep`, and a restarted node gets back what its
 * disk holds and nothing else. After every step the spec's safety invariants are checked. A safety
 * phase with faults is followed by a liveness phase in which the faults stop and every honest
 * node must commit. Each rule of the liveness phase stands for a runtime mechanism:
 *
 * - crashed nodes recover: a supervisor restarts a node process from its durable state;
 * - every message sent reaches every honest node: the transport retransmits until acknowledged
 *   (and a node that was down fetches what it missed);
 * - false suspicions clear: heartbeats from running nodes reach the failure detector;
 * - a node that has not committed and whose view is stuck moves to the next view
 *   (`ViewTimeout`): its view-change timer, started when it entered the view, expires. Stuck is
 *   no honest node having a step enabled (the spec's `ViewStuck`, and stricter: pending
 *   exclusion evidence counts as a step here), which is what a timeout long enough for the
 *   network means after stabilisation. One node times out at a time, from the lowest view, as
 *   PBFT's timers do, which double with each view a node moves through: a node in a later view
 *   waits longer.
 *
 * The failure detector is not needed in the liveness phase: nothing is assumed of a Byzantine
 * primary that runs (it may heartbeat and still withhold); the timer replaces it.
 *
 * @module
 */

import { commitStableViolations, invariantViolations } from "../core/invariants.ts";
import {
  type ClusterConfig,
  clusterConfig,
  computeValue,
  type DurableState,
  GARBAGE,
  NO_VALUE,
  NO_VOTE,
  type NodeIndex,
  type NodeState,
  resultOf,
  seedOfValue,
  type SpecMessage,
  stageValue,
  type Vote,
} from "../core/spec_state.ts";
import { MessageLog } from "../core/received.ts";
import { type ComputeEffect, type NodeEvent, type Ready, step } from "../core/step.ts";
import { Prng } from "./prng.ts";
import {
  applyStep,
  crash,
  deliver,
  EffectError,
  type EnvironmentConfig,
  initialSystem,
  isUp,
  mayTimeOut,
  recover,
  type SystemState,
} from "./system.ts";

/** Nodes in a simulated cluster by default (3f + 1 with f = 1). */
export const SIMULATION_NODE_COUNT = 4;
/** The cluster sizes the simulator runs: 3f + 1 for f = 1 and f = 2. */
export const SIMULATION_NODE_COUNTS: readonly number[] = [4, 7];
/**
 * The last view, per f: above what crashes, Byzantine primaries, false suspicions and premature
 * timeouts can use up (each moves some nodes on by one view).
 */
export const SIMULATION_VIEW_MAX = 8;
/** The last view with f = 2: two Byzantine primaries in a row can cost two views more. */
export const SIMULATION_VIEW_MAX_SEVEN_NODES = 12;
/** The most crashes in a run. */
export const SIMULATION_CRASHES_MAX = 3;
/** The most false suspicions and premature view-change timeouts in a run (each moves a node). */
export const SIMULATION_FALSE_SUSPICIONS_MAX = 2;
/** The most messages the Byzantine node signs in a run. */
export const SIMULATION_BYZANTINE_MESSAGES_MAX = 40;
/** The most packets in flight; beyond it the network drops new ones. */
export const SIMULATION_IN_FLIGHT_MAX = 4096;
/** Rounds of the liveness phase (each honest node steps once a round) before it fails. */
export const SIMULATION_LIVENESS_ROUNDS_MAX = 400;

/** Options of {@linkcode simulate}. */
export interface SimulateOptions {
  /** The seed every choice follows from. */
  readonly seed: number;
  /** Steps of the safety phase. */
  readonly steps: number;
  /** Nodes: 4 (f = 1, the default) or 7 (f = 2); one of {@linkcode SIMULATION_NODE_COUNTS}. */
  readonly nodeCount?: number;
  /** A change to the cluster (the tests switch in a core bug to see the simulator catch it). */
  readonly adjustCluster?: (cluster: ClusterConfig) => ClusterConfig;
  /**
   * A change to each step's result before the simulator carries it out (the tests drop an
   * effect to see the simulator catch it).
   */
  readonly adjustReady?: (ready: Ready) => Ready;
}

/** What a run did. */
export interface SimulationReport {
  /** The seed. */
  readonly seed: number;
  /** Whether every invariant held and every honest node committed. */
  readonly ok: boolean;
  /** What failed, at which step and phase; empty when ok. */
  readonly failure: string;
  /** Steps taken in both phases. */
  readonly steps: number;
  /** The Byzantine nodes, if any. */
  readonly byzantine: readonly NodeIndex[];
  /** The highest view an honest node reached. */
  readonly viewReached: number;
  /** The value the honest nodes committed (`-1` if none). */
  readonly committed: number;
  /** Honest nodes that committed by state transfer (`LearnCommit`) rather than by voting. */
  readonly learned: number;
  /** View-change timeouts in the liveness phase (`ViewTimeout` on a stuck view). */
  readonly timeouts: number;
}

interface Packet {
  readonly to: NodeIndex;
  readonly message: SpecMessage;
}

interface Faults {
  readonly lossProbability: number;
  readonly duplicationProbability: number;
  readonly crashProbability: number;
  readonly suspicionProbability: number;
  readonly byzantineProbability: number;
}

interface Simulation {
  readonly prng: Prng;
  /** Draws for premature view-change timeouts. */
  readonly timerPrng: Prng;
  readonly system: SystemState;
  readonly faults: Faults;
  readonly adjustReady: (ready: Ready) => Ready;
  readonly inboxes: MessageLog[];
  /** Per node, the stages its steps asked the model for and it has not answered. */
  readonly computations: Map<string, ComputeEffect>[];
  readonly inFlight: Packet[];
  falseSuspicions: number;
  steps: number;
  learned: number;
  timeouts: number;
}

class SimulationFailure extends Error {}

function honestNodes(sim: Simulation): NodeIndex[] {
  return sim.system.nodes.map((n) => n.id).filter((i) =>
    !sim.system.environment.byzantine.includes(i)
  );
}

function receive(sim: Simulation, to: NodeIndex, message: SpecMessage): void {
  (sim.inboxes[to - 1] as MessageLog).add(message);
}

// Sends to every honest node: the sender's inbox at once, the others through the network.
function broadcast(sim: Simulation, from: NodeIndex | undefined, message: SpecMessage): void {
  for (const to of honestNodes(sim)) {
    if (to === from) receive(sim, to, message);
    else if (sim.inFlight.length < SIMULATION_IN_FLIGHT_MAX) sim.inFlight.push({ to, message });
  }
}

function check(sim: Simulation, before: readonly NodeState[], phase: string): void {
  const { system } = sim;
  const byzantine = system.environment.byzantine;
  const found = [
    ...invariantViolations({
      cluster: system.cluster,
      nodes: system.nodes,
      messages: system.messages,
      byzantine,
    }),
    ...commitStableViolations(before, system.nodes, byzantine),
  ];
  if (found.length > 0) {
    throw new SimulationFailure(`${phase} step ${sim.steps}: ${found.join("; ")}`);
  }
}

// Steps a node with an event (the core's `step`) and carries out what it returns: the state,
// persists and sends (`applyStep`), the sends into the network (or, in the liveness phase, every
// honest inbox at once), and the stages it asks the model for. Returns the step's result.
function runStep(
  sim: Simulation,
  node: NodeIndex,
  event: NodeEvent,
  deliverAtOnce: boolean,
): Ready {
  const { system } = sim;
  const state = system.nodes[node - 1] as NodeState;
  const received = sim.inboxes[node - 1] as MessageLog;
  const ready = sim.adjustReady(step({ cluster: system.cluster, state, received }, event));
  applyStep(system, node, ready);
  if (ready.actions.includes("LearnCommit")) sim.learned += 1;
  const pending = sim.computations[node - 1] as Map<string, ComputeEffect>;
  for (const effect of ready.effects) {
    if (effect.kind === "send") {
      if (deliverAtOnce) { for (const to of honestNodes(sim)) receive(sim, to, effect.message); }
      else broadcast(sim, node, effect.message);
    } else if (effect.kind === "compute") {
      pending.set(computationKey(effect), effect);
    }
  }
  return ready;
}

// A computation the node asked for, as its key among the pending ones.
function computationKey(computation: ComputeEffect): string {
  return `${computation.token}/${computation.stage}/${computation.input}`;
}

// The model answers one of the node's computations: the spec's Compute (an honest replica's
// stage is a function of its input). A computation the node no longer wants is refused by the
// guard.
function modelAnswers(
  sim: Simulation,
  node: NodeIndex,
  computation: ComputeEffect,
  deliverAtOnce: boolean,
): Ready {
  const pending = sim.computations[node - 1] as Map<string, ComputeEffect>;
  pending.delete(computationKey(computation));
  return runStep(sim, node, {
    kind: "computed",
    token: computation.token,
    stage: computation.stage,
    input: computation.input,
    output: computeValue(computation.input, computation.token, computation.stage),
  }, deliverAtOnce);
}

// A node's turn: it handles what arrived, or (half the time, when it asked for one) the model
// answers one of its computations.
function nodeStep(sim: Simulation, node: NodeIndex): void {
  const pending = [...(sim.computations[node - 1] as Map<string, ComputeEffect>).values()];
  if (pending.length > 0 && sim.prng.chance(0.5)) {
    modelAnswers(sim, node, sim.prng.pick(pending), false);
  } else {
    runStep(sim, node, { kind: "messages" }, false);
  }
}

// In the liveness phase: the node handles what arrived and the model answers every computation
// it asks for, until it asks for none. Whether it took an action.
function settle(sim: Simulation, node: NodeIndex): boolean {
  let acted = runStep(sim, node, { kind: "messages" }, true).actions.length > 0;
  const pending = sim.computations[node - 1] as Map<string, ComputeEffect>;
  while (pending.size > 0) {
    const next = pending.values().next().value as ComputeEffect;
    acted = modelAnswers(sim, node, next, true).actions.length > 0 || acted;
  }
  return acted;
}

function randomVote(system: SystemState, prng: Prng, viewBelow: number): Vote {
  if (viewBelow <= 0 || prng.chance(0.3)) return NO_VOTE;
  return { view: prng.below(viewBelow), value: prng.pick(byzantineResults(system)) };
}

// The spec's ValuesAt(t, s): the output of each seed, and garbage, at a token and stage.
function byzantineValues(system: SystemState, token: number, stage: number): number[] {
  return [GARBAGE, ...system.cluster.seeds].map((x) => stageValue(x, token, stage));
}

function byzantineResults(system: SystemState): number[] {
  return byzantineValues(system, system.cluster.tokenCount, system.cluster.stageCount);
}

/**
 * A random message a Byzantine node might sign (the spec's ByzantineMessages): any type, any
 * view up to the highest reached plus one, any value; never under another node's identity.
 * `byzantineSend` refuses the few it may not sign.
 *
 * @param system The system.
 * @param prng The draws.
 * @param sender The Byzantine node.
 * @returns The message.
 */
export function byzantineMessage(system: SystemState, prng: Prng, sender: NodeIndex): SpecMessage {
  const cluster = system.cluster;
  const viewHigh = Math.min(cluster.viewMax, Math.max(...system.nodes.map((n) => n.view)) + 1);
  const view = prng.below(viewHigh + 1);
  const value = prng.pick(byzantineResults(system));
  const seed = prng.pick(cluster.seeds);
  switch (prng.below(7)) {
    case 0:
      return { type: "Assign", view: 0, seed, from: sender };
    case 1:
      return { type: "PrePrepare", view, value, from: sender };
    case 2:
      return { type: "Prepare", view, value, from: sender };
    case 3:
      return { type: "Commit", view, value, from: sender };
    case 4: {
      const token = 1 + prng.below(cluster.tokenCount);
      const stage = 1 + prng.below(cluster.stageCount);
      return {
        type: "StageOutput",
        view,
        seed,
        token,
        stage,
        value: prng.pick(byzantineValues(system, token, stage)),
        from: sender,
      };
    }
    case 5: {
      const position = 1 + prng.below(cluster.tokenCount);
      const digest = Array.from(
        { length: position },
        (_, t) => prng.pick(byzantineValues(system, t + 1, cluster.stageCount)),
      );
      return { type: "Checkpoint", seed, position, digest, from: sender };
    }
    default: {
      const target = Math.max(1, view);
      return {
        type: "ViewChange",
        view: target,
        prepared: randomVote(system, prng, target),
        voted: randomVote(system, prng, target),
        from: sender,
      };
    }
  }
}

function byzantineStep(sim: Simulation): void {
  const { system, prng } = sim;
  const byzantine = system.environment.byzantine;
  if (byzantine.length === 0 || system.byzantineSent >= system.environment.byzantineMessagesMax) {
    return;
  }
  // One Byzantine node takes no draw, as before there could be two.
  const sender = byzantine.length === 1 ? byzantine[0] as NodeIndex : prng.pick(byzantine);
  const message = byzantineMessage(system, prng, sender);
  const twin = equivocation(sim, message);
  deliver(system, message);
  system.byzantineSent += 1;
  if (twin !== undefined) {
    deliver(system, twin);
    system.byzantineSent += 1;
  }
  // Each honest node gets one of the two (or, without a twin, the message or nothing).
  for (const to of honestNodes(sim)) {
    if (prng.chance(0.5)) sim.inFlight.push({ to, message });
    else if (twin !== undefined) sim.inFlight.push({ to, message: twin });
  }
}

// The same slot with the other seed or value: the split an equivocating primary or voter aims at.
function equivocation(sim: Simulation, message: SpecMessage): SpecMessage | undefined {
  const { cluster } = sim.system;
  const [first, second] = cluster.seeds as [number, number];
  const other = (x: number): number => x === first ? second : first;
  switch (message.type) {
    case "Assign":
      return { ...message, seed: other(message.seed) };
    case "PrePrepare":
    case "Prepare":
    case "Commit": {
      // The other seed's result; garbage's twin is the first seed's.
      const seed = seedOfValue(message.value);
      return { ...message, value: resultOf(other(seed), cluster) };
    }
    default:
      return undefined;
  }
}

function networkStep(sim: Simulation): void {
  const { prng, inFlight, faults } = sim;
  if (inFlight.length === 0) return;
  const index = prng.below(inFlight.length);
  const packet = inFlight[index] as Packet;
  if (prng.chance(faults.duplicationProbability)) {
    receive(sim, packet.to, packet.message);
    return;
  }
  inFlight[index] = inFlight[inFlight.length - 1] as Packet;
  inFlight.pop();
  if (prng.chance(faults.lossProbability)) return;
  // A crashed node's network stack drops what arrives.
  if (sim.system.status[packet.to - 1] === "up") receive(sim, packet.to, packet.message);
}

function detectorStep(sim: Simulation): void {
  const { prng, system } = sim;
  const node = prng.pick(honestNodes(sim));
  if (!isUp(system, node)) return;
  const peer = prng.pick(system.nodes.map((n) => n.id).filter((j) => j !== node));
  // Drawn from a second stream, after the first stream's draws of this step: until a premature
  // timeout changes what the nodes can do, a seed draws the faults it drew before view-change
  // timers existed.
  if (sim.timerPrng.chance(0.25)) {
    prematureTimeout(sim, node);
    return;
  }
  const state = system.nodes[node - 1] as NodeState;
  const faulty = system.status[peer - 1] === "crashed" ||
    system.environment.byzantine.includes(peer);
  if (state.suspected.includes(peer)) {
    if (!faulty) runStep(sim, node, { kind: "heartbeat", peer }, false);
    return;
  }
  if (!faulty) {
    if (sim.falseSuspicions >= SIMULATION_FALSE_SUSPICIONS_MAX) return;
    sim.falseSuspicions += 1;
  }
  runStep(sim, node, { kind: "suspect", peer }, false);
}

// A view-change timer that expires while the view could still commit (timeouts are premature
// before stabilisation: the spec's ViewTimerExpired with FalseSuspicions). Counted with the
// false suspicions, since each may move a node on by one view.
function prematureTimeout(sim: Simulation, node: NodeIndex): void {
  const { system } = sim;
  if (sim.falseSuspicions >= SIMULATION_FALSE_SUSPICIONS_MAX) return;
  if (!mayTimeOut(system, false)) return;
  const state = system.nodes[node - 1] as NodeState;
  const ready = runStep(sim, node, { kind: "timeout", view: state.view }, false);
  if (ready.actions[0] === "ViewTimeout") sim.falseSuspicions += 1;
}

function crashStep(sim: Simulation): void {
  const { prng, system } = sim;
  const node = prng.pick(honestNodes(sim));
  if (system.status[node - 1] === "crashed") {
    restart(sim, node, false);
    return;
  }
  if (!crash(system, node).ok) return;
  // What the model was computing for it is lost with the process.
  (sim.computations[node - 1] as Map<string, ComputeEffect>).clear();
  // The inbox is volatile; the node restarts with what it signed, read back from its disk
  // (`signedLogs`: each send effect wrote its message there first). Without it a restarted node
  // could sign a second Assign, PrePrepare or Checkpoint for one slot and be excluded as
  // Byzantine (the simulator found that as an ExclusionAccuracy violation).
  sim.inboxes[node - 1] = new MessageLog(system.signedLogs[node - 1]);
}

// A crashed node's process starts again: the supervisor restarts it from its disk (the core's
// `restart` event).
function restart(sim: Simulation, node: NodeIndex, deliverAtOnce: boolean): void {
  const { system } = sim;
  if (!recover(system, node).ok) return;
  const durable = system.disks[node - 1] as DurableState;
  runStep(sim, node, { kind: "restart", durable }, deliverAtOnce);
}

function safetyStep(sim: Simulation): void {
  const { prng, faults, system } = sim;
  const before = system.nodes.slice();
  const roll = prng.below(100);
  if (roll < 45) networkStep(sim);
  else if (roll < 90) {
    const node = prng.pick(honestNodes(sim));
    if (isUp(system, node)) nodeStep(sim, node);
  } else if (prng.chance(faults.byzantineProbability * 10)) byzantineStep(sim);
  else if (prng.chance(faults.suspicionProbability * 10)) detectorStep(sim);
  else if (prng.chance(faults.crashProbability * 10)) crashStep(sim);
  sim.steps += 1;
  check(sim, before, "safety");
}

// The faults stop: crashed nodes recover, every message sent reaches every honest node (the
// runtime retransmits), false suspicions clear and faulty primaries are suspected.
function heal(sim: Simulation): void {
  const { system } = sim;
  for (const node of honestNodes(sim)) {
    if (system.status[node - 1] === "crashed") restart(sim, node, true);
  }
  sim.inFlight.length = 0;
  for (const message of system.messages) {
    for (const to of honestNodes(sim)) receive(sim, to, message);
  }
  // Heartbeats from every running honest node clear the false suspicions.
  for (const node of honestNodes(sim)) {
    for (const peer of honestNodes(sim)) {
      if (!(system.nodes[node - 1] as NodeState).suspected.includes(peer)) continue;
      runStep(sim, node, { kind: "heartbeat", peer }, true);
    }
  }
}

// The view is stuck (no honest node has a step enabled, every message delivered) and some honest
// node has not committed: the view-change timer of one uncommitted node in the lowest view that
// started expires (ViewTimeout; the lowest node id first), so the nodes left behind in a view (a
// crash or a false suspicion moved some, not all, to a later view) catch up, and a view whose
// coordinator is up but cannot commit is left. One node at a time: once it moved, the view may
// no longer be stuck (it may join a view change or handle a NewView). Returns whether a node
// timed out.
function viewChangeTimeout(sim: Simulation): boolean {
  const { system } = sim;
  const waiting = honestNodes(sim).map((i) => system.nodes[i - 1] as NodeState)
    .sort((a, b) => a.view - b.view || a.id - b.id);
  for (const state of waiting) {
    // Refused for a committed node, at the last view, or in a view that has not started.
    const ready = runStep(sim, state.id, { kind: "timeout", view: state.view }, true);
    if (ready.actions[0] !== "ViewTimeout") continue;
    sim.timeouts += 1;
    return true;
  }
  return false;
}

function livenessPhase(sim: Simulation): void {
  heal(sim);
  const { system } = sim;
  for (let round = 0; round < SIMULATION_LIVENESS_ROUNDS_MAX; round++) {
    if (honestNodes(sim).every((i) => (system.nodes[i - 1] as NodeState).committed !== NO_VALUE)) {
      return;
    }
    let progressed = false;
    for (const node of honestNodes(sim)) {
      const before = system.nodes.slice();
      progressed = settle(sim, node) || progressed;
      sim.steps += 1;
      check(sim, before, "liveness");
    }
    if (progressed) continue;
    const before = system.nodes.slice();
    const timedOut = viewChangeTimeout(sim);
    check(sim, before, "liveness");
    if (!timedOut) break;
  }
  const waiting = honestNodes(sim).filter((i) =>
    (system.nodes[i - 1] as NodeState).committed === NO_VALUE
  );
  // Every honest node must commit, including one left alone in a later view after the others
  // committed without it: it learns the certified result (LearnCommit, state transfer).
  if (waiting.length > 0) {
    const views = waiting.map((i) => `node ${i} in view ${system.nodes[i - 1]?.view}`);
    throw new SimulationFailure(`liveness: ${views.join(", ")} never committed`);
  }
}

function setUp(options: SimulateOptions): Simulation {
  const prng = new Prng(options.seed);
  const nodeCount = options.nodeCount ?? SIMULATION_NODE_COUNT;
  if (!SIMULATION_NODE_COUNTS.includes(nodeCount)) {
    throw new RangeError(`nodeCount must be one of ${SIMULATION_NODE_COUNTS}, got ${nodeCount}`);
  }
  const faultsMax = Math.floor((nodeCount - 1) / 3);
  const base = clusterConfig({
    nodeCount,
    faultsMax,
    stageCount: 1 + prng.below(3),
    tokenCount: 1 + prng.below(3),
    checkpointIntervalTokens: 1,
    replicaCount: 2 * faultsMax + 1,
    seeds: [1, 2],
    viewMax: faultsMax === 1 ? SIMULATION_VIEW_MAX : SIMULATION_VIEW_MAX_SEVEN_NODES,
  });
  const cluster = options.adjustCluster === undefined ? base : options.adjustCluster(base);
  const byzantine = prng.chance(0.6) ? byzantineNodes(prng, nodeCount, faultsMax) : [];
  const environment: EnvironmentConfig = {
    byzantine,
    byzantineMessagesMax: SIMULATION_BYZANTINE_MESSAGES_MAX,
    crashesMax: SIMULATION_CRASHES_MAX,
    falseSuspicions: true,
  };
  const faults: Faults = {
    lossProbability: prng.below(30) / 100,
    duplicationProbability: prng.below(20) / 100,
    crashProbability: prng.below(5) / 100,
    suspicionProbability: prng.below(5) / 100,
    byzantineProbability: byzantine.length === 0 ? 0 : (1 + prng.below(9)) / 100,
  };
  const system = initialSystem(cluster, environment);
  return {
    prng,
    timerPrng: new Prng((options.seed ^ TIMER_STREAM) >>> 0),
    system,
    faults,
    adjustReady: options.adjustReady ?? ((ready) => ready),
    inboxes: system.nodes.map(() => new MessageLog()),
    computations: system.nodes.map(() => new Map()),
    inFlight: [],
    falseSuspicions: 0,
    steps: 0,
    learned: 0,
    timeouts: 0,
  };
}

// The second stream's seed is the run's seed with these bits flipped.
const TIMER_STREAM = 0x5bd1_e995;

// Between 1 and f distinct Byzantine nodes, ascending (with f = 1, one draw, as before f = 2).
function byzantineNodes(prng: Prng, nodeCount: number, faultsMax: number): NodeIndex[] {
  if (faultsMax === 1) return [1 + prng.below(nodeCount)];
  const count = 1 + prng.below(faultsMax);
  const chosen = new Set<NodeIndex>();
  while (chosen.size < count) chosen.add(1 + prng.below(nodeCount));
  return [...chosen].sort((a, b) => a - b);
}

/**
 * Runs one simulation: a safety phase of `steps` steps with faults, then a liveness phase
 * without, checking the spec's invariants after every step.
 *
 * @param options The seed and the safety phase's length.
 * @returns The report; `ok` false with the failure and the seed that reproduces it.
 *
 * @example Usage
 * ```ts
 * import { simulate } from "@butterfly/bcp/sim";
 * import assert from "node:assert/strict";
 * const report = simulate({ seed: 42, steps: 300 });
 * assert.ok(report.ok, report.failure);
 * ```
 */
export function simulate(options: SimulateOptions): SimulationReport {
  const sim = setUp(options);
  let failure = "";
  try {
    for (let step = 0; step < options.steps; step++) safetyStep(sim);
    livenessPhase(sim);
  } catch (error) {
    if (error instanceof EffectError) failure = `durability: ${error.message}`;
    else if (error instanceof SimulationFailure) failure = error.message;
    else throw error;
  }
  const honest = honestNodes(sim).map((i) => sim.system.nodes[i - 1] as NodeState);
  return {
    seed: options.seed,
    ok: failure === "",
    failure,
    steps: sim.steps,
    byzantine: sim.system.environment.byzantine,
    viewReached: Math.max(...honest.map((n) => n.view)),
    committed: Math.max(...honest.map((n) => n.committed)),
    learned: sim.learned,
    timeouts: sim.timeouts,
  };
}
