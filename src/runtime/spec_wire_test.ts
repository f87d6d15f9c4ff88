import assert from "node:assert/strict";
import fc from "fast-check";
import { messageKey } from "../core/message_key.ts";
import { NO_VALUE, type SpecMessage } from "../core/spec_state.ts";
import { signMessage } from "../wire/frame.ts";
import { decodeMessage, type SignedMessage } from "../wire/message.ts";
import { testSigners } from "../wire/_test_keys.ts";
import {
  checkpointDigest,
  checkpointState,
  checkpointTokens,
  decodeTokens,
  type DigestValue,
  encodeTokens,
  fromWire,
  type SpecContext,
  tokenOfValue,
  tokensValue,
  toWire,
  TranslationError,
  type WireContext,
} from "./spec_wire.ts";

const IDS = ["node-0", "node-1", "node-2", "node-3"];
const A = "aa".repeat(32);
const B = "bb".repeat(32);

const specContext: SpecContext = {
  indexOf: (id) => IDS.includes(id) ? IDS.indexOf(id) + 1 : undefined,
  checkpointTokens: (_seed, _position, digest) =>
    [[A], [A, B]].find((tokens) =>
      checkpointDigest(tokens).every((byte, index) => byte === digest[index])
    ),
};

Deno.test("each spec message type survives toWire and fromWire unchanged", async () => {
  const signers = await testSigners();
  const signed = new Map<string, SignedMessage>();
  const prepares: SignedMessage[] = [];
  const sign = async (message: SpecMessage<DigestValue>) => {
    const wire = toWire(message, wireContext);
    const result = await signMessage({ ...wire, sequence: 1 }, signers[message.from - 1]!);
    signed.set(messageKey(message), result);
    return result;
  };
  const wireContext: WireContext = {
    nodeIds: IDS,
    inferenceId: 7,
    signedOf: (key) => signed.get(key),
    preparedCertificate: () => prepares,
  };
  for (const from of [1, 2, 3]) {
    prepares.push(await sign({ type: "Prepare", view: 0, value: A, from }));
  }
  const viewChange: SpecMessage<DigestValue> = {
    type: "ViewChange",
    view: 1,
    prepared: { view: 0, value: A },
    voted: { view: 0, value: A },
    from: 3,
  };
  const bare: SpecMessage<DigestValue> = {
    type: "ViewChange",
    view: 1,
    prepared: { view: -1, value: NO_VALUE },
    voted: { view: -1, value: NO_VALUE },
    from: 4,
  };
  await sign(viewChange);
  await sign(bare);
  const messages: SpecMessage<DigestValue>[] = [
    { type: "Assign", view: 0, seed: 1, from: 1 },
    { type: "StageOutput", view: 2, seed: 1, token: 3, stage: 2, value: B, from: 2 },
    { type: "PrePrepare", view: 0, value: A, from: 1 },
    { type: "Commit", view: 1, value: B, from: 4 },
    { type: "Checkpoint", seed: 1, position: 2, digest: [A, B], from: 3 },
    viewChange,
    bare,
    { type: "NewView", view: 1, viewChanges: [viewChange, bare], seed: 1, from: 2 },
  ];
  for (const message of messages) {
    const wire = await sign(message);
    const decoded = decodeMessage(wire.body);
    assert.ok(decoded.ok, decoded.ok ? "" : decoded.error.message);
    const back = fromWire(decoded.value, specContext, (inner) => {
      const innerDecoded = decodeMessage(inner.body);
      if (!innerDecoded.ok) return undefined;
      const form = fromWire(innerDecoded.value, specContext);
      return form.kind === "message" ? form.message : undefined;
    });
    assert.deepEqual(back, { kind: "message", message }, message.type);
  }
});

Deno.test("a checkpoint digest the node cannot resolve asks for its state", () => {
  const form = fromWire({
    type: "Checkpoint",
    inferenceId: 1,
    from: "node-1",
    view: 0,
    epoch: 0,
    sequence: 1,
    seed: 1,
    position: 3,
    digest: new Uint8Array(32),
  }, specContext);
  assert.deepEqual(form, { kind: "unresolved-checkpoint", seed: 1, position: 3 });
});

Deno.test("a ViewChange whose prepared claim lacks its certificate is not put on the wire", () => {
  assert.throws(
    () =>
      toWire({
        type: "ViewChange",
        view: 1,
        prepared: { view: 0, value: A },
        voted: { view: -1, value: NO_VALUE },
        from: 1,
      }, {
        nodeIds: IDS,
        inferenceId: 1,
        signedOf: () => undefined,
        preparedCertificate: () => undefined,
      }),
    TranslationError,
  );
});

Deno.test("token values chain, and the token of a value is found after its prefix", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }),
      fc.integer({ min: 0, max: 255 }),
      (prefix, token) => {
        const value = tokensValue([...prefix, token], 256);
        assert.equal(tokenOfValue(prefix, value, 256), token);
        assert.notEqual(tokensValue(prefix, 256), value);
      },
    ),
    { numRuns: 50 },
  );
  assert.equal(tokenOfValue([1], "00".repeat(32), 256), undefined);
  assert.deepEqual(decodeTokens(encodeTokens([1, 70000], 70001), 70001), [1, 70000]);
  assert.deepEqual(encodeTokens([72, 105], 256), new TextEncoder().encode("Hi"));
});

Deno.test("a checkpoint state holds its values and hashes to the digest", () => {
  const state = checkpointState([A, B]);
  assert.equal(state.length, 64);
  assert.deepEqual(checkpointTokens(state), [A, B]);
  assert.equal(checkpointTokens(new Uint8Array(33)), undefined);
  assert.notDeepEqual(checkpointDigest([A, B]), checkpointDigest([B, A]));
});
