// Derived quantities the guards share: the spec's Signers, VoteCount, CertifiedOutputs,
// StageInputs, PreparedCertificate, AllowedSeeds and ValidViewChangeQuorum, over the messages a
// node has received.
import type {
  ClusterConfig,
  NodeIndex,
  NodeState,
  SpecMessage,
  Value,
  ViewChangeMessage,
} from "./spec_state.ts";
import { isReplica } from "./spec_state.ts";
import { messageKey } from "./message_key.ts";
import type { ReceivedMessages } from "./received.ts";

/** Tally of the distinct signers (minus the node's exclusions) of the messages matching. */
export function tallyWhere<M extends SpecMessage<Value>>(
  node: NodeState<Value>,
  messages: readonly M[],
  matches: (message: M) => boolean,
): number {
  return tallyOf(messages, matches, node.excluded);
}

/**
 * Tally of the distinct signers of the messages matching, whoever the node excludes: what a
 * certificate is judged by (the spec's `{m.from : ...}` rather than `Signers(i, ...)`).
 */
export function signatureTallyWhere<M extends SpecMessage<Value>>(
  messages: readonly M[],
  matches: (message: M) => boolean,
): number {
  return tallyOf(messages, matches, NO_EXCLUSIONS);
}

function tallyOf<M extends SpecMessage<Value>>(
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
export function voteCount<V extends Value>(
  node: NodeState<V>,
  received: ReceivedMessages<V>,
  type: "Prepare" | "Commit",
  view: number,
  value: V,
): number {
  return votesOf(received, type, view, value, node.excluded);
}

/**
 * The distinct signers of the `type` votes for `value` in `view`, whoever the node excludes: a
 * certificate is judged by its signatures (the spec's `CommitCertificate` and
 * `PreparedCertificate` count `{m.from : ...}`, not `Signers(i, ...)`).
 */
export function certificateCount<V extends Value>(
  received: ReceivedMessages<V>,
  type: "Prepare" | "Commit",
  view: number,
  value: V,
): number {
  return votesOf(received, type, view, value, NO_EXCLUSIONS);
}

// tallyOf() without the closure: this runs for every view and value in a replay's enabledness
// check.
function votesOf<V extends Value>(
  received: ReceivedMessages<V>,
  type: "Prepare" | "Commit",
  view: number,
  value: V,
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
export function isCertifiedOutput<V extends Value>(
  node: NodeState<V>,
  cluster: ClusterConfig<V>,
  received: ReceivedMessages<V>,
  token: number,
  stage: number,
  value: V,
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
export function isStageInput<V extends Value>(
  node: NodeState<V>,
  cluster: ClusterConfig<V>,
  received: ReceivedMessages<V>,
  token: number,
  stage: number,
  value: V,
): boolean {
  if (stage > 1) return isCertifiedOutput(node, cluster, received, token, stage - 1, value);
  if (token === 1) return value === cluster.values.firstInput(node.seed);
  return node.tokens.length >= token - 1 && node.tokens[token - 2] === value;
}

/**
 * The spec's ViewStarted(i): view 0, or a quorum signed view-change messages for the node's view
 * (every signer counts). A node leaves only a view that started.
 */
export function viewStarted<V extends Value>(
  node: NodeState<V>,
  cluster: ClusterConfig<V>,
  received: ReceivedMessages<V>,
): boolean {
  if (node.view === 0) return true;
  const viewChanges = received.ofType("ViewChange");
  return signatureTallyWhere(viewChanges, (m) => m.view === node.view) >=
    cluster.quorum;
}

/** The spec's PreparedCertificate(v, x): a quorum of signed Prepare votes, nobody excluded. */
export function preparedCertificate<V extends Value>(
  cluster: ClusterConfig<V>,
  received: ReceivedMessages<V>,
  view: number,
  value: V,
): boolean {
  return certificateCount(received, "Prepare", view, value) >= cluster.quorum;
}

function highestView(views: readonly number[]): number {
  return views.length === 0 ? -1 : Math.max(...views);
}

/** A vote a view change reports: its view and value (any value type the caller compares). */
export interface Claim<V> {
  /** The view the vote was cast in. */
  readonly view: number;
  /** The value voted for. */
  readonly value: V;
}

/** What a quorum of view changes allows the new view's seed to be. */
export type SeedChoice<V> =
  | { readonly kind: "any" }
  | {
    readonly kind: "pinned";
    /** The value the seed's result must be. */
    readonly value: V;
    /** The view of the claims that pin it. */
    readonly view: number;
  };

/**
 * The choice inside the spec's `AllowedSeeds(vcs)`, over any value type: of the prepared claims
 * whose certificate holds (`certified`) take the highest view, and of the voted claims that
 * F + 1 distinct signers report alike (a fast-path commit's trace) the highest view; the chosen
 * values are those of the certificates of the higher one (certificates when the views tie), and
 * exactly one chosen value pins the seed to the one whose result it is. The spec's
 * `allowedSeeds` and the wire's `verifyNewView` both decide by it.
 *
 * @param certified The prepared claims whose prepared certificate holds.
 * @param voted Each view change's signer and voted claim (none: no vote).
 * @param faultsMax F.
 * @param same Whether two values are equal.
 * @returns Any seed, or the value the seed's result must be.
 */
export function seedChoice<V>(
  certified: readonly Claim<V>[],
  voted: readonly { readonly from: unknown; readonly claim: Claim<V> | undefined }[],
  faultsMax: number,
  same: (a: V, b: V) => boolean,
): SeedChoice<V> {
  const alike = (a: Claim<V>, b: Claim<V>): boolean => a.view === b.view && same(a.value, b.value);
  const fast: Claim<V>[] = [];
  for (const { claim } of voted) {
    if (claim === undefined) continue;
    const voters = new Set(
      voted.filter((v) => v.claim && alike(v.claim, claim)).map((v) => v.from),
    );
    if (voters.size >= faultsMax + 1) fast.push(claim);
  }
  const certView = highestView(certified.map((c) => c.view));
  const fastView = highestView(fast.map((c) => c.view));
  const chosen = certView >= fastView && certView >= 0
    ? certified.filter((c) => c.view === certView)
    : fastView >= 0
    ? fast.filter((c) => c.view === fastView)
    : [];
  const values: V[] = [];
  for (const claim of chosen) {
    if (!values.some((value) => same(value, claim.value))) values.push(claim.value);
  }
  if (values.length !== 1) return { kind: "any" };
  return { kind: "pinned", value: values[0] as V, view: (chosen[0] as Claim<V>).view };
}

/**
 * Whether a seed is one a {@linkcode SeedChoice} allows.
 *
 * A pinned value has an honest signer (a certificate's quorum, or F + 1 alike votes), and an
 * honest node votes only for the result it computed, so the pinned value is the result of a
 * seed the cluster assigns (TLC checks this as `PinnedValuesAreResults`, `tla/MCPinned.tla`).
 * A node that does not know the seed's result yet (it has not computed every token) can still
 * tell when the cluster assigns one seed only: the pinned value is that seed's result.
 *
 * @param choice The choice.
 * @param result The seed's result, or `undefined` when it is not known.
 * @param same Whether two values are equal.
 * @param onlySeed Whether the seed is the only one the cluster assigns; an unknown result is
 *   refused when pinned unless it is.
 * @returns Whether the seed is allowed.
 */
export function seedAllowed<V>(
  choice: SeedChoice<V>,
  result: V | undefined,
  same: (a: V, b: V) => boolean,
  onlySeed = false,
): boolean {
  if (choice.kind === "any") return true;
  return result === undefined ? onlySeed : same(result, choice.value);
}

const sameValue = (a: Value, b: Value): boolean => a === b;

/**
 * The spec's AllowedSeeds(vcs), ascending: with a seed's result as the cluster knows it
 * (`values.resultOf`; a seed whose result is unknown is not allowed when the view changes pin
 * one, unless it is the cluster's only seed, see {@linkcode seedAllowed}).
 */
export function allowedSeeds<V extends Value>(
  cluster: ClusterConfig<V>,
  received: ReceivedMessages<V>,
  viewChanges: readonly ViewChangeMessage<V>[],
): readonly number[] {
  const certified = viewChanges
    .filter((vc) =>
      vc.prepared.view >= 0 &&
      preparedCertificate(cluster, received, vc.prepared.view, vc.prepared.value)
    )
    .map((vc) => vc.prepared as Claim<V>);
  const voted = viewChanges.map((vc) => ({
    from: vc.from,
    claim: vc.voted.view < 0 ? undefined : vc.voted as Claim<V>,
  }));
  const choice = seedChoice<V>(certified, voted, cluster.faultsMax, sameValue);
  if (choice.kind === "any") return cluster.seeds;
  const only = cluster.seeds.length === 1;
  return cluster.seeds.filter((x) =>
    seedAllowed(choice, cluster.values.resultOf(x), sameValue, only)
  );
}

/** The spec's ValidViewChangeQuorum(vcs, v): received, for view v, distinct signers, a quorum. */
export function validViewChangeQuorum<V extends Value>(
  cluster: ClusterConfig<V>,
  received: ReceivedMessages<V>,
  viewChanges: readonly ViewChangeMessage<V>[],
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
