/**
 * `ButterflyClient`: submits inferences to a cluster and accepts a result only with a commit
 * certificate that verifies against the members' public keys (`verifyClientReply`): a client
 * trusts no single node. It sends its signed request to every member (a member that missed it
 * learns it from the others) and takes the first reply that verifies. Tokens stream as the
 * members accept them, each once more than f members reported it; a request that more than f
 * members refuse fails with their reasons (`spec/PROTOCOL.md` §8.2).
 *
 * @module
 */

import { type ClusterSize, hasHonestMember, honestlyReported } from "../core/quorum.ts";
import type { NodeId } from "../core/types.ts";
import type { Sampling } from "../model/sampling.ts";
import { verifyClientReply } from "../wire/client_reply.ts";
import { openFrame, sealMessage } from "../wire/frame.ts";
import { Membership, type NodeSigner } from "../wire/identity.ts";
import { decodeMessage, type MessageOf, type SignedMessage } from "../wire/message.ts";
import type { ProofData } from "../wire/message.ts";
import type { ClusterFile } from "./cluster_file.ts";
import { FramedConnection } from "./framed.ts";
import { samplingRequestOf } from "./sampling_wire.ts";
import { decodeTokens } from "./spec_wire.ts";

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
  /**
   * Seeded sampling (default: greedy). The temperature travels in thousandths, so it must be a
   * multiple of 0.001.
   */
  readonly sampling?: Sampling;
  /**
   * Called with each token, in order, once more than f members reported accepting it (so an honest
   * member did). The result is still the committed, verified output, which these tokens begin.
   */
  readonly onToken?: (token: StreamedToken) => void;
}

/** A token as it streams. */
export interface StreamedToken {
  /** Its place in the output, from 1. */
  readonly token: number;
  /** Its id (a byte, for the byte-level models). */
  readonly tokenId: number;
}

/** A committed inference, as its verified reply shows it. */
export interface CommittedInference {
  /** The inference id. */
  readonly inferenceId: number;
  /** The output bytes (the generated text, for byte-level models). */
  readonly output: Uint8Array;
  /** The token ids the output holds. */
  readonly tokens: readonly number[];
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
   * @param badReplies The replies that failed verification, as `member: code`.
   */
  constructor(inferenceId: number, timeoutMs: number, badReplies: readonly string[] = []) {
    super(
      `Inference ${inferenceId} got no verified reply within ${timeoutMs} ms` +
        (badReplies.length === 0 ? "" : ` (replies refused: ${badReplies.join(", ")})`),
    );
    this.name = "InferenceTimeoutError";
    this.inferenceId = inferenceId;
  }
}

/** A request that more than f members refused (so an honest one did). */
export class InferenceRefusedError extends Error {
  /** The inference. */
  readonly inferenceId: number;
  /** Each refusing member's reason. */
  readonly reasons: ReadonlyMap<NodeId, string>;
  /**
   * Creates the error.
   *
   * @param inferenceId The inference.
   * @param reasons Each refusing member's reason.
   */
  constructor(inferenceId: number, reasons: ReadonlyMap<NodeId, string>) {
    const listed = [...reasons].map(([member, reason]) => `${member}: ${reason}`).join("; ");
    super(`Inference ${inferenceId} was refused (${listed})`);
    this.name = "InferenceRefusedError";
    this.inferenceId = inferenceId;
    this.reasons = reasons;
  }
}

interface Waiting {
  readonly input: Uint8Array;
  readonly tokenCount: number;
  // A fresh copy of the request for one member (a hello for its connection there).
  readonly requestFor: (nodeId: NodeId) => Promise<Uint8Array>;
  readonly resolve: (result: CommittedInference) => void;
  readonly reject: (error: Error) => void;
  readonly onToken: ((token: StreamedToken) => void) | undefined;
  readonly badReplies: string[];
  // Each member's first report for each token, and the tokens streamed so far.
  readonly reports: Map<number, Map<NodeId, number>>;
  readonly streamed: number[];
  readonly refusedBy: Map<NodeId, string>;
}

/** A client of a Butterfly cluster. */
export class ButterflyClient {
  readonly #cluster: ClusterFile;
  readonly #signer: NodeSigner;
  readonly #membership: Membership;
  readonly #size: ClusterSize;
  readonly #connections = new Map<NodeId, Promise<FramedConnection | undefined>>();
  readonly #waiting = new Map<number, Waiting>();
  #sequence = 0;
  #closed = false;

  private constructor(cluster: ClusterFile, signer: NodeSigner, membership: Membership) {
    this.#cluster = cluster;
    this.#signer = signer;
    this.#membership = membership;
    this.#size = { nodeCount: membership.size, faultsMax: cluster.faultsMax };
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
   * @param options The prompt, token count, sampling and where tokens stream.
   * @returns The committed result.
   * @throws {InferenceTimeoutError} If no verified reply arrives in time.
   * @throws {InferenceRefusedError} If more than f members refuse the request.
   * @throws {RangeError} If the sampling rule is out of range.
   */
  async infer(options: InferenceOptions): Promise<CommittedInference> {
    const input = typeof options.prompt === "string"
      ? new TextEncoder().encode(options.prompt)
      : options.prompt;
    const inferenceId = options.inferenceId ?? randomInferenceId();
    const timeoutMs = options.timeoutMs ?? 120_000;
    const sampling = options.sampling === undefined
      ? undefined
      : samplingRequestOf(options.sampling);
    const done = Promise.withResolvers<CommittedInference>();
    this.#waiting.set(inferenceId, {
      input,
      tokenCount: options.tokenCount,
      requestFor: (nodeId) =>
        sealMessage({
          type: "ClientRequest",
          inferenceId,
          from: this.#signer.nodeId,
          view: 0,
          epoch: 0,
          sequence: this.#nextSequence(),
          input,
          tokenCount: options.tokenCount,
          to: nodeId,
          ...(sampling === undefined ? {} : { sampling }),
        }, this.#signer),
      resolve: done.resolve,
      reject: done.reject,
      onToken: options.onToken,
      badReplies: [],
      reports: new Map(),
      streamed: [],
      refusedBy: new Map(),
    });
    // One copy per member, addressed to it: that copy binds this client's connection there.
    await Promise.all(this.#cluster.nodes.map(async (node) => {
      await this.#sendTo(node.id, await this.#waiting.get(inferenceId)!.requestFor(node.id));
    }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new InferenceTimeoutError(
              inferenceId,
              timeoutMs,
              this.#waiting.get(inferenceId)?.badReplies,
            ),
          ),
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
    for (const timer of this.#redialing.values()) clearTimeout(timer);
    this.#redialing.clear();
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
          onClose: () => this.#reconnectLater(nodeId, 100),
        });
        if (this.#closed) connection.close("client closed");
        return connection;
      },
      () => {
        // Down now: try again while inferences wait.
        this.#reconnectLater(nodeId, 200);
        return undefined;
      },
    );
    this.#connections.set(nodeId, connecting);
    return connecting;
  }

  // A member's connection dropped (it restarted, or it is down) while inferences wait: connect
  // again, with backoff, and send it a fresh copy of each waiting request, so that the member
  // binds the new connection and can reply (a committed member answers a request it already ran
  // with its reply).
  #reconnectLater(nodeId: NodeId, delayMs: number): void {
    if (this.#closed || this.#waiting.size === 0 || this.#redialing.has(nodeId)) return;
    const timer = setTimeout(async () => {
      this.#redialing.delete(nodeId);
      if (this.#closed || this.#waiting.size === 0) return;
      const connection = await this.#connectionTo(nodeId);
      if (connection === undefined || connection.closed) {
        this.#reconnectLater(nodeId, Math.min(2000, delayMs * 2));
        return;
      }
      for (const waiting of this.#waiting.values()) {
        connection.send(await waiting.requestFor(nodeId));
      }
    }, delayMs);
    this.#redialing.set(nodeId, timer);
  }

  readonly #redialing = new Map<NodeId, ReturnType<typeof setTimeout>>();

  async #onFrame(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return;
    const opened = await openFrame(bytes, this.#membership);
    if (!opened.ok) return;
    const message = opened.value.message;
    const waiting = this.#waiting.get(message.inferenceId);
    if (waiting === undefined) return;
    if (message.type === "ClientProgress") return this.#onProgress(waiting, message);
    if (message.type === "ClientRefusal") return this.#onRefusal(waiting, message);
    if (message.type !== "ClientReply") return;
    const reply = message;
    const verified = await verifyClientReply(reply, {
      membership: this.#membership,
      faultsMax: this.#cluster.faultsMax,
      input: waiting.input,
    });
    if (!verified.ok) {
      // One entry per member at most: a member cannot grow it by sending more bad replies.
      const entry = `${reply.from}: ${verified.error.code}`;
      if (!waiting.badReplies.some((r) => r.startsWith(`${reply.from}:`))) {
        waiting.badReplies.push(entry);
      }
      return;
    }
    const result = summary(reply, waiting.tokenCount);
    const streamedDiffer = waiting.streamed.some((id, k) => result.tokens[k] !== id);
    if (streamedDiffer) {
      // More than f members reported a token the committed output does not hold: they lied.
      waiting.reject(
        new Error(
          `Inference ${reply.inferenceId} committed tokens that differ from those more than f members ` +
            "reported: more than f members are faulty",
        ),
      );
      return;
    }
    for (let k = waiting.streamed.length; k < result.tokens.length; k++) {
      this.#stream(waiting, result.tokens[k]!);
    }
    waiting.resolve(result);
  }

  #onProgress(waiting: Waiting, message: MessageOf<"ClientProgress">): void {
    const { token, tokenId } = message;
    if (token <= waiting.streamed.length || token > waiting.tokenCount) return;
    let byMember = waiting.reports.get(token);
    if (byMember === undefined) {
      byMember = new Map();
      waiting.reports.set(token, byMember);
    }
    // A member's first report for a token stands (a member cannot grow this by repeating).
    if (byMember.has(message.from)) return;
    byMember.set(message.from, tokenId);
    // Stream every token, in order, that more than f members reported alike.
    for (;;) {
      const next = waiting.reports.get(waiting.streamed.length + 1);
      if (next === undefined) return;
      const vouched = honestlyReported(this.#size, next.values());
      if (vouched === undefined) return;
      waiting.reports.delete(waiting.streamed.length + 1);
      this.#stream(waiting, vouched);
    }
  }

  #stream(waiting: Waiting, tokenId: number): void {
    waiting.streamed.push(tokenId);
    try {
      waiting.onToken?.({ token: waiting.streamed.length, tokenId });
    } catch {
      // The caller's callback failing is not the cluster's doing; the inference goes on.
    }
  }

  #onRefusal(waiting: Waiting, message: MessageOf<"ClientRefusal">): void {
    if (waiting.refusedBy.has(message.from)) return;
    waiting.refusedBy.set(message.from, message.reason);
    if (hasHonestMember(this.#size, waiting.refusedBy.size)) {
      waiting.reject(new InferenceRefusedError(message.inferenceId, new Map(waiting.refusedBy)));
    }
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

function summary(reply: MessageOf<"ClientReply">, tokenCount: number): CommittedInference {
  const certificate = summarizeCertificate(reply.certificate);
  // One byte per token for vocabularies of up to 256 ids, else four (`encodeTokens`): the
  // token count tells which.
  const tokens = decodeTokens(reply.output, reply.output.length === tokenCount ? 256 : 2 ** 32);
  return {
    inferenceId: reply.inferenceId,
    output: reply.output,
    tokens,
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
