// Deterministic pseudo-random numbers for weights and sampling. Integer arithmetic and IEEE
// operations only (no Math.log/cos), so every JavaScript engine on every machine draws the same
// values: the weights never travel, they are regenerated from the seed on each node.

/** The 32-bit state of a splitmix32 generator. */
export interface PrngState {
  state: number;
}

/** Creates a generator state from a 32-bit seed. */
export function prngFromSeed(seed: number): PrngState {
  return { state: seed >>> 0 };
}

/** Advances the generator and returns an unsigned 32-bit value (splitmix32). */
export function nextUint32(prng: PrngState): number {
  prng.state = (prng.state + 0x9e3779b9) >>> 0;
  let z = prng.state;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** A uniform value in [0, 1) with 32 bits of resolution. */
export function nextUniform(prng: PrngState): number {
  return nextUint32(prng) / 4_294_967_296;
}

/** FNV-1a of a string mixed with a seed: a stable 32-bit seed for one named tensor. */
export function seedForName(seed: number, name: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  }
  return hash;
}

// Irwin-Hall with four 16-bit uniforms (two 32-bit draws): sum - 2 has variance 1/3, so
// multiplying by sqrt(3) gives unit variance. Bell-shaped, bounded by 2 sqrt(3), exact to compute.
const IRWIN_HALL_SCALE = Math.sqrt(3);

/** Fills `out` with normal-ish values of the given mean and standard deviation. */
export function fillNormal(prng: PrngState, out: Float32Array, mean: number, std: number): void {
  for (let i = 0; i < out.length; i++) {
    const a = nextUint32(prng);
    const b = nextUint32(prng);
    const sum = ((a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16) + 2) / 65_536;
    out[i] = mean + std * (sum - 2) * IRWIN_HALL_SCALE;
  }
}
