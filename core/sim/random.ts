// Seeded random streams. Each stream's seed is a hash of the scenario seed and the stream's
// name, so adding a VM (a new stream) never changes what another VM draws.

/** 64-bit FNV-1a over the name, mixed with the seed; returned as two 32-bit halves. */
function hashName(seed: number, name: string): [number, number] {
  let hi = 0xcbf29ce4 ^ Math.floor(seed / 0x1_0000_0000);
  let lo = 0x84222325 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) {
    lo ^= name.charCodeAt(i);
    // multiply (hi,lo) by the FNV prime 0x100000001b3 modulo 2^64
    const l = Math.imul(lo, 0x1b3) >>> 0;
    const carry = Math.floor(((lo >>> 0) * 0x1b3) / 0x1_0000_0000);
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + carry) >>> 0;
    lo = l;
  }
  return [hi >>> 0, lo >>> 0];
}

/** splitmix32, used only to expand a seed into xoshiro's state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** xoshiro128**: fast, 32-bit arithmetic only, period 2^128 - 1. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seedHi: number, seedLo: number) {
    const st = { s: (seedHi ^ Math.imul(seedLo, 0x27d4eb2d)) | 0 };
    this.a = splitmix32(st) ^ seedLo;
    this.b = splitmix32(st);
    this.c = splitmix32(st) ^ seedHi;
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const b = this.b;
    const t = b << 9;
    let r = Math.imul(b, 5);
    r = Math.imul((r << 7) | (r >>> 25), 9);
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = (this.d << 11) | (this.d >>> 21);
    return r >>> 0;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number {
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) / 9007199254740992;
  }

  /** Uniform integer in [0, n), n ≤ 2^53. */
  int(n: number): number {
    if (n <= 0x1_0000_0000) {
      // Lemire's multiply-shift; the tiny bias (< n / 2^32) is irrelevant at these sizes.
      return Math.floor((this.u32() * n) / 0x1_0000_0000);
    }
    return Math.floor(this.float() * n);
  }

  /** Uniform integer with `bits` random bits (≤ 53). */
  bits(bits: number): number {
    if (bits <= 32) return bits === 32 ? this.u32() : this.u32() >>> (32 - bits);
    const hi = this.u32() >>> (64 - bits);
    return hi * 0x1_0000_0000 + this.u32();
  }

  /** Exponentially distributed value with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }
}

/** The streams of one run: `stream(name)` always gives the same sequence for the same seed and name. */
export class RandomStreams {
  constructor(readonly seed: number) {}

  stream(name: string): Random {
    const [hi, lo] = hashName(this.seed, name);
    return new Random(hi, lo);
  }
}
