/**
 * One deterministic sample of every message type, signed with the published test keys. The
 * tests and `spec/generate_vectors.ts` share them, so the vectors cannot drift from the code.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { signMessage } from "./frame.ts";
import type { NodeSigner } from "./identity.ts";
import type { CoordinationMessage, MessageHeader, MessageType } from "./message.ts";
import { Proof } from "./proof.ts";

/** The inference every sample belongs to. */
export const SAMPLE_INFERENCE_ID = 42;
/** Hidden size of the sample activation frame (GPT-2 small). */
export const SAMPLE_ACTIVATION_VALUES = 768;

function digestOf(text: string): Uint8Array {
  return sha256(new TextEncoder().encode(text));
}

/** The sample activation: 768 float32 values, value k = sin(k) / 2, little-endian. */
export function sampleActivation(): Uint8Array {
  const bytes = new Uint8Array(SAMPLE_ACTIVATION_VALUES * 4);
  const view = new DataView(bytes.buffer);
  for (let index = 0; index < SAMPLE_ACTIVATION_VALUES; index++) {
    view.setFloat32(4 * index, Math.fround(Math.sin(index) / 2), true);
  }
  return bytes;
}

function header(from: string, sequence: number, view = 1): MessageHeader {
  return { inferenceId: SAMPLE_INFERENCE_ID, from, view, epoch: 2, sequence };
}

/** A signed Prepare for the sample result in view `view` from `signer`. */
export async function samplePrepare(
  signer: NodeSigner,
  view = 1,
): Promise<{ body: Uint8Array; signature: Uint8Array }> {
  return await signMessage(
    { ...header(signer.nodeId, 10, view), type: "Prepare", value: digestOf("result") },
    signer,
  );
}

/**
 * One sample per message type, keyed by a vector name. `signers` are the four test nodes;
 * node-1 is the primary of view 1 and node-2 of view 2, as TLA+ `Primary(v) = v % N + 1`.
 */
export async function sampleMessages(
  signers: readonly NodeSigner[],
): Promise<ReadonlyMap<string, CoordinationMessage>> {
  const [n0, n1, n2, n3] = signers as [NodeSigner, NodeSigner, NodeSigner, NodeSigner];
  const prepares = await Promise.all([n0, n1, n2].map((signer) => samplePrepare(signer)));
  const viewChanges = await Promise.all([n0, n1, n3].map((signer) =>
    signMessage({
      ...header(signer.nodeId, 20, 2),
      type: "ViewChange",
      prepared: { view: 1, value: digestOf("result"), certificate: prepares },
      voted: { view: 1, value: digestOf("result") },
    }, signer)
  ));
  const output = new TextEncoder().encode("the committed output");
  const input = new TextEncoder().encode("the prompt");
  const proof = await Proof.generate(SAMPLE_INFERENCE_ID, {
    input,
    output,
    steps: [{ output: sampleActivation(), signer: n1 }, { output, signer: n2 }],
  });
  const commits = await Promise.all([n0, n1, n2].map((signer) =>
    signMessage(
      { ...header(signer.nodeId, 29), type: "Commit", value: sha256(output) },
      signer,
    )
  ));
  const state = new TextEncoder().encode("checkpoint state");
  const activation = sampleActivation();
  const conflictA = await signMessage(
    { ...header("node-3", 11), type: "Prepare", value: digestOf("result") },
    n3,
  );
  const conflictB = await signMessage(
    { ...header("node-3", 12), type: "Prepare", value: digestOf("another result") },
    n3,
  );
  const samples: [string, CoordinationMessage][] = [
    ["Assign", { ...header("node-0", 1, 0), type: "Assign", seed: 7 }],
    ["StageOutput", {
      ...header("node-2", 3),
      type: "StageOutput",
      seed: 7,
      token: 1,
      stage: 1,
      value: sha256(activation),
    }],
    ["StageOutput.activation", {
      ...header("node-2", 4),
      type: "StageOutput",
      seed: 7,
      token: 1,
      stage: 1,
      value: sha256(activation),
      activation: { shape: [1, SAMPLE_ACTIVATION_VALUES], data: activation },
    }],
    ["PrePrepare", { ...header("node-1", 9), type: "PrePrepare", value: digestOf("result") }],
    ["Prepare", { ...header("node-0", 10), type: "Prepare", value: digestOf("result") }],
    ["Commit", { ...header("node-0", 11), type: "Commit", value: digestOf("result") }],
    ["Checkpoint", {
      ...header("node-0", 12),
      type: "Checkpoint",
      seed: 7,
      position: 10,
      digest: digestOf("tokens 1..10"),
    }],
    ["ViewChange", {
      ...header("node-0", 20, 2),
      type: "ViewChange",
      prepared: { view: 1, value: digestOf("result"), certificate: prepares },
      voted: { view: 1, value: digestOf("result") },
    }],
    ["ViewChange.empty", { ...header("node-3", 20, 2), type: "ViewChange" }],
    ["NewView", { ...header("node-2", 21, 2), type: "NewView", seed: 7, viewChanges }],
    ["WorkAssignment", {
      ...header("node-1", 2),
      type: "WorkAssignment",
      stages: [
        { nodes: ["node-2", "node-3"], layerIds: [0, 1, 2, 3, 4, 5, 6] },
        { nodes: ["node-3", "node-0"], layerIds: [7, 8, 9, 10, 11, 12, 13] },
      ],
    }],
    ["BarrierReady", { ...header("node-3", 13), type: "BarrierReady" }],
    ["BarrierRelease", {
      ...header("node-1", 14),
      type: "BarrierRelease",
      participants: ["node-0", "node-1", "node-2", "node-3"],
    }],
    ["Heartbeat", { ...header("node-0", 15), type: "Heartbeat", sentAtMs: 1_700_000_000_000 }],
    ["Suspicion", {
      ...header("node-0", 16),
      type: "Suspicion",
      suspect: "node-3",
      evidence: { kind: "Equivocation", first: conflictA, second: conflictB },
    }],
    ["Suspicion.timeout", {
      ...header("node-0", 17),
      type: "Suspicion",
      suspect: "node-1",
      evidence: { kind: "Timeout", phiMilli: 8_500 },
    }],
    ["CheckpointRequest", {
      ...header("node-3", 18),
      type: "CheckpointRequest",
      seed: 7,
      position: 10,
    }],
    ["CheckpointResponse", {
      ...header("node-0", 19),
      type: "CheckpointResponse",
      seed: 7,
      position: 10,
      digest: sha256(state),
      state,
    }],
    ["ClientRequest", {
      ...header("client-0", 1, 0),
      type: "ClientRequest",
      input,
      tokenCount: 16,
    }],
    ["ClientRequest.sampling", {
      ...header("client-0", 2, 0),
      type: "ClientRequest",
      input,
      tokenCount: 16,
      to: "node-2",
      sampling: { temperatureMilli: 800, topK: 40, seed: 4_294_967_295 },
    }],
    ["ClientProgress", {
      ...header("node-2", 31),
      type: "ClientProgress",
      token: 3,
      tokenId: 101,
    }],
    ["ClientRefusal", {
      ...header("node-3", 32),
      type: "ClientRefusal",
      reason: "16 inferences are running, the most this node runs",
    }],
    ["ReplyRequest", { ...header("node-0", 33), type: "ReplyRequest" }],
    ["ClientReply", {
      ...header("node-1", 30),
      type: "ClientReply",
      value: sha256(output),
      output,
      proof: proof.toData(),
      certificate: commits,
    }],
  ];
  const covered = new Set<MessageType>(samples.map(([, message]) => message.type));
  if (covered.size !== 20) throw new Error(`Samples cover ${covered.size} message types, not 20`);
  return new Map(samples);
}
