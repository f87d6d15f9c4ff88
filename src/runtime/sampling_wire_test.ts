import assert from "node:assert/strict";
import fc from "fast-check";
import { createSampler, sampleToken, type Sampling } from "../model/sampling.ts";
import { decodeMessage, encodeMessage, type SamplingRequest } from "../wire/message.ts";
import { samplingOfRequest, samplingRequestOf } from "./sampling_wire.ts";

// A one-byte ClientRequest carrying `sampling`, encoded and decoded as a receiver does.
function throughTheWire(sampling: SamplingRequest) {
  return decodeMessage(encodeMessage({
    type: "ClientRequest",
    inferenceId: 1,
    from: "client-0",
    view: 0,
    epoch: 0,
    sequence: 1,
    input: new Uint8Array([1]),
    tokenCount: 1,
    sampling,
  }));
}

Deno.test("a sampling rule crosses the wire and comes back the same rule", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5000 }),
      fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      (milli, topK, seed) => {
        const rule: Sampling = {
          kind: "sample",
          temperature: milli / 1000,
          seed,
          ...(topK === undefined ? {} : { topK }),
        };
        const sampling = samplingRequestOf(rule);
        assert.ok(sampling !== undefined);
        const decoded = throughTheWire(sampling);
        assert.ok(decoded.ok && decoded.value.type === "ClientRequest");
        const back = samplingOfRequest(decoded.value.sampling);
        assert.deepEqual(back, rule);
        // The replicas draw what the client's rule draws.
        const logits = new Float32Array([0.3, 0.1, 0.9, 0.2]);
        assert.equal(
          sampleToken(createSampler(back), logits),
          sampleToken(createSampler(rule), logits),
        );
      },
    ),
  );
});

Deno.test("greedy is no field; a temperature that is not whole thousandths is refused", () => {
  assert.equal(samplingRequestOf({ kind: "greedy" }), undefined);
  assert.deepEqual(samplingOfRequest(undefined), { kind: "greedy" });
  assert.throws(
    () => samplingRequestOf({ kind: "sample", temperature: 0.0005, seed: 1 }),
    /not a multiple of 0.001/,
  );
  assert.throws(
    () => samplingRequestOf({ kind: "sample", temperature: 0.8, seed: -1 }),
    /seed must be an unsigned 32-bit integer/,
  );
  // 0.7 * 1000 is 700.0000000000001 in binary floating point: still 700 thousandths.
  assert.equal(
    samplingRequestOf({ kind: "sample", temperature: 0.7, seed: 1 })?.temperatureMilli,
    700,
  );
});

Deno.test("a ClientRequest's sampling field is checked as the wire says", () => {
  const codeOf = (sampling: unknown) => {
    try {
      const decoded = throughTheWire(sampling as SamplingRequest);
      return decoded.ok ? "ok" : decoded.error.code;
    } catch (error) {
      return (error as { code?: string }).code ?? "thrown";
    }
  };
  assert.equal(codeOf({ temperatureMilli: 1, seed: 0 }), "ok");
  assert.equal(codeOf({ temperatureMilli: 0, seed: 0 }), "invalid_field");
  assert.equal(codeOf({ temperatureMilli: 1, seed: 2 ** 32 }), "invalid_field");
  assert.equal(codeOf({ temperatureMilli: 1 }), "missing_field");
  assert.equal(codeOf({ temperatureMilli: 1, seed: 0, top: 3 }), "unexpected_field");
});
