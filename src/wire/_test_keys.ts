/**
 * The published test keys of `spec/vectors/`: node `node-k` has the secret key
 * SHA-256("butterfly-bcp/v1/test-key/node-k"). Never use them outside tests.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { createNodeSigner, Membership, type NodeSigner } from "./identity.ts";

/** The test cluster: four nodes, tolerating one Byzantine node. */
export const TEST_NODE_IDS: readonly string[] = ["node-0", "node-1", "node-2", "node-3"];
/** The test client: it signs ClientRequests and is not a cluster member. */
export const TEST_CLIENT_ID = "client-0";
/** The Byzantine faults the test cluster tolerates. */
export const TEST_FAULTS_MAX = 1;

/** The published secret key of a test node. */
export function testSecretKey(nodeId: string): Uint8Array {
  return sha256(new TextEncoder().encode(`butterfly-bcp/v1/test-key/${nodeId}`));
}

/** Signers for the given test nodes. */
export async function testSigners(
  nodeIds: readonly string[] = TEST_NODE_IDS,
): Promise<NodeSigner[]> {
  return await Promise.all(nodeIds.map((id) => createNodeSigner(id, testSecretKey(id))));
}

/** The test cluster's signers and membership. */
export async function testCluster(): Promise<{ signers: NodeSigner[]; membership: Membership }> {
  const signers = await testSigners();
  return { signers, membership: await Membership.create(signers) };
}
