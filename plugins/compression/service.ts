// The compression service other plugins reach with k.use("compression"): codecs, per-memory-
// block encoding with zero and untouched pages encoded up front (the checkpoint document's
// figure 3), whole-page compression and XBZRLE delta encoding for migration, and the figures
// every user of it adds up to (the report's `compression` section). See README.md.
import { PAGE_SIZE, pageBytes } from "../../core/api.js";
import type { CompressionSession, EncodedBlock, SessionStats, XbzrleAt, XbzrleCache, XbzrleOptions, XbzrleResult, XbzrleStats } from "./api.js";
import { CodecError, type Codec } from "./codecs.js";
import { changeRuns, encodedLength, MAX_RUNS } from "./xbzrle.js";

/** Copying or comparing a byte in memory: 0.1 ns (10 GB/s), for XBZRLE's compare and cache update. */
export const MEMORY_NS_PER_BYTE = 0.1;

export function newStats(codec: Codec | null): SessionStats {
  return { codec: codec?.name ?? "none", level: codec === null ? null : codec.name === "zlib" ? codec.level : null, encoded: 0, decoded: 0, pages: 0, zeroPages: 0, untouchedPages: 0, bytesIn: 0, bytesOut: 0, stored: 0, compressNs: 0, decompressNs: 0 };
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

export class Session implements CompressionSession {
  readonly stats: SessionStats;
  private scratch = new Uint8Array(0);
  /** Compressed sizes of recently compressed pages (image pages recur across VMs and rounds). */
  private readonly pageMemo = new Map<number, number>();

  constructor(
    readonly name: string,
    readonly codec: Codec,
  ) {
    this.stats = newStats(codec);
  }

  encodeBlock(identities: Float64Array, from: number, count: number, untouchedMask: number): EncodedBlock {
    let zeroMask = 0;
    let n = 0;
    for (let i = 0; i < count; i++) if (identities[from + i] === 0) zeroMask |= 1 << i;
    zeroMask >>>= 0;
    const rawBytes = (count - popcount(zeroMask)) * PAGE_SIZE;
    if (this.scratch.length < rawBytes) this.scratch = new Uint8Array(rawBytes);
    for (let i = 0; i < count; i++) {
      const c = identities[from + i]!;
      if (c !== 0) pageBytes(c, this.scratch, n++ * PAGE_SIZE);
    }
    const s = this.stats;
    s.encoded++;
    s.pages += count;
    s.zeroPages += count - n;
    s.untouchedPages += popcount(untouchedMask & zeroMask);
    if (rawBytes === 0) return { zeroMask, untouchedMask: (untouchedMask & zeroMask) >>> 0, raw: true, body: new Uint8Array(0), rawBytes: 0, cpuNs: 0 };
    const raw = this.scratch.subarray(0, rawBytes);
    const packed = this.codec.compress(raw);
    const cpuNs = Math.round(rawBytes * this.codec.compressNsPerByte);
    s.bytesIn += rawBytes;
    s.compressNs += cpuNs;
    if (packed.length >= rawBytes) {
      s.stored++;
      s.bytesOut += rawBytes;
      return { zeroMask, untouchedMask: (untouchedMask & zeroMask) >>> 0, raw: true, body: raw.slice(), rawBytes, cpuNs };
    }
    s.bytesOut += packed.length;
    return { zeroMask, untouchedMask: (untouchedMask & zeroMask) >>> 0, raw: false, body: packed, rawBytes, cpuNs };
  }

  decodeBlock(zeroMask: number, count: number, raw: boolean, body: Uint8Array): { bytes: Uint8Array; cpuNs: number } {
    const rawBytes = (count - popcount(zeroMask >>> 0)) * PAGE_SIZE;
    this.stats.decoded++;
    if (raw) {
      if (body.length !== rawBytes) throw new CodecError(`a raw block of ${body.length} bytes, ${rawBytes} expected`);
      return { bytes: body, cpuNs: 0 };
    }
    const bytes = this.codec.decompress(body, rawBytes);
    const cpuNs = Math.round(rawBytes * this.codec.decompressNsPerByte);
    this.stats.decompressNs += cpuNs;
    return { bytes, cpuNs };
  }

  compressPage(identity: number): { bytes: number; cpuNs: number; zero: boolean } {
    const s = this.stats;
    s.pages++;
    if (identity === 0) {
      s.zeroPages++;
      return { bytes: 0, cpuNs: 0, zero: true };
    }
    let size = this.pageMemo.get(identity);
    if (size === undefined) {
      if (this.scratch.length < PAGE_SIZE) this.scratch = new Uint8Array(PAGE_SIZE);
      size = Math.min(PAGE_SIZE, this.codec.compress(pageBytes(identity, this.scratch, 0).subarray(0, PAGE_SIZE)).length);
      if (this.pageMemo.size >= 65536) this.pageMemo.delete(this.pageMemo.keys().next().value!);
      this.pageMemo.set(identity, size);
    }
    const cpuNs = Math.round(PAGE_SIZE * this.codec.compressNsPerByte);
    s.encoded++;
    s.bytesIn += PAGE_SIZE;
    s.bytesOut += size;
    if (size === PAGE_SIZE) s.stored++;
    s.compressNs += cpuNs;
    return { bytes: size, cpuNs, zero: false };
  }
}

/** QEMU's page cache for XBZRLE: direct-mapped by page number, a power of two pages. */
export class Xbzrle implements XbzrleCache {
  readonly slots: number;
  readonly stats: XbzrleStats;
  /** Slot of a page: its number masked to the slots allocated. */
  private readonly mask: number;
  private readonly page: Int32Array;
  private readonly content: Float64Array;
  /** Each slot's it_age: the sync generation it was last touched in (page_cache.c). */
  private readonly age: Float64Array;
  private readonly changed: number;
  private readonly offset: number | undefined;
  /** Rates per period (closePeriod) rather than cumulative; and the counters at the last period's end. */
  private periodic = false;
  private prev = { written: 0, miss: 0, pages: 0, bytes: 0 };
  private readonly starts = new Int32Array(MAX_RUNS);
  private readonly ends = new Int32Array(MAX_RUNS);
  private lookups = 0;

  constructor(
    readonly name: string,
    options: XbzrleOptions,
  ) {
    const pages = Math.floor(options.cacheBytes / PAGE_SIZE);
    this.slots = pages >= 1 ? 2 ** Math.floor(Math.log2(pages)) : 0;
    // Slots a page can map to: `page & (slots - 1)` is the page itself below the guest's size
    // rounded up to a power of two, so only those are allocated.
    const used = options.guestPages !== undefined && options.guestPages >= 1 ? Math.min(this.slots, 2 ** Math.ceil(Math.log2(options.guestPages))) : this.slots;
    this.mask = used - 1;
    this.page = new Int32Array(used).fill(-1);
    this.content = new Float64Array(used);
    this.age = new Float64Array(used).fill(-Infinity);
    this.changed = options.changedBytes ?? PAGE_SIZE;
    this.offset = options.changedOffset;
    this.stats = { "cache-size": this.slots * PAGE_SIZE, bytes: 0, pages: 0, "cache-hit": 0, "cache-miss": 0, "cache-miss-rate": 0, "encoding-rate": 0, overflow: 0, unchanged: 0, "cpu-time": 0 };
  }

  send(page: number, identity: number, writes = 1, at?: XbzrleAt): XbzrleResult {
    const s = this.stats;
    const slot = this.slots === 0 ? -1 : page & this.mask;
    const age = at?.age ?? 0;
    if (identity === 0) {
      // QEMU keeps the cache in step with zero pages (xbzrle_cache_zero_page): with its
      // generations, a zero page is inserted as any page is; without, only a cached one changes.
      if (at !== undefined) this.insert(slot, page, 0, at);
      else if (slot >= 0 && this.page[slot] === page) this.content[slot] = 0;
      return { kind: "zero", bytes: 0, encoded: 0, cpuNs: 0 };
    }
    this.lookups++;
    const cost = Math.round(2 * PAGE_SIZE * MEMORY_NS_PER_BYTE);
    s["cpu-time"] += cost;
    const lastStage = at?.lastStage === true;
    if (slot < 0 || this.page[slot] !== page) {
      s["cache-miss"]++;
      if (!lastStage) this.insert(slot, page, identity, at);
      this.rates();
      return { kind: "miss", bytes: PAGE_SIZE, encoded: 0, cpuNs: cost };
    }
    // A hit (cache_is_cached): counted in QEMU's `pages` whatever follows.
    s["cache-hit"]++;
    s.pages++;
    this.age[slot] = age;
    const old = this.content[slot]!;
    if (old === identity) {
      s.unchanged++;
      this.rates();
      return { kind: "unchanged", bytes: 0, encoded: 0, cpuNs: cost };
    }
    if (!lastStage) this.content[slot] = identity;
    // A page that was zero in the cache changed wholly; otherwise only the written bytes did.
    const n = old === 0 ? changeRuns(page, identity, MAX_RUNS + 1, PAGE_SIZE, this.starts, this.ends) : changeRuns(page, identity, Math.max(1, writes), this.changed, this.starts, this.ends, this.offset);
    const encoded = encodedLength(this.starts, this.ends, n);
    if (encoded < 0) {
      s.overflow++;
      s.bytes += PAGE_SIZE;
      this.rates();
      return { kind: "overflow", bytes: PAGE_SIZE, encoded: 0, cpuNs: cost };
    }
    s.bytes += encoded + XBZRLE_HEADER_BYTES;
    this.rates();
    return { kind: "hit", bytes: encoded + XBZRLE_HEADER_BYTES, encoded, cpuNs: cost };
  }

  closePeriod(pagesWritten: number): void {
    const s = this.stats;
    const p = this.prev;
    this.periodic = true;
    // migration_update_rates: a period in which the sender wrote nothing keeps the last rates.
    if (pagesWritten === p.written) return;
    s["cache-miss-rate"] = (s["cache-miss"] - p.miss) / (pagesWritten - p.written);
    const encoded = s.bytes - p.bytes;
    s["encoding-rate"] = s.pages === p.pages || encoded === 0 ? 0 : ((s.pages - p.pages) * PAGE_SIZE) / encoded;
    this.prev = { written: pagesWritten, miss: s["cache-miss"], pages: s.pages, bytes: s.bytes };
  }

  /**
   * cache_insert: with generations (`at`), a slot holding another page touched in this
   * generation or the one before is kept (the insert fails); without, the page always enters.
   */
  private insert(slot: number, page: number, identity: number, at: XbzrleAt | undefined): void {
    if (slot < 0) return;
    const age = at?.age ?? 0;
    if (at !== undefined && this.page[slot] !== page && this.page[slot] !== -1 && this.age[slot]! + CACHED_PAGE_LIFETIME > age) return;
    this.page[slot] = page;
    this.content[slot] = identity;
    this.age[slot] = age;
  }

  private rates(): void {
    if (this.periodic) return;
    const s = this.stats;
    s["cache-miss-rate"] = this.lookups > 0 ? s["cache-miss"] / this.lookups : 0;
    s["encoding-rate"] = s.bytes > 0 ? (s.pages * PAGE_SIZE) / s.bytes : 0;
  }
}

/** page_cache.c's CACHED_PAGE_LIFETIME: sync generations a cached page is safe from eviction. */
const CACHED_PAGE_LIFETIME = 2;

/** An XBZRLE page on the wire: a flag byte and a 16-bit length before the encoding (QEMU). */
export const XBZRLE_HEADER_BYTES = 3;
