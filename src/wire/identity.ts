/**
 * Node identities: each node holds an ed25519 key pair; the cluster membership maps node ids to
 * public keys.
 *
 * Verifying uses `node:crypto`'s synchronous one-shot `verify` (native code, no promise per
 * signature): in `bench/wire_bench.ts` it is the fastest of the three implementations measured
 * side by side (`node:crypto`, WebCrypto, `@noble/ed25519`), and all three accept each other's
 * signatures and refuse the same malformed ones, which `identity_interop_test.ts` checks.
 * {@linkcode Membership.verifySync} is the fast path; {@linkcode Membership.verify} keeps the
 * original promise-returning shape. A {@linkcode VerifiedSignatureCache} skips signatures that
 * already verified.
 *
 * Signing uses `node:crypto`'s synchronous one-shot `sign` too: a private key is imported once
 * into a `KeyObject` held only in its {@linkcode NodeSigner}'s closure, so nothing in this library
 * can reach it, put it in a message or a proof, or log it. (A WebCrypto `CryptoKey` could also be
 * non-extractable, but its sign is an asynchronous operation: in a busy node each signature
 * waited about a millisecond for the event loop, on every stage hop's path; see
 * `bench/cluster_report.ts`.)
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { getPublicKeyAsync, Point } from "@noble/ed25519";
import type { NodeId } from "../core/types.ts";
import { NODE_ID_BYTES_MAX, SIGNATURE_BYTES } from "./message.ts";
import { VerifiedSignatureCache } from "./signature_cache.ts";

/** Length of an ed25519 secret key (the RFC 8032 seed) and of a public key, in bytes. */
export const ED25519_KEY_BYTES = 32;
/** Most nodes a membership may list. */
export const MEMBERSHIP_NODES_MAX = 1024;

/** Domain tag prefixed to a message body before signing (ASCII, NUL-terminated). */
export const MESSAGE_SIGNATURE_TAG: Uint8Array = new TextEncoder().encode(
  "butterfly-bcp/v1/message\0",
);
/** Domain tag prefixed to a proof link body before signing and hashing. */
export const PROOF_LINK_TAG: Uint8Array = new TextEncoder().encode("butterfly-bcp/v1/proof-link\0");

// The DER prefixes that wrap a raw ed25519 key (RFC 8410): PKCS #8 for a secret seed (WebCrypto
// imports private keys only so), SubjectPublicKeyInfo for a public key (for node:crypto).
// deno-fmt-ignore
const DER_PREFIX = {
  pkcs8: Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]),
  spki: Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]),
} as const;

/**
 * A raw 32-byte ed25519 key wrapped in DER (RFC 8410): `pkcs8` for a secret seed, `spki` for a
 * public key, as WebCrypto and node:crypto import them.
 */
export function ed25519Der(
  kind: keyof typeof DER_PREFIX,
  key: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const prefix = DER_PREFIX[kind];
  const der = new Uint8Array(prefix.length + key.length);
  der.set(prefix);
  der.set(key, prefix.length);
  return der;
}

/** A node's signing capability. The private key stays inside; only signatures come out. */
export interface NodeSigner {
  /** The node this signer signs for. */
  readonly nodeId: NodeId;
  /** Its ed25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /**
   * Signs `tag || bytes`.
   *
   * @param tag The domain-separation tag.
   * @param bytes The exact bytes to sign.
   * @returns The 64-byte signature.
   */
  sign(tag: Uint8Array, bytes: Uint8Array): Promise<Uint8Array>;
}

/** A member as configured: its id and its ed25519 public key. */
export interface MemberKey {
  /** The node id. */
  readonly nodeId: NodeId;
  /** The 32-byte ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/**
 * Creates a signer from a 32-byte ed25519 secret key. The bytes are imported into a
 * `node:crypto` key that only the signer holds; the caller should drop its copy.
 *
 * @param nodeId The node the key belongs to.
 * @param secretKey The 32-byte RFC 8032 secret key (seed).
 * @returns The signer.
 * @throws {RangeError} If the key is not 32 bytes or the node id is empty or too long.
 *
 * @example Usage
 * ```ts
 * import { createNodeSigner } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const signer = await createNodeSigner("node-0", new Uint8Array(32).fill(1));
 * const signature = await signer.sign(new Uint8Array([1]), new Uint8Array([2]));
 * assert.equal(signature.length, 64);
 * ```
 */
export async function createNodeSigner(nodeId: NodeId, secretKey: Uint8Array): Promise<NodeSigner> {
  requireNodeId(nodeId);
  if (secretKey.length !== ED25519_KEY_BYTES) {
    throw new RangeError(
      `An ed25519 secret key has ${ED25519_KEY_BYTES} bytes, got ${secretKey.length}`,
    );
  }
  const pkcs8 = ed25519Der("pkcs8", secretKey);
  const privateKey = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
  pkcs8.fill(0);
  const publicKey = await getPublicKeyAsync(secretKey);
  return {
    nodeId,
    publicKey,
    sign(tag: Uint8Array, bytes: Uint8Array): Promise<Uint8Array> {
      const signature = nodeSign(null, concatBytes(tag, bytes), privateKey);
      return Promise.resolve(
        new Uint8Array(signature.buffer, signature.byteOffset, signature.length),
      );
    },
  };
}

/** Options of {@linkcode Membership.create}. */
export interface MembershipOptions {
  /**
   * The cache of verified signatures: a cache to share, or the number of entries of a new one
   * (0 disables caching). Default: a new cache of 4096 entries
   * (`SIGNATURE_CACHE_ENTRIES_DEFAULT`).
   */
  readonly signatureCache?: VerifiedSignatureCache | number;
}

/**
 * The cluster membership: node ids with their public keys, imported once for fast verification.
 *
 * @example Usage
 * ```ts
 * import { createNodeSigner, Membership } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const signer = await createNodeSigner("node-0", new Uint8Array(32).fill(1));
 * const membership = await Membership.create([signer]);
 * const tag = new Uint8Array([9]);
 * const bytes = new Uint8Array([1, 2, 3]);
 * const signature = await signer.sign(tag, bytes);
 * assert.ok(membership.verifySync("node-0", tag, bytes, signature));
 * assert.ok(await membership.verify("node-0", tag, bytes, signature));
 * assert.ok(!membership.has("node-9"));
 * ```
 */
export class Membership {
  /** The member ids, sorted by their UTF-8 bytes. */
  readonly nodeIds: readonly NodeId[];
  /** The cache of signatures that verified under this membership's keys. */
  readonly signatureCache: VerifiedSignatureCache;
  readonly #publicKeys: ReadonlyMap<NodeId, Uint8Array>;
  readonly #keyObjects: ReadonlyMap<NodeId, KeyObject>;

  private constructor(
    keys: ReadonlyMap<NodeId, Uint8Array>,
    keyObjects: ReadonlyMap<NodeId, KeyObject>,
    signatureCache: VerifiedSignatureCache,
  ) {
    this.#publicKeys = keys;
    this.#keyObjects = keyObjects;
    this.signatureCache = signatureCache;
    this.nodeIds = [...keys.keys()].sort(compareNodeIds);
  }

  /**
   * Builds a membership from configured keys.
   *
   * @param members The members; ids must be distinct.
   * @param options The signature cache.
   * @returns The membership.
   * @throws {RangeError} On a duplicate id, a malformed or weak key (not a point of the curve,
   * or one with a small-order component) or more than {@linkcode MEMBERSHIP_NODES_MAX} members.
   */
  // deno-lint-ignore require-await
  static async create(
    members: readonly MemberKey[],
    options: MembershipOptions = {},
  ): Promise<Membership> {
    if (members.length === 0 || members.length > MEMBERSHIP_NODES_MAX) {
      throw new RangeError(
        `A membership has 1 to ${MEMBERSHIP_NODES_MAX} members, got ${members.length}`,
      );
    }
    const keys = new Map<NodeId, Uint8Array>();
    const keyObjects = new Map<NodeId, KeyObject>();
    for (const { nodeId, publicKey } of members) {
      requireNodeId(nodeId);
      if (keys.has(nodeId)) throw new RangeError(`Node ${nodeId} appears twice in the membership`);
      if (publicKey.length !== ED25519_KEY_BYTES) {
        throw new RangeError(`Node ${nodeId} has a ${publicKey.length}-byte public key`);
      }
      requireStrongKey(nodeId, publicKey);
      keys.set(nodeId, publicKey.slice());
      keyObjects.set(nodeId, importPublicKey(publicKey));
    }
    const cache = options.signatureCache;
    return new Membership(
      keys,
      keyObjects,
      cache instanceof VerifiedSignatureCache ? cache : new VerifiedSignatureCache(cache),
    );
  }

  /** The number of members (n). */
  get size(): number {
    return this.#publicKeys.size;
  }

  /**
   * Whether `nodeId` is a member.
   *
   * @param nodeId A node id.
   * @returns `true` for a member.
   */
  has(nodeId: NodeId): boolean {
    return this.#publicKeys.has(nodeId);
  }

  /**
   * A member's public key.
   *
   * @param nodeId A node id.
   * @returns A copy of the key, or `undefined` for a non-member.
   */
  publicKey(nodeId: NodeId): Uint8Array | undefined {
    return this.#publicKeys.get(nodeId)?.slice();
  }

  /**
   * Verifies `signature` over `tag || bytes` under `nodeId`'s key (RFC 8032, with
   * `node:crypto`), synchronously. A signature found in {@linkcode Membership.signatureCache}
   * is not verified again; one that verifies is added to it.
   *
   * @param nodeId The claimed signer.
   * @param tag The domain-separation tag.
   * @param bytes The signed bytes.
   * @param signature The signature.
   * @returns `false` for a non-member, a malformed signature or a wrong one.
   */
  verifySync(
    nodeId: NodeId,
    tag: Uint8Array,
    bytes: Uint8Array,
    signature: Uint8Array,
  ): boolean {
    const key = this.#keyObjects.get(nodeId);
    if (key === undefined || signature.length !== SIGNATURE_BYTES) return false;
    const cache = this.signatureCache;
    const cacheKey = cache.capacity === 0
      ? undefined
      : cache.keyOf(this.#publicKeys.get(nodeId)!, signature, tag, bytes);
    if (cacheKey !== undefined && cache.has(cacheKey)) return true;
    let valid: boolean;
    try {
      valid = nodeVerify(null, concatBytes(tag, bytes), key, signature);
    } catch {
      return false;
    }
    if (valid && cacheKey !== undefined) cache.add(cacheKey);
    return valid;
  }

  /**
   * Verifies `signature` over `tag || bytes` under `nodeId`'s key: {@linkcode
   * Membership.verifySync} behind the original promise-returning signature.
   *
   * @param nodeId The claimed signer.
   * @param tag The domain-separation tag.
   * @param bytes The signed bytes.
   * @param signature The signature.
   * @returns `false` for a non-member, a malformed signature or a wrong one.
   */
  // deno-lint-ignore require-await
  async verify(
    nodeId: NodeId,
    tag: Uint8Array,
    bytes: Uint8Array,
    signature: Uint8Array,
  ): Promise<boolean> {
    return this.verifySync(nodeId, tag, bytes, signature);
  }
}

/**
 * Imports a raw 32-byte ed25519 public key as a `node:crypto` key (SPKI DER, RFC 8410).
 *
 * @param publicKey The raw key.
 * @returns The key object.
 */
function importPublicKey(publicKey: Uint8Array): KeyObject {
  const spki = ed25519Der("spki", publicKey);
  return createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
}

// A key that is not a canonical curve point, or that has a small-order component, is where
// ed25519 implementations disagree (cofactored or not, strict or ZIP-215 decoding): the identity
// key, for instance, makes node:crypto and WebCrypto accept a signature that @noble/ed25519
// refuses. Honest keys are never such points, so the membership refuses them up front.
function requireStrongKey(nodeId: NodeId, publicKey: Uint8Array): void {
  let point: Point;
  try {
    point = Point.fromBytes(publicKey, false);
  } catch {
    throw new RangeError(`Node ${nodeId} has a public key that is not an ed25519 point`);
  }
  if (point.isSmallOrder() || !point.isTorsionFree()) {
    throw new RangeError(`Node ${nodeId} has a weak public key (small-order component)`);
  }
}

/**
 * Joins byte arrays into one new array.
 *
 * @param first The first bytes.
 * @param second The bytes that follow.
 * @returns `first || second`.
 *
 * @example Usage
 * ```ts
 * import { concatBytes } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * assert.deepEqual(concatBytes(new Uint8Array([1]), new Uint8Array([2])), new Uint8Array([1, 2]));
 * ```
 */
export function concatBytes(first: Uint8Array, second: Uint8Array): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first);
  joined.set(second, first.length);
  return joined;
}

function requireNodeId(nodeId: NodeId): void {
  const length = new TextEncoder().encode(nodeId).length;
  if (length === 0 || length > NODE_ID_BYTES_MAX || !nodeId.isWellFormed()) {
    throw new RangeError(`A node id has 1 to ${NODE_ID_BYTES_MAX} UTF-8 bytes`);
  }
}

function compareNodeIds(left: NodeId, right: NodeId): number {
  const encoder = new TextEncoder();
  const a = encoder.encode(left);
  const b = encoder.encode(right);
  for (let index = 0; index < Math.min(a.length, b.length); index++) {
    if (a[index] !== b[index]) return a[index]! - b[index]!;
  }
  return a.length - b.length;
}
