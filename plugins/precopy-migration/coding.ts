// How a page is coded on the wire when a migration compresses (QEMU's `compress` capability)
// or delta-encodes (its `xbzrle` capability), through the compression plugin's service.
// QEMU's order is kept: a zero page is always only a marker; XBZRLE starts once the first
// bitmap sync is over (from round 2), and from then on it replaces compression ("xbzrle can do
// better than compression", ram.c); pages paged in after resume are sent whole (QEMU's
// compression and XBZRLE do not work in post-copy).
import { PAGE_SIZE, type World } from "../../core/api.js";
import { NORMAL_PAGE_BYTES, PAGE_HEADER_BYTES, ZERO_PAGE_BYTES } from "./wire.js";
import type { MigrateOptions } from "./options.js";
import type { Codec, CompressionService, CompressionSession, XbzrleAt, XbzrleCache } from "../compression/api.js";

/** A compressed page: its header, a 4-byte length (QEMU's RAM_SAVE_FLAG_COMPRESS_PAGE), the bytes. */
export const COMPRESSED_PAGE_OVERHEAD = PAGE_HEADER_BYTES + 4;
/** Copying a decoded XBZRLE delta onto the page: 0.1 ns a byte (memory speed). */
const XBZRLE_DECODE_NS_PER_BYTE = 0.1;

/** What one batch costs: bytes on the wire by kind, and CPU time on each side. */
export interface BatchCoding {
  bytes: number;
  zero: number;
  /** Pages sent whole (4096 bytes): no coding, or coding did not pay. */
  normal: number;
  compressed: number;
  compressedBytes: number;
  xbzrle: number;
  /** XBZRLE: cached and unchanged since last sent, so not sent at all. */
  unchanged: number;
  /** CPU ns the sender spends (compression, XBZRLE's compare and cache update). */
  sendNs: number;
  /** CPU ns the destination spends (decompression, applying deltas). */
  receiveNs: number;
}

export type CodingOptions = Pick<MigrateOptions, "compress" | "compressLevel" | "compressThreads" | "decompressThreads" | "xbzrle" | "xbzrleCacheBytes">;

/** The figures of QEMU's query-migrate `compression` section, plus the codec and CPU times. */
export interface CompressionFigures {
  codec: string;
  level: number | null;
  threads: number;
  pages: number;
  "compressed-size": number;
  "compression-rate": number;
  "cpu-time": number;
  "decompress-time": number;
}

export class PageCoder {
  private readonly session: CompressionSession | null;
  private readonly codec: Codec | null;
  readonly cache: XbzrleCache | null;
  readonly figures: CompressionFigures | null;

  constructor(
    port: CompressionService,
    name: string,
    readonly o: CodingOptions,
    /** Bytes of its page one guest write changes (the workload's `write-size`), and where they start (`write-offset`). */
    changedBytes: number,
    changedOffset?: number,
    /** The guest's pages: the XBZRLE cache allocates no slot past them. */
    guestPages?: number,
  ) {
    this.codec = o.compress === "none" ? null : port.codec(o.compress, o.compressLevel);
    this.session = this.codec === null ? null : port.session(name, this.codec);
    this.cache = o.xbzrle ? port.xbzrle(name, { cacheBytes: o.xbzrleCacheBytes, changedBytes, ...(changedOffset === undefined ? {} : { changedOffset }), ...(guestPages === undefined ? {} : { guestPages }) }) : null;
    this.figures = this.codec === null ? null : { codec: this.codec.name, level: this.codec.name === "zlib" ? this.codec.level : null, threads: o.compressThreads, pages: 0, "compressed-size": 0, "compression-rate": 0, "cpu-time": 0, "decompress-time": 0 };
  }

  /**
   * Codes `n` pages with contents `contents` for the wire. `xbzrleStarted`: the first bitmap
   * sync is over (round 2 on); `writes`: how many times each page is taken to have been
   * written since it was last sent (the previous round's writes per dirtied page); `at`: the
   * sync generation and whether this is the downtime (QEMU's cache rules, save_xbzrle_page).
   */
  batch(pages: Int32Array, contents: Float64Array, n: number, xbzrleStarted: boolean, writes: number, at?: XbzrleAt): BatchCoding {
    const out: BatchCoding = { bytes: 0, zero: 0, normal: 0, compressed: 0, compressedBytes: 0, xbzrle: 0, unchanged: 0, sendNs: 0, receiveNs: 0 };
    const useXbzrle = this.cache !== null && xbzrleStarted;
    let decompressNs = 0;
    for (let i = 0; i < n; i++) {
      const c = contents[i]!;
      if (c === 0) {
        // Zero pages are found first and go as a marker; the cache learns they are zero.
        if (useXbzrle) this.cache!.send(pages[i]!, 0, 1, at);
        out.zero++;
        out.bytes += ZERO_PAGE_BYTES;
        continue;
      }
      if (useXbzrle) {
        const r = this.cache!.send(pages[i]!, c, writes, at);
        out.sendNs += r.cpuNs;
        if (r.kind === "unchanged") out.unchanged++;
        else if (r.kind === "hit") {
          out.xbzrle++;
          out.bytes += PAGE_HEADER_BYTES + r.bytes;
          out.receiveNs += r.encoded * XBZRLE_DECODE_NS_PER_BYTE;
        } else {
          out.normal++;
          out.bytes += NORMAL_PAGE_BYTES;
        }
        continue;
      }
      if (this.session !== null) {
        const r = this.session.compressPage(c);
        out.sendNs += r.cpuNs;
        if (r.bytes < PAGE_SIZE) {
          out.compressed++;
          out.compressedBytes += r.bytes;
          out.bytes += COMPRESSED_PAGE_OVERHEAD + r.bytes;
          decompressNs += PAGE_SIZE * this.codec!.decompressNsPerByte;
          continue;
        }
      }
      out.normal++;
      out.bytes += NORMAL_PAGE_BYTES;
    }
    out.receiveNs = Math.round(out.receiveNs + decompressNs);
    const f = this.figures;
    if (f !== null && out.compressed > 0) {
      f.pages += out.compressed;
      f["compressed-size"] += out.compressedBytes;
      f["compression-rate"] = (f.pages * PAGE_SIZE) / f["compressed-size"];
      f["decompress-time"] += Math.round(decompressNs);
    }
    if (f !== null && this.session !== null && !useXbzrle) f["cpu-time"] += out.sendNs;
    return out;
  }
}
