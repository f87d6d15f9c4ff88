// Four instances of one inference, one per node, over an in-memory network that carries real
// signed frames (every frame opened and checked as the transport does): they commit what a
// single process generates with the same split, and the reply verifies as a client checks it.
import assert from "node:assert/strict";
import { closePipeline, createPipeline, generate, type ModelPipeline } from "../model/generate.ts";
import { FOUR_LAYER_TINY_CONFIG } from "../model/_test_util.ts";
import { tensorDigest } from "../model/tensor.ts";
import { openFrame, sealMessage, signMessage } from "../wire/frame.ts";
import { Membership, type NodeSigner } from "../wire/identity.ts";
import type { CoordinationMessage, MessageOf, SignedMessage } from "../wire/message.ts";
import { testSigners } from "../wire/_test_keys.ts";
import { assertReplyVerifies, eventually } from "./_test_coordinators.ts";
import { type InferenceRequest, Instance, type InstanceHost } from "./instance.ts";
import { Logger, type LogRecord } from "./log.ts";
import { StageRunner } from "./stage_runner.ts";
import { decodeTokens } from "./spec_wire.ts";

const PROMPT = new TextEncoder().encode("Hi there");
const TOKENS = 5;

interface Cluster {
  readonly membership: Membership;
  readonly instances: Instance[];
  readonly replies: (MessageOf<"ClientReply"> | undefined)[];
  readonly down: Set<number>;
  readonly timers: Map<number, number>[];
  readonly timerStarts: number[];
  settled(): Promise<void>;
}

async function withCluster(
  pipeline: ModelPipeline,
  body: (cluster: Cluster) => Promise<void>,
  runnerOf: (k: number) => StageRunner = () => new StageRunner(pipeline),
  logs: LogRecord[] = [],
  drop: (message: CoordinationMessage, to: string) => boolean = () => false,
  checkpointIntervalTokens = 2,
  hooks: {
    readonly logSigned?: (k: number, messages: readonly { type: string }[]) => Promise<void>;
    readonly sent?: (k: number, message: CoordinationMessage) => void;
    readonly timer?: (k: number, view: number, atLeastMs: number | undefined) => void;
    readonly running?: () => number;
  } = {},
): Promise<void> {
  const signers: NodeSigner[] = await testSigners();
  const membership = await Membership.create(signers);
  const ids = membership.nodeIds;
  const instances: Instance[] = [];
  const replies: (MessageOf<"ClientReply"> | undefined)[] = ids.map(() => undefined);
  const down = new Set<number>();
  const timers = ids.map(() => new Map<number, number>());
  const timerStarts: number[] = ids.map(() => 0);
  let inFlight = 0;
  let sequence = 1;
  const deliver = (to: number, frame: Uint8Array, from: string) => {
    if (down.has(to)) return;
    inFlight++;
    setTimeout(async () => {
      try {
        if (down.has(to)) return;
        const opened = await openFrame(frame, membership);
        assert.ok(opened.ok, opened.ok ? "" : opened.error.message);
        await instances[to]!.receive(opened.value.message, opened.value.signed, from);
      } finally {
        inFlight--;
      }
    }, 0);
  };
  const request: InferenceRequest = {
    inferenceId: 42,
    client: "client-0",
    prompt: PROMPT,
    tokenCount: TOKENS,
    signed: { body: new Uint8Array(1), signature: new Uint8Array(64) },
  };
  for (const [k, id] of ids.entries()) {
    const signer = signers.find((s) => s.nodeId === id)!;
    const host: InstanceHost = {
      signer,
      log: new Logger(id, "warn", (_line, record) => logs.push(record)),
      record: (_inference, step) => hooks.logSigned?.(k, step.signed) ?? Promise.resolve(),
      sign: async (message: CoordinationMessage): Promise<SignedMessage> =>
        await signMessage({ ...message, sequence: sequence++ }, signer),
      broadcast: async (message: CoordinationMessage): Promise<SignedMessage> => {
        hooks.sent?.(k, message);
        const frame = await sealMessage({ ...message, sequence: sequence++ }, signer);
        const opened = await openFrame(frame, membership);
        assert.ok(opened.ok);
        for (const to of ids.keys()) {
          if (to !== k && !down.has(k) && !drop(message, ids[to]!)) deliver(to, frame, id);
        }
        return opened.value.signed;
      },
      sendTo: async (peer, message) => {
        const frame = await sealMessage({ ...message, sequence: sequence++ }, signer);
        if (!down.has(k) && !drop(message, peer)) deliver(ids.indexOf(peer), frame, id);
      },
      startTimer: (_inference, view, atLeastMs) => {
        hooks.timer?.(k, view, atLeastMs);
        timerStarts[k] = (timerStarts[k] ?? 0) + 1;
        timers[k]!.set(42, view);
      },
      cancelTimer: () => timers[k]!.delete(42),
      committed: (_inference, reply) => {
        replies[k] = reply;
      },
      later: () => {},
      ...(hooks.running === undefined ? {} : { running: hooks.running }),
    };
    instances.push(
      new Instance(
        request,
        {
          membership,
          faultsMax: 1,
          replicaCount: 3,
          checkpointIntervalTokens,
          viewMax: 4,
        },
        host,
        runnerOf(k),
      ),
    );
  }
  const settled = async () => {
    for (let quiet = 0; quiet < 20;) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      quiet = inFlight === 0 ? quiet + 1 : 0;
    }
  };
  await body({ membership, instances, replies, down, timers, timerStarts, settled });
}

// A replica that computes stage 1 one bit off: a Byzantine replica, or hardware that does not
// compute bit for bit. Its activation and digest agree with each other, so its frames pass every
// wire check; `wrong` holds the digests it signed.
class WrongStageOneRunner extends StageRunner {
  readonly wrong = new Set<string>();
  override async compute(...args: Parameters<StageRunner["compute"]>) {
    const outcome = await super.compute(...args);
    if (args[3] !== 1 || outcome.activation === undefined) return outcome;
    const data = outcome.activation.data.slice();
    data[0] = data[0]! + 1;
    const activation = { ...outcome.activation, data };
    this.wrong.add(tensorDigest(activation));
    return { ...outcome, activation, value: tensorDigest(activation) };
  }
}

async function expectedTokens(pipeline: ModelPipeline): Promise<number[]> {
  const tokens: number[] = [];
  for await (const { token } of generate(PROMPT, { maxTokens: TOKENS, pipeline })) {
    tokens.push(token);
  }
  return tokens;
}

// View 0 loses every Commit, and node-3's Prepares in and out, so nobody commits there (no quorum
// of Commits, no fast path), yet nodes 0 to 2 prepare the result; until `heal`.
function viewZeroWithoutCommit() {
  let blocking = true;
  return {
    drop: (message: CoordinationMessage, to: string) =>
      blocking && message.view === 0 &&
      (message.type === "Commit" ||
        (message.type === "Prepare" && (message.from === "node-3" || to === "node-3"))),
    heal: () => {
      blocking = false;
    },
  };
}

// The primary of view 0 goes down; the others' view timers fire until they commit (four rounds
// at most).
async function replaceViewZeroPrimary({ instances, replies, down, timers, settled }: Cluster) {
  down.add(0);
  for (let round = 0; round < 4 && replies.slice(1).some((r) => r === undefined); round++) {
    await Promise.all([1, 2, 3].map((k) => instances[k]!.timeout(timers[k]!.get(42) ?? 0)));
    await settled();
  }
}

Deno.test("four nodes commit what one process generates, and the reply verifies", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    const expected = await expectedTokens(pipeline);
    await withCluster(
      pipeline,
      async ({ membership, instances, replies, timerStarts, settled }) => {
        await Promise.all(instances.map((instance) => instance.start()));
        await settled();
        // The view timer starts with the view and again at each accepted token: it measures a
        // view without progress, not the length of the inference.
        for (const starts of timerStarts) assert.ok(starts >= 1 + TOKENS - 1, `${starts} starts`);
        for (const [k, instance] of instances.entries()) {
          assert.deepEqual(instance.tokenIds, expected, `node ${k}`);
          const reply = replies[k];
          assert.ok(reply !== undefined, `node ${k} committed`);
          assert.deepEqual(decodeTokens(reply.output, 256), expected);
          await assertReplyVerifies(reply, membership, PROMPT);
        }
      },
    );
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("a replica starts its next stage before its input is certified, and computes each stage once", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    const expected = await expectedTokens(pipeline);
    const computed = [0, 1, 2, 3].map(() => new Map<string, number>());
    class CountingRunner extends StageRunner {
      constructor(readonly k: number) {
        super(pipeline);
      }
      override compute(...args: Parameters<StageRunner["compute"]>) {
        const at = `${args[2]}/${args[3]}`;
        computed[this.k]!.set(at, (computed[this.k]!.get(at) ?? 0) + 1);
        return super.compute(...args);
      }
    }
    await withCluster(
      pipeline,
      async ({ instances, replies, settled }) => {
        await Promise.all(instances.map((instance) => instance.start()));
        await settled();
        for (const [k, instance] of instances.entries()) {
          assert.deepEqual(instance.tokenIds, expected, `node ${k}`);
          assert.ok(replies[k] !== undefined, `node ${k} committed`);
          assert.equal(instance.speculation.wasted, 0, `node ${k}`);
          assert.ok(instance.speculation.used <= instance.speculation.started);
          for (const [at, count] of computed[k]!) assert.equal(count, 1, `node ${k} ${at}`);
        }
        const used = instances.reduce((sum, instance) => sum + instance.speculation.used, 0);
        assert.ok(used > 0, "no stage started before its input was certified");
      },
      (k) => new CountingRunner(k),
    );
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("a node running many inferences at once starts no stage before its input is certified", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    const expected = await expectedTokens(pipeline);
    for (const running of [4, 5]) {
      await withCluster(
        pipeline,
        async ({ instances, settled }) => {
          await Promise.all(instances.map((instance) => instance.start()));
          await settled();
          let started = 0;
          for (const [k, instance] of instances.entries()) {
            assert.deepEqual(instance.tokenIds, expected, `node ${k}`);
            started += instance.speculation.started;
          }
          if (running > 4) assert.equal(started, 0);
          else assert.ok(started > 0);
        },
        undefined,
        [],
        undefined,
        undefined,
        { running: () => running },
      );
    }
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("a stage started from a wrong first output is computed again from the certified one", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    const expected = await expectedTokens(pipeline);
    // node-2 computes stage 1 one bit off, and at once; the honest replicas of stage 1 take
    // 30 ms, so a replica of stage 2 that is none of stage 1 hears node-2's output first.
    class SlowRunner extends StageRunner {
      override async compute(...args: Parameters<StageRunner["compute"]>) {
        if (args[3] === 1) await new Promise((resolve) => setTimeout(resolve, 30));
        return await super.compute(...args);
      }
    }
    await withCluster(
      pipeline,
      async ({ instances, replies, settled }) => {
        await Promise.all(instances.map((instance) => instance.start()));
        // The slow stage's computations are not frames in flight: a loaded machine can leave
        // the network quiet for a while between them, so settling once is not enough.
        await eventually(async () => {
          await settled();
          return [0, 1, 3].every((k) => replies[k] !== undefined);
        });
        let wasted = 0;
        for (const k of [0, 1, 3]) {
          assert.deepEqual(instances[k]!.tokenIds, expected, `node ${k}`);
          assert.ok(replies[k] !== undefined, `node ${k} committed`);
          wasted += instances[k]!.speculation.wasted;
        }
        assert.ok(wasted > 0, "no honest node started a stage from the wrong output");
      },
      (k) => k === 2 ? new WrongStageOneRunner(pipeline) : new SlowRunner(pipeline),
    );
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("a vote leaves once it is logged; a stage output leaves while its write is under way", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    const expected = await expectedTokens(pipeline);
    // Each node's events in order: a log write that lands 20 ms later, and each message sent.
    const events: string[][] = [[], [], [], []];
    const logSigned = (k: number, messages: readonly { type: string }[]) => {
      const types = messages.map((m) => m.type).join("+");
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          events[k]!.push(`logged ${types}`);
          resolve();
        }, 20)
      );
    };
    const sent = (k: number, message: CoordinationMessage) =>
      events[k]!.push(`sent ${message.type}`);
    await withCluster(
      pipeline,
      async ({ instances, replies, settled }) => {
        await Promise.all(instances.map((instance) => instance.start()));
        await settled();
        await new Promise((resolve) => setTimeout(resolve, 100));
        for (const [k, instance] of instances.entries()) {
          assert.deepEqual(instance.tokenIds, expected, `node ${k}`);
          assert.ok(replies[k] !== undefined, `node ${k} committed`);
        }
        let early = 0;
        for (const list of events) {
          for (const [at, event] of list.entries()) {
            if (!event.startsWith("sent ")) continue;
            const type = event.slice(5);
            const loggedAt = list.findIndex((e, i) =>
              i > -1 && e.startsWith("logged") &&
              e.slice(7).split("+").includes(type) && i < at
            );
            if (["StageOutput", "Checkpoint"].includes(type)) {
              if (loggedAt === -1) early++;
            } else {
              assert.ok(
                loggedAt !== -1,
                `${type} was sent before it was logged: ${list.join(", ")}`,
              );
            }
          }
        }
        // Stage outputs did not wait for the disk.
        assert.ok(early > 0, "every stage output waited for its log write");
      },
      undefined,
      [],
      undefined,
      2,
      { logSigned, sent },
    );
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("the view timer starts again at each stage output certified, and keeps the inference's pace", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    const floors: (number | undefined)[][] = [[], [], [], []];
    const timer = (k: number, _view: number, atLeastMs: number | undefined) =>
      floors[k]!.push(atLeastMs);
    await withCluster(
      pipeline,
      async ({ instances, replies, timerStarts, settled }) => {
        await Promise.all(instances.map((instance) => instance.start()));
        await settled();
        for (const [k, starts] of timerStarts.entries()) {
          assert.ok(replies[k] !== undefined, `node ${k} committed`);
          // Every (token, stage) certified restarts it, not only every token.
          assert.ok(starts >= TOKENS * 2, `node ${k}: ${starts} starts`);
          const given = floors[k]!;
          assert.ok(given.every((ms) => typeof ms === "number"), `node ${k}: ${given}`);
          // Twice the slowest token so far: it only grows, and is above 0 once a token came.
          const values = given as number[];
          for (let i = 1; i < values.length; i++) assert.ok(values[i]! >= values[i - 1]!);
          assert.ok(values.at(-1)! > 0);
        }
      },
      undefined,
      [],
      undefined,
      2,
      { timer },
    );
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("the view timer's pace leaves out a gap across a view change", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    // Every frame is lost from the first stage output of token 3 on, for 400 ms; then the view
    // timers fire and view 1 finishes the inference.
    let stalled = false;
    const floors: number[] = [];
    let healed = false;
    const drop = (message: CoordinationMessage) => {
      if (!healed && message.type === "StageOutput" && message.token >= 3) stalled = true;
      return stalled;
    };
    const timer = (_k: number, _view: number, atLeastMs: number | undefined) => {
      if (healed) floors.push(atLeastMs ?? 0);
    };
    await withCluster(
      pipeline,
      async ({ instances, replies, timers, settled }) => {
        await Promise.all(instances.map((instance) => instance.start()));
        await settled();
        assert.ok(stalled && replies.every((reply) => reply === undefined));
        await new Promise((resolve) => setTimeout(resolve, 400));
        stalled = false;
        healed = true;
        for (let round = 0; round < 4 && replies.some((r) => r === undefined); round++) {
          await Promise.all(
            instances.map((instance, k) => instance.timeout(timers[k]!.get(42) ?? 0)),
          );
          await settled();
        }
        assert.ok(
          replies.every((reply) => reply !== undefined),
          `committed ${replies.map((r) => r !== undefined)} views ${
            instances.map((i) => i.state.view)
          } tokens ${instances.map((i) => i.tokenIds.length)}`,
        );
        assert.ok(instances.every((instance) => instance.state.view > 0));
        // Twice the slowest token within a view: milliseconds here, not the 400 ms stall.
        assert.ok(floors.length > 0);
        assert.ok(Math.max(...floors) < 400, `floors ${floors}`);
      },
      undefined,
      [],
      drop,
      2,
      { timer },
    );
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("with one replica down from the start, the three others still commit the same", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    const expected = await expectedTokens(pipeline);
    await withCluster(pipeline, async ({ instances, replies, down, settled }) => {
      down.add(3); // not the view-0 primary
      await Promise.all(instances.slice(0, 3).map((instance) => instance.start()));
      await settled();
      for (const k of [0, 1, 2]) {
        assert.deepEqual(instances[k]!.tokenIds, expected, `node ${k}`);
        assert.ok(replies[k] !== undefined, `node ${k} committed`);
      }
    });
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("a replica that computes wrong outputs is outvoted, and the log names the disagreement", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    const expected = await expectedTokens(pipeline);
    // node-2 (a replica of both stages in view 0) computes stage 1 one bit off.
    const wrongRunner = new WrongStageOneRunner(pipeline);
    const wrong = wrongRunner.wrong;
    const logs: LogRecord[] = [];
    await withCluster(
      pipeline,
      async ({ instances, replies, settled }) => {
        await Promise.all(instances.map((instance) => instance.start()));
        await settled();
        for (const k of [0, 1, 3]) {
          assert.deepEqual(instances[k]!.tokenIds, expected, `node ${k}`);
          assert.ok(replies[k] !== undefined);
        }
      },
      (k) => k === 2 ? wrongRunner : new StageRunner(pipeline),
      logs,
    );
    const disagreements = logs.filter((r) => r.msg === "replicas of a stage disagree");
    assert.ok(disagreements.length > 0);
    const first = disagreements[0]!;
    assert.equal(first.stage, 1);
    const outputs = first.outputs as Record<string, string[]>;
    const [bad] = Object.keys(outputs).filter((digest) => wrong.has(digest));
    assert.ok(bad !== undefined, JSON.stringify(outputs));
    assert.deepEqual(outputs[bad], ["node-2"]);
    assert.equal(Object.keys(outputs).length, 2);
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("a view change after a value was prepared keeps it: the new view commits the same", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    const expected = await expectedTokens(pipeline);
    const viewZero = viewZeroWithoutCommit();
    await withCluster(
      pipeline,
      async (cluster) => {
        const { instances, replies, settled } = cluster;
        await Promise.all(instances.map((instance) => instance.start()));
        await settled();
        assert.ok(replies.every((reply) => reply === undefined), "nothing committed in view 0");
        assert.ok(instances.filter((i) => i.state.prepared.view === 0).length >= 3);
        viewZero.heal();
        await replaceViewZeroPrimary(cluster);
        for (const k of [1, 2, 3]) {
          assert.ok(replies[k] !== undefined, `node ${k} committed`);
          assert.deepEqual(instances[k]!.tokenIds, expected);
          assert.ok(instances[k]!.state.view >= 1);
        }
      },
      undefined,
      [],
      viewZero.drop,
    );
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("a node whose checkpoint request went unanswered asks another signer, and restores", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    const expected = await expectedTokens(pipeline);
    // node-3 sees no stage output, so it cannot resolve the others' Checkpoint digests and asks
    // a signer for the state; every answer of the first signer it asks is lost (as when a signer
    // asked between its view change and its restore has none to give).
    const mute = new Map<number, string>();
    const drop = (message: CoordinationMessage, to: string) => {
      if (to !== "node-3") return false;
      if (message.type === "StageOutput") return true;
      if (message.type !== "CheckpointResponse") return false;
      if (!mute.has(message.position)) mute.set(message.position, message.from);
      return mute.get(message.position) === message.from;
    };
    await withCluster(
      pipeline,
      async ({ instances, settled }) => {
        await Promise.all(instances.map((instance) => instance.start()));
        await settled();
        const lagging = instances[3]!;
        assert.equal(lagging.state.stableCheckpoint.position, 0, "nothing restored yet");
        assert.ok(mute.size > 0, "node-3 asked for a checkpoint's state");
        // Its heartbeat tick asks again, of another signer, once CHECKPOINT_ASK_MS has passed.
        await lagging.askParkedCheckpoints(Date.now());
        await settled();
        assert.equal(lagging.state.stableCheckpoint.position, 0, "not asked again too soon");
        await lagging.askParkedCheckpoints(Date.now() + 1001);
        await settled();
        const restored = lagging.state.stableCheckpoint.position;
        assert.ok(restored >= 2, `restored position ${restored}`);
        assert.deepEqual(lagging.tokenIds.slice(0, restored), expected.slice(0, restored));
      },
      undefined,
      [],
      drop,
    );
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("a parked checkpoint's state is asked of a member that is not one of its parked signers", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    // node-3 sees no stage output, so it parks the others' Checkpoint signatures; node-0's never
    // reach it, and every answer of node-1 and node-2 is lost. Only node-0, not a parked signer,
    // can give it a checkpoint's state. (Were node-0's later signatures to arrive, node-3 could
    // restore a later checkpoint first and stop asking for the first one.)
    const asked: string[] = [];
    const answered: string[] = [];
    const drop = (message: CoordinationMessage, to: string) => {
      if (
        message.type === "CheckpointRequest" && message.from === "node-3" && message.position === 2
      ) {
        asked.push(to);
      }
      if (to !== "node-3") return false;
      if (message.type === "StageOutput") return true;
      if (message.type === "Checkpoint") return message.from === "node-0";
      if (message.type !== "CheckpointResponse") return false;
      if (message.from === "node-0" && message.position === 2) answered.push(message.from);
      return message.from !== "node-0";
    };
    await withCluster(
      pipeline,
      async ({ instances, settled }) => {
        await Promise.all(instances.map((instance) => instance.start()));
        await settled();
        const lagging = instances[3]!;
        // Its heartbeat ticks ask again, one member each CHECKPOINT_ASK_MS.
        for (let tick = 1; tick <= 4; tick++) {
          await lagging.askParkedCheckpoints(Date.now() + tick * 1001);
          await settled();
        }
        assert.deepEqual(asked.slice(0, 3).sort(), ["node-0", "node-1", "node-2"], asked.join());
        assert.ok(asked.indexOf("node-0") >= 2, "the parked signers first");
        assert.deepEqual(answered.slice(0, 1), ["node-0"]);
      },
      undefined,
      [],
      drop,
    );
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("a view change after a checkpoint of every token: the new view commits without computing, and the reply's proof verifies", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    const expected = await expectedTokens(pipeline);
    // A checkpoint every TOKENS tokens: the stable one holds every token.
    const viewZero = viewZeroWithoutCommit();
    await withCluster(
      pipeline,
      async (cluster) => {
        const { membership, instances, replies, settled } = cluster;
        await Promise.all(instances.map((instance) => instance.start()));
        await settled();
        assert.ok(!replies.some((reply) => reply !== undefined), "nothing committed in view 0");
        assert.ok(instances.every((i) => i.state.stableCheckpoint.position === TOKENS));
        viewZero.heal();
        await replaceViewZeroPrimary(cluster);
        for (const k of [1, 2, 3]) {
          const reply = replies[k];
          assert.ok(reply !== undefined, `node ${k} committed`);
          assert.deepEqual(decodeTokens(reply.output, 256), expected);
          await assertReplyVerifies(reply, membership, PROMPT);
        }
      },
      undefined,
      [],
      viewZero.drop,
      TOKENS,
    );
  } finally {
    await closePipeline(pipeline);
  }
});

Deno.test("a view timer that fires in a view not started yet runs again: the node keeps trying", async () => {
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries: [2] });
  try {
    await withCluster(pipeline, async ({ instances, down, timerStarts, settled }) => {
      // node-3 runs alone, suspects the primary and moves to view 1, which no quorum of view
      // changes starts: ViewTimeout cannot move it.
      for (const k of [0, 1, 2]) down.add(k);
      const node = instances[3]!;
      await node.start();
      await node.detector("node-0", true);
      await settled();
      assert.equal(node.state.view, 1);
      const before = timerStarts[3]!;
      await node.timeout(1);
      await settled();
      assert.equal(node.state.view, 1, "ViewTimeout is not enabled in a view not started");
      assert.equal(timerStarts[3], before + 1, "the timer runs again");
      // A timer of an older view does not.
      await node.timeout(0);
      assert.equal(timerStarts[3], before + 1);
    });
  } finally {
    await closePipeline(pipeline);
  }
});
