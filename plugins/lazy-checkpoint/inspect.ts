// What a checkpoint file holds, read outside a run (`vmscn checkpoint inspect`): its header, the
// two parts of its IO blocks, its maps; with verify every IO block is read, checked and its
// memory blocks decoded (compressed ones with the compression service's codec, which the
// caller supplies: a plugin never imports another's code). A file that is not a valid
// checkpoint throws FormatError with the restore's code and the offset.
import { PAGE_SIZE, pageBytes } from "../../core/api.js";
import type { CompressionService } from "../compression/api.js";
import { decodeMaps, parseIoBlock, type MapIndex, type Maps } from "./blocks.js";
import { BACKGROUND_WRITER, FormatError, HEADER_SIZE, ZERO_BLOCK, decodeHeader, type Header } from "./format.js";
import { codecName, crcOfStore, fileCodec } from "./shared.js";
import { FileStore } from "./store.js";

export interface Inspection {
  file: string;
  size: number;
  header: Header;
  /** IO block indices of each part, in order. */
  firstPart: number[];
  secondPart: number[];
  zeroBlocks: number;
  maps: Maps;
  verified?: { ioBlocks: number; memoryBlocks: number; pages: number };
}

/**
 * Reads and checks a checkpoint file; throws FormatError (code, offset) when it is not a valid
 * one, and StoreRefusal when the path is no regular file (a folder, a FIFO, a device).
 */
export function inspectCheckpoint(file: string, verify: boolean, compression?: CompressionService): Inspection {
  const store = FileStore.openPath(file);
  try {
    const size = store.size;
    const header = decodeHeader(store.read(0, HEADER_SIZE), size);
    const maps = decodeMaps(store.read(header.memIoOffset, header.fileLength - header.memIoOffset), header);
    const parts = [...maps.parts];
    let zeroBlocks = 0;
    for (let b = 0; b < header.memoryBlocks; b++) if (maps.memIo[b] === ZERO_BLOCK) zeroBlocks++;
    const out: Inspection = { file, size, header, firstPart: parts.slice(0, header.firstPart), secondPart: parts.slice(header.firstPart), zeroBlocks, maps: { memIo: maps.memIo, ioMem: maps.ioMem, parts: maps.parts } };
    if (verify) out.verified = verifyBlocks(store, header, maps, compression);
    return out;
  } finally {
    store.close();
  }
}

/** What a restore checks, all of it: the codec, the device state's CRC-32, every IO block parsed against the maps, every memory block decoded and its pages' bytes compared with their contents. */
function verifyBlocks(store: FileStore, h: Header, m: Maps & MapIndex, compression: CompressionService | undefined): { ioBlocks: number; memoryBlocks: number; pages: number } {
  if (h.compressed && !compression) throw new Error("verifying a compressed checkpoint file needs the compression service to decode its blocks");
  const codec = compression ? fileCodec(compression, h) : null;
  if (crcOfStore(store, h.deviceOffset, h.deviceLength) !== h.deviceCrc) throw new FormatError("VMSCN7301", "its device state does not match its CRC-32", h.deviceOffset);
  const ref = new Uint8Array(PAGE_SIZE);
  let blocks = 0;
  let pages = 0;
  for (let io = 0; io < h.ioBlocks; io++) {
    const offset = h.ioAreaOffset + io * h.ioBlockSize;
    const view = parseIoBlock(store.read(offset, h.ioBlockSize), offset, h, io, m);
    for (const r of view.records) {
      const count = Math.min(h.pagesPerBlock, h.guestPages - r.mb * h.pagesPerBlock);
      let bytes = r.body;
      if (codec && !r.raw) {
        let nonZero = 0;
        for (let i = 0; i < count; i++) if ((r.zeroMask & (1 << i)) === 0) nonZero++;
        try {
          bytes = codec.decompress(r.body, nonZero * PAGE_SIZE);
        } catch (err) {
          // The codec's CodecError: corrupt compressed data.
          if (!(err instanceof Error) || err.name !== "CodecError") throw err;
          throw new FormatError("VMSCN7301", `memory block ${r.mb}'s body does not decompress (${err.message})`, offset + r.bodyAt);
        }
      }
      let n = 0;
      for (let i = 0; i < count; i++) {
        const zero = (r.zeroMask & (1 << i)) !== 0;
        if (h.compressed && zero) continue;
        const at = h.compressed ? n++ * PAGE_SIZE : i * PAGE_SIZE;
        const c = r.identities[i]!;
        if (c !== 0) pageBytes(c, ref, 0);
        else ref.fill(0);
        const page = bytes.subarray(at, at + PAGE_SIZE);
        for (let j = 0; j < PAGE_SIZE; j++) if (page[j] !== ref[j]) throw new FormatError("VMSCN7301", `memory block ${r.mb}'s page ${i} does not hold its content's bytes`, offset + r.bodyAt + (h.compressed ? 0 : at + j));
        pages++;
      }
      blocks++;
    }
  }
  return { ioBlocks: h.ioBlocks, memoryBlocks: blocks, pages };
}

/** The codec a header names, as people read it: "none", "zlib level 6", "snappy" (`#N` for an id no codec has). */
export function codecLabel(h: Header, compression?: CompressionService): string {
  if (!h.compressed) return "none";
  const n = (compression && codecName(compression, h.codec)) ?? `#${h.codec}`;
  return n === "zlib" ? `zlib level ${h.level}` : n;
}

/** Writers of IO blocks as the header names them: "vCPU 0", "background thread 1". */
export function writerName(w: number): string {
  return w >= BACKGROUND_WRITER ? `background thread ${w - BACKGROUND_WRITER}` : `vCPU ${w}`;
}
