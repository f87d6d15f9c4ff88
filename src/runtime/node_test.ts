// Four reference nodes in this process, over TCP on loopback, with the tiny model: a client's
// inference commits what one process generates. (The scenario tests with real node processes,
// kill -9 included, are in cluster_test.ts.)
import assert from "node:assert/strict";
import { closePipeline, createPipeline, generate } from "../model/generate.ts";
import { FOUR_LAYER_TINY_CONFIG } from "../model/_test_util.ts";
import { createNodeSigner } from "../wire/identity.ts";
import { TEST_CLIENT_ID, testSecretKey, testSigners } from "../wire/_test_keys.ts";
import { ButterflyClient, InferenceRefusedError } from "./client.ts";
import type { ClusterFile } from "./cluster_file.ts";
import { Logger, type LogRecord } from "./log.ts";
import { ButterflyNode } from "./node.ts";

Deno.test("four nodes over TCP commit a client's inference as generate() produces it", async () => {
  const boundaries = [2];
  const pipeline = await createPipeline(FOUR_LAYER_TINY_CONFIG, { boundaries });
  const dirs: string[] = [];
  const nodes: ButterflyNode[] = [];
  let client: ButterflyClient | undefined;
  const logs: LogRecord[] = [];
  try {
    const signers = await testSigners();
    const clientSigner = await createNodeSigner(TEST_CLIENT_ID, testSecretKey(TEST_CLIENT_ID));
    // Distinct free ports: every probe stays open until all are chosen.
    const probes = signers.map(() => Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    const ports = probes.map((probe) => probe.addr.port);
    for (const probe of probes) probe.close();
    const cluster: ClusterFile = {
      nodes: signers.map((signer, k) => ({
        id: signer.nodeId,
        host: "127.0.0.1",
        port: ports[k]!,
        publicKey: signer.publicKey,
      })),
      faultsMax: 1,
      replicaCount: 3,
      quorum: 3,
      model: { kind: "preset", preset: "tiny" },
      boundaries,
      clients: [{ id: clientSigner.nodeId, publicKey: clientSigner.publicKey }],
    };
    for (const signer of signers) {
      const dir = await Deno.makeTempDir({ prefix: "butterfly-node-" });
      dirs.push(dir);
      nodes.push(
        await ButterflyNode.start({
          cluster,
          signer,
          dataDir: dir,
          pipeline,
          log: new Logger(signer.nodeId, "info", (_line, record) => logs.push(record)),
          instancesMax: 1,
          committedKept: 2,
        }),
      );
    }
    const prompt = new TextEncoder().encode("Hello");
    const expected: number[] = [];
    for await (const { token } of generate(prompt, { maxTokens: 6, pipeline })) {
      expected.push(token);
    }
    client = await ButterflyClient.connect({ cluster, signer: clientSigner });
    const result = await client.infer({ prompt, tokenCount: 6, timeoutMs: 30_000 });
    assert.deepEqual(Array.from(result.output), expected);
    assert.ok(result.signers.length >= 3);
    // Every node committed the same and kept it on disk.
    const committed = () => logs.filter((r) => r.msg === "inference committed").length;
    const deadline = Date.now() + 10_000;
    while (committed() < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(committed(), 4, JSON.stringify(logs.filter((r) => r.level !== "info")));
    // Each commit line says what the window from the last token to the commit took: every node
    // waited in it for a vote's record, verified its peers' votes and took steps.
    for (const line of logs.filter((r) => r.msg === "inference committed")) {
      const window = line.commitCosts as Record<string, number>;
      const commitMs = line.commitMs as number;
      assert.ok(commitMs > 0 && (line.commitCpuMs as number) >= 0, JSON.stringify(line));
      assert.ok(
        window.steps! >= 1 && window.persist! > 0 && window.verify! > 0,
        JSON.stringify(line),
      );
      for (const kind of ["persist", "step", "encode", "sign", "verify"]) {
        assert.ok(
          window[kind]! >= 0 && window[kind]! <= commitMs + 0.01,
          `${kind}: ${JSON.stringify(line)}`,
        );
      }
    }
    for (const node of nodes) {
      assert.deepEqual(node.instance(result.inferenceId)?.tokenIds, expected);
    }
    assert.deepEqual(logs.filter((r) => r.level === "error"), []);
    // Beyond its bound on inferences at once, a node refuses a request and says why.
    const refused = () => logs.filter((r) => r.msg === "request refused");
    // The second request comes once every node runs the first (else which one a node takes
    // first is a race, and two requests each taken by two nodes both fail).
    const started = () => logs.filter((r) => r.msg === "inference started").length;
    const startedBefore = started();
    const firstRun = client.infer({ prompt, tokenCount: 24, inferenceId: 77, timeoutMs: 30_000 });
    const deadline2 = Date.now() + 10_000;
    while (started() < startedBefore + 4 && Date.now() < deadline2) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const [first, second] = await Promise.allSettled([
      firstRun,
      client.infer({ prompt: "Other", tokenCount: 24, timeoutMs: 3_000 }),
    ]);
    assert.equal(first.status, "fulfilled");
    assert.equal(second.status, "rejected");
    // The nodes told the client why (f + 1 refusals), rather than leaving it to time out.
    const reason = (second as PromiseRejectedResult).reason;
    assert.ok(reason instanceof InferenceRefusedError, String(reason));
    assert.ok(reason.reasons.size >= 2);
    for (const why of reason.reasons.values()) {
      assert.match(why, /1 inferences are running, the most this node runs/);
    }
    assert.ok(refused().length >= 1);
    assert.match(
      refused()[0]!.reason as string,
      /1 inferences are running, the most this node runs/,
    );
    // Beyond the committed inferences it keeps, a node forgets the oldest, files included.
    assert.ok(nodes[0]!.instance(result.inferenceId) !== undefined);
    const third = await client.infer({ prompt, tokenCount: 4, timeoutMs: 30_000 });
    // The instance goes first; its files once its last steps and writes are done.
    const files = `${dirs[0]}/inferences/${result.inferenceId}`;
    const gone = () => Deno.stat(files).then(() => false, () => true);
    const until = Date.now() + 10_000;
    while (
      (nodes[0]!.instance(result.inferenceId) !== undefined || !await gone()) &&
      Date.now() < until
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(nodes[0]!.instance(result.inferenceId), undefined);
    await assert.rejects(() => Deno.stat(files));
    assert.ok(nodes[0]!.instance(third.inferenceId) !== undefined);
  } finally {
    await client?.close();
    await Promise.all(nodes.map((node) => node.close()));
    await closePipeline(pipeline);
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
});
