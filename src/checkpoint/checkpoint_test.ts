import assert from "node:assert/strict";
import fc from "fast-check";
import {
  Checkpoint,
  CHECKPOINT_CHECKSUM_BYTES,
  CheckpointFormatError,
  decodeCheckpoint,
  encodeCheckpoint,
} from "./checkpoint.ts";

const entries = fc.uniqueArray(
  fc.tuple(fc.string({ unit: "binary", maxLength: 8 }), fc.uint8Array({ maxLength: 16 })),
  { selector: ([key]) => key, maxLength: 8 },
);

function problemOf(bytes: Uint8Array): string {
  try {
    decodeCheckpoint(bytes);
    return "none";
  } catch (error) {
    if (error instanceof CheckpointFormatError) return error.problem;
    throw error;
  }
}

Deno.test("Checkpoint.checksum does not depend on map insertion order", () => {
  fc.assert(
    fc.property(entries, entries, fc.nat(), fc.nat(), (states, results, epoch, position) => {
      const forward = new Checkpoint(epoch, position, {
        nodeStates: new Map(states),
        intermediateResults: new Map(results),
      });
      const backward = new Checkpoint(epoch, position, {
        nodeStates: new Map([...states].reverse()),
        intermediateResults: new Map([...results].reverse()),
      });
      assert.equal(forward.checksumHex, backward.checksumHex);
      assert.deepEqual(encodeCheckpoint(forward), encodeCheckpoint(backward));
    }),
  );
});

Deno.test("Checkpoint.checksum is SHA-256 of the documented encoding (a fixed vector)", async () => {
  // Computed once and pinned: any change to the encoding breaks agreement between versions.
  const checkpoint = new Checkpoint(1, 10, {
    nodeStates: new Map([["node-1", new Uint8Array([4])], ["node-0", new Uint8Array([1, 2, 3])]]),
  });
  const bytes = encodeCheckpoint(checkpoint);
  const hex = [...bytes.subarray(0, bytes.length - CHECKPOINT_CHECKSUM_BYTES)]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  assert.equal(
    hex,
    "42464c59434b5054" + "0001" + "0000000000000001" + "000000000000000a" + "00000002" +
      "00000006" + "6e6f64652d30" + "00000003" + "010203" +
      "00000006" + "6e6f64652d31" + "00000001" + "04" + "00000000",
  );
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes.slice(0, bytes.length - 32)),
  );
  assert.deepEqual(checkpoint.checksum, digest);
});

Deno.test("Checkpoint.checksum changes with every field", () => {
  const base = new Checkpoint(1, 10, { nodeStates: new Map([["a", new Uint8Array([1])]]) });
  const variants = [
    new Checkpoint(2, 10, { nodeStates: new Map([["a", new Uint8Array([1])]]) }),
    new Checkpoint(1, 11, { nodeStates: new Map([["a", new Uint8Array([1])]]) }),
    new Checkpoint(1, 10, { nodeStates: new Map([["b", new Uint8Array([1])]]) }),
    new Checkpoint(1, 10, { nodeStates: new Map([["a", new Uint8Array([2])]]) }),
    new Checkpoint(1, 10, { intermediateResults: new Map([["a", new Uint8Array([1])]]) }),
    // Length prefixes keep ("ab", [1]) apart from ("a", [98, 1]).
    new Checkpoint(1, 10, { nodeStates: new Map([["ab", new Uint8Array([1])]]) }),
  ];
  for (const variant of variants) assert.notEqual(variant.checksumHex, base.checksumHex);
});

Deno.test("Checkpoint copies its input, so later mutation cannot change it", () => {
  const state = new Uint8Array([1, 2, 3]);
  const nodeStates = new Map([["a", state]]);
  const checkpoint = new Checkpoint(0, 0, { nodeStates });
  state[0] = 9;
  nodeStates.set("b", new Uint8Array());
  assert.ok(checkpoint.verify());
  assert.deepEqual([...checkpoint.nodeStates.keys()], ["a"]);
  assert.deepEqual(checkpoint.nodeStates.get("a"), new Uint8Array([1, 2, 3]));
});

Deno.test("Checkpoint() refuses negative or fractional positions and ill-formed node ids", () => {
  assert.throws(
    () => new Checkpoint(0, 0, { nodeStates: new Map([["\uD800", new Uint8Array()]]) }),
    /not well-formed Unicode/,
  );
  assert.throws(() => new Checkpoint(-1, 0), /epoch must be a non-negative safe integer/);
  assert.throws(() => new Checkpoint(0, 1.5), /tokenPosition must be a non-negative safe integer/);
});

Deno.test("decodeCheckpoint() round-trips every checkpoint", () => {
  fc.assert(
    fc.property(entries, entries, fc.nat(), fc.nat(), (states, results, epoch, position) => {
      const checkpoint = new Checkpoint(epoch, position, {
        nodeStates: new Map(states),
        intermediateResults: new Map(results),
      });
      const decoded = decodeCheckpoint(encodeCheckpoint(checkpoint));
      assert.equal(decoded.checksumHex, checkpoint.checksumHex);
      assert.equal(decoded.epoch, epoch);
      assert.equal(decoded.tokenPosition, position);
      assert.deepEqual(decoded.nodeStates, checkpoint.nodeStates);
      assert.deepEqual(decoded.intermediateResults, checkpoint.intermediateResults);
    }),
  );
});

Deno.test("decodeCheckpoint() rejects every truncation and every single-bit flip", () => {
  const checkpoint = new Checkpoint(3, 30, {
    nodeStates: new Map([["a", new Uint8Array([1, 2])], ["b", new Uint8Array([3])]]),
    intermediateResults: new Map([["a", new Uint8Array([5])]]),
  });
  const bytes = encodeCheckpoint(checkpoint);
  for (let length = 0; length < bytes.length; length++) {
    assert.notEqual(problemOf(bytes.subarray(0, length)), "none", `accepted ${length} bytes`);
  }
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    const flipped = bytes.slice();
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    assert.notEqual(problemOf(flipped), "none", `accepted a flip of bit ${bit}`);
  }
});

Deno.test("decodeCheckpoint() names the problem: foreign, version, truncated, corrupt", () => {
  const bytes = encodeCheckpoint(
    new Checkpoint(0, 0, { nodeStates: new Map([["a", new Uint8Array(8)]]) }),
  );
  assert.equal(problemOf(new TextEncoder().encode('{"epoch":0}')), "foreign");
  assert.equal(problemOf(new Uint8Array()), "foreign");
  const future = bytes.slice();
  future[9] = 2;
  assert.equal(problemOf(future), "version");
  assert.equal(problemOf(bytes.subarray(0, bytes.length - 40)), "truncated");
  const flipped = bytes.slice();
  flipped[bytes.length - 37]! ^= 0xff; // the last state byte, before the empty results map
  assert.equal(problemOf(flipped), "corrupt");
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.notEqual(problemOf(longer), "none");
});

Deno.test("decodeCheckpoint() rejects unsorted keys even with a valid checksum", async () => {
  // Hand-build a body with keys "b" then "a", and a correct SHA-256 over it.
  const body = new Uint8Array([
    ...new TextEncoder().encode("BFLYCKPT"),
    0,
    1,
    ...new Uint8Array(16),
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    1,
    0x62,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    0x61,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  assert.equal(problemOf(new Uint8Array([...body, ...digest])), "malformed");
});

Deno.test("Checkpoint.checksum is the same in another process, filling the maps in another order", async () => {
  const entries: [string, number[]][] = [["node-2", [9, 9]], ["node-0", [1]], ["node-1", []]];
  const local = new Checkpoint(4, 40, {
    nodeStates: new Map(entries.map(([k, v]) => [k, new Uint8Array(v)])),
  });
  const moduleUrl = new URL("./checkpoint.ts", import.meta.url).href;
  const script = `
    import { Checkpoint } from ${JSON.stringify(moduleUrl)};
    const entries = ${JSON.stringify([...entries].reverse())};
    const checkpoint = new Checkpoint(4, 40, {
      nodeStates: new Map(entries.map(([k, v]) => [k, new Uint8Array(v)])),
    });
    console.log(checkpoint.checksumHex);
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(output.code, 0);
  assert.equal(new TextDecoder().decode(output.stdout).trim(), local.checksumHex);
});

Deno.test("Checkpoint takes the seed's positional maps, and refuses a state it would drop", () => {
  // The seed writes Checkpoint::new(epoch, position, node_states, intermediate_results); before,
  // the TypeScript took the third argument as options and stored no state (stateBytes 0).
  const states = new Map([["node-0", new Uint8Array([1, 2, 3])]]);
  const results = new Map([["node-1", new Uint8Array([9])]]);
  const positional = new Checkpoint(0, 0, states, results);
  assert.deepEqual([...positional.nodeStates.keys()], ["node-0"]);
  assert.deepEqual([...positional.intermediateResults.keys()], ["node-1"]);
  const options = new Checkpoint(0, 0, { nodeStates: states, intermediateResults: results });
  assert.equal(positional.checksumHex, options.checksumHex);
  const refused = [
    () => new Checkpoint(0, 0, { nodeStates: states }, results as never),
    () => new Checkpoint(0, 0, "states" as never),
    () => new Checkpoint(0, 0, null as never),
    () => new Checkpoint(0, 0, states, "results" as never),
    () => new Checkpoint(0, 0, { nodeStates: { "node-0": new Uint8Array(1) } as never }),
    () => new Checkpoint(0, 0, new Map([["node-0", [1, 2]]]) as never),
  ];
  for (const build of refused) assert.throws(build, TypeError);
});
