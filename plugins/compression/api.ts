// What the compression plugin offers other plugins: `k.use("compression")` is typed by the
// `Services` entry below. Consumers `import type` from this file and from nowhere else here.
import type { World } from "../../core/api.js";
import type { Codec, CodecName } from "./codecs.js";

export type { Codec, CodecName };

/** What one user of the service did (a checkpoint save or restore, a migration's sender). */
export interface SessionStats {
  codec: string;
  level: number | null;
  /** Memory blocks or pages encoded, and decoded. */
  encoded: number;
  decoded: number;
  /** Pages seen, and those encoded up front without compressing them. */
  pages: number;
  zeroPages: number;
  untouchedPages: number;
  /** Bytes given to the codec (pages with contents) and bytes it produced (stored raw when that was smaller). */
  bytesIn: number;
  bytesOut: number;
  /** Blocks or pages that did not shrink and were kept as they were. */
  stored: number;
  /** Modelled CPU time, ns. */
  compressNs: number;
  decompressNs: number;
}

/** A memory block as encoded: pages of zero content are only named by the masks. */
export interface EncodedBlock {
  /** Bit i: page i of the block has zero content (it is not in the body). */
  zeroMask: number;
  /** Bit i: page i was never written (unbacked); a subset of zeroMask. */
  untouchedMask: number;
  /** The body is the pages' bytes as they are (compressing would not have made it smaller). */
  raw: boolean;
  body: Uint8Array;
  /** Bytes of the pages with contents (the body's length once decoded). */
  rawBytes: number;
  /** Modelled CPU time of the encoding, ns. */
  cpuNs: number;
}

export interface CompressionSession {
  readonly name: string;
  readonly codec: Codec;
  readonly stats: SessionStats;
  /**
   * Encodes pages [from, from + count) whose contents are `identities[from..]`: zero pages
   * only in the mask, the others' real bytes compressed (kept raw if that is not smaller).
   */
  encodeBlock(identities: Float64Array, from: number, count: number, untouchedMask: number): EncodedBlock;
  /** The bytes of the block's pages with contents, in page order; throws CodecError when corrupt. */
  decodeBlock(zeroMask: number, count: number, raw: boolean, body: Uint8Array): { bytes: Uint8Array; cpuNs: number };
  /** One page for the wire: zero pages cost nothing and send no body. */
  compressPage(identity: number): { bytes: number; cpuNs: number; zero: boolean };
}

export interface XbzrleOptions {
  /** Cache size in bytes (QEMU's xbzrle-cache-size); rounded down to a power of two pages. */
  cacheBytes: number;
  /** Bytes of a page one guest write changes (a workload property); default 4096, the whole page. */
  changedBytes?: number;
  /** Where a write's bytes start in the page (a workload property); absent: a place of their own for each write. */
  changedOffset?: number;
  /**
   * Pages of the guest the cache serves, when known. The cache is direct-mapped by page
   * number, so slots past the first power of two ≥ the guest's pages are never used: they are
   * not allocated (a 4 PiB cache of a 64 MiB guest costs what a 64 MiB one does), and the
   * report still gives the size asked for.
   */
  guestPages?: number;
}

export type XbzrleKind = "zero" | "miss" | "unchanged" | "hit" | "overflow";

export interface XbzrleResult {
  kind: XbzrleKind;
  /** Bytes of the page's body on the wire: 4096 for a miss or overflow, 0 for zero and unchanged, the encoding plus its 3-byte header (flag, length) for a hit. */
  bytes: number;
  /** The encoded delta alone (hits). */
  encoded: number;
  cpuNs: number;
}

export interface XbzrleStats {
  "cache-size": number;
  /**
   * QEMU's: bytes sent XBZRLE-encoded (their 3-byte headers included) plus 4096 per overflow;
   * pages found in the cache (sent encoded, unchanged, or overflowing).
   */
  bytes: number;
  pages: number;
  "cache-hit": number;
  "cache-miss": number;
  "cache-miss-rate": number;
  /** Bytes of the pages sent encoded over the bytes that carried them. */
  "encoding-rate": number;
  overflow: number;
  unchanged: number;
  "cpu-time": number;
}

export interface XbzrleCache {
  readonly name: string;
  /** Pages the cache holds (a power of two). */
  readonly slots: number;
  readonly stats: XbzrleStats;
  /**
   * A page about to be sent with content `identity`, written `writes` times since it was last
   * sent: a zero page, a cache miss (the page goes whole and enters the cache), unchanged (not
   * sent at all), a hit (the delta goes), or an overflow (the delta would not fit: whole page).
   */
  send(page: number, identity: number, writes?: number, at?: XbzrleAt): XbzrleResult;
  /**
   * QEMU's rates per sync period from now on (migration_update_rates): at the end of each,
   * given the pages the sender has written so far, `cache-miss-rate` and `encoding-rate`
   * become the period's. Before: cumulative.
   */
  closePeriod(pagesWritten: number): void;
}

/** Where a send stands in QEMU's migration (save_xbzrle_page): its sync generation, and whether it is the last stage. */
export interface XbzrleAt {
  /** dirty-sync-count: a slot touched in this generation or the one before is not evicted (CACHED_PAGE_LIFETIME 2). */
  age: number;
  /** During the downtime (ram_save_complete): the cache is neither filled nor updated. */
  lastStage: boolean;
}

export interface CompressionService {
  readonly codecNames: readonly CodecName[];
  /** A codec by name and level (default: the codec's). Throws VMSCN7401 / VMSCN7402. */
  codec(name: string, level?: number): Codec;
  /** A named user of a codec; its figures appear under `compression.<name>`. */
  session(name: string, codec: Codec): CompressionSession;
  /** An XBZRLE cache for one migration; its figures appear under `compression.<name>.xbzrle`. */
  xbzrle(name: string, options: XbzrleOptions): XbzrleCache;
  /** Simulated time a world needs for `cpuNs` of CPU, given its share of its host's CPUs now. */
  timeOn(world: World, cpuNs: number): number;
}

declare module "../../core/api.js" {
  interface Services {
    compression: CompressionService;
  }
}
