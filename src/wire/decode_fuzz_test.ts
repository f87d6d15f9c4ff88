// Robustness of the receiver against hostile bytes: the frame and message decoders take any
// input and either accept it or return a WireError with a known code; they never throw. Runs
// 170,000 cases in total (random bytes, mutated frames with and without a fixed-up length,
// random CBOR values, field substitutions, and a slice through the full signature check).
// fast-check prints the seed of any failure so it can be replayed.

import assert from "node:assert/strict";
import fc from "fast-check";
import { encode } from "cborg";
import { decodeFrame, FRAME_HEADER_BYTES, openFrame, sealMessage } from "./frame.ts";
import { decodeMessage, encodeMessage, MESSAGE_TYPES, validateMessage } from "./message.ts";
import { Membership } from "./identity.ts";
import { sampleMessages } from "./_samples.ts";
import { TEST_CLIENT_ID, testSigners } from "./_test_keys.ts";
import { WIRE_ERROR_CODES, WireError, type WireResult } from "./wire_error.ts";

const signers = await testSigners();
const [client] = await testSigners([TEST_CLIENT_ID]);
const membership = await Membership.create([...signers, client!]);
const bySender = new Map([...signers, client!].map((signer) => [signer.nodeId, signer]));
const samples = [...(await sampleMessages(signers)).values()];
const frames = await Promise.all(
  samples.map((message) => sealMessage(message, bySender.get(message.from)!)),
);
const codes = new Set<string>(WIRE_ERROR_CODES);

/** Asserts the result is an acceptance or a typed refusal with a known code. */
function assertTyped<T>(result: WireResult<T>): void {
  if (result.ok) return;
  assert.ok(result.error instanceof WireError, "refusal is a WireError");
  assert.ok(codes.has(result.error.code), `known code ${result.error.code}`);
  assert.ok(result.error.message.length > 0);
}

/** Decodes a frame and, if it splits, its body; accepted bodies must be canonical. */
function decodeAll(bytes: Uint8Array): void {
  const frame = decodeFrame(bytes);
  assertTyped(frame);
  if (!frame.ok) return;
  const message = decodeMessage(frame.value.body);
  assertTyped(message);
  if (message.ok) assert.deepEqual(encodeMessage(message.value), frame.value.body);
}

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; byte: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; count: number }
  | { kind: "truncate"; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 16 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);

function mutate(frame: Uint8Array, mutations: readonly Mutation[], fixLength: boolean): Uint8Array {
  let bytes = frame.slice();
  for (const change of mutations) {
    // Keep the header intact when fixing the length, so the body decoder sees the mutations.
    const floor = fixLength ? FRAME_HEADER_BYTES : 0;
    const at = floor + (change.at % Math.max(1, bytes.length - floor));
    if (change.kind === "flip" && at < bytes.length) bytes[at]! ^= 1 << change.bit;
    if (change.kind === "set" && at < bytes.length) bytes[at] = change.byte;
    if (change.kind === "insert") {
      bytes = new Uint8Array([...bytes.subarray(0, at), ...change.bytes, ...bytes.subarray(at)]);
    }
    if (change.kind === "delete") {
      bytes = new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at + change.count)]);
    }
    if (change.kind === "truncate") bytes = bytes.slice(0, at);
  }
  if (fixLength && bytes.length >= 4) {
    new DataView(bytes.buffer).setUint32(0, bytes.length - 4);
  }
  return bytes;
}

const mutatedFrame = fc.tuple(
  fc.nat(frames.length - 1),
  fc.array(mutation, { minLength: 1, maxLength: 4 }),
  fc.boolean(),
).map(([index, mutations, fixLength]) => mutate(frames[index]!, mutations, fixLength));

Deno.test("decodeFrame() and decodeMessage() never throw on 40,000 random byte strings", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      decodeAll(bytes);
      assertTyped(decodeMessage(bytes));
    }),
    { numRuns: 40_000 },
  );
});

Deno.test("decodeFrame() and decodeMessage() never throw on 60,000 mutated frames", () => {
  // Half the mutants get a corrected length prefix so they reach the CBOR and schema checks.
  fc.assert(fc.property(mutatedFrame, decodeAll), { numRuns: 60_000 });
});

Deno.test("decodeMessage() never throws on 40,000 random CBOR values", () => {
  // Arbitrary maps, lists, text, bytes and numbers, some shaped like message headers.
  const header = fc.record({
    type: fc.oneof(fc.constantFrom(...MESSAGE_TYPES), fc.string()),
    inferenceId: fc.oneof(fc.nat(), fc.integer(), fc.double()),
    from: fc.oneof(fc.constantFrom("node-0", "node-1"), fc.string()),
    view: fc.nat(),
    epoch: fc.nat(),
    sequence: fc.nat(),
  }, { requiredKeys: [] });
  const value = fc.oneof(
    fc.tuple(header, fc.dictionary(fc.string(), fc.jsonValue())).map(([h, rest]) => ({
      ...rest,
      ...h,
    })),
    fc.jsonValue(),
    fc.uint8Array(),
  );
  fc.assert(
    fc.property(value, (candidate) => {
      let bytes: Uint8Array;
      try {
        bytes = encode(candidate);
      } catch {
        return; // not representable in CBOR by cborg (for example -0 keys); nothing to decode
      }
      assertTyped(decodeMessage(bytes));
    }),
    { numRuns: 40_000 },
  );
});

Deno.test("validateMessage() never throws when a sample's field is replaced by anything", () => {
  // Structured mutation: every field of every message type gets arbitrary JSON-like values.
  const replaced = fc.tuple(fc.nat(samples.length - 1), fc.nat(), fc.anything()).map(
    ([index, which, replacement]) => {
      const sample = samples[index]! as unknown as Record<string, unknown>;
      const keys = Object.keys(sample);
      return { ...sample, [keys[which % keys.length]!]: replacement };
    },
  );
  fc.assert(
    fc.property(replaced, (candidate) => {
      assertTyped(validateMessage(candidate));
    }),
    { numRuns: 20_000 },
  );
});

Deno.test("openFrame() never throws and never accepts a changed frame on 10,000 mutants", async () => {
  // Through the signature check: a mutant that still decodes must fail verification unless it
  // is byte-identical to an honest frame.
  await fc.assert(
    fc.asyncProperty(mutatedFrame, async (bytes) => {
      const result = await openFrame(bytes, membership);
      assertTyped(result);
      if (result.ok) {
        assert.ok(
          frames.some((frame) =>
            frame.length === bytes.length && frame.every((b, i) => bytes[i] === b)
          ),
        );
      }
    }),
    { numRuns: 10_000 },
  );
});
