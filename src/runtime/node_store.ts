/**
 * A node's data directory: per inference, the client's request, the core's durable fields, the
 * signed Prepares of its prepared certificate, the messages it signed, and the reply once it
 * committed. Whole files are replaced atomically (temporary file, fsync, rename, fsync of the
 * directory); the log is appended and fsynced, one fsync for what arrives together, and kept open
 * while the inference is. A crash at any point leaves each file either as it was or as it became,
 * never half-written (a torn last line of the log was never fsynced, so nothing acted on it: it is
 * ignored when read and cut before the next run appends), and nothing fsynced is lost.
 *
 * ```
 * DATA/inferences/<id>/request.json     the request (prompt, tokens, client, its signed frame)
 * DATA/inferences/<id>/caches/           each stage's cache, checkpointed (`CacheCheckpoints`)
 * DATA/inferences/<id>/signed.ndjson    every message the node signed, one per line, and each
 *                                       change of the durable fields (view, seed, vote, prepared,
 *                                       committed, checkpoint, excluded) with the signed Prepares
 *                                       that prove `prepared`, the last one holding
 * DATA/inferences/<id>/durable.json     the durable fields, as an earlier version kept them
 * DATA/inferences/<id>/reply.json       the signed ClientReply, once committed
 * ```
 *
 * @module
 */

import { join } from "node:path";
import type { DurableState, SpecMessage } from "../core/spec_state.ts";
import { decodeMessage, type SignedMessage } from "../wire/message.ts";
import type { InferenceRequest, StepRecord } from "./instance.ts";
import { fromHex, toHex } from "./keys.ts";
import type { DigestValue } from "./spec_wire.ts";

/** What the disk holds of one inference. */
export interface StoredInference {
  /** The request. */
  readonly request: InferenceRequest;
  /** The durable fields, if any were written. */
  readonly durable: DurableState<DigestValue> | undefined;
  /** The signed Prepares of the prepared certificate. */
  readonly preparedCertificate: readonly SignedMessage[];
  /** The messages the node signed, in order. */
  readonly signed: readonly SpecMessage<DigestValue>[];
  /** The committed reply, if any. */
  readonly reply: SignedMessage | undefined;
}

/** A data directory that cannot be used (a file that is not what it should be). */
export class NodeStoreError extends Error {
  /**
   * Creates the error.
   *
   * @param path The file.
   * @param message What is wrong with it.
   */
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "NodeStoreError";
  }
}

const encoder = new TextEncoder();

function signedToJson(signed: SignedMessage): { body: string; signature: string } {
  return { body: toHex(signed.body), signature: toHex(signed.signature) };
}

function signedFromJson(value: unknown, path: string): SignedMessage {
  const record = value as { body?: unknown; signature?: unknown } | null;
  const body = typeof record?.body === "string" && record.body.length % 2 === 0
    ? fromHex(record.body, record.body.length / 2)
    : undefined;
  const signature = typeof record?.signature === "string"
    ? fromHex(record.signature, 64)
    : undefined;
  if (body === undefined || signature === undefined) {
    throw new NodeStoreError(path, "holds a signed message that is not hex body and signature");
  }
  return { body, signature };
}

/** The data directory of one node. */
export class NodeStore {
  /** The directory. */
  readonly directory: string;

  private constructor(directory: string) {
    this.directory = directory;
  }

  /**
   * Opens (creating) a data directory.
   *
   * @param directory Its path.
   * @returns The store.
   */
  static async open(directory: string): Promise<NodeStore> {
    await Deno.mkdir(join(directory, "inferences"), { recursive: true });
    return new NodeStore(directory);
  }

  #dir(inferenceId: number): string {
    return join(this.directory, "inferences", String(inferenceId));
  }

  /**
   * Where an inference's stage caches are checkpointed (removed with the inference).
   *
   * @param inferenceId The inference.
   * @returns The directory.
   */
  cachesDirectory(inferenceId: number): string {
    return join(this.#dir(inferenceId), "caches");
  }

  /**
   * Writes a new inference's request (before the node acts on it).
   *
   * @param request The request.
   */
  async writeRequest(request: InferenceRequest): Promise<void> {
    const dir = this.#dir(request.inferenceId);
    await Deno.mkdir(dir, { recursive: true });
    await syncDirectory(join(this.directory, "inferences"));
    await replaceFile(
      join(dir, "request.json"),
      JSON.stringify({
        inferenceId: request.inferenceId,
        client: request.client,
        prompt: toHex(request.prompt),
        tokenCount: request.tokenCount,
        signed: signedToJson(request.signed),
      }),
    );
  }

  /**
   * Appends what a step keeps, in one write (whole or not at all, since a torn last line is
   * dropped): the durable fields with the prepared certificate where given, then the messages.
   *
   * @param inferenceId The inference.
   * @param step The durable fields (optional) and the messages signed.
   * @returns When it is on disk.
   */
  record(inferenceId: number, step: StepRecord): Promise<void> {
    const lines = step.signed.map((m) => JSON.stringify(m));
    if (step.durable !== undefined) {
      lines.unshift(JSON.stringify({
        durable: step.durable,
        preparedCertificate: (step.preparedCertificate ?? []).map(signedToJson),
      }));
    }
    return this.#enqueue(inferenceId, lines);
  }

  /**
   * Appends messages the node signed.
   *
   * @param inferenceId The inference.
   * @param messages The messages, in signing order.
   */
  appendSigned(
    inferenceId: number,
    messages: readonly SpecMessage<DigestValue>[],
  ): Promise<void> {
    return this.record(inferenceId, { signed: messages });
  }

  // Group commit: lines that arrive while an append is being written go to disk together, in
  // order, with one fsync (the appends of a busy node queue behind each other's fsyncs).
  #enqueue(inferenceId: number, lines: readonly string[]): Promise<void> {
    let queue = this.#appending.get(inferenceId);
    if (queue === undefined) {
      const fresh: AppendQueue = { lines: [], waiters: [], drained: Promise.resolve() };
      fresh.drained = this.#drain(inferenceId, fresh);
      this.#appending.set(inferenceId, fresh);
      queue = fresh;
    }
    const done = Promise.withResolvers<void>();
    queue.lines.push(...lines);
    queue.waiters.push(done);
    return done.promise;
  }

  // Writes an inference's queued lines, a batch at a time, until none is left.
  async #drain(inferenceId: number, queue: AppendQueue): Promise<void> {
    // Let the appends of this turn of the event loop join the first batch.
    await Promise.resolve();
    while (queue.lines.length > 0) {
      const batch = queue.lines.splice(0);
      const waiters = queue.waiters.splice(0);
      try {
        await this.#append(inferenceId, batch);
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    this.#appending.delete(inferenceId);
  }

  readonly #appending = new Map<number, AppendQueue>();

  // Each inference's log, open from its first append until the inference is removed or the
  // store closed: one open per inference, not one per record.
  readonly #logs = new Map<number, Deno.FsFile>();
  #closed = false;

  async #append(inferenceId: number, lines: readonly string[]): Promise<void> {
    let file = this.#logs.get(inferenceId);
    const opened = file === undefined;
    if (file === undefined) {
      const path = join(this.#dir(inferenceId), "signed.ndjson");
      try {
        file = await Deno.open(path, { append: true, createNew: true });
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        // An earlier run's log: a torn last line (a crash mid-append, never fsynced, so never
        // acted on) goes before anything is appended, or the next line would join it.
        await dropTornTail(path);
        file = await Deno.open(path, { append: true });
      }
    }
    try {
      await writeAll(file, encoder.encode(lines.map((line) => `${line}\n`).join("")));
      await file.sync();
      // A new file's directory entry is durable only once the directory is synced: done on
      // this process's first append to the log, whether it created the file or an earlier run did
      // and crashed before its sync.
      if (opened) await syncDirectory(this.#dir(inferenceId));
    } catch (error) {
      if (!opened) this.#logs.delete(inferenceId);
      file.close();
      throw error;
    }
    if (this.#closed) {
      // An append that was under way, or came, after close: nothing is kept open.
      if (!opened) this.#logs.delete(inferenceId);
      file.close();
    } else if (opened) {
      this.#logs.set(inferenceId, file);
    }
  }

  // Closes an inference's log, once every append queued for it is written.
  async #closeLog(inferenceId: number): Promise<void> {
    for (
      let queue = this.#appending.get(inferenceId);
      queue !== undefined;
      queue = this.#appending.get(inferenceId)
    ) {
      await queue.drained;
    }
    this.#logs.get(inferenceId)?.close();
    this.#logs.delete(inferenceId);
  }

  /**
   * Closes the store's open files, once the appends under way are on disk; an append after
   * this still lands, in a file opened and closed for it.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const ids = new Set([...this.#logs.keys(), ...this.#appending.keys()]);
    await Promise.all([...ids].map((id) => this.#closeLog(id)));
  }

  /**
   * Keeps the committed reply.
   *
   * @param inferenceId The inference.
   * @param reply Its signed body.
   */
  async writeReply(inferenceId: number, reply: SignedMessage): Promise<void> {
    await replaceFile(
      join(this.#dir(inferenceId), "reply.json"),
      JSON.stringify(signedToJson(reply)),
    );
  }

  /**
   * Reads every inference on disk.
   *
   * @returns The inferences, by id ascending.
   * @throws {NodeStoreError} If a file is not what the node wrote (it refuses to guess).
   */
  async load(): Promise<StoredInference[]> {
    const ids: number[] = [];
    for await (const entry of Deno.readDir(join(this.directory, "inferences"))) {
      if (entry.isDirectory && /^\d+$/.test(entry.name)) ids.push(Number(entry.name));
    }
    ids.sort((a, b) => a - b);
    const out: StoredInference[] = [];
    for (const id of ids) {
      const stored = await this.#loadOne(id);
      if (stored !== undefined) out.push(stored);
    }
    return out;
  }

  /**
   * Deletes an inference's files (after it committed and is no longer needed).
   *
   * @param inferenceId The inference.
   */
  async remove(inferenceId: number): Promise<void> {
    await this.#closeLog(inferenceId);
    await Deno.remove(this.#dir(inferenceId), { recursive: true });
  }

  async #loadOne(id: number): Promise<StoredInference | undefined> {
    const dir = this.#dir(id);
    const requestPath = join(dir, "request.json");
    const request = await readJson(requestPath);
    // A directory without its request is a crash before the request was written: nothing
    // was acted on.
    if (request === undefined) return undefined;
    const r = request as Record<string, unknown>;
    const prompt = typeof r.prompt === "string" && r.prompt.length % 2 === 0
      ? fromHex(r.prompt, r.prompt.length / 2)
      : undefined;
    if (
      r.inferenceId !== id || typeof r.client !== "string" || prompt === undefined ||
      typeof r.tokenCount !== "number"
    ) {
      throw new NodeStoreError(requestPath, "is not a request this node wrote");
    }
    // A data directory of an earlier version kept the durable fields in a file of their own;
    // the log's durable lines, if any, come after it.
    const durablePath = join(dir, "durable.json");
    let stored = checkedDurable(await readJson(durablePath), durablePath);
    const signedPath = join(dir, "signed.ndjson");
    let signedText = "";
    try {
      signedText = await Deno.readTextFile(signedPath);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const lines = signedText.split("\n");
    // A crash mid-append can leave a partial last line, never fsynced, so never sent: drop it.
    if (lines.at(-1) !== "") lines.pop();
    const signed: SpecMessage<DigestValue>[] = [];
    for (const line of lines) {
      if (line === "") continue;
      let record;
      try {
        record = JSON.parse(line);
      } catch {
        throw new NodeStoreError(signedPath, "holds a line that is not JSON");
      }
      // The durable fields as a step changed them, or a message the node signed.
      if (typeof record === "object" && record !== null && "durable" in record) {
        stored = checkedDurable(record, signedPath);
      } else {
        signed.push(record);
      }
    }
    const durable = stored?.durable;
    const prepared = (stored?.preparedCertificate ?? []) as unknown[];
    const reply = await readJson(join(dir, "reply.json"));
    const signedRequest = signedFromJson(r.signed, requestPath);
    // The sampling rule is the signed request's own: decoded from it, never kept beside it.
    const decoded = decodeMessage(signedRequest.body);
    if (!decoded.ok || decoded.value.type !== "ClientRequest") {
      throw new NodeStoreError(requestPath, "holds a signed request that does not decode");
    }
    const sampling = decoded.value.sampling;
    return {
      request: {
        inferenceId: id,
        client: r.client,
        prompt,
        tokenCount: r.tokenCount,
        signed: signedRequest,
        ...(sampling === undefined ? {} : { sampling }),
      },
      durable,
      preparedCertificate: prepared.map((p) => signedFromJson(p, durablePath)),
      signed,
      reply: reply === undefined ? undefined : signedFromJson(reply, join(dir, "reply.json")),
    };
  }
}

// An inference's lines waiting for the append under way, who waits for them, and the drain
// that writes them.
interface AppendQueue {
  lines: string[];
  waiters: PromiseWithResolvers<void>[];
  drained: Promise<void>;
}

// Cuts a file after its last newline (nothing, if it ends with one or is empty), durably.
async function dropTornTail(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true, write: true });
  try {
    const size = (await file.stat()).size;
    const chunk = new Uint8Array(4096);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      await file.seek(start, Deno.SeekMode.Start);
      const view = chunk.subarray(0, end - start);
      let read = 0;
      while (read < view.length) {
        const count = await file.read(view.subarray(read));
        if (count === null) break;
        read += count;
      }
      const newline = view.subarray(0, read).lastIndexOf(0x0a);
      if (newline >= 0) {
        end = start + newline + 1;
        break;
      }
      end = start;
    }
    if (end === size) return;
    await file.truncate(end);
    await file.sync();
  } finally {
    file.close();
  }
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new NodeStoreError(path, "is not JSON");
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

// Replaces `path` with `text` atomically and durably.
async function replaceFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await Deno.open(temporary, { write: true, create: true, truncate: true });
  try {
    await writeAll(file, encoder.encode(text));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(temporary, path);
  await syncDirectory(path.slice(0, path.lastIndexOf("/")) || "/");
}

async function syncDirectory(path: string): Promise<void> {
  try {
    const directory = await Deno.open(path, { read: true });
    try {
      await directory.sync();
    } finally {
      directory.close();
    }
  } catch (error) {
    // Some platforms cannot fsync a directory; the rename is then as durable as they allow.
    if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
  }
}

// The durable fields and the prepared certificate, as the node writes them (or `undefined`).
function checkedDurable(
  value: unknown,
  path: string,
): { durable: DurableState<DigestValue>; preparedCertificate: unknown[] } | undefined {
  if (value === undefined) return undefined;
  const stored = value as { durable?: DurableState<DigestValue>; preparedCertificate?: unknown };
  if (
    typeof stored !== "object" || stored === null || !Array.isArray(stored.preparedCertificate) ||
    typeof stored.durable !== "object" || stored.durable === null ||
    typeof stored.durable.view !== "number" || typeof stored.durable.seed !== "number"
  ) {
    throw new NodeStoreError(path, "holds durable state this node does not write");
  }
  return stored as { durable: DurableState<DigestValue>; preparedCertificate: unknown[] };
}
