// Derived quantities the guards share: the spec's Signers, VoteCount, CertifiedOutputs,
// StageInputs, PreparedCertificate, AllowedSeeds and ValidViewChangeQuorum, over the messages a
// node has received.
import type {
  ClusterConfig,
  NodeIndex,
  NodeState,
  SpecMessage,
  ViewChangeMessage,
} from "./spec_state.ts";
import { isReplica, resultOf, stageValue } from "./spec_state.ts";
import { messageKey } from "./message_key.ts";
import type { ReceivedMessages } from "./received.ts";

/** Tally of the distinct signers (minus the node's exclusions) of the messages matching. */
export function tallyWhere<M extends SpecMessage>(
  node: NodeState,
  messages: readonly M[],
  matches: (message: M) => boolean,
): number {
  return tallyOf(messages, matches, node.excluded);
}

/**
 * Tally of the distinct signers of the messages matching, whoever the node excludes: what a
 * certificate is judged by (the spec's `{m.from : ...}` rather than `Signers(i, ...)`).
 */
export function signatureTallyWhere<M extends SpecMessage>(
  messages: readonly M[],
  matches: (message: M) => boolean,
): number {
  return tallyOf(messages, matches, NO_EXCLUSIONS);
}

function tallyOf<M extends SpecMessage>(
  messages: readonly M[],
  matches: (message: M) => boolean,
  excluded: readonly NodeIndex[],
): number {
  let signers: Set<NodeIndex> | undefined;
  for (const message of messages) {
    if (matches(message) && !excluded.includes(message.from)) {
      (signers ??= new Set()).add(message.from);
    }
  }
  return signers?.size ?? 0;
}

const NO_EXCLUSIONS: readonly NodeIndex[] = [];

/** The spec's VoteCount(i, type, v, x). */
export function voteCount(
  node: NodeState,
  received: ReceivedMessages,
  type: "Prepare" | "Commit",
  view: number,
  value: number,
): number {
  return votesOf(received, type, view, value, node.excluded);
}

/**
 * The distinct signers of the `type` votes for `value` in `view`, whoever the node excludes: a
 * certificate is judged by its signatures (the spec's `CommitCertificate` and
 * `PreparedCertificate` count `{m.from : ...}`, not `Signers(i, ...)`).
 */
export function certificateCount(
  received: ReceivedMessages,
  type: "Prepare" | "Commit",
  view: number,
  value: number,
): number {
  return votesOf(received, type, view, value, NO_EXCLUSIONS);
}

// tallyOf() without the closure: this runs for every view and value in a replay's enabledness
// check.
function votesOf(
  received: ReceivedMessages,
  type: "Prepare" | "Commit",
  view: number,
  value: number,
  excluded: readonly NodeIndex[],
): number {
  let signers: Set<NodeIndex> | undefined;
  for (const m of received.ofType(type)) {
    if (m.view === view && m.value === value && !excluded.includes(m.from)) {
      (signers ??= new Set()).add(m.from);
    }
  }
  return signers?.size ?? 0;
}

/** Whether `value` is in the spec's CertifiedOutputs(i, t, s). */
export function isCertifiedOutput(
  node: NodeState,
  cluster: ClusterConfig,
  received: ReceivedMessages,
  token: number,
  stage: number,
  value: number,
): boolean {
  const count = tallyWhere(
    node,
    received.ofType("StageOutput"),
    (m) =>
      m.view === node.view && m.seed === node.seed &&
      m.token === token && m.stage === stage && m.value === value &&
      isReplica(m.from, node.view, stage, cluster),
  );
  return count >= cluster.stageAcceptThreshold;
}

/** Whether `value` is in the spec's StageInputs(i, t, s). */
export function isStageInput(
  node: NodeState,
  cluster: ClusterConfig,
  received: ReceivedMessages,
  token: number,
  stage: number,
  value: number,
): boolean {
  if (stage > 1) return isCertifiedOutput(node, cluster, received, token, stage - 1, value);
  if (token === 1) return value === stageValue(node.seed, 0, 0);
  return node.tokens.length >= token - 1 && node.tokens[token - 2] === value;
}

/**
 * The spec's ViewStarted(i): view 0, or a quorum signed view-change messages for the node's view
 * (every signer counts). A node leaves only a view that started.
 */
export function viewStarted(
  node: NodeState,
  cluster: ClusterConfig,
  received: ReceivedMessages,
): boolean {
  if (node.view === 0) return true;
  const viewChanges = received.ofType("ViewChange");
  return signatureTallyWhere(viewChanges, (m) => m.view === node.view) >=
    cluster.quorum;
}

/** The spec's PreparedCertificate(v, x): a quorum of signed Prepare votes, nobody excluded. */
export function preparedCertificate(
  cluster: ClusterConfig,
  received: ReceivedMessages,
  view: number,
  value: number,
): boolean {
  return certificateCount(received, "Prepare", view, value) >= cluster.quorum;
}

function highestView(views: readonly number[]): number {
  return views.length === 0 ? -1 : Math.max(...views);
}

/** The spec's AllowedSeeds(vcs), ascending. */
export function allowedSeeds(
  cluster: ClusterConfig,
  received: ReceivedMessages,
  viewChanges: readonly ViewChangeMessage[],
): readonly number[] {
  const certs = viewChanges
    .filter((vc) =>
      vc.prepared.view >= 0 &&
      preparedCertificate(cluster, received, vc.prepared.view, vc.prepared.value)
    )
    .map((vc) => vc.prepared);
  const fast = viewChanges.map((vc) => vc.voted).filter((voted) => {
    if (voted.view < 0) return false;
    const voters = new Set(
      viewChanges.filter((vc) => vc.voted.view === voted.view && vc.voted.value === voted.value)
        .map((vc) => vc.from),
    );
    return voters.size >= cluster.faultsMax + 1;
  });
  const certView = highestView(certs.map((c) => c.view));
  const fastView = highestView(fast.map((c) => c.view));
  let chosen: Set<number>;
  if (certView >= fastView && certView >= 0) {
    chosen = new Set(certs.filter((c) => c.view === certView).map((c) => c.value));
  } else if (fastView >= 0) {
    chosen = new Set(fast.filter((c) => c.view === fastView).map((c) => c.value));
  } else {
    chosen = new Set();
  }
  if (chosen.size === 1) return cluster.seeds.filter((x) => chosen.has(resultOf(x, cluster)));
  return cluster.seeds;
}

/** The spec's ValidViewChangeQuorum(vcs, v): received, for view v, distinct signers, a quorum. */
export function validViewChangeQuorum(
  cluster: ClusterConfig,
  received: ReceivedMessages,
  viewChanges: readonly ViewChangeMessage[],
  view: number,
): boolean {
  // Type and view first: a quorum that fails them is invalid whatever was received, and the
  // received messages that can match are then only view changes of `view` by these senders.
  const signers = new Set<NodeIndex>();
  for (const vc of viewChanges) {
    if (vc.type !== "ViewChange" || vc.view !== view) return false;
    signers.add(vc.from);
  }
  const receivedKeys = new Set<string>();
  for (const m of received.ofType("ViewChange")) {
    if (m.view === view && signers.has(m.from)) {
      receivedKeys.add(messageKey(m));
    }
  }
  const keys = new Set<string>();
  for (const vc of viewChanges) {
    const key = messageKey(vc);
    if (!receivedKeys.has(key)) return false;
    keys.add(key);
  }
  return signers.size >= cluster.quorum && signers.size === keys.size;
}

/** The subsets of `items` with `size` elements (the spec's QuorumSubsets), in a fixed order. */
export function subsetsOfSize<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [head, ...rest] = items as [T, ...T[]];
  return [
    ...subsetsOfSize(rest, size - 1).map((subset) => [head, ...subset]),
    ...subsetsOfSize(rest, size),
  ];
}
