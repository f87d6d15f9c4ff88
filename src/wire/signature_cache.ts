/**
 * A bounded cache of signatures that already verified, so that a vote checked on receipt is not
 * checked again when it comes back inside a certificate, a view change or a NewView.
 *
 * An entry's key is the full SHA-256 of (public key, signature, signed bytes): the public key
 * and the signature have fixed lengths (32 and 64 bytes), so the concatenation
 * `publicKey || signature || tag || bytes` is unambiguous. Finding an entry therefore means
 * finding a SHA-256 collision or a second preimage, not a short-key collision: an unverified
 * signature cannot pass because it happens to share a cache slot with a verified one. Only
 * successful verifications are stored; a failure is checked again every time (it is cheap to
 * send garbage, so caching failures would only let a peer fill the cache).
 *
 * Eviction is least-recently-used: a hit moves the entry to the back.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Entries a {@linkcode VerifiedSignatureCache} holds by default (about 0.5 MB). */
export const SIGNATURE_CACHE_ENTRIES_DEFAULT = 4096;

/**
 * A least-recently-used set of (public key, signature, signed bytes) that verified.
 *
 * @example Usage
 * ```ts
 * import { VerifiedSignatureCache } from "@butterfly/bcp/wire";
 * import assert from "node:assert/strict";
 * const cache = new VerifiedSignatureCache(2);
 * const key = cache.keyOf(new Uint8Array(32), new Uint8Array(64), new Uint8Array([1]));
 * assert.ok(!cache.has(key));
 * cache.add(key);
 * assert.ok(cache.has(key));
 * assert.equal(cache.hits, 1);
 * ```
 */
export class VerifiedSignatureCache {
  /** The most entries held; 0 disables the cache. */
  readonly capacity: number;
  /** Lookups that found their entry. */
  hits = 0;
  /** Lookups that did not. */
  misses = 0;
  readonly #entries = new Map<string, true>();

  /**
   * Creates an empty cache.
   *
   * @param capacity The most entries held (0 disables caching).
   * @throws {RangeError} If `capacity` is not a non-negative safe integer.
   */
  constructor(capacity: number = SIGNATURE_CACHE_ENTRIES_DEFAULT) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new RangeError(`A signature cache holds 0 or more entries, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** The number of entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cache key of a verification: SHA-256(publicKey || signature || tag || bytes), in
   * base64.
   *
   * @param publicKey The 32-byte public key.
   * @param signature The 64-byte signature.
   * @param signed The signed bytes (tag and body), in one or more pieces.
   * @returns The key.
   */
  keyOf(publicKey: Uint8Array, signature: Uint8Array, ...signed: Uint8Array[]): string {
    const hash = createHash("sha256").update(publicKey).update(signature);
    for (const piece of signed) hash.update(piece);
    return hash.digest("base64");
  }

  /**
   * Whether `key` verified before; a hit makes the entry the most recently used.
   *
   * @param key A key from {@linkcode VerifiedSignatureCache.keyOf}.
   * @returns `true` if the verification is cached.
   */
  has(key: string): boolean {
    if (!this.#entries.delete(key)) {
      this.misses++;
      return false;
    }
    this.#entries.set(key, true);
    this.hits++;
    return true;
  }

  /**
   * Records a successful verification, evicting the least recently used entry when full.
   *
   * @param key A key from {@linkcode VerifiedSignatureCache.keyOf} whose signature verified.
   */
  add(key: string): void {
    if (this.capacity === 0) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, true);
  }

  /** Drops every entry and resets the counters. */
  clear(): void {
    this.#entries.clear();
    this.hits = 0;
    this.misses = 0;
  }
}
