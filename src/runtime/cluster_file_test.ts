import assert from "node:assert/strict";
import {
  type ClusterFile,
  ClusterFileError,
  clusterFileJson,
  loadClusterFile,
  parseClusterFile,
} from "./cluster_file.ts";
import { FixedLatencyStage } from "../model/fixed_latency_stage.ts";
import { openClusterModel } from "./model_source.ts";

const KEYS = [
  "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29",
  "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
  "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1",
  "d759793bbc13a2819a827c76adb6fba8a49aee007f49f2d0992d99b825ad2c48",
  "dc2a4b0eb3d5d5e6b6f1f2c3e4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3",
];

function file(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    f: 1,
    model: { preset: "tiny" },
    nodes: [1, 2, 3, 4].map((k) => ({
      id: `node-${k}`,
      address: `127.0.0.1:${7100 + k}`,
      publicKey: KEYS[k - 1],
    })),
    clients: [{ id: "client-1", publicKey: KEYS[4] }],
    ...overrides,
  };
}

function refusal(value: unknown): ClusterFileError {
  try {
    parseClusterFile(value, "/base");
  } catch (error) {
    if (error instanceof ClusterFileError) return error;
    throw error;
  }
  assert.fail("the file was accepted");
}

Deno.test("a cluster file parses with the defaults: R = 2f + 1, one stage", () => {
  const cluster = parseClusterFile(file(), "/base");
  assert.equal(cluster.nodes.length, 4);
  assert.equal(cluster.faultsMax, 1);
  assert.equal(cluster.replicaCount, 3);
  assert.equal(cluster.quorum, 3);
  assert.deepEqual(cluster.boundaries, []);
  assert.deepEqual(cluster.model, { kind: "preset", preset: "tiny" });
  assert.deepEqual(cluster.nodes[0], {
    id: "node-1",
    host: "127.0.0.1",
    port: 7101,
    publicKey: Uint8Array.from(KEYS[0]!.match(/../g)!, (h) => parseInt(h, 16)),
  });
  assert.equal(cluster.clients[0]?.id, "client-1");
  const dir = parseClusterFile(file({ model: { dir: "models/m" } }), "/base");
  assert.deepEqual(dir.model, { kind: "dir", dir: "/base/models/m" });
});

Deno.test("clusterFileJson() writes what parseClusterFile() reads back", () => {
  const cluster: ClusterFile = parseClusterFile(file({ boundaries: [1] }), "/base");
  assert.deepEqual(parseClusterFile(clusterFileJson(cluster), "/base"), cluster);
});

Deno.test("a fixed-latency model is read, written back and opened as fixed-latency stages", async () => {
  const fixed = { fixedLatency: { layers: 50, layerMs: 2.5 } };
  const cluster = parseClusterFile(file({ model: fixed, boundaries: [25] }), "/base");
  assert.deepEqual(cluster.model, { kind: "fixed-latency", layerCount: 50, layerMs: 2.5 });
  assert.deepEqual(clusterFileJson(cluster).model, fixed);
  const pipeline = await openClusterModel(cluster);
  assert.equal(pipeline.stages.length, 2);
  assert.ok(pipeline.stages.every((stage) => stage instanceof FixedLatencyStage));
  assert.deepEqual(pipeline.stages.map((stage) => stage.range.layerEnd), [25, 50]);
  const outside = parseClusterFile(file({ model: fixed, boundaries: [50] }), "/base");
  await assert.rejects(() => openClusterModel(outside), /inside the 50 layers/);
});

Deno.test("each rule of the cluster file is refused naming its field", () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ f: 2 }, "nodes", /n >= 3f \+ 1 = 7/],
    [{ f: -1 }, "f", /integer from 0/],
    [{ f: "1" }, "f", /integer/],
    [{ replicasPerStage: 2 }, "replicasPerStage", /at least 2f \+ 1 = 3/],
    [{ replicasPerStage: 5 }, "replicasPerStage", /from 1 to 4/],
    [{ model: { preset: "huge" } }, "model.preset", /one of default, tiny, gpt2-small-shaped/],
    [{ model: { preset: "tiny", dir: "x" } }, "model", /one of "preset", "dir" or "fixedLatency"/],
    [
      { model: { fixedLatency: { layers: 0, layerMs: 1 } } },
      "model.fixedLatency.layers",
      /1 to 1024/,
    ],
    [
      { model: { fixedLatency: { layers: 8, layerMs: -1 } } },
      "model.fixedLatency.layerMs",
      /0 to 10000/,
    ],
    [
      { model: { fixedLatency: { layers: 8, layerMs: "1" } } },
      "model.fixedLatency.layerMs",
      /got "1"/,
    ],
    [{ model: { fixedLatency: { layers: 8 } } }, "model.fixedLatency.layerMs", /got nothing/],
    [
      { model: { fixedLatency: { layers: 8, layerMs: 1, hidden: 4 } } },
      "model.fixedLatency.hidden",
      /not a field/,
    ],
    [{ model: { presets: "tiny" } }, "model.presets", /not a field/],
    [{ boundaries: [2, 2] }, "boundaries[1]", /above the boundary before/],
    [{ boundaries: "2" }, "boundaries", /array/],
    [{ nodes: "x" }, "nodes", /array/],
    [{ clients: [{ id: "node-1", publicKey: KEYS[4] }] }, "clients[0].id", /a node's id/],
    [{ replicas: 3 }, "replicas", /not a field of the cluster file/],
  ];
  for (const [overrides, field, message] of cases) {
    const error = refusal(file(overrides));
    assert.equal(error.field, field, error.message);
    assert.match(error.message, message);
    assert.ok(error.message.startsWith(`${field}: `), error.message);
  }
  const nodes = (file().nodes as Record<string, unknown>[]).map((node) => ({ ...node }));
  const edit = (k: number, change: Record<string, unknown>) => {
    const copy = nodes.map((node) => ({ ...node }));
    copy[k] = { ...copy[k], ...change };
    return file({ nodes: copy });
  };
  const nodeCases: [Record<string, unknown>, string, RegExp][] = [
    [edit(1, { id: "node-1" }), "nodes[1].id", /repeats nodes\[0\].id/],
    [edit(2, { address: "127.0.0.1:7101" }), "nodes[2].address", /repeats nodes\[0\]/],
    [edit(3, { publicKey: KEYS[0] }), "nodes[3].publicKey", /repeats nodes\[0\]/],
    [edit(1, { publicKey: "abc" }), "nodes[1].publicKey", /64 hex digits/],
    [edit(1, { address: "localhost" }), "nodes[1].address", /HOST:PORT/],
    [edit(1, { address: "localhost:70000" }), "nodes[1].address", /port 1 to 65535/],
    [edit(1, { id: "" }), "nodes[1].id", /1 to 64 bytes/],
    [edit(0, { port: 1 }), "nodes[0].port", /not a field/],
  ];
  for (const [value, field, message] of nodeCases) {
    const error = refusal(value);
    assert.equal(error.field, field, error.message);
    assert.match(error.message, message);
  }
  assert.equal(refusal([]).field, "");
});

Deno.test("loadClusterFile() names the file, and the field inside it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-cluster-" });
  try {
    await assert.rejects(() => loadClusterFile(`${dir}/none.json`), /none.json: cannot be read/);
    await Deno.writeTextFile(`${dir}/bad.json`, "{");
    await assert.rejects(() => loadClusterFile(`${dir}/bad.json`), /bad.json: not JSON/);
    await Deno.writeTextFile(`${dir}/f.json`, JSON.stringify(file({ f: 2 })));
    await assert.rejects(() => loadClusterFile(`${dir}/f.json`), (error: ClusterFileError) => {
      assert.equal(error.field, "nodes");
      assert.match(error.message, new RegExp(`^${dir}/f.json: nodes: .*3f \\+ 1`));
      return true;
    });
    await Deno.writeTextFile(`${dir}/ok.json`, JSON.stringify(file({ model: { dir: "m" } })));
    assert.deepEqual((await loadClusterFile(`${dir}/ok.json`)).model, {
      kind: "dir",
      dir: `${dir}/m`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
