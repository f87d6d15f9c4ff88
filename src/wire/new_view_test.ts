import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { signMessage } from "./frame.ts";
import type { NodeSigner } from "./identity.ts";
import type { Digest, MessageOf, SignedMessage, VoteClaim } from "./message.ts";
import { primaryOfView, verifyNewView } from "./new_view.ts";
import { sampleMessages, samplePrepare } from "./_samples.ts";
import { TEST_FAULTS_MAX, testCluster, testSecretKey } from "./_test_keys.ts";
import { createNodeSigner } from "./identity.ts";
import fc from "fast-check";
import { allowedSeeds } from "../core/_tally.ts";
import { MessageLog } from "../core/received.ts";
import { clusterConfig, NO_VOTE, resultOf } from "../core/spec_state.ts";

const { signers, membership } = await testCluster();
const byId = new Map(signers.map((signer) => [signer.nodeId, signer]));
const sample = (await sampleMessages(signers)).get("NewView") as MessageOf<"NewView">;
const digest = (text: string): Digest => sha256(new TextEncoder().encode(text));
const result = digest("result");
// Seed 7's result is the sample's value; seed 8's is another.
const results = new Map<number, Digest>([[7, result], [8, digest("other")]]);
const options = {
  membership,
  faultsMax: TEST_FAULTS_MAX,
  resultOf: (seed: number) => results.get(seed),
};
const prepares = await Promise.all(signers.slice(0, 3).map((signer) => samplePrepare(signer)));

interface Claims {
  readonly prepared?: { view: number; value: Digest; certificate: SignedMessage[] };
  readonly voted?: VoteClaim;
}

async function viewChange(signer: NodeSigner, claims: Claims = {}, view = 2) {
  return await signMessage({
    type: "ViewChange",
    inferenceId: 42,
    from: signer.nodeId,
    view,
    epoch: 2,
    sequence: 20,
    ...claims,
  }, signer);
}

function newView(
  viewChanges: SignedMessage[],
  seed = 9,
  from = "node-2",
  view = 2,
): MessageOf<"NewView"> {
  return { ...sample, from, view, seed, viewChanges };
}

async function codeOf(message: MessageOf<"NewView">): Promise<string> {
  const verdict = await verifyNewView(message, options);
  return verdict.ok ? "accepted" : verdict.error.code;
}

const plain = await Promise.all(
  ["node-0", "node-1", "node-3"].map((id) => viewChange(byId.get(id)!)),
);

Deno.test("primaryOfView() is TLA+ Primary(v) = (v % N) + 1 over the sorted ids", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 6].map((view) => primaryOfView(view, membership)), [
    "node-0",
    "node-1",
    "node-2",
    "node-3",
    "node-0",
    "node-2",
  ]);
});

Deno.test("verifyNewView() accepts the sample, whose prepared certificates pin the seed", async () => {
  const verdict = await verifyNewView(sample, options);
  assert.ok(verdict.ok, verdict.ok ? "" : verdict.error.message);
  assert.deepEqual(verdict.value.requiredValue, result);
  assert.deepEqual(verdict.value.signers, ["node-0", "node-1", "node-3"]);
  assert.equal(verdict.value.primary, "node-2");
  assert.equal(await codeOf({ ...sample, seed: 8 }), "new_view_seed_not_allowed");
  assert.equal(await codeOf({ ...sample, seed: 99 }), "new_view_seed_not_allowed"); // unknown
});

Deno.test("verifyNewView() accepts a pinned NewView whose result is unknown only for the cluster's only seed", async () => {
  const unknown = { membership, faultsMax: TEST_FAULTS_MAX, resultOf: () => undefined };
  const verdict = async (message: MessageOf<"NewView">, onlySeed?: number) => {
    const checked = await verifyNewView(message, { ...unknown, onlySeed });
    return checked.ok ? "accepted" : checked.error.code;
  };
  assert.equal(await verdict(sample), "new_view_seed_not_allowed");
  assert.equal(await verdict(sample, sample.seed), "accepted");
  assert.equal(await verdict(sample, sample.seed + 1), "new_view_seed_not_allowed");
  // A known result still decides: the only seed with another result is refused.
  const known = { ...options, onlySeed: 8 };
  const other = await verifyNewView({ ...sample, seed: 8 }, known);
  assert.equal(other.ok ? "accepted" : other.error.code, "new_view_seed_not_allowed");
});

Deno.test("verifyNewView() allows any seed when the view changes claim nothing", async () => {
  const verdict = await verifyNewView(newView(plain, 99), options);
  assert.ok(verdict.ok && verdict.value.requiredValue === undefined);
});

Deno.test("verifyNewView() rejects a NewView not from the view's primary, or for view 0", async () => {
  assert.equal(await codeOf(newView(plain, 9, "node-3")), "new_view_not_primary");
  assert.equal(await codeOf(newView(plain, 9, "node-0", 0)), "new_view_not_primary");
});

Deno.test("verifyNewView() rejects view changes that are not a valid quorum for the view", async () => {
  assert.equal(await codeOf(newView(plain.slice(0, 2))), "certificate_below_quorum");
  assert.equal(
    await codeOf(newView([plain[0]!, plain[1]!, plain[0]!])),
    "certificate_duplicate_signer",
  );
  const other = await viewChange(byId.get("node-3")!, {}, 3);
  assert.equal(
    await codeOf(newView([plain[0]!, plain[1]!, other])),
    "certificate_vote_mismatch",
  );
  const stranger = await createNodeSigner("node-9", testSecretKey("node-9"));
  assert.equal(
    await codeOf(newView([plain[0]!, plain[1]!, await viewChange(stranger)])),
    "certificate_non_member",
  );
  const broken = { body: plain[2]!.body, signature: plain[2]!.signature.slice() };
  broken.signature[7]! ^= 1;
  assert.equal(
    await codeOf(newView([plain[0]!, plain[1]!, broken])),
    "certificate_bad_signature",
  );
  const prepare = prepares[0]!;
  assert.equal(
    await codeOf(newView([prepare, plain[1]!, plain[2]!])),
    "certificate_vote_mismatch",
  );
});

Deno.test("verifyNewView() ignores a prepared claim whose certificate does not verify", async () => {
  const short = { view: 1, value: digest("forged"), certificate: prepares.slice(0, 2) };
  const viewChanges = [
    await viewChange(byId.get("node-0")!, { prepared: short }),
    plain[1]!,
    plain[2]!,
  ];
  const verdict = await verifyNewView(newView(viewChanges, 8), options);
  assert.ok(verdict.ok && verdict.value.requiredValue === undefined);
  assert.equal(verdict.value.ignoredClaims, 1);
  // A claim whose value differs from its Prepares' is ignored the same way.
  const lying = { view: 1, value: digest("forged"), certificate: prepares };
  const lie = newView([
    await viewChange(byId.get("node-0")!, { prepared: lying }),
    plain[1]!,
    plain[2]!,
  ], 8);
  assert.equal(await codeOf(lie), "accepted");
});

Deno.test("verifyNewView() pins the seed to a value F + 1 view changes voted for", async () => {
  const voted = { view: 1, value: digest("other") };
  const viewChanges = [
    await viewChange(byId.get("node-0")!, { voted }),
    await viewChange(byId.get("node-1")!, { voted }),
    plain[2]!,
  ];
  assert.equal(await codeOf(newView(viewChanges, 8)), "accepted");
  assert.equal(await codeOf(newView(viewChanges, 7)), "new_view_seed_not_allowed");
  // One voter is not F + 1: any seed.
  assert.equal(await codeOf(newView([viewChanges[0]!, plain[1]!, plain[2]!], 7)), "accepted");
  // A prepared certificate of a view at least as high wins over the fast-path votes.
  const prepared = { view: 1, value: result, certificate: prepares };
  const both = [
    await viewChange(byId.get("node-0")!, { voted, prepared }),
    viewChanges[1]!,
    plain[2]!,
  ];
  assert.equal(await codeOf(newView(both, 7)), "accepted");
  assert.equal(await codeOf(newView(both, 8)), "new_view_seed_not_allowed");
});

// The core's AllowedSeeds on the same claims, with the results as spec values: result A is seed
// 1's, B seed 2's.
const coreCluster = clusterConfig({
  nodeCount: 4,
  faultsMax: TEST_FAULTS_MAX,
  stageCount: 1,
  tokenCount: 1,
  checkpointIntervalTokens: 1,
  replicaCount: 3,
  seeds: [1, 2],
  viewMax: 2,
});
const DIGESTS = [digest("result A"), digest("result B")];
const SPEC_VALUES = [1, 2].map((seed) => resultOf(seed, coreCluster));
const seedResults = new Map<number, Digest>([[1, DIGESTS[0]!], [2, DIGESTS[1]!]]);

// Every Prepare a certificate may hold: per view 0..1, value A or B and signer.
const signedPrepares = new Map<string, SignedMessage>();
for (const view of [0, 1]) {
  for (const v of [0, 1]) {
    for (const signer of signers) {
      signedPrepares.set(
        `${view}/${v}/${signer.nodeId}`,
        await signMessage({
          type: "Prepare",
          inferenceId: 42,
          from: signer.nodeId,
          view,
          epoch: 2,
          sequence: 10,
          value: DIGESTS[v]!,
        }, signer),
      );
    }
  }
}

Deno.test("verifyNewView() allows the seeds the core's AllowedSeeds allows, on random view changes", async () => {
  const claim = fc.option(fc.record({ view: fc.nat(1), value: fc.nat(1) }), { nil: undefined });
  const viewChangeArbitrary = fc.record({ prepared: claim, voted: claim });
  // Who signed the Prepares of each (view, value): the certificate every claim of it carries.
  const signersArbitrary = fc.array(fc.subarray([0, 1, 2, 3], { minLength: 1 }), {
    minLength: 4,
    maxLength: 4,
  });
  await fc.assert(
    fc.asyncProperty(
      fc.subarray([0, 1, 3], { minLength: 3, maxLength: 3 }).chain((from) =>
        fc.tuple(
          fc.constant(from),
          fc.array(viewChangeArbitrary, { minLength: from.length, maxLength: from.length }),
        )
      ),
      fc.boolean(),
      signersArbitrary,
      async ([from, claims], withPrimary, certificateSigners) => {
        const senders = withPrimary ? [...from.slice(0, 2), 2] : from;
        const certificateOf = (view: number, v: number): number[] =>
          certificateSigners[view * 2 + v] as number[];
        const wire: SignedMessage[] = [];
        const received = new MessageLog();
        for (let k = 0; k < senders.length; k++) {
          const sender = senders[k] as number;
          const { prepared, voted } = claims[k] as (typeof claims)[number];
          wire.push(
            await viewChange(signers[sender]!, {
              ...(prepared === undefined ? {} : {
                prepared: {
                  view: prepared.view,
                  value: DIGESTS[prepared.value]!,
                  certificate: certificateOf(prepared.view, prepared.value).map((s) =>
                    signedPrepares.get(`${prepared.view}/${prepared.value}/node-${s}`)!
                  ),
                },
              }),
              ...(voted === undefined ? {} : {
                voted: { view: voted.view, value: DIGESTS[voted.value]! },
              }),
            }),
          );
          const vote = (c: typeof prepared) =>
            c === undefined ? NO_VOTE : { view: c.view, value: SPEC_VALUES[c.value]! };
          received.add({
            type: "ViewChange",
            view: 2,
            prepared: vote(prepared),
            voted: vote(voted),
            from: sender + 1,
          });
          if (prepared !== undefined) {
            for (const s of certificateOf(prepared.view, prepared.value)) {
              received.add({
                type: "Prepare",
                view: prepared.view,
                value: SPEC_VALUES[prepared.value]!,
                from: s + 1,
              });
            }
          }
        }
        const allowed = allowedSeeds(coreCluster, received, received.ofType("ViewChange"));
        for (const seed of [1, 2]) {
          const verdict = await verifyNewView(newView(wire, seed), {
            membership,
            faultsMax: TEST_FAULTS_MAX,
            resultOf: (x: number) => seedResults.get(x),
          });
          const code = verdict.ok ? "accepted" : verdict.error.code;
          assert.equal(code, allowed.includes(seed) ? "accepted" : "new_view_seed_not_allowed");
        }
      },
    ),
    { numRuns: 400 },
  );
});
