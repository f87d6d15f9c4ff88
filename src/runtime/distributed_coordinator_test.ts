// The seed's face of one node: four DistributedCoordinators wired together in memory (the
// caller carries every frame) commit what one process generates, and each refuses hostile
// frames with the documented code without changing anything.
import assert from "node:assert/strict";
import { ClusterSizeError } from "../core/quorum.ts";
import { closePipeline, createPipeline, generate, type ModelPipeline } from "../model/generate.ts";
import { FOUR_LAYER_TINY_CONFIG } from "../model/_test_util.ts";
import { verifyClientReply } from "../wire/client_reply.ts";
import { encodeFrame, openFrame, sealMessage } from "../wire/frame.ts";
import { Membership } from "../wire/identity.ts";
import { testSecretKey, testSigners } from "../wire/_test_keys.ts";
import { createNodeSigner } from "../wire/identity.ts";
import { DistributedCoordinator } from "./distributed_coordinator.ts";
import { Logger, type LogRecord } from "./log.ts";
import { decodeTokens } from "./spec_wire.ts";
import { Sealer } from "./transport.ts";

const PROMPT = new TextEncoder().encode("Hello");
const TOKENS = 4;

async function withCoordinators(
  body: (
    coordinators: DistributedCoordinator[],
    replies: Uint8Array[],
    pipelines: ModelPipeline[],
    logs: LogRecord[],
  ) => Promise<void>,
): Promise<void> {
  const signers = await testSigners();
  const [client] = await testSigners(["client-0"]);
  const members = signers.map(({ nodeId, publicKey }) => ({ nodeId, publicKey }));
  const pipelines: ModelPipeline[] = [];
  const dirs: string[] = [];
  const coordinators: DistributedCoordinator[] = [];
  const replies: Uint8Array[] = [];
  const logs: LogRecord[] = [];
  let closed = false;
  try {
    for (const signer of signers) {
      pipelines.push(await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] }));
      dirs.push(await Deno.makeTempDir({ prefix: "butterfly-coordinator-" }));
      coordinators.push(
        new DistributedCoordinator(signer.nodeId, 4, 1, {
          signer,
          members,
          clients: [{ nodeId: client!.nodeId, publicKey: client!.publicKey }],
          pipeline: pipelines.at(-1)!,
          dataDir: dirs.at(-1)!,
          log: new Logger(signer.nodeId, "warn", (_line, record) => logs.push(record)),
          send: (peer, frame) => {
            if (peer === client!.nodeId) {
              replies.push(frame);
              return true;
            }
            const to = coordinators[members.findIndex((member) => member.nodeId === peer)];
            if (to === undefined) return false;
            setTimeout(() => {
              if (!closed) void to.handleMessage(frame).catch(() => {});
            }, 0);
            return true;
          },
        }),
      );
    }
    await Promise.all(coordinators.map((coordinator) => coordinator.start()));
    await body(coordinators, replies, pipelines, logs);
  } finally {
    closed = true;
    await Promise.all(coordinators.map((coordinator) => coordinator.close()));
    await Promise.all(pipelines.map((pipeline) => closePipeline(pipeline)));
    await Promise.all(dirs.map((dir) => Deno.remove(dir, { recursive: true })));
  }
}

Deno.test("DistributedCoordinator refuses the seed's 5 nodes with f = 2, naming the bound", async () => {
  const [signer] = await testSigners(["node-0"]);
  assert.throws(
    () =>
      new DistributedCoordinator("node-0", 5, 2, {
        signer: signer!,
        members: [],
        pipeline: { config: FOUR_LAYER_TINY_CONFIG, stages: [] },
        dataDir: "unused",
        send: () => true,
      }),
    (error) => error instanceof ClusterSizeError && /n >= 3f \+ 1/.test(error.message),
  );
  assert.throws(
    () =>
      new DistributedCoordinator("node-0", 4, 1, {
        signer: signer!,
        members: [{ nodeId: "node-0", publicKey: signer!.publicKey }],
        pipeline: { config: FOUR_LAYER_TINY_CONFIG, stages: [] },
        dataDir: "unused",
        send: () => true,
      }),
    /needs 4 distinct members, got 1/,
  );
});

Deno.test("four DistributedCoordinators carried in memory commit what one process generates", async () => {
  await withCoordinators(async (coordinators, replies, pipelines) => {
    const expected: number[] = [];
    for await (
      const { token } of generate(PROMPT, { maxTokens: TOKENS, pipeline: pipelines[0]! })
    ) {
      expected.push(token);
    }
    const [client] = await testSigners(["client-0"]);
    const sealer = new Sealer(client!);
    for (const coordinator of coordinators) {
      const frame = await sealer.seal({
        type: "ClientRequest",
        inferenceId: 9,
        from: "client-0",
        view: 0,
        epoch: 0,
        sequence: 0,
        input: PROMPT,
        tokenCount: TOKENS,
        to: coordinator.nodeId,
      });
      const handled = await coordinator.handleMessage(frame);
      assert.ok(handled.ok, handled.ok ? "" : handled.error.message);
    }
    const deadline = Date.now() + 60_000; // a guard against a hang, not a timing assertion
    while (replies.length < 4 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(replies.length, 4, "every node replied to the client");
    const membership = await Membership.create(await testSigners());
    for (const frame of replies) {
      const opened = await openFrame(frame, membership);
      assert.ok(opened.ok && opened.value.message.type === "ClientReply");
      const reply = opened.value.message;
      assert.deepEqual(decodeTokens(reply.output, 256), expected);
      const verified = await verifyClientReply(reply, { membership, faultsMax: 1, input: PROMPT });
      assert.ok(verified.ok, verified.ok ? "" : verified.error.message);
    }
    for (const coordinator of coordinators) {
      const instance = await coordinator.instance(9);
      assert.deepEqual(instance?.tokenIds, expected);
    }
  });
});

Deno.test("DistributedCoordinator.handleMessage takes a member's heartbeat and refuses hostile frames", async () => {
  await withCoordinators(async (coordinators, _replies, _pipelines, logs) => {
    const node = coordinators[0]!;
    const [member, stranger] = await testSigners(["node-1", "node-9"]);
    const heartbeat = await sealMessage({
      type: "Heartbeat",
      inferenceId: 0,
      from: "node-1",
      view: 0,
      epoch: 0,
      sequence: 2 ** 52,
      sentAtMs: 5,
    }, member!);
    const taken = await node.handleMessage(heartbeat);
    assert.ok(taken.ok && taken.value.type === "Heartbeat");
    assert.equal(await node.health("node-1"), "alive");

    const codeOf = async (frame: Uint8Array) => {
      const outcome = await node.handleMessage(frame);
      return outcome.ok ? "accepted" : outcome.error.code;
    };
    assert.equal(await codeOf(heartbeat), "replayed");
    assert.equal(await codeOf(new Uint8Array([0, 0, 0, 3, 1, 2, 3])), "frame_undersized");
    assert.equal(await codeOf(new Uint8Array([255, 255, 255, 255, 1])), "frame_oversized");
    const foreign = await sealMessage({
      type: "Heartbeat",
      inferenceId: 0,
      from: "node-9",
      view: 0,
      epoch: 0,
      sequence: 1,
      sentAtMs: 5,
    }, stranger!);
    assert.equal(await codeOf(foreign), "unknown_sender");
    // node-2's name, node-9's key.
    const forger = await createNodeSigner("node-2", testSecretKey("node-9"));
    const forged = await sealMessage({
      type: "Prepare",
      inferenceId: 3,
      from: "node-2",
      view: 0,
      epoch: 0,
      sequence: 1,
      value: new Uint8Array(32),
    }, forger);
    assert.equal(await codeOf(forged), "bad_signature");
    // A body with its signature torn off and another one's put on.
    const opened = await openFrame(heartbeat, await Membership.create(await testSigners()));
    assert.ok(opened.ok);
    const swapped = encodeFrame(opened.value.signed.body, new Uint8Array(64));
    assert.equal(await codeOf(swapped), "bad_signature");
    // Nothing the refused frames named exists on the node.
    assert.equal(await node.instance(3), undefined);
    assert.ok(
      logs.some((record) => record.msg === "frame refused" && record.code === "bad_signature"),
    );
  });
});
