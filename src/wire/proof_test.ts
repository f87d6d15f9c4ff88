import assert from "node:assert/strict";
import { createNodeSigner, Membership } from "./identity.ts";
import { InferenceResult, Proof } from "./proof.ts";
import type { ProofLinkData } from "./message.ts";
import { testCluster, testSecretKey } from "./_test_keys.ts";
import type { WireResult } from "./wire_error.ts";

const { signers, membership } = await testCluster();
const encoder = new TextEncoder();
const input = encoder.encode("the prompt");
const output = encoder.encode("the output");
const result = new InferenceResult(5, output);
const proof = await Proof.generate(5, {
  input,
  output,
  steps: [
    { output: encoder.encode("stage 1"), signer: signers[1]! },
    { output: encoder.encode("stage 2"), signer: signers[2]! },
  ],
});

function codeOf(verdict: WireResult<unknown>): string {
  return verdict.ok ? "accepted" : verdict.error.code;
}

function withLinks(links: readonly ProofLinkData[]): Proof {
  return new Proof({ ...proof.toData(), links });
}

Deno.test("Proof.verify() accepts a chain signed by the nodes that computed it", async () => {
  const verdict = await proof.verify({ membership, result, input });
  assert.ok(verdict.ok);
  assert.deepEqual(verdict.value, ["node-1", "node-2", "node-2"]);
});

Deno.test("Proof.verify() rejects a wrong link", async () => {
  // A changed stage digest breaks that link's signature; a re-signed one breaks the next link.
  const links = [...proof.links];
  links[0] = { ...links[0]!, value: new Uint8Array(32) };
  assert.equal(codeOf(await withLinks(links).verify({ membership })), "proof_chain_broken");
  const resigned = await Proof.start(5, input).extend(new Uint8Array(32), signers[1]!, {
    stage: 1,
  });
  const spliced = withLinks([resigned.links[0]!, ...proof.links.slice(1)]);
  assert.equal(codeOf(await spliced.verify({ membership })), "proof_chain_broken");
  const lastOnly = [...proof.links];
  lastOnly[2] = { ...lastOnly[2]!, value: new Uint8Array(32) };
  assert.equal(codeOf(await withLinks(lastOnly).verify({ membership })), "proof_bad_signature");
});

Deno.test("Proof.verify() rejects a missing signature", async () => {
  const links = [...proof.links];
  links[1] = { ...links[1]!, signature: new Uint8Array() };
  assert.equal(codeOf(await withLinks(links).verify({ membership })), "proof_signature_missing");
});

Deno.test("Proof.verify() rejects a signer outside the cluster", async () => {
  const stranger = await createNodeSigner("node-9", testSecretKey("node-9"));
  const forged = await Proof.generate(5, {
    input,
    output,
    steps: [{ output: encoder.encode("stage 1"), signer: stranger }],
  });
  assert.equal(codeOf(await forged.verify({ membership })), "proof_unknown_signer");
  const wider = await Membership.create([...signers, stranger]);
  assert.equal(codeOf(await forged.verify({ membership: wider })), "accepted");
});

Deno.test("Proof.verify() rejects a reused link from another inference", async () => {
  const other = await Proof.generate(6, {
    input,
    output,
    steps: [
      { output: encoder.encode("stage 1"), signer: signers[1]! },
      { output: encoder.encode("stage 2"), signer: signers[2]! },
    ],
  });
  const reused = withLinks([other.links[0]!, ...proof.links.slice(1)]);
  assert.equal(codeOf(await reused.verify({ membership })), "proof_foreign_link");
  // A whole proof of inference 6 does not prove inference 5's result.
  assert.equal(codeOf(await other.verify({ membership, result })), "proof_inference_mismatch");
});

Deno.test("Proof.verify() rejects another input or output", async () => {
  const otherInput = encoder.encode("another prompt");
  assert.equal(
    codeOf(await proof.verify({ membership, input: otherInput })),
    "proof_input_mismatch",
  );
  const otherResult = new InferenceResult(5, encoder.encode("another output"));
  assert.equal(
    codeOf(await proof.verify({ membership, result: otherResult })),
    "proof_output_mismatch",
  );
});

Deno.test("Proof.verify() rejects a chain without stages or without its output link", async () => {
  assert.equal(
    codeOf(await withLinks(proof.links.slice(0, 2)).verify({ membership })),
    "proof_malformed",
  );
  assert.equal(
    codeOf(await withLinks(proof.links.slice(2)).verify({ membership })),
    "proof_malformed",
  );
});

Deno.test("Proof.extend() refuses to extend a completed proof", async () => {
  await assert.rejects(() => proof.extend(new Uint8Array(32), signers[0]!), RangeError);
});

Deno.test("Proof.generate() refuses the seed's positional shape and malformed options, saying what to pass", async () => {
  // Before: Proof.generate(0, input, output, steps, key) failed with "Cannot read properties of
  // undefined".
  const bytes = new TextEncoder().encode("input");
  const generate = Proof.generate as unknown as (...args: unknown[]) => Promise<Proof>;
  const expected =
    /^Proof\.generate\(inferenceId, \{ input, output, steps: \[\{ output, signer \}\] \}\)/;
  await assert.rejects(
    generate(0, bytes, bytes, [bytes], bytes),
    (e: unknown) =>
      e instanceof TypeError && expected.test(e.message) && /no shared key/.test(e.message),
  );
  for (
    const options of [undefined, null, {}, { input: "x", output: bytes, steps: [] }, {
      input: bytes,
      output: bytes,
      steps: [{ output: bytes }],
    }]
  ) {
    await assert.rejects(
      generate(0, options),
      (e: unknown) => e instanceof TypeError && expected.test(e.message),
      JSON.stringify(options),
    );
  }
});
