// The chaos harness's fault proxy on real sockets: frames from one member to another pass whole,
// and each fault does what it says to them.
import assert from "node:assert/strict";
import { prngFromSeed } from "../model/_prng.ts";
import { decodeFrame, sealMessage } from "../wire/frame.ts";
import { decodeMessage } from "../wire/message.ts";
import { testSigners } from "../wire/_test_keys.ts";
import { FaultProxy, type LinkFault, takeFrames } from "./chaos_proxy.ts";

const [sender] = await testSigners(["node-1"]);

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

const heartbeat = (sequence: number) =>
  sealMessage({
    type: "Heartbeat",
    inferenceId: 0,
    from: "node-1",
    view: 0,
    epoch: 0,
    sequence,
    sentAtMs: sequence,
  }, sender!);

// Sends a hello (sequence 1) and heartbeats 2..count+1 from node-1 through the proxy to node-2,
// with `fault` on node-1 → node-2 (and a partition on `partitioned`, if given); returns the
// sequences node-2 received, in order.
async function through(
  fault: LinkFault | undefined,
  count = 6,
  partitioned?: readonly [string, string],
): Promise<number[]> {
  const actual = { host: "127.0.0.1", port: freePort() };
  const advertised = { host: "127.0.0.1", port: freePort() };
  const member = Deno.listen({ hostname: actual.host, port: actual.port });
  const proxy = FaultProxy.start([
    { id: "node-1", advertised: { host: "127.0.0.1", port: freePort() }, actual },
    { id: "node-2", advertised, actual },
  ], prngFromSeed(1));
  proxy.setFault("node-1", "node-2", fault);
  if (partitioned !== undefined) {
    proxy.setFault(partitioned[0], partitioned[1], { kind: "partition" });
  }
  const received: number[] = [];
  try {
    const accepted = member.accept();
    const dialer = await Deno.connect({ hostname: advertised.host, port: advertised.port });
    const conn = await accepted;
    for (let k = 1; k <= count + 1; k++) {
      const frame = await heartbeat(k);
      for (let written = 0; written < frame.length;) {
        written += await dialer.write(frame.subarray(written));
      }
    }
    // Read until 400 ms pass with nothing (delays here are at most 100 ms), at most 2 s: what
    // a fault drops never comes, so the end is a quiet link, not a count.
    let buffer: Uint8Array = new Uint8Array(0);
    const chunk = new Uint8Array(4096);
    const deadline = Date.now() + 2000;
    let quietSince = Date.now();
    // One read in flight at a time: a read that loses the race is awaited next round.
    let pending: Promise<number | null> | undefined;
    while (Date.now() < deadline) {
      pending ??= conn.read(chunk);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const read = await Promise.race([
        pending,
        new Promise<"idle">((resolve) => timer = setTimeout(() => resolve("idle"), 100)),
      ]);
      clearTimeout(timer);
      if (read === "idle") {
        if (Date.now() - quietSince >= 400) break;
        continue;
      }
      quietSince = Date.now();
      pending = undefined;
      if (read === null) break;
      const joined = new Uint8Array(buffer.length + read);
      joined.set(buffer);
      joined.set(chunk.subarray(0, read), buffer.length);
      const taken = takeFrames(joined);
      assert.ok(!taken.unframed);
      buffer = taken.rest;
      for (const bytes of taken.frames) {
        const frame = decodeFrame(bytes);
        assert.ok(frame.ok);
        const message = decodeMessage(frame.value.body);
        assert.ok(message.ok);
        received.push(message.value.sequence);
      }
    }
    void pending?.catch(() => {});
    dialer.close();
    conn.close();
  } finally {
    proxy.close();
    member.close();
  }
  return received;
}

Deno.test("FaultProxy passes every frame whole and in order when the link has no fault", async () => {
  assert.deepEqual(await through(undefined), [1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("FaultProxy: a partition, or a loss rate of 1, drops every frame but the hello", async () => {
  assert.deepEqual(await through({ kind: "partition" }), [1]);
  assert.deepEqual(await through({ kind: "loss", rate: 1 }), [1]);
});

Deno.test("FaultProxy duplicates, swaps and delays frames as the fault says", async () => {
  assert.deepEqual(await through({ kind: "duplicate" }, 2), [1, 2, 2, 3, 3]);
  assert.deepEqual(await through({ kind: "reorder" }, 4), [1, 3, 2, 5, 4]);
  assert.deepEqual(await through({ kind: "delay", ms: 100 }, 3), [1, 2, 3, 4]);
});

Deno.test("FaultProxy faults only the direction set: the other one passes", async () => {
  assert.deepEqual(await through(undefined, 3, ["node-2", "node-1"]), [1, 2, 3, 4]);
});
