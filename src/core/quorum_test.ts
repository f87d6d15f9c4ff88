import assert from "node:assert/strict";
import fc from "fast-check";
import { hasHonestMember, minimumNodeCount, quorumSize, validateClusterSize } from "./quorum.ts";

Deno.test("validateClusterSize() refuses n = 2f + 1 and names the bound", () => {
  for (let f = 1; f <= 5; f++) {
    assert.throws(() => validateClusterSize(2 * f + 1, f), /n >= 3f \+ 1/);
  }
});

Deno.test("validateClusterSize() refuses non-integers and empty clusters", () => {
  assert.throws(() => validateClusterSize(0, 0), /positive integer/);
  assert.throws(() => validateClusterSize(4.5, 1), /positive integer/);
  assert.throws(() => validateClusterSize(4, -1), /non-negative integer/);
  assert.throws(() => minimumNodeCount(Number.NaN), /non-negative integer/);
});

Deno.test("quorumSize() makes any two quorums intersect in an honest node", () => {
  // Two quorums of size q among n nodes share at least 2q - n nodes; that must exceed f.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 100 }), (f, extra) => {
      const n = 3 * f + 1 + extra;
      const q = quorumSize({ nodeCount: n, faultsMax: f });
      assert.ok(2 * q - n >= f + 1, `n=${n} f=${f} q=${q}`);
      // Liveness: the honest nodes alone can form a quorum.
      assert.ok(q <= n - f, `n=${n} f=${f} q=${q}`);
    }),
  );
});

Deno.test("quorumSize() is 2f + 1 at n = 3f + 1", () => {
  for (let f = 0; f <= 10; f++) {
    assert.equal(quorumSize({ nodeCount: 3 * f + 1, faultsMax: f }), 2 * f + 1);
  }
});

Deno.test("hasHonestMember holds from f + 1 members on, for every valid cluster", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 10 }), (f, extra) => {
      const size = validateClusterSize(3 * f + 1 + extra, f);
      for (let members = 0; members <= size.nodeCount; members++) {
        assert.equal(hasHonestMember(size, members), members > f, `f = ${f}, ${members} members`);
      }
    }),
  );
  assert.throws(() => hasHonestMember({ nodeCount: 5, faultsMax: 2 }, 3), /n >= 3f \+ 1/);
});
