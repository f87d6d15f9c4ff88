// The seed's "Checkpoint Management" example.
//
//     deno run examples/checkpoint_management.ts
import { Checkpoint, CheckpointManager } from "@butterfly/bcp";

const manager = new CheckpointManager(10); // keep the last 10 checkpoints

// Create checkpoint.
const nodeStates = new Map([["node-0", new Uint8Array([1, 2, 3])]]);

const checkpoint = new Checkpoint(0, 0, nodeStates, new Map());

// Store.
manager.store(checkpoint);

// Retrieve.
const latest = manager.latest();
console.log(`Latest checkpoint at epoch ${latest?.epoch}, checksum ${latest?.checksumHex}`);

// Get checkpoint at specific position (the latest at or before it).
const atPosition = manager.getAtPosition(15);
console.log(`Checkpoint at position: ${atPosition?.tokenPosition}`);
