// The 4-node cluster (F = 1, one stage, one token, three replicas, seeds 1 and 2, views 0..1)
// that the core's tests, the simulator's tests and the core benchmark share, so that they
// exercise one configuration and cannot drift apart.
import type { MessageOfType, ReceivedMessages, SpecMessageType } from "./received.ts";
import { type ClusterConfig, clusterConfig, type SpecMessage } from "./spec_state.ts";

/** The shared 4-node test cluster. */
export const TEST_CLUSTER: ClusterConfig = clusterConfig({
  nodeCount: 4,
  faultsMax: 1,
  stageCount: 1,
  tokenCount: 1,
  checkpointIntervalTokens: 1,
  replicaCount: 3,
  seeds: [1, 2],
  viewMax: 1,
});

/**
 * The received set of `messages` as a guard reads it, duplicates included (a test of a tally
 * that counts each signer once gives the same message twice; `MessageLog` would keep it once).
 */
export function receivedOf(messages: readonly SpecMessage[]): ReceivedMessages {
  return {
    ofType: <T extends SpecMessageType>(type: T) =>
      messages.filter((m) => m.type === type) as unknown as readonly MessageOfType<T>[],
  };
}
