// The transport on loopback with real sockets: a mesh of four nodes, and a node's port fed
// hostile bytes by a raw TCP client. Every test closes what it opened, also when it fails; a
// timeout only guards against a hang.
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { encodeFrame, type OpenedMessage, openFrame, sealMessage } from "../wire/frame.ts";
import { createNodeSigner, Membership, type NodeSigner } from "../wire/identity.ts";
import type { CoordinationMessage } from "../wire/message.ts";
import { TEST_CLIENT_ID, testSecretKey, testSigners } from "../wire/_test_keys.ts";
import { Logger, type LogRecord } from "./log.ts";
import { type PeerAddress, Transport, type TransportOptions } from "./transport.ts";

const HOST = "127.0.0.1";
const GUARD_MS = 10_000;

interface TestNode {
  readonly transport: Transport;
  readonly logs: LogRecord[];
  readonly received: { opened: OpenedMessage; peer: string }[];
  readonly peersUp: string[];
}

/** Resolves when `check` holds, polling; rejects after the guard (a hang, not a slow run). */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + GUARD_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Mesh {
  readonly signers: NodeSigner[];
  readonly membership: Membership;
  readonly clients: Membership;
  readonly client: NodeSigner;
  readonly nodes: TestNode[];
  readonly addresses: Map<string, PeerAddress>;
  start(k: number, overrides?: Partial<TransportOptions>): Promise<TestNode>;
}

/** Starts nodes `indices` of a four-member cluster (every node listens on a free port). */
async function withMesh(
  indices: readonly number[],
  body: (mesh: Mesh) => Promise<void>,
  overrides: Partial<TransportOptions> = {},
): Promise<void> {
  const signers = await testSigners();
  const membership = await Membership.create(signers);
  const client = await createNodeSigner(TEST_CLIENT_ID, testSecretKey(TEST_CLIENT_ID));
  const clients = await Membership.create([client]);
  // Reserve a port per node first, so every node knows every address before any starts.
  // Every probe stays open until all are chosen, so no two nodes get the same port.
  const addresses = new Map<string, PeerAddress>();
  const probes = signers.map(() => Deno.listen({ hostname: HOST, port: 0 }));
  signers.forEach((signer, k) => {
    addresses.set(signer.nodeId, { host: HOST, port: probes[k]!.addr.port });
  });
  for (const probe of probes) probe.close();
  const nodes: TestNode[] = [];
  const running: Transport[] = [];
  const start = async (k: number, more: Partial<TransportOptions> = {}) => {
    const logs: LogRecord[] = [];
    const received: { opened: OpenedMessage; peer: string }[] = [];
    const peersUp: string[] = [];
    const transport = await Transport.start({
      signer: signers[k]!,
      membership,
      clients,
      addresses,
      log: new Logger(signers[k]!.nodeId, "debug", (_line, record) => logs.push(record)),
      onMessage: (opened, peer) => {
        received.push({ opened, peer });
      },
      onPeerUp: (peer) => peersUp.push(peer),
      reconnectMs: { min: 10, max: 100 },
      ...overrides,
      ...more,
    });
    running.push(transport);
    const node = { transport, logs, received, peersUp };
    nodes[k] = node;
    return node;
  };
  try {
    for (const k of indices) await start(k);
    await body({ signers, membership, clients, client, nodes, addresses, start });
  } finally {
    await Promise.all(running.map((transport) => transport.close()));
  }
}

function heartbeat(
  from: string,
  inferenceId = 1,
  sequence = 1,
  to?: string,
): CoordinationMessage {
  return {
    type: "Heartbeat",
    inferenceId,
    from,
    view: 0,
    epoch: 0,
    sequence,
    sentAtMs: 5,
    ...(to === undefined ? {} : { to }),
  };
}

/** A raw TCP connection to a node's port, for bytes no honest node sends. */
async function raw(port: number): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: HOST, port });
}

/** Reads until the peer closes the connection; `true` if it did within the guard. */
async function closedByPeer(conn: Deno.TcpConn): Promise<boolean> {
  const buffer = new Uint8Array(1024);
  const deadline = Date.now() + GUARD_MS;
  try {
    while (Date.now() < deadline) {
      const read = await conn.read(buffer);
      if (read === null) return true;
    }
  } catch {
    return true;
  }
  return false;
}

function codes(node: TestNode): string[] {
  return node.logs.flatMap((record) => record.code === undefined ? [] : [record.code]);
}

Deno.test("four nodes connect as a mesh, one connection per pair, and a broadcast reaches all", async () => {
  await withMesh([0, 1, 2, 3], async ({ nodes, signers }) => {
    await until(
      () => nodes.every((node) => node.transport.connected().length === 3),
      "a full mesh",
    );
    for (const [k, node] of nodes.entries()) {
      assert.deepEqual(
        node.transport.connected().sort(),
        signers.map((s) => s.nodeId).filter((_, j) => j !== k),
      );
    }
    const frame = await nodes[0]!.transport.seal(heartbeat("node-0", 9));
    assert.deepEqual(nodes[0]!.transport.broadcast(frame).sort(), ["node-1", "node-2", "node-3"]);
    await until(
      () =>
        nodes.slice(1).every((node) =>
          node.received.some(({ opened }) => opened.message.inferenceId === 9)
        ),
      "the broadcast",
    );
    for (const node of nodes.slice(1)) {
      const got = node.received.find(({ opened }) => opened.message.inferenceId === 9)!;
      assert.equal(got.peer, "node-0");
      assert.equal(got.opened.message.type, "Heartbeat");
    }
  });
});

Deno.test("seal() numbers a node's messages above every earlier one, across a restart", async () => {
  await withMesh([], async ({ membership, start }) => {
    const sequenceOf = async (frame: Uint8Array) => {
      const opened = await openFrame(frame, membership);
      assert.ok(opened.ok);
      return opened.value.message.sequence;
    };
    let clock = 1_000;
    const first = await start(1, { clock: () => clock });
    const sequences = [];
    for (let k = 0; k < 3; k++) {
      sequences.push(await sequenceOf(await first.transport.seal(heartbeat("node-1", 4))));
    }
    assert.ok(sequences[0]! < sequences[1]! && sequences[1]! < sequences[2]!, `${sequences}`);
    await first.transport.close();
    // A restarted node (a new transport, its clock a millisecond on) seals above its
    // predecessor without having stored anything: both start from the clock.
    clock += 1;
    const second = await start(1, { clock: () => clock });
    const after = await sequenceOf(await second.transport.seal(heartbeat("node-1", 4)));
    assert.ok(after > sequences[2]!, `${after} > ${sequences[2]}`);
  });
});

Deno.test("hostile bytes on a node's port: each refused with its code, the node unaffected", async () => {
  await withMesh([0, 1], async ({ nodes, signers, addresses }) => {
    const node = nodes[1]!;
    const port = addresses.get("node-1")!.port;
    await until(() => node.transport.connected().includes("node-0"), "node-0 connected");

    // Garbage: its first four bytes read as a length far above the limit; the stream closes.
    const garbage = await raw(port);
    await garbage.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert.ok(await closedByPeer(garbage), "garbage closes the connection");
    garbage.close();

    // An oversized length prefix: refused from the prefix alone, before any buffering.
    const oversized = await raw(port);
    await oversized.write(new Uint8Array([0x7f, 0xff, 0xff, 0xff]));
    assert.ok(await closedByPeer(oversized), "an oversized prefix closes the connection");
    oversized.close();

    // Frames that keep the stream in step are dropped and the connection kept.
    const conn = await raw(port);
    // A member that is not running (node-2): its frames arrive, on a connection they do not bind.
    const valid = await sealMessage(heartbeat("node-2", 77, 5), signers[2]!);
    const badSignature = valid.slice();
    badSignature[badSignature.length - 1]! ^= 1;
    const stranger = await createNodeSigner("mallory", new Uint8Array(32).fill(9));
    const unknown = await sealMessage(heartbeat("mallory", 78), stranger);
    const notCbor = encodeFrame(new Uint8Array([0xff]), new Uint8Array(64));
    await conn.write(badSignature);
    await conn.write(unknown);
    await conn.write(notCbor);
    await conn.write(valid);
    await conn.write(valid); // replayed: dropped quietly
    await until(
      () => node.received.some(({ opened }) => opened.message.inferenceId === 77),
      "the valid frame",
    );
    // A wrong version closes the stream.
    const wrongVersion = (await sealMessage(heartbeat("node-2", 79, 6), signers[2]!)).slice();
    wrongVersion[4] = 2;
    await conn.write(wrongVersion);
    assert.ok(await closedByPeer(conn), "a wrong version closes the connection");
    conn.close();

    await until(() => codes(node).includes("unsupported_version"), "the version refusal");
    for (
      const code of [
        "frame_oversized",
        "bad_signature",
        "unknown_sender",
        "malformed_cbor",
        "replayed",
        "unsupported_version",
      ]
    ) {
      assert.ok(codes(node).includes(code), `logged ${code}: ${codes(node)}`);
    }
    const refusals = node.logs.filter((record) => record.code !== undefined);
    assert.ok(refusals.every((record) => typeof record.peer === "string"));
    assert.equal(
      node.logs.find((record) => record.code === "replayed")?.level,
      "debug",
      "a replay is normal network behaviour",
    );
    assert.equal(
      node.received.filter(({ opened }) => opened.message.inferenceId === 77).length,
      1,
      "the replayed frame was not delivered twice",
    );
    assert.ok(!node.received.some(({ opened }) => [78, 79].includes(opened.message.inferenceId)));

    // The node is unaffected: its peer's messages still arrive.
    const frame = await nodes[0]!.transport.seal(heartbeat("node-0", 80));
    assert.ok(nodes[0]!.transport.send("node-1", frame));
    await until(
      () => node.received.some(({ opened }) => opened.message.inferenceId === 80),
      "a message after the attack",
    );
  });
});

Deno.test("a client may send only ClientRequests, and a member may not send one", async () => {
  await withMesh([0], async ({ nodes, client, signers, addresses }) => {
    const node = nodes[0]!;
    const conn = await raw(addresses.get("node-0")!.port);
    try {
      const request: CoordinationMessage = {
        type: "ClientRequest",
        inferenceId: 3,
        from: client.nodeId,
        view: 0,
        epoch: 0,
        sequence: 1,
        input: new Uint8Array([1, 2]),
        tokenCount: 4,
        to: "node-0",
      };
      await conn.write(await sealMessage(heartbeat(client.nodeId, 4), client));
      await conn.write(await sealMessage({ ...request, from: "node-1" }, signers[1]!));
      await conn.write(await sealMessage(request, client));
      await until(
        () => node.received.some(({ opened }) => opened.message.type === "ClientRequest"),
        "the client's request",
      );
      assert.equal(node.received.length, 1);
      assert.equal(node.received[0]!.peer, client.nodeId);
      const refused = node.logs.filter((record) => record.code === "unknown_sender");
      assert.equal(refused.length, 2, JSON.stringify(refused));
      // The reply goes back on the client's connection.
      const reply = await node.transport.seal(heartbeat("node-0", 3));
      assert.ok(node.transport.send(client.nodeId, reply));
      const buffer = new Uint8Array(reply.length);
      let read = 0;
      while (read < reply.length) read += (await conn.read(buffer.subarray(read))) ?? reply.length;
      assert.deepEqual(buffer, reply);
    } finally {
      conn.close();
    }
  });
});

Deno.test("a peer that restarts is dialed again, and announced up each time", async () => {
  await withMesh([0, 1], async ({ nodes, start }) => {
    await until(() => nodes[0]!.peersUp.includes("node-1"), "node-1 up");
    await nodes[1]!.transport.close();
    await until(() => !nodes[0]!.transport.connected().includes("node-1"), "node-1 down");
    await start(1);
    await until(
      () => nodes[0]!.peersUp.filter((peer) => peer === "node-1").length === 2,
      "node-1 up again",
    );
    const frame = await nodes[0]!.transport.seal(heartbeat("node-0", 12));
    assert.ok(nodes[0]!.transport.send("node-1", frame));
    await until(() => nodes[1]!.received.length > 0, "a message to the restarted node");
  });
});

Deno.test("a silent inbound connection is closed after the hello timeout", async () => {
  await withMesh([0], async ({ nodes, addresses }) => {
    const conn = await raw(addresses.get("node-0")!.port);
    try {
      assert.ok(await closedByPeer(conn));
      assert.ok(nodes[0]!.logs.some((record) => record.msg === "no hello in time, closing"));
    } finally {
      conn.close();
    }
  }, { helloTimeoutMs: 100 });
});

Deno.test("a peer that does not read is cut off when its queue is full", async () => {
  await withMesh([1], async ({ nodes, signers, addresses }) => {
    const node = nodes[1]!;
    // node-0 "connects" but never reads: its hello binds the connection.
    const conn = await raw(addresses.get("node-1")!.port);
    try {
      await conn.write(
        await sealMessage(heartbeat("node-0", 0, 1, "node-1"), signers[0]!),
      );
      await until(() => node.transport.connected().includes("node-0"), "the hello");
      const big: CoordinationMessage = {
        type: "CheckpointResponse",
        inferenceId: 5,
        from: "node-1",
        view: 0,
        epoch: 0,
        sequence: 0,
        seed: 1,
        position: 1,
        digest: sha256(new Uint8Array(1 << 20)),
        state: new Uint8Array(1 << 20),
      };
      const frame = await node.transport.seal(big);
      let sent = 0;
      while (node.transport.send("node-0", frame)) {
        sent++;
        assert.ok(sent < 256, "the queue never filled");
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      assert.ok(sent >= 1);
      assert.ok(node.logs.some((record) => record.msg === "send queue full, closing"));
      await until(() => !node.transport.connected().includes("node-0"), "the cut-off");
    } finally {
      conn.close();
    }
  }, { sendQueueBytesMax: 4 << 20 });
});

Deno.test("a hello binds only the node it is addressed to, and only once", async () => {
  await withMesh([0, 1], async ({ nodes, signers, addresses }) => {
    await until(() => nodes[1]!.transport.connected().includes("node-0"), "node-0 connected");
    const port = addresses.get("node-1")!.port;
    // node-0's hello to another member (node-2), replayed to node-1 on a new connection, and a
    // heartbeat of node-0 with no addressee: neither takes over node-0's link.
    const toOther = await sealMessage(
      heartbeat("node-0", 0, 10 ** 15, "node-2"),
      signers[0]!,
    );
    const broadcast = await sealMessage(heartbeat("node-0", 0, 10 ** 15 + 1), signers[0]!);
    const conn = await raw(port);
    try {
      await conn.write(toOther);
      await conn.write(broadcast);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const links = nodes[1]!.logs.filter((r) => r.msg === "peer connected" && r.peer === "node-0");
      assert.equal(links.length, 1, "node-0's link was not replaced");
      // node-1 still reaches node-0 on the real link.
      const frame = await nodes[1]!.transport.seal(heartbeat("node-1", 21));
      assert.ok(nodes[1]!.transport.send("node-0", frame));
      await until(
        () => nodes[0]!.received.some(({ opened }) => opened.message.inferenceId === 21),
        "a message on the real link",
      );
    } finally {
      conn.close();
    }
  });
});
