/**
 * `ButterflyClient`: submits inferences to a cluster and accepts a result only with a commit
 * certificate that verifies against the members' public keys (`verifyClientReply`): a client
 * trusts no single node. It sends its signed request to every member (a member that missed it
 * learns it from the others) and takes the first reply that verifies.
 *
 * @module
 */

import type { NodeId } from "../core/types.ts";
import { verifyClientReply } from "../wire/client_reply.ts";
import { openFrame, sealMessage } from "../wire/frame.ts";
import { Membership, type NodeSigner } from "../wire/identity.ts";
import { decodeMessage, type MessageOf, type SignedMessage } from "../wire/message.ts";
import type { ProofData } from "../wire/message.ts";
import type { ClusterFile } from "./cluster_file.ts";
import { FramedConnection } from "./framed.ts";

/** Options of {@linkcode ButterflyClient.connect}. */
export interface ClientOptions {
  /** The cluster. */
  readonly cluster: ClusterFile;
  /** The client's signer; its id and key must be in the cluster file's clients. */
  readonly signer: NodeSigner;
}

/** One inference to run. */
export interface InferenceOptions {
  /** The prompt. */
  readonly prompt: string | Uint8Array;
  /** Tokens to generate. */
  readonly tokenCount: number;
  /** The inference id (default: a random one). */
  readonly inferenceId?: number;
  /** How long to wait for a verified reply, in ms (default 120,000). */
  readonly timeoutMs?: number;
}

/** A committed inference, as its verified reply shows it. */
export interface CommittedInference {
  /** The inference id. */
  readonly inferenceId: number;
  /** The output bytes (the generated text, for byte-level models). */
  readonly output: Uint8Array;
  /** SHA-256 of the output: the value the cluster committed. */
  readonly value: Uint8Array;
  /** The view the certificate was signed in. */
  readonly view: number;
  /** `fast` (Prepares from every member) or `standard` (a quorum of Commits). */
  readonly path: "fast" | "standard";
  /** The certificate's signers. */
  readonly signers: readonly NodeId[];
  /** The member whose reply arrived first. */
  readonly repliedBy: NodeId;
  /** The proof the reply carried. */
  readonly proof: ProofData;
}

/** An inference that did not commit in time. */
export class InferenceTimeoutError extends Error {
  /** The inference. */
  readonly inferenceId: number;
  /**
   * Creates the error.
   *
   * @param inferenceId The inference.
   * @param timeoutMs How long the client waited.
   */
  constructor(inferenceId: number, timeoutMs: number) {
    super(`Inference ${inferenceId} got no verified reply within ${timeoutMs} ms`);
    this.name = "InferenceTimeoutError";
    this.inferenceId = inferenceId;
  }
}

interface Waiting {
  readonly input: Uint8Array;
  readonly resolve: (result: CommittedInference) => void;
  readonly refusals: string[];
}

/** A client of a Butterfly cluster. */
export class ButterflyClient {
  readonly #cluster: ClusterFile;
  readonly #signer: NodeSigner;
  readonly #membership: Membership;
  readonly #connections = new Map<NodeId, Promise<FramedConnection | undefined>>();
  readonly #waiting = new Map<number, Waiting>();
  #sequence = 0;
  #closed = false;

  private constructor(cluster: ClusterFile, signer: NodeSigner, membership: Membership) {
    this.#cluster = cluster;
    this.#signer = signer;
    this.#membership = membership;
  }

  /**
   * Creates a client (connections open on the first inference).
   *
   * @param options The cluster and the client's key.
   * @returns The client.
   */
  static async connect(options: ClientOptions): Promise<ButterflyClient> {
    const membership = await Membership.create(
      options.cluster.nodes.map((node) => ({ nodeId: node.id, publicKey: node.publicKey })),
    );
    return new ButterflyClient(options.cluster, options.signer, membership);
  }

  /**
   * Runs an inference and resolves with its verified result.
   *
   * @param options The prompt and token count.
   * @returns The committed result.
   * @throws {InferenceTimeoutError} If no verified reply arrives in time.
   */
  async infer(options: InferenceOptions): Promise<CommittedInference> {
    const input = typeof options.prompt === "string"
      ? new TextEncoder().encode(options.prompt)
      : options.prompt;
    const inferenceId = options.inferenceId ?? randomInferenceId();
    const timeoutMs = options.timeoutMs ?? 120_000;
    const done = Promise.withResolvers<CommittedInference>();
    this.#waiting.set(inferenceId, { input, resolve: done.resolve, refusals: [] });
    // One copy per member, addressed to it: that copy binds this client's connection there.
    await Promise.all(this.#cluster.nodes.map(async (node) => {
      const frame = await sealMessage({
        type: "ClientRequest",
        inferenceId,
        from: this.#signer.nodeId,
        view: 0,
        epoch: 0,
        sequence: this.#nextSequence(),
        input,
        tokenCount: options.tokenCount,
        to: node.id,
      }, this.#signer);
      await this.#sendTo(node.id, frame);
    }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new InferenceTimeoutError(inferenceId, timeoutMs)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([done.promise, timeout]);
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(inferenceId);
    }
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const connections = (await Promise.all(this.#connections.values())).filter((c) =>
      c !== undefined
    );
    for (const connection of connections) connection.close("client closed");
    await Promise.allSettled(connections.map((connection) => connection.done));
  }

  #nextSequence(): number {
    this.#sequence = Math.max(this.#sequence + 1, Date.now() * 1000);
    return this.#sequence;
  }

  async #sendTo(nodeId: NodeId, frame: Uint8Array): Promise<void> {
    const connection = await this.#connectionTo(nodeId);
    connection?.send(frame);
  }

  // One connection per member, shared by concurrent inferences; `undefined` for a member that
  // is down (the others answer).
  #connectionTo(nodeId: NodeId): Promise<FramedConnection | undefined> {
    const current = this.#connections.get(nodeId);
    if (current !== undefined) {
      return current.then((connection) =>
        connection === undefined || connection.closed ? this.#connect(nodeId) : connection
      );
    }
    return this.#connect(nodeId);
  }

  #connect(nodeId: NodeId): Promise<FramedConnection | undefined> {
    const node = this.#cluster.nodes.find((n) => n.id === nodeId)!;
    const connecting = Deno.connect({ hostname: node.host, port: node.port }).then(
      (conn) => {
        const connection: FramedConnection = new FramedConnection(conn, {
          onFrame: (bytes) => this.#onFrame(bytes),
          onFramingError: () => {},
          onClose: () => {},
        });
        if (this.#closed) connection.close("client closed");
        return connection;
      },
      () => undefined,
    );
    this.#connections.set(nodeId, connecting);
    return connecting;
  }

  async #onFrame(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return;
    const opened = await openFrame(bytes, this.#membership);
    if (!opened.ok || opened.value.message.type !== "ClientReply") return;
    const reply = opened.value.message;
    const waiting = this.#waiting.get(reply.inferenceId);
    if (waiting === undefined) return;
    const verified = await verifyClientReply(reply, {
      membership: this.#membership,
      faultsMax: this.#cluster.faultsMax,
      input: waiting.input,
    });
    if (!verified.ok) {
      // One entry per member at most: a member cannot grow it by sending more bad replies.
      const entry = `${reply.from}: ${verified.error.code}`;
      if (!waiting.refusals.some((r) => r.startsWith(`${reply.from}:`))) {
        waiting.refusals.push(entry);
      }
      return;
    }
    waiting.resolve(summary(reply));
  }
}

/** What a commit certificate shows: its path, view and signers. */
export interface CertificateSummary {
  /** `fast` (Prepares from every member) or `standard` (a quorum of Commits). */
  readonly path: "fast" | "standard";
  /** The view of its votes, if any decodes. */
  readonly view: number | undefined;
  /** Who signed its votes. */
  readonly signers: readonly NodeId[];
}

/**
 * Reads a commit certificate (already verified, or only for a log line).
 *
 * @param certificate The signed votes.
 * @returns Its path, view and signers.
 */
export function summarizeCertificate(certificate: readonly SignedMessage[]): CertificateSummary {
  const votes = certificate.flatMap((signed) => {
    const decoded = decodeMessage(signed.body);
    return decoded.ok ? [decoded.value] : [];
  });
  return {
    path: votes[0]?.type === "Prepare" ? "fast" : "standard",
    view: votes[0]?.view,
    signers: votes.map((vote) => vote.from),
  };
}

function summary(reply: MessageOf<"ClientReply">): CommittedInference {
  const certificate = summarizeCertificate(reply.certificate);
  return {
    inferenceId: reply.inferenceId,
    output: reply.output,
    value: reply.value,
    view: certificate.view ?? reply.view,
    path: certificate.path,
    signers: certificate.signers,
    repliedBy: reply.from,
    proof: reply.proof,
  };
}

function randomInferenceId(): number {
  const words = crypto.getRandomValues(new Uint32Array(2));
  // 48 bits, never 0 (the nodes' own messages use inference 0).
  return (words[0]! & 0xffff) * 2 ** 32 + words[1]! + 1;
}
