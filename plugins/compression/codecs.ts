// Codecs behind one interface: zlib (the checkpoint document's, node:zlib, with its level) and
// Snappy (snappyjs, pure JavaScript: fast, lighter compression). Each compresses real bytes;
// its CPU cost in simulated time is modelled (ns per uncompressed byte), never measured, so a
// run's figures do not depend on the machine it runs on.
import { deflateSync, inflateSync } from "node:zlib";
import snappy from "snappyjs";

export const CODEC_NAMES = ["zlib", "snappy"] as const;
export type CodecName = (typeof CODEC_NAMES)[number];

/** Codec ids in file formats (0: not compressed). */
export const CODEC_IDS: Readonly<Record<CodecName, number>> = { zlib: 1, snappy: 2 };

export function codecNameOf(id: number): CodecName | undefined {
  return CODEC_NAMES.find((n) => CODEC_IDS[n] === id);
}

/**
 * Modelled single-core CPU time, ns per uncompressed byte: zlib's compression costs grow with
 * the level (about 125 MB/s at level 1 down to 17 MB/s at level 9), its decompression does not
 * (about 400 MB/s); Snappy compresses at about 500 MB/s and decompresses at about 1 GB/s. These
 * are the orders of magnitude published for one core of a current server; see README.md.
 */
export const ZLIB_COMPRESS_NS_PER_BYTE = [1, 8, 9, 11, 14, 18, 24, 30, 45, 60] as const;
export const ZLIB_DECOMPRESS_NS_PER_BYTE = 2.5;
export const SNAPPY_COMPRESS_NS_PER_BYTE = 2;
export const SNAPPY_DECOMPRESS_NS_PER_BYTE = 1;
export const ZLIB_DEFAULT_LEVEL = 6;

export interface Codec {
  readonly name: CodecName;
  readonly id: number;
  /** zlib 0..9; Snappy has none (0). */
  readonly level: number;
  readonly compressNsPerByte: number;
  readonly decompressNsPerByte: number;
  compress(src: Uint8Array): Uint8Array;
  /** The original bytes; throws CodecError if `src` is corrupt or does not give `rawLength` bytes. */
  decompress(src: Uint8Array, rawLength: number): Uint8Array;
}

/** Corrupt compressed data: the caller turns it into a coded error naming the file and offset. */
export class CodecError extends Error {
  override readonly name = "CodecError";
}

class Zlib implements Codec {
  readonly name = "zlib" as const;
  readonly id = CODEC_IDS.zlib;
  readonly compressNsPerByte: number;
  readonly decompressNsPerByte = ZLIB_DECOMPRESS_NS_PER_BYTE;
  constructor(readonly level: number) {
    this.compressNsPerByte = ZLIB_COMPRESS_NS_PER_BYTE[level]!;
  }
  compress(src: Uint8Array): Uint8Array {
    return deflateSync(src, { level: this.level });
  }
  decompress(src: Uint8Array, rawLength: number): Uint8Array {
    let out: Uint8Array;
    try {
      out = inflateSync(src, { maxOutputLength: Math.max(1, rawLength) });
    } catch (err) {
      throw new CodecError(`zlib: ${(err as Error).message}`);
    }
    if (out.length !== rawLength) throw new CodecError(`zlib: ${out.length} bytes decompressed, ${rawLength} expected`);
    return out;
  }
}

class Snappy implements Codec {
  readonly name = "snappy" as const;
  readonly id = CODEC_IDS.snappy;
  readonly level = 0;
  readonly compressNsPerByte = SNAPPY_COMPRESS_NS_PER_BYTE;
  readonly decompressNsPerByte = SNAPPY_DECOMPRESS_NS_PER_BYTE;
  compress(src: Uint8Array): Uint8Array {
    // snappyjs returns a Buffer for a Buffer; give it a plain view either way.
    return snappy.compress(new Uint8Array(src.buffer, src.byteOffset, src.length));
  }
  decompress(src: Uint8Array, rawLength: number): Uint8Array {
    let out: Uint8Array;
    try {
      out = snappy.uncompress(new Uint8Array(src.buffer, src.byteOffset, src.length), rawLength);
    } catch (err) {
      throw new CodecError(`snappy: ${(err as Error).message}`);
    }
    if (out.length !== rawLength) throw new CodecError(`snappy: ${out.length} bytes decompressed, ${rawLength} expected`);
    return out;
  }
}

/** Levels a codec accepts: zlib 0..9 (0 stores), Snappy 0 only. */
export function levelRange(name: CodecName): [number, number] {
  return name === "zlib" ? [0, 9] : [0, 0];
}

/** A codec by name; undefined level: the codec's default. Throws RangeError on a bad level. */
export function makeCodec(name: CodecName, level?: number): Codec {
  if (name === "zlib") {
    const l = level ?? ZLIB_DEFAULT_LEVEL;
    if (!Number.isInteger(l) || l < 0 || l > 9) throw new RangeError(`zlib levels are 0..9, not ${l}`);
    return new Zlib(l);
  }
  if (level !== undefined && level !== 0) throw new RangeError(`snappy has no levels (got ${level})`);
  return new Snappy();
}
