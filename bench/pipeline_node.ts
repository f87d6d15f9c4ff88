/**
 * The unreplicated pipeline a user would otherwise run, for `bench/cluster_report.ts` to set the
 * BCP cluster against: one process per member, each stage on one process (where the cluster
 * places the stage's first replica in view 0), activations passed over TCP from stage to stage,
 * with no signatures, no votes, no replication, no disk and no checkpoints. The model, the
 * stage split, the framing (`FramedConnection`) and the greedy choice of tokens are the
 * cluster's, so the tokens are the same and only coordination differs.
 *
 *     deno run -A bench/pipeline_node.ts --port P --routes P1,P2,... --model JSON --boundaries B
 *
 * `--routes` lists the port of the process that runs each stage, in stage order (an echo frame
 * comes straight back: the loopback round trip). A client
 * connects to every process, says hello, sends its request to stage 1's process, and gets each
 * token from the last stage's. Frames (after the 4-byte length prefix, all little-endian):
 * kind u8, pad, inference u32, token u32, stage u32, token count u32, token id u32, then the
 * payload from byte 80: prompt bytes (request), int32 token ids (stage 1's input) or float32
 * activations (any other stage's).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { samplerAt, sampleToken } from "../src/model/sampling.ts";
import type { KvCache } from "../src/model/kv_cache.ts";
import { type StageTensor, tokenTensor } from "../src/model/tensor.ts";
import { FramedConnection } from "../src/runtime/framed.ts";
import { openModel } from "../src/runtime/model_source.ts";
import { parseClusterFile } from "../src/runtime/cluster_file.ts";

/** Frame kinds. */
export const KIND = { hello: 1, request: 2, input: 3, token: 4, echo: 5 } as const;

/** Bytes before the payload (the length prefix included). */
export const HEADER_BYTES = 80;

/** A decoded frame. */
export interface PipelineFrame {
  readonly kind: number;
  readonly inference: number;
  readonly token: number;
  readonly stage: number;
  readonly tokenCount: number;
  readonly tokenId: number;
  readonly payload: Uint8Array;
}

/**
 * Encodes a frame.
 *
 * @param frame The fields and the payload.
 * @returns The bytes, length prefix first.
 */
export function encodePipelineFrame(frame: PipelineFrame): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + frame.payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, bytes.length - 4);
  view.setUint8(4, frame.kind);
  view.setUint32(8, frame.inference, true);
  view.setUint32(12, frame.token, true);
  view.setUint32(16, frame.stage, true);
  view.setUint32(20, frame.tokenCount, true);
  view.setUint32(24, frame.tokenId, true);
  bytes.set(frame.payload, HEADER_BYTES);
  return bytes;
}

/**
 * Decodes a frame.
 *
 * @param bytes A whole frame.
 * @returns Its fields.
 */
export function decodePipelineFrame(bytes: Uint8Array): PipelineFrame {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    kind: view.getUint8(4),
    inference: view.getUint32(8, true),
    token: view.getUint32(12, true),
    stage: view.getUint32(16, true),
    tokenCount: view.getUint32(20, true),
    tokenId: view.getUint32(24, true),
    payload: bytes.subarray(HEADER_BYTES),
  };
}

const handlers = (onFrame: (frame: Uint8Array) => void) => ({
  onFrame,
  onFramingError: (_code: string, message: string) => console.error(`framing: ${message}`),
  onClose: () => {},
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      routes: { type: "string" },
      model: { type: "string" },
      boundaries: { type: "string", default: "" },
    },
  });
  const port = Number(values.port);
  const routes = (values.routes ?? "").split(",").map(Number);
  const boundaries = values.boundaries === "" ? [] : values.boundaries!.split(",").map(Number);
  // The cluster file's checks, on a file with only the model (and one placeholder member).
  const model = parseClusterFile({
    model: JSON.parse(values.model ?? "{}"),
    nodes: [{ id: "x", address: "127.0.0.1:1", publicKey: "00".repeat(32) }],
    f: 0,
  }, ".").model;
  // A process that runs no stage needs no model (a member that holds no first replica in
  // view 0).
  const pipeline = routes.includes(port) ? await openModel(model, boundaries) : undefined;
  const config = pipeline?.config;
  const caches = new Map<string, KvCache>();
  const peers = new Map<number, FramedConnection>();
  let client: FramedConnection | undefined;
  let queue: Promise<void> = Promise.resolve();

  const sendTo = async (target: number, frame: Uint8Array) => {
    let connection = peers.get(target);
    if (connection === undefined || connection.closed) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: target });
      connection = new FramedConnection(conn, handlers(onFrame));
      peers.set(target, connection);
    }
    connection.send(frame);
  };

  const run = async (frame: PipelineFrame) => {
    if (pipeline === undefined || config === undefined) {
      throw new Error("this process runs no stage");
    }
    const executor = pipeline.stages[frame.stage - 1]!;
    const key = `${frame.inference}/${frame.stage}`;
    const cache = caches.get(key) ?? executor.emptyCache();
    const payload = frame.payload.slice();
    const input: StageTensor = frame.stage === 1
      ? tokenTensor(Array.from(new Int32Array(payload.buffer)))
      : {
        dtype: "float32",
        dims: [1, payload.length / 4 / config.hiddenSize, config.hiddenSize],
        data: new Float32Array(payload.buffer),
      };
    const result = await executor.run(input, cache);
    caches.set(key, result.cache);
    if (frame.stage < pipeline.stages.length) {
      const data = result.output.data;
      await sendTo(
        routes[frame.stage]!,
        encodePipelineFrame({
          ...frame,
          stage: frame.stage + 1,
          payload: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        }),
      );
      return;
    }
    const logits = result.output.data;
    const tokenId = sampleToken(
      samplerAt({ kind: "greedy" }, frame.token),
      logits.subarray(logits.length - config.vocabSize),
    );
    client?.send(
      encodePipelineFrame({ ...frame, kind: KIND.token, tokenId, payload: new Uint8Array() }),
    );
    if (frame.token < frame.tokenCount) {
      await sendTo(
        routes[0]!,
        encodePipelineFrame({
          ...frame,
          token: frame.token + 1,
          stage: 1,
          payload: new Uint8Array(Int32Array.of(tokenId).buffer),
        }),
      );
    } else {
      for (let stage = 1; stage <= pipeline.stages.length; stage++) {
        caches.delete(`${frame.inference}/${stage}`);
      }
    }
  };

  function onFrame(bytes: Uint8Array, from?: FramedConnection): void {
    const frame = decodePipelineFrame(bytes);
    if (frame.kind === KIND.hello) {
      client = from;
      return;
    }
    // A round trip, for the loopback figure the commit latency is set against.
    if (frame.kind === KIND.echo) {
      from?.send(bytes);
      return;
    }
    const input = frame.kind === KIND.request
      ? {
        ...frame,
        kind: KIND.input,
        token: 1,
        stage: 1,
        payload: new Uint8Array(Int32Array.from(frame.payload).buffer),
      }
      : frame;
    // One computation at a time, as a node's StageRunner runs them.
    queue = queue.then(() => run(input)).catch((error) => {
      console.error(`pipeline node: ${(error as Error).message}`);
    });
  }

  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  console.log(JSON.stringify({ listening: port }));
  for await (const conn of listener) {
    const connection: FramedConnection = new FramedConnection(
      conn,
      handlers((bytes) => onFrame(bytes, connection)),
    );
  }
}

if (import.meta.main) await main();
