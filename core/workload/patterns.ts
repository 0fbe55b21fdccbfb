// Page samplers for access patterns. Zipf uses rejection-inversion (Hörmann & Derflinger),
// O(1) memory: a precomputed table for a 16-million-page working set would cost 128 MiB.
import type { Random } from "../sim/random.js";
import type { AccessPattern } from "./spec.js";

export interface PageSampler {
  /** Fills out[0..n) with guest page numbers. */
  fill(out: Int32Array, n: number): void;
}

export function makeSampler(pattern: AccessPattern, pages: number, rng: Random): PageSampler {
  switch (pattern.kind) {
    case "uniform":
      return { fill: (out, n) => { for (let i = 0; i < n; i++) out[i] = rng.int(pages); } };
    case "sequential": {
      const set = workingSet(pages, pattern.over ?? 1);
      let cursor = 0;
      return {
        fill(out, n) {
          for (let i = 0; i < n; i++) {
            out[i] = cursor;
            if (++cursor === set) cursor = 0;
          }
        },
      };
    }
    case "zipf": {
      const set = workingSet(pages, pattern.over);
      const zipf = new Zipf(set, pattern.skew, rng);
      const perm = new Scatter(set);
      return { fill: (out, n) => { for (let i = 0; i < n; i++) out[i] = perm.map(zipf.sample() - 1); } };
    }
  }
}

/** The pages of a working set of fraction `over`: the first round(pages × over), at least one. */
export function workingSet(pages: number, over: number): number {
  return Math.max(1, Math.min(pages, Math.round(pages * over)));
}

/** Spreads ranks over the working set (rank r → (r·a + b) mod n), so hot pages are not all adjacent. */
export class Scatter {
  private readonly a: number;
  private readonly b: number;
  constructor(private readonly n: number) {
    let a = Math.max(1, Math.floor(n * 0.6180339887)) | 1;
    while (gcd(a, n) !== 1) a += 2;
    this.a = a % n || 1;
    this.b = Math.floor(n / 3);
  }
  map(r: number): number {
    // (r·a) can exceed 2^53 for big sets: split the multiplication.
    const n = this.n;
    const hi = Math.floor(r / 65536);
    const lo = r % 65536;
    return (((((hi * this.a) % n) * 65536) % n) + ((lo * this.a) % n) + this.b) % n;
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zipf over ranks 1..n with exponent s > 0: P(k) ∝ k^-s. */
export class Zipf {
  private readonly hX1: number;
  private readonly hN: number;
  private readonly sVal: number;

  constructor(
    readonly n: number,
    readonly s: number,
    private readonly rng: Random,
  ) {
    this.hX1 = this.hIntegral(1.5) - 1;
    this.hN = this.hIntegral(n + 0.5);
    this.sVal = 2 - this.hIntegralInverse(this.hIntegral(2.5) - this.h(2));
  }

  sample(): number {
    for (;;) {
      const u = this.hN + this.rng.float() * (this.hX1 - this.hN);
      const x = this.hIntegralInverse(u);
      let k = Math.floor(x + 0.5);
      if (k < 1) k = 1;
      else if (k > this.n) k = this.n;
      if (k - x <= this.sVal || u >= this.hIntegral(k + 0.5) - this.h(k)) return k;
    }
  }

  private h(x: number): number {
    return Math.exp(-this.s * Math.log(x));
  }
  private hIntegral(x: number): number {
    const lx = Math.log(x);
    return helper2((1 - this.s) * lx) * lx;
  }
  private hIntegralInverse(x: number): number {
    let t = x * (1 - this.s);
    if (t < -1) t = -1;
    return Math.exp(helper1(t) * x);
  }
}

/** log1p(x)/x, continuous at 0. */
function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}
/** expm1(x)/x, continuous at 0. */
function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + x * (1 / 3) * (1 + 0.25 * x));
}
