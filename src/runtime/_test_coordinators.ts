// Four DistributedCoordinators wired together in memory (the test carries every frame, and can
// hold them or restart a node), each tracing its steps; the traces are checked when a test ends.
import assert from "node:assert/strict";
import type { ButterflyConfig } from "../config/config.ts";
import { closePipeline, createPipeline, type ModelPipeline } from "../model/generate.ts";
import { FOUR_LAYER_TINY_CONFIG } from "../model/_test_util.ts";
import { verifyClientReply } from "../wire/client_reply.ts";
import { openFrame } from "../wire/frame.ts";
import { Membership } from "../wire/identity.ts";
import type { CoordinationMessage, MessageType, SamplingRequest } from "../wire/message.ts";
import { testSigners } from "../wire/_test_keys.ts";
import { DistributedCoordinator } from "./distributed_coordinator.ts";
import { Logger, type LogRecord } from "./log.ts";
import { validateTraceDir } from "./trace.ts";
import { Sealer } from "./transport.ts";

/** What a test can do to the in-memory cluster. */
export interface Harness {
  readonly coordinators: DistributedCoordinator[];
  readonly pipelines: ModelPipeline[];
  readonly logs: LogRecord[];
  /** Holds every frame between nodes until `resume`. */
  pause(): void;
  resume(): void;
  /** Closes node k and starts a new coordinator on its data directory (a restart). */
  restart(k: number): Promise<void>;
  /** Where the nodes write their runtime traces. */
  readonly traceDir: string;
  /** Whether a frame from node `from` to node `to` is lost (the link stays up). */
  drop?: ((from: number, to: number, frame: Uint8Array) => boolean) | undefined;
  /** Called with each frame a node sends the client (after it is recorded). */
  onClientFrame?: ((from: number, frame: Uint8Array) => void) | undefined;
}

/** Runs `body` on four fresh coordinators; checks their traces after it. */
export async function withCoordinators(
  body: (
    coordinators: DistributedCoordinator[],
    replies: Uint8Array[],
    pipelines: ModelPipeline[],
    logs: LogRecord[],
    harness: Harness,
  ) => Promise<void>,
  config?: ButterflyConfig,
): Promise<void> {
  const signers = await testSigners();
  const [client] = await testSigners(["client-0"]);
  const members = signers.map(({ nodeId, publicKey }) => ({ nodeId, publicKey }));
  const pipelines: ModelPipeline[] = [];
  const dirs: string[] = [];
  const coordinators: DistributedCoordinator[] = [];
  const replies: Uint8Array[] = [];
  const logs: LogRecord[] = [];
  const held: (() => void)[] = [];
  let paused = false;
  let closed = false;
  const traceDir = await Deno.makeTempDir({ prefix: "butterfly-trace-" });
  const create = (k: number) =>
    new DistributedCoordinator(signers[k]!.nodeId, 4, 1, {
      signer: signers[k]!,
      members,
      clients: [{ nodeId: client!.nodeId, publicKey: client!.publicKey }],
      pipeline: pipelines[k]!,
      dataDir: dirs[k]!,
      traceDir,
      ...(config === undefined ? {} : { config }),
      log: new Logger(signers[k]!.nodeId, "info", (_line, record) => logs.push(record)),
      send: (peer, frame) => {
        if (peer === client!.nodeId) {
          replies.push(frame);
          harness.onClientFrame?.(k, frame);
          return true;
        }
        const to = members.findIndex((member) => member.nodeId === peer);
        if (to < 0) return false;
        if (harness.drop?.(k, to, frame) === true) return true;
        const deliver = () =>
          setTimeout(() => {
            if (!closed) void coordinators[to]!.handleMessage(frame).catch(() => {});
          }, 0);
        if (paused) held.push(deliver);
        else deliver();
        return true;
      },
    });
  const harness: Harness = {
    traceDir,
    coordinators,
    pipelines,
    logs,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      for (const deliver of held.splice(0)) deliver();
    },
    restart: async (k) => {
      await coordinators[k]!.close();
      coordinators[k] = create(k);
      await coordinators[k]!.start();
      // The links are back: each side resends what the other may have missed.
      for (const [j, other] of coordinators.entries()) {
        if (j === k) continue;
        await other.peerConnected(signers[k]!.nodeId);
        await coordinators[k]!.peerConnected(signers[j]!.nodeId);
      }
    },
  };
  try {
    for (const [k] of signers.entries()) {
      pipelines.push(await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] }));
      dirs.push(await Deno.makeTempDir({ prefix: "butterfly-coordinator-" }));
      coordinators.push(create(k));
    }
    await Promise.all(coordinators.map((coordinator) => coordinator.start()));
    await body(coordinators, replies, pipelines, logs, harness);
    // Whatever the test did, every node took only steps the core's actions allow.
    closed = true;
    await Promise.all(coordinators.map((coordinator) => coordinator.close()));
    const report = await validateTraceDir(traceDir);
    assert.deepEqual(report.problems, []);
    assert.equal(report.files, 4);
  } finally {
    closed = true;
    await Promise.all(coordinators.map((coordinator) => coordinator.close()));
    await Deno.remove(traceDir, { recursive: true });
    await Promise.all(pipelines.map((pipeline) => closePipeline(pipeline)));
    await Promise.all(dirs.map((dir) => Deno.remove(dir, { recursive: true })));
  }
}

/** Sends each coordinator its copy of a client's request. */
export async function submit(
  coordinators: readonly DistributedCoordinator[],
  inferenceId: number,
  input: Uint8Array,
  tokenCount: number,
  sampling?: SamplingRequest,
): Promise<void> {
  const [client] = await testSigners(["client-0"]);
  const sealer = new Sealer(client!);
  for (const coordinator of coordinators) {
    const frame = await sealer.seal({
      type: "ClientRequest",
      inferenceId,
      from: "client-0",
      view: 0,
      epoch: 0,
      sequence: 0,
      input,
      tokenCount,
      to: coordinator.nodeId,
      ...(sampling === undefined ? {} : { sampling }),
    });
    const handled = await coordinator.handleMessage(frame);
    assert.ok(handled.ok, handled.ok ? "" : handled.error.message);
  }
}

// The messages the nodes sent the client for `inferenceId`, once `count` of type `type` came
// (the deadline guards against a hang; it is not a timing assertion).
/** The messages sent to the client for an inference, once `count` of `type` came. */
export async function toClient(
  frames: readonly Uint8Array[],
  inferenceId: number,
  type: MessageType,
  count: number,
): Promise<CoordinationMessage[]> {
  const membership = await Membership.create(await testSigners());
  let messages: CoordinationMessage[] = [];
  await eventually(async () => {
    messages = [];
    for (const frame of frames) {
      const opened = await openFrame(frame, membership);
      assert.ok(opened.ok, opened.ok ? "" : opened.error.message);
      if (opened.value.message.inferenceId === inferenceId) messages.push(opened.value.message);
    }
    return messages.filter((m) => m.type === type).length >= count;
  });
  return messages;
}

/**
 * Whether `condition` holds within 60 s, polled (a log line may follow the frame it is about:
 * a node sends its reply before it writes the reply and logs the commit).
 */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** Asserts that a client reply verifies (its certificate and proof) for f = 1 and this input. */
export async function assertReplyVerifies(
  reply: Parameters<typeof verifyClientReply>[0],
  membership: Membership,
  input: Uint8Array,
): Promise<void> {
  const verified = await verifyClientReply(reply, { membership, faultsMax: 1, input });
  assert.ok(verified.ok, verified.ok ? "" : verified.error.message);
}
