import assert from "node:assert/strict";
import { encode } from "cborg";
import {
  type CoordinationMessage,
  decodeCanonical,
  decodeMessage,
  encodeCanonical,
  encodeMessage,
  MESSAGE_TYPES,
  validateMessage,
} from "./message.ts";
import { sampleMessages } from "./_samples.ts";
import { testSigners } from "./_test_keys.ts";
import { WireError } from "./wire_error.ts";

const samples = await sampleMessages(await testSigners());

function codeOf(bytes: Uint8Array): string {
  const result = decodeMessage(bytes);
  return result.ok ? "accepted" : result.error.code;
}

Deno.test("decodeMessage() round-trips a sample of every message type", () => {
  // Each of the 20 types encodes and decodes back to an equal value.
  const types = new Set<string>();
  for (const [name, message] of samples) {
    const decoded = decodeMessage(encodeMessage(message));
    assert.ok(decoded.ok, `${name}: ${decoded.ok ? "" : decoded.error.message}`);
    assert.deepEqual(decoded.value, message, name);
    types.add(message.type);
  }
  assert.deepEqual([...types].sort(), [...MESSAGE_TYPES].sort());
});

Deno.test("encodeMessage() is independent of the order fields were written in", () => {
  // Deterministic CBOR sorts map keys, so a reversed object encodes to the same bytes.
  for (const message of samples.values()) {
    const reversed = Object.fromEntries(Object.entries(message).reverse()) as CoordinationMessage;
    assert.deepEqual(encodeMessage(reversed), encodeMessage(message));
  }
});

Deno.test("decodeMessage() rejects a body with unsorted keys as non_canonical", () => {
  // cborg's default (non-RFC 8949) encoding of the same map puts "from" before "type" etc.
  const message = samples.get("Heartbeat")!;
  const plain = encode(Object.fromEntries(Object.entries(message).reverse()), {
    mapSorter: () => 0,
  });
  assert.notDeepEqual(plain, encodeMessage(message));
  assert.equal(codeOf(plain), "non_canonical");
});

Deno.test("decodeCanonical() rejects integers not in shortest form and floats", () => {
  // 0x18 0x01 is 1 in two bytes; 0xf9 0x3c 0x00 is 1.0 as a half float.
  assert.equal(decodeCanonical(new Uint8Array([0x18, 0x01])).ok, false);
  const float = decodeCanonical(new Uint8Array([0xf9, 0x3c, 0x00]));
  assert.equal(float.ok ? "" : float.error.code, "non_canonical");
});

Deno.test("decodeMessage() names unknown types, missing, unexpected and invalid fields", () => {
  const heartbeat = { ...samples.get("Heartbeat")! } as Record<string, unknown>;
  assert.equal(codeOf(encodeCanonical({ ...heartbeat, type: "Hello" })), "unknown_type");
  const { sentAtMs: _sentAtMs, ...missing } = heartbeat;
  assert.equal(codeOf(encodeCanonical(missing)), "missing_field");
  assert.equal(codeOf(encodeCanonical({ ...heartbeat, extra: 1 })), "unexpected_field");
  assert.equal(codeOf(encodeCanonical({ ...heartbeat, from: "" })), "invalid_field");
  assert.equal(codeOf(encodeCanonical({ ...heartbeat, sequence: -1 })), "invalid_field");
  assert.equal(codeOf(encodeCanonical({ ...heartbeat, from: "x".repeat(65) })), "invalid_field");
  assert.equal(codeOf(encodeCanonical([1, 2])), "invalid_field");
});

Deno.test("decodeMessage() rejects an integer above 2^53 - 1", () => {
  const heartbeat = samples.get("Heartbeat")!;
  const bytes = encodeCanonical({ ...heartbeat, sentAtMs: 2n ** 60n });
  assert.equal(codeOf(bytes), "invalid_field");
});

Deno.test("decodeMessage() rejects duplicate map keys", () => {
  // {"a": 1, "a": 2}: a1 61 61 01 61 61 02 with count 2 (0xa2).
  const result = decodeCanonical(new Uint8Array([0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02]));
  assert.equal(result.ok ? "" : result.error.code, "malformed_cbor");
});

Deno.test("decodeMessage() rejects an activation whose digest does not match its data", () => {
  const message = samples.get("StageOutput.activation")!;
  assert.equal(message.type, "StageOutput");
  const wrong = { ...message, value: new Uint8Array(32) };
  assert.equal(codeOf(encodeCanonical(wrong)), "digest_mismatch");
});

Deno.test("decodeMessage() rejects an activation whose shape does not match its data", () => {
  const message = samples.get("StageOutput.activation")!;
  if (message.type !== "StageOutput" || message.activation === undefined) throw new Error();
  const wrong = { ...message, activation: { ...message.activation, shape: [1, 767] } };
  assert.equal(codeOf(encodeCanonical(wrong)), "invalid_field");
});

Deno.test("decodeMessage() rejects a CheckpointResponse whose digest is not its state's", () => {
  const message = samples.get("CheckpointResponse")!;
  assert.equal(
    codeOf(encodeCanonical({ ...message, digest: new Uint8Array(32) })),
    "digest_mismatch",
  );
});

Deno.test("encodeMessage() throws a WireError for a message that breaks the schema", () => {
  const heartbeat = samples.get("Heartbeat")!;
  assert.throws(
    () => encodeMessage({ ...heartbeat, view: 1.5 }),
    (error) => error instanceof WireError && error.code === "invalid_field",
  );
});

Deno.test("decodeMessage() rejects tags, undefined and indefinite lengths", () => {
  // 0xc1 0x00: tag 1 (epoch time) around 0; 0xf7: undefined; 0x9f 0xff: indefinite empty array.
  for (const bytes of [[0xc1, 0x00], [0xf7], [0x9f, 0xff]]) {
    assert.equal(codeOf(new Uint8Array(bytes)), "malformed_cbor", `bytes ${bytes}`);
  }
});

Deno.test("a ClientRefusal's reason is a non-empty text of at most 256 UTF-8 bytes", () => {
  const refusal = (reason: string) =>
    validateMessage({
      type: "ClientRefusal",
      inferenceId: 1,
      from: "node-0",
      view: 0,
      epoch: 0,
      sequence: 1,
      reason,
    });
  assert.ok(refusal("too many inferences").ok);
  assert.ok(refusal("é".repeat(128)).ok);
  for (const reason of ["", "é".repeat(129), "\ud800"]) {
    const checked = refusal(reason);
    assert.ok(!checked.ok && checked.error.code === "invalid_field", JSON.stringify(reason));
  }
});
