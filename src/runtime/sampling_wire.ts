/**
 * The sampling rule as a `ClientRequest` carries it (`spec/PROTOCOL.md` §8.2): a temperature in
 * thousandths, so that every replica divides by the same number, a top-k and a seed.
 *
 * @module
 */

import { createSampler, type Sampling } from "../model/sampling.ts";
import type { SamplingRequest } from "../wire/message.ts";

const GREEDY: Sampling = { kind: "greedy" };

/**
 * The sampling rule of a request as the wire carries it (`temperatureMilli`); absent: greedy.
 *
 * @param request The request's `sampling` field.
 * @returns The rule.
 */
export function samplingOfRequest(request: SamplingRequest | undefined): Sampling {
  if (request === undefined) return GREEDY;
  return {
    kind: "sample",
    temperature: request.temperatureMilli / 1000,
    ...(request.topK === undefined ? {} : { topK: request.topK }),
    seed: request.seed,
  };
}

/**
 * The wire form of a sampling rule: greedy is no field; a temperature must be a whole number of
 * thousandths, so that every replica divides by the same number.
 *
 * @param sampling The rule.
 * @returns The request's `sampling` field, or `undefined` for greedy.
 * @throws {RangeError} If the temperature is not a positive multiple of 0.001, or the rule is out
 *   of range.
 */
export function samplingRequestOf(sampling: Sampling): SamplingRequest | undefined {
  if (sampling.kind === "greedy") return undefined;
  createSampler(sampling); // the rule's own checks
  const temperatureMilli = Math.round(sampling.temperature * 1000);
  if (temperatureMilli < 1 || temperatureMilli / 1000 !== sampling.temperature) {
    throw new RangeError(
      `A temperature travels in thousandths: ${sampling.temperature} is not a multiple of 0.001`,
    );
  }
  return {
    temperatureMilli,
    ...(sampling.topK === undefined ? {} : { topK: sampling.topK }),
    seed: sampling.seed,
  };
}
