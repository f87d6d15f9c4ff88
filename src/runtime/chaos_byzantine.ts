/**
 * Byzantine behaviour for the chaos harness: a wrapper around a node's outgoing frames, between
 * the node and its TCP transport, so the node itself runs the honest code unchanged and only what
 * leaves it lies. Nothing here is a code path of an honest node: `deno task chaos --byzantine K`
 * starts K members with `chaos_byzantine_main.ts` instead of `node_main.ts`.
 *
 * Every frame the node sends is opened, changed as the mode says, signed again with the node's key
 * and a sequence of the wrapper's own (above the node's, one counter for everything it sends, so
 * the extra messages a mode adds are not dropped as replays), and sent on:
 *
 * - `wrong-output`: every stage output is another value (one activation byte off, its digest
 *   recomputed, so the frame passes every wire check);
 * - `equivocate`: every vote, proposal, stage output and checkpoint is followed by a second, different
 *   message for the same slot (evidence that gets it excluded);
 * - `bad-signature`: every frame's signature has a bit flipped;
 * - `replay`: with each frame, one it sent before goes again, unchanged;
 * - `withhold`: no Prepare, Commit, ViewChange or Checkpoint leaves it;
 * - `garbage`: with each frame, a well-framed one of random bytes;
 * - `lying-view-change`: its view changes claim a vote for a value nobody computed.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { nextUniform, type PrngState } from "../model/_prng.ts";
import { encodeFrame, openFrame, sealMessage } from "../wire/frame.ts";
import type { Membership, NodeSigner } from "../wire/identity.ts";
import type { CoordinationMessage } from "../wire/message.ts";
import type { NodeNetwork } from "./node.ts";
import type { Transport } from "./transport.ts";

/** The modes a Byzantine chaos node may run. */
export const BYZANTINE_MODES = [
  "wrong-output",
  "equivocate",
  "bad-signature",
  "replay",
  "withhold",
  "garbage",
  "lying-view-change",
] as const;

/** One Byzantine mode. */
export type ByzantineMode = typeof BYZANTINE_MODES[number];

/**
 * Whether a text names a mode.
 *
 * @param text The text.
 * @returns Whether it is one of {@linkcode BYZANTINE_MODES}.
 */
export function isByzantineMode(text: string): text is ByzantineMode {
  return (BYZANTINE_MODES as readonly string[]).includes(text);
}

const VOTES = new Set(["Prepare", "Commit", "ViewChange", "Checkpoint"]);
const SLOTTED = new Set(["PrePrepare", "Prepare", "Commit", "StageOutput", "Checkpoint"]);
const REPLAYS_KEPT = 32;

// A different 32-byte digest, deterministic in the one given.
function other(digest: Uint8Array): Uint8Array {
  return sha256(digest);
}

/**
 * The message as `wrong-output` and `equivocate` change it: another output, value, digest or vote
 * for the same slot; `undefined` for a type they leave alone.
 *
 * @param message The honest message.
 * @returns The lie, or `undefined`.
 */
export function alteredMessage(message: CoordinationMessage): CoordinationMessage | undefined {
  switch (message.type) {
    case "StageOutput": {
      if (message.activation === undefined) return { ...message, value: other(message.value) };
      const data = message.activation.data.slice();
      data[0] = data[0]! ^ 1;
      return { ...message, activation: { ...message.activation, data }, value: sha256(data) };
    }
    case "PrePrepare":
    case "Prepare":
    case "Commit":
      return { ...message, value: other(message.value) };
    case "Checkpoint":
      return { ...message, digest: other(message.digest) };
    case "ViewChange":
      return {
        ...message,
        voted: { view: Math.max(0, message.view - 1), value: other(new Uint8Array(32)) },
      };
    default:
      return undefined;
  }
}

/** What {@linkcode byzantineNetwork} needs. */
export interface ByzantineNetworkOptions {
  /** The mode. */
  readonly mode: ByzantineMode;
  /** The node's key (a Byzantine node signs its lies with its own identity). */
  readonly signer: NodeSigner;
  /** The members, to open the node's frames. */
  readonly membership: Membership;
  /** The draws of `garbage` and `replay`. */
  readonly prng: PrngState;
}

/**
 * Wraps a node's TCP transport so that what the node sends lies as `mode` says.
 *
 * @param transport The transport.
 * @param options The mode, the key and the members.
 * @returns The network the node is given.
 */
export function byzantineNetwork(
  transport: Transport,
  options: ByzantineNetworkOptions,
): NodeNetwork {
  const { mode, signer, membership } = options;
  const sent: Uint8Array[] = [];
  // Above any sequence the node's own sealer gives (it starts from the clock in microseconds).
  let sequence = Date.now() * 2000;
  let queue = Promise.resolve();
  const seal = (message: CoordinationMessage) =>
    sealMessage({ ...message, sequence: sequence++ }, signer);
  const random = (n: number) =>
    Uint8Array.from({ length: n }, () => Math.floor(nextUniform(options.prng) * 256));
  // The frames to send for one frame of the node's.
  const lie = async (frame: Uint8Array): Promise<Uint8Array[]> => {
    const opened = await openFrame(frame, membership);
    if (!opened.ok) return [frame];
    const message = opened.value.message;
    switch (mode) {
      case "wrong-output":
        return [await seal(message.type === "StageOutput" ? alteredMessage(message)! : message)];
      case "equivocate": {
        const first = await seal(message);
        const second = SLOTTED.has(message.type) ? alteredMessage(message) : undefined;
        return second === undefined ? [first] : [first, await seal(second)];
      }
      case "bad-signature": {
        const bad = await seal(message);
        bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
        return [bad];
      }
      case "replay": {
        const fresh = await seal(message);
        const old = sent[Math.floor(nextUniform(options.prng) * sent.length)];
        sent.push(fresh);
        if (sent.length > REPLAYS_KEPT) sent.shift();
        return old === undefined ? [fresh] : [fresh, old];
      }
      case "withhold":
        return VOTES.has(message.type) ? [] : [await seal(message)];
      case "garbage":
        return [await seal(message), encodeFrame(random(16 + (sequence % 200)), random(64))];
      case "lying-view-change":
        return [await seal(message.type === "ViewChange" ? alteredMessage(message)! : message)];
    }
  };
  // In order, one frame of the node's at a time (the node does not wait for its sends).
  const later = (work: () => Promise<void>) => {
    queue = queue.then(work).catch(() => {});
  };
  return {
    get port() {
      return transport.port;
    },
    broadcast(frame) {
      const peers = transport.connected().filter((peer) => membership.has(peer));
      later(async () => {
        for (const out of await lie(frame)) transport.broadcast(out);
      });
      return peers;
    },
    send(peer, frame) {
      later(async () => {
        for (const out of await lie(frame)) transport.send(peer, out);
      });
      return true;
    },
    close: () => transport.close(),
  };
}
