// Page contents. A page's content is a 53-bit identity: 0 is the zero page, and the high bits
// say what kind of page it is. The real 4096 bytes of an identity are generated on demand,
// deterministically, so compression compresses real bytes and checkpoint files hold real pages.
import { PAGE_SIZE } from "../config.js";
import type { Random } from "../sim/random.js";

const KIND_SHIFT = 2 ** 48;
export const ContentKind = {
  Zero: 0,
  /** A page of a named image (a guest OS, an application): identical across VMs. */
  Image: 1,
  /** A private page of incompressible (random) bytes. */
  Random: 2,
  /** Private pages with 1/16 … 15/16 of their bytes compressible: kinds 16 + level. */
  CompressibleBase: 16,
} as const;

/** Bits of the payload that name the world for private pages; the rest count its writes. */
const WORLD_BITS = 2 ** 14;
const COUNTER_SPAN = 2 ** 34;

/**
 * A world's workload writes count their private pages from here, so they never repeat the
 * identities its initial contents drew (which count from 0): a write always changes a page.
 */
export const WORKLOAD_COUNTER_START = COUNTER_SPAN / 2;

export function kindOf(identity: number): number {
  return Math.floor(identity / KIND_SHIFT);
}

export function imagePage(imageId: number, page: number): number {
  return ContentKind.Image * KIND_SHIFT + (imageId % 65536) * 2 ** 32 + (page >>> 0);
}

/** A private page: unique per (world, counter), so two private pages never look alike. */
export function privatePage(level: number, world: number, counter: number): number {
  const kind = level <= 0 ? ContentKind.Random : ContentKind.CompressibleBase + Math.min(15, level);
  return kind * KIND_SHIFT + (world % WORLD_BITS) * COUNTER_SPAN + (counter % COUNTER_SPAN);
}

/** Compressible fraction (0..1) of an identity's bytes. */
export function compressibility(identity: number): number {
  const k = kindOf(identity);
  if (k === ContentKind.Zero) return 1;
  if (k === ContentKind.Image) return 0.5;
  if (k >= ContentKind.CompressibleBase) return (k - ContentKind.CompressibleBase) / 16;
  return 0;
}

/**
 * Writes the 4096 bytes of an identity into `out` (at `offset`). Random bytes come from a
 * xorshift generator seeded by the identity; a compressible page repeats a short pattern
 * over its compressible fraction, so zlib shrinks it by about that much.
 */
export function pageBytes(identity: number, out: Uint8Array = new Uint8Array(PAGE_SIZE), offset = 0): Uint8Array {
  if (identity === 0) {
    out.fill(0, offset, offset + PAGE_SIZE);
    return out;
  }
  // mulberry32, seeded from both halves of the identity: fast and well mixed.
  let st = (identity % 0x1_0000_0000 ^ Math.imul(Math.floor(identity / 0x1_0000_0000), 0x85ebca6b)) | 0;
  const randomBytes = Math.round(PAGE_SIZE * (1 - compressibility(identity)));
  const view = new DataView(out.buffer, out.byteOffset + offset, PAGE_SIZE);
  let z = 0;
  let i = 0;
  for (; i < randomBytes; i += 4) {
    st = (st + 0x6d2b79f5) | 0;
    z = Math.imul(st ^ (st >>> 15), st | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    z = (z ^ (z >>> 14)) >>> 0;
    if (i + 4 <= randomBytes) view.setUint32(i, z, true);
    else for (let j = i; j < randomBytes; j++) out[offset + j] = (z >>> ((j - i) * 8)) & 0xff;
  }
  out.fill(z & 0xff, offset + randomBytes, offset + PAGE_SIZE);
  return out;
}

/** What written pages contain, as fractions that sum to 1. */
export interface ContentMix {
  zero: number;
  images: { name: string; fraction: number }[];
  random: number;
  /** Compressible private pages: `level` sixteenths of each page compress away. */
  compressible: { level: number; fraction: number }[];
}

/** What a workload writes unless its `content` says otherwise: private random pages. */
export const DEFAULT_MIX: Readonly<ContentMix> = Object.freeze({ zero: 0, images: Object.freeze([]) as unknown as ContentMix["images"], random: 1, compressible: Object.freeze([]) as unknown as ContentMix["compressible"] });

/** Names of shared images to small integer ids, in order of first use (deterministic). */
export class ImageRegistry {
  private readonly ids = new Map<string, number>();
  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(name, id);
    }
    return id;
  }
  names(): string[] {
    return [...this.ids.keys()];
  }
}

/**
 * Draws contents for one world's writes from a mix: a cumulative table, one random draw per
 * page. Private pages get a fresh identity from the world's write counter.
 */
export class ContentSampler {
  private readonly cum: Float64Array;
  private readonly kinds: number[] = [];
  private readonly args: number[] = [];
  private counter: number;

  constructor(
    mix: ContentMix,
    images: ImageRegistry,
    private readonly worldId: number,
    private readonly rng: Random,
    /** Where this sampler's private-page counter starts (see WORKLOAD_COUNTER_START). */
    counterStart = 0,
  ) {
    this.counter = counterStart;
    const parts: [number, number, number][] = [];
    if (mix.zero > 0) parts.push([mix.zero, ContentKind.Zero, 0]);
    for (const im of mix.images) if (im.fraction > 0) parts.push([im.fraction, ContentKind.Image, images.id(im.name)]);
    if (mix.random > 0) parts.push([mix.random, ContentKind.Random, 0]);
    for (const c of mix.compressible) if (c.fraction > 0) parts.push([c.fraction, ContentKind.CompressibleBase, c.level]);
    if (parts.length === 0) parts.push([1, ContentKind.Random, 0]);
    const total = parts.reduce((s, p) => s + p[0], 0);
    this.cum = new Float64Array(parts.length);
    let acc = 0;
    parts.forEach(([f, k, a], i) => {
      acc += f / total;
      this.cum[i] = acc;
      this.kinds.push(k);
      this.args.push(a);
    });
    this.cum[parts.length - 1] = 1;
  }

  /** Content for a write of guest page `page`. */
  next(page: number): number {
    let i = 0;
    if (this.cum.length > 1) {
      const u = this.rng.float();
      while (u >= this.cum[i]!) i++;
    }
    const k = this.kinds[i]!;
    if (k === ContentKind.Zero) return 0;
    if (k === ContentKind.Image) return imagePage(this.args[i]!, page);
    if (k === ContentKind.Random) return privatePage(0, this.worldId, this.counter++);
    return privatePage(this.args[i]!, this.worldId, this.counter++);
  }

  /** Fills `out[0..n)` with contents for `pages[0..n)`. */
  fill(pages: Int32Array, out: Float64Array, n: number): void {
    for (let j = 0; j < n; j++) out[j] = this.next(pages[j]!);
  }
}
