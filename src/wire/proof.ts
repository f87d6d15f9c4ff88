/**
 * Proofs of an inference that prove something: a hash chain from the input, through each
 * stage's output digest, to the final output, every link signed by the node that computed it.
 *
 * ```text
 * link k body  = canonical CBOR { inferenceId, previous, stage (absent on the output link),
 *                                 value, signer }
 * previous     = SHA-256(input) for the first link, else hash(link k - 1)
 * hash(link)   = SHA-256(PROOF_LINK_TAG || body)
 * signature    = ed25519 by `signer` over PROOF_LINK_TAG || body
 * ```
 *
 * A proof holds digests, node ids and signatures only: each signer signs with its own
 * {@linkcode NodeSigner}, which never reveals its key (the seed put the key itself in the
 * proof). {@linkcode Proof.verify} checks the chain against the membership and names the first
 * broken rule.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import type { NodeId } from "../core/types.ts";
import { concatBytes, type Membership, type NodeSigner, PROOF_LINK_TAG } from "./identity.ts";
import {
  bytesEqual,
  type Digest,
  encodeCanonical,
  LIST_ENTRIES_MAX,
  type ProofData,
  type ProofLinkData,
  SIGNATURE_BYTES,
} from "./message.ts";
import { accepted, refused, type WireResult } from "./wire_error.ts";
import { requireKind } from "../core/_arguments.ts";

/**
 * The result of an inference: its id, the output bytes and the output's SHA-256 (the value the
 * nodes agree on). The seed's `InferenceResult`.
 *
 * @example Usage
 * ```ts
 * import { InferenceResult } from "@butterfly/bcp";
 * import assert from "node:assert/strict";
 * const result = new InferenceResult(0, new Uint8Array([1, 2, 3, 4, 5]));
 * assert.equal(result.hash.length, 32);
 * assert.equal(result.hashHex.length, 64);
 * ```
 */
export class InferenceResult {
  /** The inference. */
  readonly inferenceId: number;
  /** The output bytes (a copy). */
  readonly output: Uint8Array;
  /** SHA-256 of `output`. */
  readonly hash: Digest;
  /** `hash` as lowercase hex. */
  readonly hashHex: string;

  /**
   * Creates the result and hashes the output.
   *
   * @param inferenceId The inference (a non-negative safe integer).
   * @param output The output bytes.
   * @throws {RangeError} If the id is not a non-negative safe integer.
   */
  constructor(inferenceId: number, output: Uint8Array) {
    requireInferenceId(inferenceId);
    requireKind("output", output, "bytes");
    this.inferenceId = inferenceId;
    this.output = output.slice();
    this.hash = sha256(this.output);
    this.hashHex = toHex(this.hash);
  }
}

/** One computed stage, as {@linkcode Proof.generate} takes it. */
export interface ProofStep {
  /** The stage's output bytes (only their digest enters the proof). */
  readonly output: Uint8Array;
  /** The node that computed the stage; it signs the link locally. */
  readonly signer: NodeSigner;
}

/** Options of {@linkcode Proof.generate}. */
export interface ProofGenerateOptions {
  /** The inference's input bytes. */
  readonly input: Uint8Array;
  /** The final output bytes. */
  readonly output: Uint8Array;
  /** The stages in pipeline order (stage k is entry k - 1). */
  readonly steps: readonly ProofStep[];
  /** The node that signs the output link; the last stage's signer by default. */
  readonly outputSigner?: NodeSigner;
}

// Plain-JavaScript callers, and the seed's Proof::generate(id, input, output, steps, key): say
// what to pass instead of failing on a missing field.
function requireGenerateOptions(options: unknown, argumentCount: number): void {
  const expected = "Proof.generate(inferenceId, { input, output, steps: [{ output, signer }] })";
  if (options instanceof Uint8Array || argumentCount > 2) {
    throw new TypeError(
      `${expected}: the seed's (inferenceId, input, output, steps, key) is not supported, since ` +
        "each stage's node signs its link (Ed25519); there is no shared key",
    );
  }
  const o = options as Partial<ProofGenerateOptions> | null;
  if (
    o === null || typeof o !== "object" || !(o.input instanceof Uint8Array) ||
    !(o.output instanceof Uint8Array) || !Array.isArray(o.steps) ||
    !o.steps.every((step) =>
      step !== null && typeof step === "object" && step.output instanceof Uint8Array &&
      typeof step.signer === "object" && step.signer !== null
    )
  ) {
    throw new TypeError(
      `${expected}: input and output are bytes, each step a stage's output and signer`,
    );
  }
}

/** Options of {@linkcode Proof.verify}. */
export interface ProofVerifyOptions {
  /** The cluster membership every signer must belong to. */
  readonly membership: Membership;
  /** The result the proof must prove: its inference id and output hash. */
  readonly result?: InferenceResult;
  /** The input the proof must start from. */
  readonly input?: Uint8Array;
}

/** Options of {@linkcode Proof.extend}. */
export interface ProofExtendOptions {
  /** The stage computed (from 1); omit for the final output link. */
  readonly stage?: number;
}

/**
 * A signed hash chain over an inference: input, stage outputs, final output.
 *
 * @example Generate and verify
 * ```ts
 * import { InferenceResult, Proof } from "@butterfly/bcp";
 * import { createNodeSigner, Membership } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const signers = await Promise.all(
 *   [1, 2].map((k) => createNodeSigner(`node-${k}`, new Uint8Array(32).fill(k))),
 * );
 * const input = new TextEncoder().encode("input");
 * const output = new TextEncoder().encode("output");
 * const proof = await Proof.generate(0, {
 *   input,
 *   output,
 *   steps: [{ output: new Uint8Array([1]), signer: signers[0]! }, { output, signer: signers[1]! }],
 * });
 * const membership = await Membership.create(signers);
 * const result = new InferenceResult(0, output);
 * assert.ok((await proof.verify({ membership, result, input })).ok);
 * ```
 */
export class Proof {
  /** The inference proven. */
  readonly inferenceId: number;
  /** SHA-256 of the input. */
  readonly input: Digest;
  /** The links: stages in order, then (once complete) the output link. */
  readonly links: readonly ProofLinkData[];

  /**
   * Wraps proof data as received (for example from a ClientReply); nothing is checked until
   * {@linkcode Proof.verify}.
   *
   * @param data The proof's fields.
   */
  constructor(data: ProofData) {
    this.inferenceId = data.inferenceId;
    this.input = data.input;
    this.links = data.links;
  }

  /**
   * Starts a proof with no links: what the coordinator hands to the first stage.
   *
   * @param inferenceId The inference.
   * @param input The input bytes.
   * @returns The empty chain.
   * @throws {RangeError} If the id is not a non-negative safe integer.
   */
  static start(inferenceId: number, input: Uint8Array): Proof {
    requireInferenceId(inferenceId);
    return new Proof({ inferenceId, input: sha256(input), links: [] });
  }

  /**
   * Builds a whole proof where every signer is local (tests, a single-process pipeline). In a
   * cluster each node calls {@linkcode Proof.extend} with its own signer instead.
   *
   * @param inferenceId The inference.
   * @param options The input, the output and each stage's output and signer.
   * @returns The proof.
   * @throws {RangeError} If there are no steps or more than {@linkcode LIST_ENTRIES_MAX} - 1.
   * @throws {TypeError} If the options are not `{ input, output, steps: [{ output, signer }] }`,
   * for example the seed's positional `(inferenceId, input, output, steps, key)`.
   *
   * @example The seed's shape is refused with what to pass
   * ```ts
   * import { Proof } from "@butterfly/bcp";
   * import assert from "node:assert/strict";
   * const bytes = new TextEncoder().encode("input");
   * // deno-lint-ignore no-explicit-any
   * const seedShape = Proof.generate as any;
   * await assert.rejects(seedShape(0, bytes, bytes, [bytes], bytes), /\{ input, output, steps/);
   * ```
   */
  static async generate(inferenceId: number, options: ProofGenerateOptions): Promise<Proof> {
    requireGenerateOptions(options, arguments.length);
    const { steps } = options;
    if (steps.length === 0 || steps.length >= LIST_ENTRIES_MAX) {
      throw new RangeError(`A proof has 1 to ${LIST_ENTRIES_MAX - 1} stages, got ${steps.length}`);
    }
    let proof = Proof.start(inferenceId, options.input);
    for (let index = 0; index < steps.length; index++) {
      const step = steps[index]!;
      proof = await proof.extend(sha256(step.output), step.signer, { stage: index + 1 });
    }
    const outputSigner = options.outputSigner ?? steps[steps.length - 1]!.signer;
    return await proof.extend(sha256(options.output), outputSigner);
  }

  /**
   * Appends a link signed by `signer`: the digest of the stage it computed, or of the final
   * output when `options.stage` is omitted.
   *
   * @param value The digest of the stage's output (or of the final output).
   * @param signer The computing node's signer.
   * @param options The stage number.
   * @returns A new proof with the link appended.
   * @throws {RangeError} If the chain is already complete or full, or the digest is not 32 bytes.
   */
  async extend(
    value: Digest,
    signer: NodeSigner,
    options: ProofExtendOptions = {},
  ): Promise<Proof> {
    const last = this.links[this.links.length - 1];
    if (last !== undefined && last.stage === undefined) {
      throw new RangeError("The proof already ends with its output link");
    }
    if (this.links.length >= LIST_ENTRIES_MAX || value.length !== 32) {
      throw new RangeError("A proof link needs a 32-byte digest and room in the chain");
    }
    const previous = last === undefined ? this.input : linkHash(last);
    const unsigned = {
      inferenceId: this.inferenceId,
      previous,
      ...(options.stage === undefined ? {} : { stage: options.stage }),
      value: value.slice(),
      signer: signer.nodeId,
    };
    const signature = await signer.sign(PROOF_LINK_TAG, encodeCanonical(unsigned));
    return new Proof({ ...this.toData(), links: [...this.links, { ...unsigned, signature }] });
  }

  /**
   * The proof as plain data, as it travels in a ClientReply.
   *
   * @returns The fields.
   */
  toData(): ProofData {
    return { inferenceId: this.inferenceId, input: this.input, links: this.links };
  }

  /**
   * Verifies the chain: inference, input, structure, each link's inference and previous hash,
   * signer membership, the output, and every signature.
   *
   * @param options The membership, and the result and input to check against.
   * @returns The signers in chain order, or the first rule broken (`proof_*` codes).
   *
   * @example A link from another inference is named
   * ```ts
   * import { Proof } from "@butterfly/bcp";
   * import { createNodeSigner, Membership } from "@butterfly/bcp/wire";
   * import assert from "node:assert/strict";
   * const signer = await createNodeSigner("node-1", new Uint8Array(32).fill(1));
   * const steps = [{ output: new Uint8Array([1]), signer }];
   * const input = new Uint8Array([0]);
   * const output = new Uint8Array([2]);
   * const mine = await Proof.generate(1, { input, output, steps });
   * const other = await Proof.generate(2, { input, output, steps });
   * const forged = new Proof({ ...mine.toData(), links: [other.links[0]!, mine.links[1]!] });
   * const result = await forged.verify({ membership: await Membership.create([signer]) });
   * assert.equal(result.ok ? "" : result.error.code, "proof_foreign_link");
   * ```
   */
  // deno-lint-ignore require-await
  async verify(options: ProofVerifyOptions): Promise<WireResult<readonly NodeId[]>> {
    const structure = this.#checkStructure(options);
    if (!structure.ok) return structure;
    const { membership } = options;
    const bodies = this.links.map(linkBody);
    const bad = this.links.findIndex((link, index) =>
      !membership.verifySync(link.signer, PROOF_LINK_TAG, bodies[index]!, link.signature)
    );
    if (bad >= 0) {
      return refused(
        "proof_bad_signature",
        `Proof link ${bad} has an invalid signature from ${this.links[bad]!.signer}`,
      );
    }
    return accepted(this.links.map((link) => link.signer));
  }

  #checkStructure(options: ProofVerifyOptions): WireResult<true> {
    const { result, input } = options;
    if (result !== undefined && result.inferenceId !== this.inferenceId) {
      return refused(
        "proof_inference_mismatch",
        `Proof is for inference ${this.inferenceId}, the result for ${result.inferenceId}`,
      );
    }
    if (input !== undefined && !bytesEqual(sha256(input), this.input)) {
      return refused("proof_input_mismatch", "Proof does not start from the given input");
    }
    const count = this.links.length;
    if (count < 2 || count > LIST_ENTRIES_MAX) {
      return refused("proof_malformed", `Proof has ${count} links; it needs a stage and an output`);
    }
    let previous = this.input;
    for (let index = 0; index < count; index++) {
      const error = checkLink(this.links[index]!, index, count, {
        inferenceId: this.inferenceId,
        previous,
        membership: options.membership,
      });
      if (error !== undefined) return error;
      previous = linkHash(this.links[index]!);
    }
    const outputLink = this.links[count - 1]!;
    if (result !== undefined && !bytesEqual(outputLink.value, result.hash)) {
      return refused("proof_output_mismatch", "Proof's output link does not match the result hash");
    }
    return accepted(true);
  }
}

interface LinkContext {
  readonly inferenceId: number;
  readonly previous: Digest;
  readonly membership: Membership;
}

function checkLink(
  link: ProofLinkData,
  index: number,
  count: number,
  context: LinkContext,
): WireResult<never> | undefined {
  const isOutput = index === count - 1;
  if (isOutput ? link.stage !== undefined : link.stage !== index + 1) {
    return refused(
      "proof_malformed",
      `Proof link ${index} has stage ${link.stage}; expected ${isOutput ? "none" : index + 1}`,
    );
  }
  if (link.inferenceId !== context.inferenceId) {
    return refused(
      "proof_foreign_link",
      `Proof link ${index} belongs to inference ${link.inferenceId}, not ${context.inferenceId}`,
    );
  }
  if (!bytesEqual(link.previous, context.previous)) {
    return refused("proof_chain_broken", `Proof link ${index} does not follow the link before it`);
  }
  if (link.signature.length === 0) {
    return refused("proof_signature_missing", `Proof link ${index} is not signed`);
  }
  if (link.signature.length !== SIGNATURE_BYTES) {
    return refused("proof_bad_signature", `Proof link ${index} has a malformed signature`);
  }
  if (!context.membership.has(link.signer)) {
    return refused(
      "proof_unknown_signer",
      `Proof link ${index} is signed by non-member ${link.signer}`,
    );
  }
  return undefined;
}

function linkBody(link: ProofLinkData): Uint8Array {
  const { signature: _signature, ...unsigned } = link;
  return encodeCanonical(unsigned);
}

function linkHash(link: ProofLinkData): Digest {
  return sha256(concatBytes(PROOF_LINK_TAG, linkBody(link)));
}

function requireInferenceId(inferenceId: number): void {
  requireKind("inferenceId", inferenceId, "number");
  if (!Number.isSafeInteger(inferenceId) || inferenceId < 0) {
    throw new RangeError(`An inference id is a non-negative safe integer, got ${inferenceId}`);
  }
}

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
