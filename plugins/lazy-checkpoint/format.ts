// The checkpoint file format (docs/checkpoint-format.md): a 4 KiB header, the device state,
// the IO blocks, then the memory-IO map, the IO-memory map and the part table. All integers
// little-endian. This module only encodes and decodes bytes: it knows nothing of the run, so
// `vmscn checkpoint inspect` uses it as the restore does.
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

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function putString(b: Uint8Array, at: number, s: string, max: number): void {
  const bytes = new TextEncoder().encode(s).subarray(0, max);
  b.fill(0, at, at + max);
  b.set(bytes, at);
}

function getString(b: Uint8Array, at: number, max: number): string {
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
  if (fileSize < h.fileLength) throw new FormatError("VMSCN7302", `it is truncated: ${fileSize} bytes, and its header says ${h.fileLength}`, fileSize);
  return h;
}

// ---- the maps ------------------------------------------------------------------------------

export interface Maps {
  /** File offset of the IO block of each memory block; ZERO_BLOCK for blocks encoded up front. */
  memIo: Float64Array;
  /** For uncompressed files: IO block i's memory blocks in order at [i*M, (i+1)*M), NO_BLOCK when unused. */
  ioMem: Uint32Array;
  /** IO block indices: the first part in order, then the second. */
  parts: Uint32Array;
}

/** The maps as stored: memory-IO map, IO-memory map (uncompressed files), part table. */
export function encodeMaps(m: Maps, compressed: boolean): Uint8Array {
  const n = m.memIo.length;
  const io = compressed ? 0 : m.ioMem.length;
  const b = new Uint8Array(n * 8 + io * 4 + m.parts.length * 4);
  const v = view(b);
  for (let i = 0; i < n; i++) {
    const off = m.memIo[i]!;
    if (off === ZERO_BLOCK) {
      v.setUint32(i * 8, 0xffffffff, true);
      v.setUint32(i * 8 + 4, 0xffffffff, true);
    } else putU64(v, i * 8, off);
  }
  let at = n * 8;
  for (let i = 0; i < io; i++, at += 4) v.setUint32(at, m.ioMem[i]!, true);
  for (let i = 0; i < m.parts.length; i++, at += 4) v.setUint32(at, m.parts[i]!, true);
  return b;
}

/**
 * Decodes the maps (the bytes from the memory-IO map to the end of the file) and checks every
 * entry against the header: an offset that is no IO block's, a memory block id out of range,
 * a part table that is not a permutation. Throws FormatError with the entry's file offset.
 */
export function decodeMaps(b: Uint8Array, h: Header): Maps {
  const v = view(b);
  const base = h.memIoOffset;
  if (crcOf(b) !== h.mapsCrc) throw new FormatError("VMSCN7301", "its maps are corrupt (the CRC-32 does not match)", base);
  const memIo = new Float64Array(h.memoryBlocks);
  const ioEnd = h.ioAreaOffset + h.ioBlocks * h.ioBlockSize;
  for (let i = 0; i < h.memoryBlocks; i++) {
    const lo = v.getUint32(i * 8, true);
    const hi = v.getUint32(i * 8 + 4, true);
    if (lo === 0xffffffff && hi === 0xffffffff) {
      memIo[i] = ZERO_BLOCK;
      continue;
    }
    const off = lo + hi * 0x1_0000_0000;
    if (off < h.ioAreaOffset || off >= ioEnd || (off - h.ioAreaOffset) % h.ioBlockSize !== 0) {
      throw new FormatError("VMSCN7301", `its memory-IO map gives memory block ${i} offset ${off}, which is not an IO block's`, base + i * 8);
    }
    memIo[i] = off;
  }
  const ioMem = new Uint32Array(h.ioMemLength / 4);
  const ioBase = h.memIoLength;
  for (let i = 0; i < ioMem.length; i++) {
    const id = v.getUint32(ioBase + i * 4, true);
    if (id !== NO_BLOCK && id >= h.memoryBlocks) throw new FormatError("VMSCN7301", `its IO-memory map names memory block ${id}, past the last (${h.memoryBlocks - 1})`, base + ioBase + i * 4);
    ioMem[i] = id;
  }
  const parts = new Uint32Array(h.ioBlocks);
  const seen = new Uint8Array(h.ioBlocks);
  const pBase = h.memIoLength + h.ioMemLength;
  for (let i = 0; i < h.ioBlocks; i++) {
    const io = v.getUint32(pBase + i * 4, true);
    if (io >= h.ioBlocks || seen[io]) throw new FormatError("VMSCN7301", `its part table lists IO block ${io} ${io >= h.ioBlocks ? "past the last" : "twice"}`, base + pBase + i * 4);
    seen[io] = 1;
    parts[i] = io;
  }
  if (!h.compressed) {
    // Each memory block the memory-IO map places in an IO block must be listed there.
    for (let mb = 0; mb < h.memoryBlocks; mb++) {
      const off = memIo[mb]!;
      if (off === ZERO_BLOCK) continue;
      const io = (off - h.ioAreaOffset) / h.ioBlockSize;
      let found = false;
      for (let j = 0; j < h.blocksPerIo; j++) if (ioMem[io * h.blocksPerIo + j] === mb) found = true;
      if (!found) throw new FormatError("VMSCN7301", `its memory-IO map puts memory block ${mb} in IO block ${io}, whose IO-memory map entry does not list it`, base + mb * 8);
    }
  }
  return { memIo, ioMem, parts };
}

// ---- IO blocks -----------------------------------------------------------------------------

/** One memory block's record: its id, masks, body and its pages' content identities. */
export interface BlockRecord {
  mb: number;
  raw: boolean;
  zeroMask: number;
  untouchedMask: number;
  /** The record's body: compressed (or raw) bytes of the pages with contents; uncompressed files: all P pages at the data slot. */
  body: Uint8Array;
  /** Offset of the body within the IO block. */
  bodyAt: number;
  /** Offset of the record within the IO block. */
  at: number;
  identities: Float64Array;
}

export interface IoBlockView {
  index: number;
  part: number;
  writer: number;
  records: BlockRecord[];
  used: number;
}

/** Writes a record's metadata at `at` in `b`. */
export function putRecord(b: Uint8Array, at: number, g: Geometry, mb: number, raw: boolean, bodyLength: number, zeroMask: number, untouchedMask: number, identities: Float64Array, from: number, count: number): void {
  const v = view(b);
  v.setUint32(at, mb, true);
  v.setUint32(at + 4, raw ? RECORD_RAW : 0, true);
  v.setUint32(at + 8, bodyLength, true);
  v.setUint32(at + 12, zeroMask >>> 0, true);
  v.setUint32(at + 16, untouchedMask >>> 0, true);
  v.setUint32(at + 20, 0, true);
  for (let i = 0; i < g.pagesPerBlock; i++) v.setFloat64(at + 24 + i * 8, i < count ? identities[from + i]! : 0, true);
}

/** Fills in an IO block's header (after its records and data): index, part, writer, count, used, CRC. */
export function sealIoBlock(b: Uint8Array, index: number, part: number, writer: number, count: number, used: number): void {
  const v = view(b);
  b.set(new TextEncoder().encode(IO_MAGIC), 0);
  v.setUint32(4, index, true);
  v.setUint32(8, part, true);
  v.setUint32(12, writer, true);
  v.setUint32(16, count, true);
  v.setUint32(20, used, true);
  v.setUint32(24, 0, true);
  v.setUint32(28, crcOf(b.subarray(0, 28), b.subarray(IO_HEADER_SIZE, used)), true);
}

/**
 * Parses and checks one IO block read from file offset `offset`: magic, index, CRC, then its
 * records (the IO-memory map's order for uncompressed files, the metadata chain for compressed
 * ones, as the document's figure 3). Throws FormatError at the offending byte's file offset.
 */
export function parseIoBlock(b: Uint8Array, offset: number, h: Header, expectIndex: number): IoBlockView {
  const v = view(b);
  const g = geometry(h.pagesPerBlock, h.blocksPerIo);
  const bad = (at: number, what: string): FormatError => new FormatError("VMSCN7301", `IO block ${expectIndex} is corrupt: ${what}`, offset + at);
  if (b.length < h.ioBlockSize) throw new FormatError("VMSCN7302", `it is truncated inside IO block ${expectIndex}`, offset + b.length);
  if (getString(b, 0, 4) !== IO_MAGIC) throw bad(0, `no "${IO_MAGIC}" magic`);
  const index = v.getUint32(4, true);
  if (index !== expectIndex) throw bad(4, `it says it is IO block ${index}`);
  const used = v.getUint32(20, true);
  const count = v.getUint32(16, true);
  if (used < IO_HEADER_SIZE || used > h.ioBlockSize) throw bad(20, `${used} bytes used of ${h.ioBlockSize}`);
  if (crcOf(b.subarray(0, 28), b.subarray(IO_HEADER_SIZE, used)) !== v.getUint32(28, true)) throw bad(28, "the CRC-32 does not match");
  const part = v.getUint32(8, true);
  const writer = v.getUint32(12, true);
  const records: BlockRecord[] = [];
  let at = IO_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (at + g.recordBytes > used) throw bad(at, `record ${i} runs past the ${used} bytes used`);
    const mb = v.getUint32(at, true);
    if (mb >= h.memoryBlocks) throw bad(at, `record ${i} names memory block ${mb}, past the last (${h.memoryBlocks - 1})`);
    const raw = (v.getUint32(at + 4, true) & RECORD_RAW) !== 0;
    const bodyLength = v.getUint32(at + 8, true);
    const identities = new Float64Array(h.pagesPerBlock);
    for (let p = 0; p < h.pagesPerBlock; p++) identities[p] = v.getFloat64(at + 24 + p * 8, true);
    const rec: BlockRecord = { mb, raw, zeroMask: v.getUint32(at + 12, true), untouchedMask: v.getUint32(at + 16, true), body: b, bodyAt: 0, at, identities };
    if (h.compressed) {
      const bodyAt = at + g.recordBytes;
      if (bodyAt + bodyLength > used) throw bad(at + 8, `record ${i}'s body of ${bodyLength} bytes runs past the ${used} bytes used`);
      rec.bodyAt = bodyAt;
      rec.body = b.subarray(bodyAt, bodyAt + bodyLength);
      at = bodyAt + bodyLength;
    } else {
      const bodyAt = g.dataOffset + i * h.pagesPerBlock * h.pageSize;
      if (bodyLength !== h.pagesPerBlock * h.pageSize) throw bad(at + 8, `record ${i} has a body of ${bodyLength} bytes, ${h.pagesPerBlock * h.pageSize} expected`);
      rec.bodyAt = bodyAt;
      rec.body = b.subarray(bodyAt, bodyAt + bodyLength);
      at += g.recordBytes;
    }
    records.push(rec);
  }
  return { index, part, writer, records, used };
}
