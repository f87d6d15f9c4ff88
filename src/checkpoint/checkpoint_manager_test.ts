import assert from "node:assert/strict";
import fc from "fast-check";
import { Checkpoint } from "./checkpoint.ts";
import {
  CheckpointError,
  CheckpointManager,
  CHECKSUMS_PER_MEMBER_MAX,
} from "./checkpoint_manager.ts";
import { handleCheckpoint } from "../core/checkpointing.ts";
import { MessageLog } from "../core/received.ts";
import { clusterConfig, initialNodeState, oneViewConstants } from "../core/spec_state.ts";

function checkpointAt(epoch: number, tokenPosition: number, tag = 0): Checkpoint {
  return new Checkpoint(epoch, tokenPosition, {
    nodeStates: new Map([["node-0", new Uint8Array([tag])]]),
  });
}

Deno.test("CheckpointManager keeps only the last K checkpoints and returns the evicted ones", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 30 }), (kept, stored) => {
      const manager = new CheckpointManager(kept);
      const evicted: number[] = [];
      for (let i = 0; i < stored; i++) {
        evicted.push(...manager.store(checkpointAt(i, i * 10)).map((c) => c.epoch));
      }
      const expectedKept = Array.from(
        { length: Math.min(kept, stored) },
        (_, i) => stored - Math.min(kept, stored) + i,
      );
      assert.deepEqual(manager.checkpoints().map((c) => c.epoch), expectedKept);
      assert.deepEqual(evicted, Array.from({ length: Math.max(0, stored - kept) }, (_, i) => i));
      assert.equal(manager.count, expectedKept.length);
      assert.equal(manager.latest()?.epoch, stored === 0 ? undefined : stored - 1);
    }),
  );
});

Deno.test("CheckpointManager.getAtPosition() returns the newest checkpoint at or before the position", () => {
  const manager = new CheckpointManager(5);
  manager.store(checkpointAt(0, 0));
  manager.store(checkpointAt(1, 10));
  manager.store(checkpointAt(2, 20));
  assert.equal(manager.getAtPosition(15)?.tokenPosition, 10);
  assert.equal(manager.getAtPosition(25)?.tokenPosition, 20);
  assert.equal(manager.getAtPosition(20)?.tokenPosition, 20);
  assert.equal(manager.getAtPosition(0)?.tokenPosition, 0);
  const late = new CheckpointManager(5);
  late.store(checkpointAt(0, 10));
  assert.equal(late.getAtPosition(5), undefined);
});

Deno.test("CheckpointManager.store() refuses a checkpoint that does not come after the latest", () => {
  const manager = new CheckpointManager(5);
  manager.store(checkpointAt(1, 10));
  assert.throws(() => manager.store(checkpointAt(1, 5)), CheckpointError);
  assert.throws(() => manager.store(checkpointAt(0, 20)), /does not come after the latest/);
  assert.throws(() => manager.store(checkpointAt(1, 10, 7)), /does not come after/);
  // Storing the very same checkpoint again is a no-op.
  assert.deepEqual(manager.store(checkpointAt(1, 10)), []);
  assert.equal(manager.count, 1);
  manager.store(checkpointAt(2, 0)); // a new epoch may restart positions
  assert.equal(manager.count, 2);
});

Deno.test("CheckpointManager.store() refuses a checkpoint whose state no longer matches its checksum", () => {
  const checkpoint = checkpointAt(0, 0);
  checkpoint.nodeStates.get("node-0")![0] = 99; // the map is read-only, its bytes are not
  assert.throws(() => new CheckpointManager(3).store(checkpoint), /does not match its checksum/);
});

Deno.test("CheckpointManager.shouldCheckpoint() fires every checkpointFrequencyTokens tokens", () => {
  const manager = new CheckpointManager(10, { checkpointFrequencyTokens: 5 });
  const due = Array.from({ length: 21 }, (_, p) => p).filter((p) => manager.shouldCheckpoint(p));
  assert.deepEqual(due, [0, 5, 10, 15, 20]);
  assert.equal(new CheckpointManager(10).shouldCheckpoint(10), true);
  assert.equal(new CheckpointManager(10).shouldCheckpoint(5), false);
});

Deno.test("CheckpointManager.reportChecksum() makes a checkpoint stable at exactly the quorum", () => {
  for (const [members, faultsMax] of [[4, 1], [5, 1], [7, 2], [10, 3]] as const) {
    const nodes = Array.from({ length: members }, (_, i) => `n${i}`);
    const manager = new CheckpointManager(10, { members: nodes, faultsMax });
    const quorum = Math.floor((members + faultsMax) / 2) + 1;
    assert.equal(manager.quorum, quorum);
    const checkpoint = checkpointAt(0, 10);
    manager.store(checkpoint);
    const report = { epoch: 0, tokenPosition: 10, checksumHex: checkpoint.checksumHex };
    for (let i = 0; i < quorum; i++) {
      assert.equal(manager.latestStable(), undefined, `stable after ${i} of ${quorum}`);
      const outcome = manager.reportChecksum(nodes[i]!, report);
      assert.deepEqual(outcome, { kind: "counted", stable: i === quorum - 1 });
    }
    assert.equal(manager.latestStable(), checkpoint);
    assert.deepEqual(manager.stability(0, 10), {
      kind: "stable",
      checksumHex: checkpoint.checksumHex,
    });
  }
});

Deno.test("CheckpointManager.reportChecksum() counts each member once and never a non-member", () => {
  const manager = new CheckpointManager(10, { members: ["a", "b", "c", "d"], faultsMax: 1 });
  const checkpoint = checkpointAt(0, 10);
  manager.store(checkpoint);
  const report = { epoch: 0, tokenPosition: 10, checksumHex: checkpoint.checksumHex };
  manager.reportChecksum("a", report);
  assert.deepEqual(manager.reportChecksum("a", report), { kind: "duplicate" });
  assert.deepEqual(manager.reportChecksum("a", { ...report, checksumHex: "0".repeat(64) }), {
    kind: "equivocation",
    firstChecksumHex: checkpoint.checksumHex,
    stable: false,
  });
  assert.deepEqual(manager.reportChecksum("mallory", report), { kind: "notMember" });
  assert.equal(manager.reportChecksum("b", { ...report, checksumHex: "XYZ" }).kind, "malformed");
  assert.deepEqual(manager.stability(0, 10), { kind: "pending", votesMax: 1, quorum: 3 });
  manager.reportChecksum("b", report);
  assert.equal(manager.latestStable(), undefined);
  manager.reportChecksum("c", report);
  assert.equal(manager.latestStable(), checkpoint);
});

Deno.test("CheckpointManager.reportChecksum() counts an equivocating member for the right checksum too", () => {
  // Member d reports a wrong checksum first, then the right one: stability is judged by the
  // signed reports (the spec's CheckpointStable), so a, b and d make the quorum of 3. Refusing
  // d's second report left a node that never restored what the others restored (issue
  // "Liveness that holds", gap 2). Past CHECKSUMS_PER_MEMBER_MAX checksums d is refused.
  const manager = new CheckpointManager(10, { members: ["a", "b", "c", "d"], faultsMax: 1 });
  const checkpoint = checkpointAt(0, 10);
  manager.store(checkpoint);
  const report = { epoch: 0, tokenPosition: 10, checksumHex: checkpoint.checksumHex };
  const wrong = { ...report, checksumHex: "0".repeat(64) };
  assert.deepEqual(manager.reportChecksum("d", wrong), { kind: "counted", stable: false });
  manager.reportChecksum("a", report);
  manager.reportChecksum("b", report);
  assert.equal(manager.latestStable(), undefined);
  assert.deepEqual(manager.reportChecksum("d", report), {
    kind: "equivocation",
    firstChecksumHex: wrong.checksumHex,
    stable: true,
  });
  assert.equal(manager.latestStable(), checkpoint);
  assert.deepEqual(manager.reportChecksum("d", { ...report, checksumHex: "1".repeat(64) }), {
    kind: "equivocation",
    firstChecksumHex: wrong.checksumHex,
    stable: false,
  });
  assert.deepEqual(manager.stability(0, 10), {
    kind: "stable",
    checksumHex: checkpoint.checksumHex,
  });
});

Deno.test("CheckpointManager.latestStable() skips a local checkpoint that diverges from the quorum", () => {
  const manager = new CheckpointManager(10, { members: ["a", "b", "c", "d"], faultsMax: 1 });
  const first = checkpointAt(0, 10);
  const mine = checkpointAt(0, 20, 1);
  const theirs = checkpointAt(0, 20, 2);
  manager.store(first);
  manager.store(mine);
  for (const node of ["a", "b", "c"]) {
    manager.reportChecksum(node, { epoch: 0, tokenPosition: 10, checksumHex: first.checksumHex });
    manager.reportChecksum(node, { epoch: 0, tokenPosition: 20, checksumHex: theirs.checksumHex });
  }
  assert.equal(manager.latestStable(), first);
});

Deno.test("CheckpointManager never finds two stable checksums for one position", () => {
  // Random reports from 4 members (f = 1): a, b and c are honest (one checksum per position,
  // whatever they report it in), d reports anything. A checksum is stable once 3 members
  // reported it, whoever they are and whatever else they reported.
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.constantFrom("a", "b", "c", "d"),
          fc.integer({ min: 0, max: 2 }),
          fc.constantFrom("1", "2"),
        ),
        {
          maxLength: 30,
        },
      ),
      fc.array(fc.constantFrom("1", "2"), { minLength: 3, maxLength: 3 }),
      (drawn, honestDigits) => {
        const reports = drawn.map(([node, position, digit]) =>
          [node, position, node === "d" ? digit : honestDigits[position] as string] as const
        );
        const manager = new CheckpointManager(10, { members: ["a", "b", "c", "d"], faultsMax: 1 });
        for (const [node, position, digit] of reports) {
          manager.reportChecksum(node, {
            epoch: 0,
            tokenPosition: position,
            checksumHex: digit.repeat(64),
          });
        }
        for (let position = 0; position <= 2; position++) {
          const votes = new Map<string, Set<string>>();
          for (const [node, p, digit] of reports) {
            if (p === position) votes.set(digit, (votes.get(digit) ?? new Set()).add(node));
          }
          const winner = [...votes].find(([, nodes]) => nodes.size >= 3)?.[0];
          const stability = manager.stability(0, position);
          assert.equal(
            stability.kind === "stable" ? stability.checksumHex : undefined,
            winner?.repeat(64),
          );
        }
      },
    ),
  );
});

Deno.test("CheckpointManager.reportChecksum() needs the members and bounds each member's reports", () => {
  assert.throws(
    () =>
      new CheckpointManager(3).reportChecksum("a", {
        epoch: 0,
        tokenPosition: 0,
        checksumHex: "0".repeat(64),
      }),
    /needs the cluster's members/,
  );
  assert.throws(() => new CheckpointManager(3, { members: ["a", "b"], faultsMax: 1 }), /3f \+ 1/);
  assert.throws(() => new CheckpointManager(0), /checkpointsMax must be a positive integer/);
  // A member flooding far-future positions only pushes out its own old reports.
  const manager = new CheckpointManager(2, { members: ["a", "b", "c", "d"], faultsMax: 1 });
  const report = { epoch: 0, tokenPosition: 10, checksumHex: "1".repeat(64) };
  manager.reportChecksum("a", report);
  manager.reportChecksum("b", report);
  for (let p = 1000; p < 1100; p++) manager.reportChecksum("d", { ...report, tokenPosition: p });
  assert.deepEqual(manager.reportChecksum("c", report), { kind: "counted", stable: true });
  assert.equal(manager.stability(0, 1000).kind, "pending");
  assert.deepEqual(manager.stability(0, 1000), { kind: "pending", votesMax: 0, quorum: 3 });
});

Deno.test("CheckpointManager's stability is the core's HandleCheckpoint on the same random reports", () => {
  // Honest members report one checksum per position; the f Byzantine ones any (up to the
  // per-member bound). A position is stable under a checksum exactly when the core's
  // HandleCheckpoint, on a node of that slot's seed, takes a checkpoint of that digest.
  const CHECKSUMS = ["a", "b", "c"].map((c) => c.repeat(64));
  const report = fc.record({
    member: fc.nat(6),
    position: fc.constantFrom(10, 20),
    checksum: fc.nat(2),
  });
  fc.assert(
    fc.property(
      fc.constantFrom([4, 1], [7, 2]),
      fc.array(report, { maxLength: 40 }),
      fc.array(fc.nat(2), { minLength: 7, maxLength: 7 }),
      ([n, f], reports, honestChecksum) => {
        const members = Array.from({ length: n }, (_, k) => `m${k}`);
        const manager = new CheckpointManager(10, { members, faultsMax: f });
        const cluster = clusterConfig(oneViewConstants(n, f));
        const received = new MessageLog();
        // Members 0..f-1 are Byzantine; the others report their one checksum for a position.
        for (const { member, position, checksum } of reports) {
          const k = member % n;
          const c = k < f ? checksum : (honestChecksum[k] as number + position) % 3;
          const checksumHex = CHECKSUMS[c] as string;
          manager.reportChecksum(members[k] as string, {
            epoch: 0,
            tokenPosition: position,
            checksumHex,
          });
          // The core receives the same signed checkpoint, unless the manager refused it: a
          // member's checksum past the per-member bound.
          const mine = received.ofType("Checkpoint").filter((m) =>
            m.from === k + 1 && m.position === position
          );
          if (mine.length < CHECKSUMS_PER_MEMBER_MAX || mine.some((m) => m.digest[0] === c)) {
            received.add({ type: "Checkpoint", seed: 1, position, digest: [c], from: k + 1 });
          }
          for (const p of [10, 20]) {
            const stability = manager.stability(0, p);
            for (let d = 0; d < 3; d++) {
              const node = { ...initialNodeState(1, cluster), seed: 1 };
              const message = {
                type: "Checkpoint",
                seed: 1,
                position: p,
                digest: [d],
                from: 1,
              } as const;
              const core = handleCheckpoint(node, { cluster, received, message }).enabled;
              const face = stability.kind === "stable" && stability.checksumHex === CHECKSUMS[d];
              assert.equal(face, core, `position ${p}, checksum ${d}`);
            }
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});
