// A framed connection's writer: frames queued while a write is under way leave together, whole
// and in order, and no write joins more than the batch bound.
import assert from "node:assert/strict";
import { encodeFrame } from "../wire/frame.ts";
import { FramedConnection } from "./framed.ts";

// A loopback pair whose dialing end counts the bytes of each write it is given.
async function countedPair(onFrame: (frame: Uint8Array) => void) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = listener.accept();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const writes: number[] = [];
  const counted = {
    remoteAddr: conn.remoteAddr,
    setNoDelay: (on?: boolean) => conn.setNoDelay(on),
    read: (buffer: Uint8Array) => conn.read(buffer),
    write: (bytes: Uint8Array) => {
      writes.push(bytes.length);
      return conn.write(bytes);
    },
    close: () => conn.close(),
  } as unknown as Deno.TcpConn;
  const closed = Promise.withResolvers<void>();
  const receiver = new FramedConnection(await accepting, {
    onFrame,
    onFramingError: (code) => assert.fail(code),
    onClose: () => closed.resolve(),
  });
  const sender = new FramedConnection(counted, {
    onFrame: () => {},
    onFramingError: () => {},
    onClose: () => {},
  });
  const close = async () => {
    sender.close();
    await closed.promise;
    receiver.close();
    await Promise.all([sender.done, receiver.done]);
    listener.close();
  };
  return { sender, writes, close };
}

function frameOf(size: number, fill: number): Uint8Array {
  return encodeFrame(new Uint8Array(size).fill(fill), new Uint8Array(64).fill(fill));
}

Deno.test("frames queued while a write is under way leave in one write, whole and in order", async () => {
  const received: Uint8Array[] = [];
  const all = Promise.withResolvers<void>();
  const pair = await countedPair((frame) => {
    received.push(frame);
    if (received.length === 20) all.resolve();
  });
  try {
    const frames = Array.from({ length: 20 }, (_, k) => frameOf(100 + k, k));
    for (const frame of frames) assert.ok(pair.sender.send(frame));
    await all.promise;
    assert.deepEqual(received, frames);
    // The first frame leaves at once; the 19 queued behind it, together.
    assert.deepEqual(pair.writes, [
      frames[0]!.length,
      frames.slice(1).reduce((n, f) => n + f.length, 0),
    ]);
    assert.equal(pair.sender.queuedBytes, 0);
  } finally {
    await pair.close();
  }
});

Deno.test("a write joins queued frames up to 256 KiB, and a larger frame goes alone", async () => {
  const received: Uint8Array[] = [];
  const all = Promise.withResolvers<void>();
  const sizes = [10, 100_000, 100_000, 100_000, 300_000, 10, 10];
  const pair = await countedPair((frame) => {
    received.push(frame);
    if (received.length === sizes.length) all.resolve();
  });
  try {
    const frames = sizes.map((size, k) => frameOf(size, k));
    for (const frame of frames) assert.ok(pair.sender.send(frame));
    await all.promise;
    assert.deepEqual(received, frames);
    // Every byte written once; no write over the bound but the large frame's own (a short
    // write is finished by writes of what is left, which are smaller still).
    const total = frames.reduce((n, f) => n + f.length, 0);
    assert.equal(pair.writes.reduce((n, w) => n + w, 0), total);
    const over = pair.writes.filter((w) => w > 256 * 1024);
    assert.ok(
      over.length === 0 || (over.length === 1 && over[0] === frames[4]!.length),
      `${pair.writes}`,
    );
    assert.ok(pair.writes.length < frames.length, `${pair.writes}`);
  } finally {
    await pair.close();
  }
});
