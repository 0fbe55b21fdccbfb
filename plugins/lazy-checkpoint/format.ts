// The checkpoint file format (docs/checkpoint-format.md): a 4 KiB header, the device state,
// the IO blocks, then the memory-IO map, the IO-memory map and the part table. All integers
// little-endian. This module (the header) and blocks.ts (the maps and the IO blocks) only
// encode, decode and check bytes: they know nothing of the run, so `vmscn checkpoint inspect`
// checks a file exactly as the restore does.
import { crc32 } from "node:zlib";

export const MAGIC = "VMSCNCKP";
export const VERSION = 1;
export const HEADER_SIZE = 4096;
export const IO_MAGIC = "VMIO";
export const IO_HEADER_SIZE = 32;
/** Header flags. */
export const FLAG_COMPLETE = 1;
export const FLAG_COMPRESSED = 2;
/** A memory-IO map entry for a memory block whose pages are all zero or untouched: no IO block holds it. */
export const ZERO_BLOCK = -1;
/** An IO-memory map slot that holds no memory block. */
export const NO_BLOCK = 0xffffffff;
/** Writer ids in IO block headers: vCPU n is n; background thread n is BACKGROUND_WRITER + n. */
export const BACKGROUND_WRITER = 0x10000;
/** Record flags. */
export const RECORD_RAW = 1;
export const MAX_PAGES_PER_BLOCK = 32;
export const MAX_BLOCKS_PER_IO = 64;
/**
 * Limits a save keeps to and a restore checks before it reads or allocates anything: the
 * device state, and the maps (read in one piece), at most 1 GiB each.
 */
export const MAX_DEVICE_STATE = 2 ** 30;
export const MAX_MAPS_BYTES = 2 ** 30;

/** Offsets of the header's fields: errors name them. */
export const H = {
  magic: 0,
  version: 8,
  headerSize: 12,
  flags: 16,
  pageSize: 20,
  pagesPerBlock: 24,
  blocksPerIo: 28,
  ioBlockSize: 32,
  codec: 36,
  level: 37,
  guestPages: 40,
  memoryBlocks: 48,
  ioBlocks: 52,
  firstPart: 56,
  vcpus: 60,
  deviceOffset: 64,
  deviceLength: 72,
  ioAreaOffset: 80,
  memIoOffset: 88,
  memIoLength: 96,
  ioMemOffset: 104,
  ioMemLength: 112,
  partOffset: 120,
  partLength: 128,
  fileLength: 136,
  contentPages: 144,
  zeroPages: 152,
  untouchedPages: 160,
  savedAt: 168,
  deviceCrc: 176,
  mapsCrc: 180,
  vmName: 184,
  hostName: 248,
  crc: 4092,
} as const;

export interface Header {
  version: number;
  complete: boolean;
  compressed: boolean;
  pageSize: number;
  pagesPerBlock: number;
  blocksPerIo: number;
  ioBlockSize: number;
  /** 0 none, 1 zlib, 2 snappy (plugins/compression's ids). */
  codec: number;
  level: number;
  guestPages: number;
  memoryBlocks: number;
  ioBlocks: number;
  /** IO blocks of the first part (vCPU save threads'); the rest are the second part's. */
  firstPart: number;
  vcpus: number;
  deviceOffset: number;
  deviceLength: number;
  ioAreaOffset: number;
  memIoOffset: number;
  memIoLength: number;
  ioMemOffset: number;
  ioMemLength: number;
  partOffset: number;
  partLength: number;
  fileLength: number;
  /** Pages with contents (non-zero), zero pages, and untouched pages among the zero ones. */
  contentPages: number;
  zeroPages: number;
  untouchedPages: number;
  /** Simulated time of the checkpoint (the quiesce), ns. */
  savedAt: number;
  deviceCrc: number;
  mapsCrc: number;
  vmName: string;
  hostName: string;
}

/** A file that is not a valid checkpoint: the code, the sentence's detail and the offset. */
export class FormatError extends Error {
  constructor(
    readonly code: "VMSCN7301" | "VMSCN7302" | "VMSCN7303" | "VMSCN7304" | "VMSCN7305",
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Sizes that follow from the block geometry. */
export interface Geometry {
  pagesPerBlock: number;
  blocksPerIo: number;
  /** Bytes of one memory block record's metadata (M in the document's figure 3). */
  recordBytes: number;
  /** Uncompressed IO blocks: the header and records area before the page data (a multiple of 4 KiB). */
  dataOffset: number;
  ioBlockSize: number;
}

export function geometry(pagesPerBlock: number, blocksPerIo: number, pageSize = 4096): Geometry {
  const recordBytes = 24 + 8 * pagesPerBlock;
  const dataOffset = roundUp(IO_HEADER_SIZE + blocksPerIo * recordBytes, 4096);
  return { pagesPerBlock, blocksPerIo, recordBytes, dataOffset, ioBlockSize: dataOffset + blocksPerIo * pagesPerBlock * pageSize };
}

export function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

// ---- little-endian helpers (64-bit values stay below 2^53) ----------------------------------

export function putU64(v: DataView, at: number, x: number): void {
  v.setUint32(at, x % 0x1_0000_0000, true);
  v.setUint32(at + 4, Math.floor(x / 0x1_0000_0000), true);
}

export function getU64(v: DataView, at: number): number {
  return v.getUint32(at, true) + v.getUint32(at + 4, true) * 0x1_0000_0000;
}

export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function putString(b: Uint8Array, at: number, s: string, max: number): void {
  const bytes = new TextEncoder().encode(s).subarray(0, max);
  b.fill(0, at, at + max);
  b.set(bytes, at);
}

export function getString(b: Uint8Array, at: number, max: number): string {
  let end = at;
  while (end < at + max && b[end] !== 0) end++;
  return new TextDecoder().decode(b.subarray(at, end));
}

/** CRC-32 of several byte ranges in sequence. */
export function crcOf(...parts: Uint8Array[]): number {
  let c = 0;
  for (const p of parts) c = crc32(p, c);
  return c >>> 0;
}

// ---- the header ----------------------------------------------------------------------------

export function encodeHeader(h: Header): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  const v = view(b);
  b.set(new TextEncoder().encode(MAGIC), H.magic);
  v.setUint32(H.version, h.version, true);
  v.setUint32(H.headerSize, HEADER_SIZE, true);
  v.setUint32(H.flags, (h.complete ? FLAG_COMPLETE : 0) | (h.compressed ? FLAG_COMPRESSED : 0), true);
  v.setUint32(H.pageSize, h.pageSize, true);
  v.setUint32(H.pagesPerBlock, h.pagesPerBlock, true);
  v.setUint32(H.blocksPerIo, h.blocksPerIo, true);
  v.setUint32(H.ioBlockSize, h.ioBlockSize, true);
  b[H.codec] = h.codec;
  b[H.level] = h.level;
  putU64(v, H.guestPages, h.guestPages);
  v.setUint32(H.memoryBlocks, h.memoryBlocks, true);
  v.setUint32(H.ioBlocks, h.ioBlocks, true);
  v.setUint32(H.firstPart, h.firstPart, true);
  v.setUint32(H.vcpus, h.vcpus, true);
  putU64(v, H.deviceOffset, h.deviceOffset);
  putU64(v, H.deviceLength, h.deviceLength);
  putU64(v, H.ioAreaOffset, h.ioAreaOffset);
  putU64(v, H.memIoOffset, h.memIoOffset);
  putU64(v, H.memIoLength, h.memIoLength);
  putU64(v, H.ioMemOffset, h.ioMemOffset);
  putU64(v, H.ioMemLength, h.ioMemLength);
  putU64(v, H.partOffset, h.partOffset);
  putU64(v, H.partLength, h.partLength);
  putU64(v, H.fileLength, h.fileLength);
  putU64(v, H.contentPages, h.contentPages);
  putU64(v, H.zeroPages, h.zeroPages);
  putU64(v, H.untouchedPages, h.untouchedPages);
  putU64(v, H.savedAt, h.savedAt);
  v.setUint32(H.deviceCrc, h.deviceCrc, true);
  v.setUint32(H.mapsCrc, h.mapsCrc, true);
  putString(b, H.vmName, h.vmName, 64);
  putString(b, H.hostName, h.hostName, 64);
  v.setUint32(H.crc, crcOf(b.subarray(0, H.crc)), true);
  return b;
}

const U64_FIELDS = ["guestPages", "deviceOffset", "deviceLength", "ioAreaOffset", "memIoOffset", "memIoLength", "ioMemOffset", "ioMemLength", "partOffset", "partLength", "fileLength", "contentPages", "zeroPages", "untouchedPages", "savedAt"] as const;

/**
 * Decodes and checks a header read from a file of `fileSize` bytes: magic, version, checksum,
 * completeness, geometry and the sections' places. Throws FormatError naming the offset.
 */
export function decodeHeader(b: Uint8Array, fileSize: number): Header {
  if (fileSize < HEADER_SIZE || b.length < HEADER_SIZE) {
    throw new FormatError("VMSCN7302", `it is truncated: ${Math.min(fileSize, b.length)} bytes, and its header alone needs ${HEADER_SIZE}`, Math.min(fileSize, b.length));
  }
  const v = view(b);
  if (getString(b, H.magic, 8) !== MAGIC || b[H.magic + 7] !== MAGIC.charCodeAt(7)) throw new FormatError("VMSCN7301", `it is not a checkpoint file (no "${MAGIC}" magic)`, H.magic);
  const version = v.getUint32(H.version, true);
  if (version !== VERSION) throw new FormatError("VMSCN7303", `it is format version ${version}; this vmscn reads version ${VERSION}`, H.version);
  const crc = v.getUint32(H.crc, true);
  if (crcOf(b.subarray(0, H.crc)) !== crc) throw new FormatError("VMSCN7301", "its header is corrupt (the CRC-32 does not match)", H.crc);
  const flags = v.getUint32(H.flags, true);
  const h: Header = {
    version,
    complete: (flags & FLAG_COMPLETE) !== 0,
    compressed: (flags & FLAG_COMPRESSED) !== 0,
    pageSize: v.getUint32(H.pageSize, true),
    pagesPerBlock: v.getUint32(H.pagesPerBlock, true),
    blocksPerIo: v.getUint32(H.blocksPerIo, true),
    ioBlockSize: v.getUint32(H.ioBlockSize, true),
    codec: b[H.codec]!,
    level: b[H.level]!,
    guestPages: getU64(v, H.guestPages),
    memoryBlocks: v.getUint32(H.memoryBlocks, true),
    ioBlocks: v.getUint32(H.ioBlocks, true),
    firstPart: v.getUint32(H.firstPart, true),
    vcpus: v.getUint32(H.vcpus, true),
    deviceOffset: getU64(v, H.deviceOffset),
    deviceLength: getU64(v, H.deviceLength),
    ioAreaOffset: getU64(v, H.ioAreaOffset),
    memIoOffset: getU64(v, H.memIoOffset),
    memIoLength: getU64(v, H.memIoLength),
    ioMemOffset: getU64(v, H.ioMemOffset),
    ioMemLength: getU64(v, H.ioMemLength),
    partOffset: getU64(v, H.partOffset),
    partLength: getU64(v, H.partLength),
    fileLength: getU64(v, H.fileLength),
    contentPages: getU64(v, H.contentPages),
    zeroPages: getU64(v, H.zeroPages),
    untouchedPages: getU64(v, H.untouchedPages),
    savedAt: getU64(v, H.savedAt),
    deviceCrc: v.getUint32(H.deviceCrc, true),
    mapsCrc: v.getUint32(H.mapsCrc, true),
    vmName: getString(b, H.vmName, 64),
    hostName: getString(b, H.hostName, 64),
  };
  if (!h.complete) throw new FormatError("VMSCN7305", "it is incomplete: the save that wrote it did not finish", H.flags);
  if (h.pageSize !== 4096) throw new FormatError("VMSCN7304", `its pages are ${h.pageSize} bytes; vmscn's are 4096`, H.pageSize);
  const bad = (field: keyof typeof H, what: string): FormatError => new FormatError("VMSCN7301", `its header is inconsistent: ${what}`, H[field]);
  // 64-bit fields past 2^53 would lose their low bits in the sums below.
  for (const f of U64_FIELDS) if (!Number.isSafeInteger(h[f])) throw bad(f, `${f} is ${h[f]}, past 2^53`);
  if (v.getUint32(H.headerSize, true) !== HEADER_SIZE) throw bad("headerSize", `a header of ${v.getUint32(H.headerSize, true)} bytes, ${HEADER_SIZE} expected`);
  if (!h.compressed && h.level !== 0) throw bad("level", `level ${h.level} in a file not compressed`);
  if (h.deviceLength > MAX_DEVICE_STATE) throw bad("deviceLength", `a device state of ${h.deviceLength} bytes, more than the ${MAX_DEVICE_STATE} a checkpoint holds`);
  if (!(h.pagesPerBlock >= 1 && h.pagesPerBlock <= MAX_PAGES_PER_BLOCK)) throw bad("pagesPerBlock", `${h.pagesPerBlock} pages per memory block (1..${MAX_PAGES_PER_BLOCK})`);
  if (!(h.blocksPerIo >= 1 && h.blocksPerIo <= MAX_BLOCKS_PER_IO)) throw bad("blocksPerIo", `${h.blocksPerIo} memory blocks per IO block (1..${MAX_BLOCKS_PER_IO})`);
  const g = geometry(h.pagesPerBlock, h.blocksPerIo);
  if (h.ioBlockSize !== g.ioBlockSize) throw bad("ioBlockSize", `IO blocks of ${h.ioBlockSize} bytes, ${g.ioBlockSize} expected`);
  if (h.guestPages < 1 || h.memoryBlocks !== Math.ceil(h.guestPages / h.pagesPerBlock)) throw bad("memoryBlocks", `${h.memoryBlocks} memory blocks for ${h.guestPages} pages`);
  if (h.compressed !== (h.codec !== 0)) throw bad("codec", `codec ${h.codec} in a file ${h.compressed ? "" : "not "}marked compressed`);
  if (h.firstPart > h.ioBlocks) throw bad("firstPart", `a first part of ${h.firstPart} IO blocks out of ${h.ioBlocks}`);
  if (h.deviceOffset !== HEADER_SIZE) throw bad("deviceOffset", `device state at ${h.deviceOffset}`);
  if (h.ioAreaOffset !== roundUp(HEADER_SIZE + h.deviceLength, 4096)) throw bad("ioAreaOffset", `IO blocks at ${h.ioAreaOffset}`);
  if (h.memIoOffset !== h.ioAreaOffset + h.ioBlocks * h.ioBlockSize) throw bad("memIoOffset", `memory-IO map at ${h.memIoOffset}`);
  if (h.memIoLength !== h.memoryBlocks * 8) throw bad("memIoLength", `a memory-IO map of ${h.memIoLength} bytes`);
  if (h.ioMemOffset !== h.memIoOffset + h.memIoLength) throw bad("ioMemOffset", `IO-memory map at ${h.ioMemOffset}`);
  if (h.ioMemLength !== (h.compressed ? 0 : h.ioBlocks * h.blocksPerIo * 4)) throw bad("ioMemLength", `an IO-memory map of ${h.ioMemLength} bytes`);
  if (h.partOffset !== h.ioMemOffset + h.ioMemLength) throw bad("partOffset", `part table at ${h.partOffset}`);
  if (h.partLength !== h.ioBlocks * 4) throw bad("partLength", `a part table of ${h.partLength} bytes`);
  if (h.fileLength !== h.partOffset + h.partLength) throw bad("fileLength", `a file length of ${h.fileLength}`);
  if (h.contentPages + h.zeroPages !== h.guestPages || h.untouchedPages > h.zeroPages) throw bad("contentPages", `${h.contentPages} pages with contents and ${h.zeroPages} zero pages for ${h.guestPages} pages`);
  if (h.fileLength - h.memIoOffset > MAX_MAPS_BYTES) throw bad("memIoLength", `maps of ${h.fileLength - h.memIoOffset} bytes, more than the ${MAX_MAPS_BYTES} a checkpoint holds`);
  if (fileSize < h.fileLength) throw new FormatError("VMSCN7302", `it is truncated: ${fileSize} bytes, and its header says ${h.fileLength}`, fileSize);
  return h;
}
