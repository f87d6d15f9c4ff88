import assert from "node:assert/strict";
import { conflicting, verifyEquivocation } from "./evidence.ts";
import { signMessage } from "./frame.ts";
import type { CoordinationMessage } from "./message.ts";
import { sampleMessages } from "./_samples.ts";
import { testCluster } from "./_test_keys.ts";

const { signers, membership } = await testCluster();
const samples = await sampleMessages(signers);
const suspicion = samples.get("Suspicion")!;
if (suspicion.type !== "Suspicion") throw new Error("sample is not a Suspicion");

Deno.test("verifyEquivocation() accepts two conflicting Prepares signed by the suspect", async () => {
  const verdict = await verifyEquivocation(suspicion.evidence, { membership, suspect: "node-3" });
  assert.ok(verdict.ok);
});

Deno.test("verifyEquivocation() rejects evidence against another node", async () => {
  const verdict = await verifyEquivocation(suspicion.evidence, { membership, suspect: "node-2" });
  assert.equal(verdict.ok ? "" : verdict.error.code, "evidence_wrong_suspect");
});

Deno.test("verifyEquivocation() rejects a resend and a timeout as not conflicting", async () => {
  if (suspicion.evidence.kind !== "Equivocation") throw new Error();
  const { first } = suspicion.evidence;
  const same = await verifyEquivocation(
    { kind: "Equivocation", first, second: first },
    { membership, suspect: "node-3" },
  );
  assert.equal(same.ok ? "" : same.error.code, "evidence_not_conflicting");
  const timeout = await verifyEquivocation({ kind: "Timeout", phiMilli: 9000 }, {
    membership,
    suspect: "node-3",
  });
  assert.equal(timeout.ok ? "" : timeout.error.code, "evidence_not_conflicting");
});

Deno.test("verifyEquivocation() rejects a bad signature", async () => {
  if (suspicion.evidence.kind !== "Equivocation") throw new Error();
  const second = { ...suspicion.evidence.second, signature: new Uint8Array(64) };
  const verdict = await verifyEquivocation(
    { ...suspicion.evidence, second },
    { membership, suspect: "node-3" },
  );
  assert.equal(verdict.ok ? "" : verdict.error.code, "evidence_bad_signature");
});

Deno.test("conflicting() follows the TLA+ Conflicting slots", () => {
  const stage = {
    type: "StageOutput",
    inferenceId: 1,
    from: "node-2",
    view: 0,
    epoch: 0,
    sequence: 1,
    seed: 7,
    token: 1,
    stage: 1,
    value: new Uint8Array(32),
  } as const;
  const otherValue = { ...stage, sequence: 2, value: new Uint8Array(32).fill(1) };
  assert.ok(conflicting(stage, otherValue));
  assert.ok(!conflicting(stage, { ...otherValue, token: 2 }), "another token is another slot");
  assert.ok(!conflicting(stage, { ...otherValue, from: "node-3" }), "another signer");
  assert.ok(!conflicting(stage, { ...otherValue, inferenceId: 2 }), "another inference");
  const heartbeat: CoordinationMessage = { ...samples.get("Heartbeat")! };
  assert.ok(!conflicting(heartbeat, { ...heartbeat, sentAtMs: 1 } as CoordinationMessage));
  const checkpoint = samples.get("Checkpoint")!;
  if (checkpoint.type !== "Checkpoint") throw new Error("sample is not a Checkpoint");
  assert.ok(conflicting(checkpoint, { ...checkpoint, view: 9, digest: new Uint8Array(32) }));
});

Deno.test("verifyEquivocation() rejects a malformed message", async () => {
  const first = await signMessage(samples.get("Commit")!, signers[0]!);
  const verdict = await verifyEquivocation(
    {
      kind: "Equivocation",
      first,
      second: { body: new Uint8Array([1]), signature: first.signature },
    },
    { membership, suspect: "node-0" },
  );
  assert.equal(verdict.ok ? "" : verdict.error.code, "evidence_malformed");
});

Deno.test("conflicting() takes a checkpoint sent again in a later view as the same checkpoint", () => {
  const checkpoint: CoordinationMessage = {
    type: "Checkpoint",
    inferenceId: 1,
    from: "node-1",
    view: 0,
    epoch: 0,
    sequence: 1,
    seed: 1,
    position: 10,
    digest: new Uint8Array(32),
  };
  assert.ok(!conflicting(checkpoint, { ...checkpoint, view: 3, sequence: 9 }));
  assert.ok(
    conflicting(checkpoint, { ...checkpoint, view: 3, digest: new Uint8Array(32).fill(1) }),
  );
  // A vote's view is its slot: the same value in two views is two votes, not a conflict either.
  const prepare: CoordinationMessage = {
    type: "Prepare",
    inferenceId: 1,
    from: "node-1",
    view: 0,
    epoch: 0,
    sequence: 1,
    value: new Uint8Array(32),
  };
  assert.ok(!conflicting(prepare, { ...prepare, view: 1 }));
});
