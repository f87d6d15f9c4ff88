// The seed's "Basic Setup": a coordinator for one node, and a heartbeat handed to it.
//
// The seed asked for 5 nodes tolerating 2 Byzantine failures. BCP needs n >= 3f + 1, so that
// cluster is refused; 7 nodes tolerate 2. Frames are signed: the heartbeat comes from node-1's
// key, and a frame nobody in the cluster signed is refused with its wire code.
//
//   deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys examples/basic_setup.ts
import { DistributedCoordinator } from "@butterfly/bcp/runtime";
import { closePipeline, createPipeline, TINY_MODEL_CONFIG } from "@butterfly/bcp/model";
import { createNodeSigner, sealMessage } from "@butterfly/bcp/wire";

// Seven members, each with its own key (here drawn at random; a real cluster reads key files).
const ids = Array.from({ length: 7 }, (_, k) => `node-${k}`);
const signers = await Promise.all(
  ids.map((id) => createNodeSigner(id, crypto.getRandomValues(new Uint8Array(32)))),
);
const members = signers.map(({ nodeId, publicKey }) => ({ nodeId, publicKey }));
const pipeline = await createPipeline(TINY_MODEL_CONFIG);
const dataDir = await Deno.makeTempDir({ prefix: "butterfly-basic-setup-" });

try {
  const options = {
    signer: signers[0]!,
    members,
    pipeline,
    dataDir,
    // Where this node's frames go: here nowhere (a real caller writes them to its sockets).
    send: () => true,
  };
  try {
    new DistributedCoordinator("node-0", 5, 2, { ...options, members: members.slice(0, 5) });
  } catch (error) {
    console.log(`DistributedCoordinator("node-0", 5, 2) is refused: ${(error as Error).message}`);
  }

  // Create coordinator for a 7-node cluster tolerating 2 Byzantine failures.
  const coordinator = new DistributedCoordinator(
    "node-0", // This node's ID
    7, // Cluster size
    2, // Max Byzantine failures (f)
    options,
  );

  // Handle incoming coordination messages: node-1's heartbeat, sent at 5 ms.
  const heartbeat = await sealMessage({
    type: "Heartbeat",
    inferenceId: 0,
    from: "node-1",
    view: 0,
    epoch: 0,
    sequence: 1,
    sentAtMs: 5,
  }, signers[1]!);
  const handled = await coordinator.handleMessage(heartbeat);
  if (!handled.ok) throw handled.error;
  console.log(`Handled ${handled.value.type} from ${handled.value.from}`);
  console.log(`node-1 is ${await coordinator.health("node-1")}`);

  const again = await coordinator.handleMessage(heartbeat);
  console.log(`The same frame again: ${again.ok ? "accepted" : again.error.code}`);
  const stranger = await createNodeSigner("node-9", crypto.getRandomValues(new Uint8Array(32)));
  const foreign = await coordinator.handleMessage(
    await sealMessage({
      type: "Heartbeat",
      inferenceId: 0,
      from: "node-9",
      view: 0,
      epoch: 0,
      sequence: 1,
      sentAtMs: 5,
    }, stranger),
  );
  console.log(`A stranger's frame: ${foreign.ok ? "accepted" : foreign.error.code}`);
  await coordinator.close();
} finally {
  await closePipeline(pipeline);
  await Deno.remove(dataDir, { recursive: true });
}
