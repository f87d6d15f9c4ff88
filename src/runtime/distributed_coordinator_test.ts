// The seed's face of one node: four DistributedCoordinators wired together in memory (the
// caller carries every frame) commit what one process generates, and each refuses hostile
// frames with the documented code without changing anything.
import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../config/config.ts";
import { ClusterSizeError } from "../core/quorum.ts";
import { generate } from "../model/generate.ts";
import { FOUR_LAYER_TINY_CONFIG } from "../model/_test_util.ts";
import { decodeFrame, encodeFrame, openFrame, sealMessage } from "../wire/frame.ts";
import { Membership } from "../wire/identity.ts";
import { decodeMessage, type MessageOf } from "../wire/message.ts";
import { testSecretKey, testSigners } from "../wire/_test_keys.ts";
import { createNodeSigner } from "../wire/identity.ts";
import { DistributedCoordinator } from "./distributed_coordinator.ts";
import { samplingOfRequest } from "./sampling_wire.ts";
import { decodeTokens } from "./spec_wire.ts";
import {
  assertReplyVerifies,
  eventually,
  submit,
  toClient,
  withCoordinators,
} from "./_test_coordinators.ts";

const PROMPT = new TextEncoder().encode("Hello");
const TOKENS = 4;

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

for (
  const [name, sampling] of [
    ["greedy", undefined],
    ["seeded sampling", { temperatureMilli: 900, topK: 20, seed: 77 }],
  ] as const
) {
  Deno.test(`four DistributedCoordinators carried in memory commit what one process generates (${name})`, async () => {
    await withCoordinators(async (coordinators, frames, pipelines) => {
      const rule = samplingOfRequest(sampling);
      const expected: number[] = [];
      const generated = generate(PROMPT, {
        maxTokens: TOKENS,
        pipeline: pipelines[0]!,
        sampling: rule,
      });
      for await (const { token } of generated) expected.push(token);
      if (sampling !== undefined) {
        // The draws choose other tokens than greedy decoding would, so the test tells them apart.
        const greedy: number[] = [];
        for await (
          const { token } of generate(PROMPT, { maxTokens: TOKENS, pipeline: pipelines[0]! })
        ) {
          greedy.push(token);
        }
        assert.notDeepEqual(expected, greedy);
      }
      await submit(coordinators, 9, PROMPT, TOKENS, sampling);
      const messages = await toClient(frames, 9, "ClientReply", 4);
      const membership = await Membership.create(await testSigners());
      const replies = messages.filter((m) => m.type === "ClientReply");
      assert.equal(replies.length, 4, "every node replied to the client");
      for (const reply of replies) {
        assert.deepEqual(decodeTokens(reply.output, 256), expected);
        await assertReplyVerifies(reply, membership, PROMPT);
      }
      // Each node told the client each token it accepted, in order.
      for (const coordinator of coordinators) {
        const reported = messages.filter((m) =>
          m.type === "ClientProgress" && m.from === coordinator.nodeId
        ) as MessageOf<"ClientProgress">[];
        assert.deepEqual(reported.map((m) => m.token), expected.map((_, k) => k + 1));
        assert.deepEqual(reported.map((m) => m.tokenId), expected);
        assert.deepEqual((await coordinator.instance(9))?.tokenIds, expected);
      }
    });
  });
}

Deno.test("a request the model cannot hold is refused to the client by every node, and starts nothing", async () => {
  await withCoordinators(async (coordinators, frames) => {
    const positions = FOUR_LAYER_TINY_CONFIG.sequenceLengthMax;
    await submit(coordinators, 11, new Uint8Array(positions).fill(65), 2);
    const messages = await toClient(frames, 11, "ClientRefusal", 4);
    const refusals = messages.filter((m) => m.type === "ClientRefusal");
    assert.deepEqual(refusals.map((m) => m.from).sort(), coordinators.map((c) => c.nodeId));
    for (const refusal of refusals) {
      assert.match(refusal.reason, new RegExp(`exceed the model's ${positions} positions`));
    }
    for (const coordinator of coordinators) {
      assert.equal(await coordinator.instance(11), undefined);
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

Deno.test("a node restarted mid-inference restores its stage caches from its latest checkpoint, not from token 0", async () => {
  const tokens = 24;
  const config = { ...DEFAULT_CONFIG, checkpointFrequencyTokens: 5 };
  await withCoordinators(async (coordinators, frames, pipelines, logs, harness) => {
    const expected: number[] = [];
    for await (
      const { token } of generate(PROMPT, { maxTokens: tokens, pipeline: pipelines[0]! })
    ) {
      expected.push(token);
    }
    // node-1 computes in view 0. When it reports token 12, everything
    // between the nodes stops; node-1 restarts from its data directory; then the frames flow.
    const k = 1;
    const reached = Promise.withResolvers<void>();
    const membership = await Membership.create(await testSigners());
    harness.onClientFrame = (from, frame) => {
      if (from !== k) return;
      void openFrame(frame, membership).then((opened) => {
        if (!opened.ok) return;
        const message = opened.value.message;
        if (message.type === "ClientProgress" && message.token === 12) {
          harness.pause();
          reached.resolve();
        }
      });
    };
    await submit(coordinators, 9, PROMPT, tokens);
    await reached.promise;
    harness.onClientFrame = undefined;
    const before = logs.length;
    await harness.restart(k);
    harness.resume();
    await toClient(frames, 9, "ClientReply", 4);
    assert.deepEqual((await coordinators[k]!.instance(9))?.tokenIds, expected);
    const rebuilt = logs.slice(before).filter((record) =>
      record.node === "node-1" && record.msg === "stage caches rebuilt"
    );
    assert.ok(rebuilt.length >= 1, "node-1 computed after its restart");
    for (const record of rebuilt) {
      // Checkpoints every 5 passes: it restored at least pass 10 and recomputed under 5.
      assert.ok((record.restoredPasses as number) >= 10, JSON.stringify(record));
      assert.ok((record.recomputedPasses as number) < 5, JSON.stringify(record));
    }
  }, config);
});

Deno.test("a node that lost every Prepare and Commit on a live link commits once its view timer fires: a committed peer's reply carries the certificate", async () => {
  await withCoordinators(async (coordinators, frames, _pipelines, logs, harness) => {
    // Every Prepare and Commit to node-3 is lost; the others commit in view 0 and go quiet.
    harness.drop = (_from, to, frame) => {
      if (to !== 3) return false;
      const parts = decodeFrame(frame);
      const message = parts.ok ? decodeMessage(parts.value.body) : undefined;
      return message?.ok === true &&
        (message.value.type === "Prepare" || message.value.type === "Commit");
    };
    await submit(coordinators, 5, PROMPT, 6);
    await toClient(frames, 5, "ClientReply", 3);
    // node-3's view timer fires; it asks its peers, and takes the commit from a reply.
    const replies = await toClient(frames, 5, "ClientReply", 4);
    assert.equal(replies.filter((m) => m.type === "ClientReply").length, 4);
    assert.ok(
      await eventually(() =>
        logs.some((r) =>
          r.node === "node-3" && r.msg === "inference committed" && r.inference === 5
        )
      ),
    );
    assert.ok(logs.some((r) => r.node === "node-3" && r.msg === "view timer fired"));
  });
});
