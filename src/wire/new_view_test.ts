import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { signMessage } from "./frame.ts";
import type { NodeSigner } from "./identity.ts";
import type { Digest, MessageOf, SignedMessage, VoteClaim } from "./message.ts";
import { primaryOfView, verifyNewView } from "./new_view.ts";
import { sampleMessages, samplePrepare } from "./_samples.ts";
import { TEST_FAULTS_MAX, testCluster, testSecretKey } from "./_test_keys.ts";
import { createNodeSigner } from "./identity.ts";

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
