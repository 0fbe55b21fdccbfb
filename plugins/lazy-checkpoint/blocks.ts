// The checkpoint file's maps and IO blocks (docs/checkpoint-format.md), encoded and checked.
// A file is input like any other: every count, length, offset and mask is checked against the
// header and the maps before it is used, so a crafted file (its CRCs recomputed) fails its
// restore with a code and the offset, never with an exception or a restore that waits for ever.
import { FormatError, IO_HEADER_SIZE, IO_MAGIC, NO_BLOCK, RECORD_RAW, ZERO_BLOCK, crcOf, geometry, getString, putU64, view, type Geometry, type Header } from "./format.js";

// ---- the maps ------------------------------------------------------------------------------

export interface Maps {
  /** File offset of the IO block of each memory block; ZERO_BLOCK for blocks encoded up front. */
  memIo: Float64Array;
  /** For uncompressed files: IO block i's memory blocks in order at [i*M, (i+1)*M), NO_BLOCK when unused. */
  ioMem: Uint32Array;
  /** IO block indices: the first part in order, then the second. */
  parts: Uint32Array;
}

/** What the maps say of each IO block, derived once so an IO block is checked in its own time. */
export interface MapIndex {
  /** How many memory blocks the memory-IO map places in each IO block. */
  perIo: Uint32Array;
  /** The part (1, 2) the part table puts each IO block in. */
  partOf: Uint8Array;
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
 * entry against the header and the other maps: an offset that is no IO block's, a memory
 * block id out of range, listed twice or where the memory-IO map does not place it, an IO
 * block that holds nothing, a part table that is not a permutation. Throws FormatError with
 * the entry's file offset.
 */
export function decodeMaps(b: Uint8Array, h: Header): Maps & MapIndex {
  const base = h.memIoOffset;
  const need = h.fileLength - h.memIoOffset;
  if (b.length < need) throw new FormatError("VMSCN7302", `it is truncated inside its maps: ${b.length} of their ${need} bytes`, base + b.length);
  const v = view(b);
  const bad = (at: number, what: string): FormatError => new FormatError("VMSCN7301", what, base + at);
  if (crcOf(b.subarray(0, need)) !== h.mapsCrc) throw bad(0, "its maps are corrupt (the CRC-32 does not match)");
  const A = h.ioAreaOffset;
  const B = h.ioBlockSize;
  const memIo = new Float64Array(h.memoryBlocks);
  const perIo = new Uint32Array(h.ioBlocks);
  for (let i = 0; i < h.memoryBlocks; i++) {
    const lo = v.getUint32(i * 8, true);
    const hi = v.getUint32(i * 8 + 4, true);
    if (lo === 0xffffffff && hi === 0xffffffff) {
      memIo[i] = ZERO_BLOCK;
      continue;
    }
    const off = lo + hi * 0x1_0000_0000;
    if (off < A || off >= A + h.ioBlocks * B || (off - A) % B !== 0) throw bad(i * 8, `its memory-IO map gives memory block ${i} offset ${off}, which is not an IO block's`);
    memIo[i] = off;
    perIo[(off - A) / B]!++;
  }
  const ioMem = new Uint32Array(h.ioMemLength / 4);
  const ioBase = h.memIoLength;
  for (let i = 0; i < ioMem.length; i++) {
    const id = v.getUint32(ioBase + i * 4, true);
    if (id !== NO_BLOCK && id >= h.memoryBlocks) throw bad(ioBase + i * 4, `its IO-memory map names memory block ${id}, past the last (${h.memoryBlocks - 1})`);
    ioMem[i] = id;
  }
  const parts = new Uint32Array(h.ioBlocks);
  const partOf = new Uint8Array(h.ioBlocks);
  const pBase = h.memIoLength + h.ioMemLength;
  for (let i = 0; i < h.ioBlocks; i++) {
    const io = v.getUint32(pBase + i * 4, true);
    if (io >= h.ioBlocks || partOf[io]) throw bad(pBase + i * 4, `its part table lists IO block ${io} ${io >= h.ioBlocks ? "past the last" : "twice"}`);
    partOf[io] = i < h.firstPart ? 1 : 2;
    parts[i] = io;
  }
  if (!h.compressed) checkIoMemMap(h, memIo, ioMem, bad);
  // An IO block no memory block is in would hold a restore's buffer for ever; vmscn never writes one.
  for (let io = 0; io < h.ioBlocks; io++) if (perIo[io] === 0) throw bad(0, `its memory-IO map places no memory block in IO block ${io}`);
  return { memIo, ioMem, parts, perIo, partOf };
}

/** Uncompressed files: the IO-memory map lists, in each IO block, exactly the memory blocks the memory-IO map places there, empty slots last. */
function checkIoMemMap(h: Header, memIo: Float64Array, ioMem: Uint32Array, bad: (at: number, what: string) => FormatError): void {
  const M = h.blocksPerIo;
  for (let mb = 0; mb < h.memoryBlocks; mb++) {
    const off = memIo[mb]!;
    if (off === ZERO_BLOCK) continue;
    const io = (off - h.ioAreaOffset) / h.ioBlockSize;
    let found = false;
    for (let j = 0; j < M; j++) if (ioMem[io * M + j] === mb) found = true;
    if (!found) throw bad(mb * 8, `its memory-IO map puts memory block ${mb} in IO block ${io}, whose IO-memory map entry does not list it`);
  }
  const seen = new Uint8Array(h.memoryBlocks);
  for (let io = 0; io < h.ioBlocks; io++) {
    let empty = false;
    for (let j = 0; j < M; j++) {
      const id = ioMem[io * M + j]!;
      const at = h.memIoLength + (io * M + j) * 4;
      if (id === NO_BLOCK) {
        empty = true;
        continue;
      }
      if (empty) throw bad(at, `its IO-memory map lists memory block ${id} in IO block ${io} after an empty slot`);
      const off = memIo[id]!;
      if (off !== h.ioAreaOffset + io * h.ioBlockSize) throw bad(at, `its IO-memory map lists memory block ${id} in IO block ${io}, which the memory-IO map places ${off === ZERO_BLOCK ? "in none (a zero block)" : `in IO block ${(off - h.ioAreaOffset) / h.ioBlockSize}`}`);
      if (seen[id]) throw bad(at, `its IO-memory map lists memory block ${id} twice`);
      seen[id] = 1;
    }
  }
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

/** A page's content identity as the kernel holds it: a whole number from 0 to 2^53 - 1. */
function isContent(c: number): boolean {
  return Number.isSafeInteger(c) && c >= 0;
}

function popcount(x: number): number {
  let n = 0;
  for (let y = x >>> 0; y !== 0; y &= y - 1) n++;
  return n;
}

/**
 * Parses and checks one IO block read from file offset `offset`: magic, index, CRC, then its
 * records (the IO-memory map's order for uncompressed files, the metadata chain for compressed
 * ones, as the document's figure 3): each record's masks against its identities, its body
 * within the bytes used. With the maps, the block must hold exactly the memory blocks the maps
 * place in it, in the part the part table gives. Throws FormatError at the offending byte's
 * file offset.
 */
export function parseIoBlock(b: Uint8Array, offset: number, h: Header, expectIndex: number, maps?: Maps & MapIndex): IoBlockView {
  const v = view(b);
  const g = geometry(h.pagesPerBlock, h.blocksPerIo);
  const P = h.pagesPerBlock;
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
  if (!h.compressed && count > h.blocksPerIo) throw bad(16, `${count} records, more than the ${h.blocksPerIo} memory blocks an IO block holds`);
  if (maps && count !== maps.perIo[index]) throw bad(16, `${count} records, and the memory-IO map places ${maps.perIo[index]} memory blocks in it`);
  if (maps && part !== maps.partOf[index]) throw bad(8, `it says it is in part ${part}, and the part table puts it in part ${maps.partOf[index]}`);
  const records: BlockRecord[] = [];
  const seen = new Set<number>();
  let at = IO_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (at + g.recordBytes > used) throw bad(at, `record ${i} runs past the ${used} bytes used`);
    const mb = v.getUint32(at, true);
    if (mb >= h.memoryBlocks) throw bad(at, `record ${i} names memory block ${mb}, past the last (${h.memoryBlocks - 1})`);
    if (seen.has(mb)) throw bad(at, `record ${i} names memory block ${mb} a second time`);
    seen.add(mb);
    if (maps && maps.memIo[mb] !== offset) throw new FormatError("VMSCN7301", `IO block ${expectIndex} holds memory block ${mb}, which the memory-IO map places elsewhere`, offset + at);
    if (maps && !h.compressed && maps.ioMem[index * h.blocksPerIo + i] !== mb) {
      throw new FormatError("VMSCN7301", `IO block ${expectIndex}'s record ${i} is memory block ${mb}, and the IO-memory map says ${maps.ioMem[index * h.blocksPerIo + i]}`, offset + at);
    }
    const raw = (v.getUint32(at + 4, true) & RECORD_RAW) !== 0;
    const bodyLength = v.getUint32(at + 8, true);
    const zeroMask = v.getUint32(at + 12, true);
    const untouchedMask = v.getUint32(at + 16, true);
    const pages = Math.min(P, h.guestPages - mb * P);
    const identities = new Float64Array(P);
    for (let p = 0; p < P; p++) {
      const c = v.getFloat64(at + 24 + p * 8, true);
      if (!isContent(c) || (p >= pages && c !== 0)) throw bad(at + 24 + p * 8, `record ${i}'s page ${p} has content ${c}, ${p >= pages ? "past the guest's last page" : "which is no page content"}`);
      if (p < pages && ((zeroMask >>> p) & 1) !== (c === 0 ? 1 : 0)) throw bad(at + 12, `record ${i}'s page ${p} is ${c === 0 ? "not marked zero but has no contents" : "marked zero but has contents"}`);
      identities[p] = c;
    }
    if (pages < 32 && zeroMask >>> pages !== 0) throw bad(at + 12, `record ${i}'s zero mask marks pages past the block's ${pages}`);
    if ((untouchedMask & ~zeroMask) !== 0) throw bad(at + 16, `record ${i} marks untouched a page that is not zero`);
    const rec: BlockRecord = { mb, raw, zeroMask, untouchedMask, body: b, bodyAt: 0, at, identities };
    if (h.compressed) {
      const bodyAt = at + g.recordBytes;
      if (bodyAt + bodyLength > used) throw bad(at + 8, `record ${i}'s body of ${bodyLength} bytes runs past the ${used} bytes used`);
      // Stored as is: exactly its pages with contents; compressed: fewer bytes than that (else it is stored).
      const rawBytes = (pages - popcount(zeroMask)) * h.pageSize;
      if (raw ? bodyLength !== rawBytes : bodyLength === 0 || bodyLength >= rawBytes) throw bad(at + 8, `record ${i} has a ${raw ? "stored" : "compressed"} body of ${bodyLength} bytes for ${rawBytes} bytes of pages`);
      rec.bodyAt = bodyAt;
      rec.body = b.subarray(bodyAt, bodyAt + bodyLength);
      at = bodyAt + bodyLength;
    } else {
      const bodyAt = g.dataOffset + i * P * h.pageSize;
      if (bodyLength !== P * h.pageSize) throw bad(at + 8, `record ${i} has a body of ${bodyLength} bytes, ${P * h.pageSize} expected`);
      if (bodyAt + bodyLength > used) throw bad(20, `record ${i}'s pages run past the ${used} bytes used`);
      rec.bodyAt = bodyAt;
      rec.body = b.subarray(bodyAt, bodyAt + bodyLength);
      at += g.recordBytes;
    }
    records.push(rec);
  }
  return { index, part, writer, records, used };
}
