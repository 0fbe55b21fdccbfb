// The checkpoint file format: header and maps round trips, and each way a file is refused,
// with its code and the offset named.
import t, { type Test } from "tap";
import { FormatError, H, HEADER_SIZE, NO_BLOCK, ZERO_BLOCK, decodeHeader, encodeHeader, geometry, crcOf, type Header } from "./format.js";
import { decodeMaps, encodeMaps, parseIoBlock, putRecord, sealIoBlock } from "./blocks.js";
import { FileStore, MemoryStore } from "./store.js";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function header(over: Partial<Header> = {}): Header {
  const g = geometry(8, 2);
  const h: Header = {
    version: 1, complete: true, compressed: false, pageSize: 4096, pagesPerBlock: 8, blocksPerIo: 2, ioBlockSize: g.ioBlockSize, codec: 0, level: 0,
    guestPages: 20, memoryBlocks: 3, ioBlocks: 1, firstPart: 1, vcpus: 2, deviceOffset: HEADER_SIZE, deviceLength: 100, ioAreaOffset: 8192,
    memIoOffset: 8192 + g.ioBlockSize, memIoLength: 24, ioMemOffset: 8192 + g.ioBlockSize + 24, ioMemLength: 8, partOffset: 8192 + g.ioBlockSize + 32, partLength: 4,
    fileLength: 8192 + g.ioBlockSize + 36, contentPages: 12, zeroPages: 8, untouchedPages: 3, savedAt: 5e9, deviceCrc: 7, mapsCrc: 0, vmName: "wéb", hostName: "a", ...over,
  };
  return h;
}

const fails = (t: Test, f: () => unknown, code: string, offset: number, what: string): void => {
  try {
    f();
    t.fail(`${what}: no error`);
  } catch (err) {
    t.ok(err instanceof FormatError, what);
    t.same([(err as FormatError).code, (err as FormatError).offset], [code, offset], `${what}: ${(err as Error).message}`);
  }
};

t.test("geometry: the document's 8 pages per memory block and 8 memory blocks per IO block", async (t) => {
  const g = geometry(8, 8);
  t.same(g, { pagesPerBlock: 8, blocksPerIo: 8, recordBytes: 88, dataOffset: 4096, ioBlockSize: 4096 + 64 * 4096 });
  t.equal(geometry(32, 64).dataOffset, 4096 * 5, "64 records of 280 bytes after the 32-byte header round up to 20 KiB");
});

t.test("the header round-trips; each inconsistency is refused at its field", async (t) => {
  const h = header();
  const b = encodeHeader(h);
  t.same(decodeHeader(b, h.fileLength), h);
  fails(t, () => decodeHeader(b.subarray(0, 100), 100), "VMSCN7302", 100, "shorter than a header");
  fails(t, () => decodeHeader(b, h.fileLength - 1), "VMSCN7302", h.fileLength - 1, "shorter than the header says");
  const bad = (patch: (x: Uint8Array) => void): Uint8Array => {
    const x = b.slice();
    patch(x);
    return x;
  };
  fails(t, () => decodeHeader(bad((x) => (x[0] = 0x41)), h.fileLength), "VMSCN7301", 0, "bad magic");
  fails(t, () => decodeHeader(bad((x) => (x[H.version] = 2)), h.fileLength), "VMSCN7303", H.version, "another version");
  fails(t, () => decodeHeader(bad((x) => (x[200] ^= 1)), h.fileLength), "VMSCN7301", H.crc, "a flipped byte");
  fails(t, () => decodeHeader(encodeHeader({ ...h, complete: false }), h.fileLength), "VMSCN7305", H.flags, "incomplete");
  fails(t, () => decodeHeader(encodeHeader({ ...h, pageSize: 8192 }), h.fileLength), "VMSCN7304", H.pageSize, "another page size");
  const cases: [Partial<Header>, keyof typeof H][] = [
    [{ pagesPerBlock: 0 }, "pagesPerBlock"],
    [{ blocksPerIo: 65 }, "blocksPerIo"],
    [{ ioBlockSize: 5 }, "ioBlockSize"],
    [{ memoryBlocks: 4 }, "memoryBlocks"],
    [{ codec: 1 }, "codec"],
    [{ firstPart: 2 }, "firstPart"],
    [{ deviceOffset: 0 }, "deviceOffset"],
    [{ ioAreaOffset: 4096 }, "ioAreaOffset"],
    [{ memIoOffset: 1 }, "memIoOffset"],
    [{ memIoLength: 16 }, "memIoLength"],
    [{ ioMemOffset: 1 }, "ioMemOffset"],
    [{ ioMemLength: 4 }, "ioMemLength"],
    [{ partOffset: 1 }, "partOffset"],
    [{ partLength: 8 }, "partLength"],
    [{ fileLength: 1 }, "fileLength"],
    [{ contentPages: 13 }, "contentPages"],
  ];
  for (const [over, field] of cases) fails(t, () => decodeHeader(encodeHeader({ ...h, ...over }), 1e9), "VMSCN7301", H[field], `inconsistent ${field}`);
});

t.test("the maps round-trip and every entry is checked", async (t) => {
  const h = header();
  const off = h.ioAreaOffset;
  const m = { memIo: Float64Array.of(off, ZERO_BLOCK, off), ioMem: Uint32Array.of(0, 2), parts: Uint32Array.of(0) };
  const b = encodeMaps(m, false);
  t.equal(b.length, 36);
  const hh = { ...h, mapsCrc: crcOf(b) };
  t.same(decodeMaps(b, hh), { ...m, perIo: Uint32Array.of(2), partOf: Uint8Array.of(1) }, "with what they say of each IO block: how many memory blocks, which part");
  const bad = (at: number, v: number): Uint8Array => {
    const x = b.slice();
    new DataView(x.buffer).setUint32(at, v, true);
    return x;
  };
  fails(t, () => decodeMaps(bad(0, 1), hh), "VMSCN7301", h.memIoOffset, "a corrupt map (CRC)");
  const withCrc = (x: Uint8Array) => ({ x, h: { ...h, mapsCrc: crcOf(x) } });
  let c = withCrc(bad(0, 12345));
  fails(t, () => decodeMaps(c.x, c.h), "VMSCN7301", h.memIoOffset, "an offset that is no IO block's");
  c = withCrc(bad(24, 9));
  fails(t, () => decodeMaps(c.x, c.h), "VMSCN7301", h.memIoOffset + 24, "a memory block id past the last");
  c = withCrc(bad(32, 3));
  fails(t, () => decodeMaps(c.x, c.h), "VMSCN7301", h.memIoOffset + 32, "a part table entry past the last IO block");
  c = withCrc(bad(24, 1));
  fails(t, () => decodeMaps(c.x, c.h), "VMSCN7301", h.memIoOffset, "memory block 0 not listed in its IO block");
  const compressed = encodeMaps({ memIo: Float64Array.of(off, ZERO_BLOCK, off), ioMem: new Uint32Array(0), parts: Uint32Array.of(0) }, true);
  t.equal(compressed.length, 28, "compressed files have no IO-memory map");
  t.same(decodeMaps(compressed, { ...h, compressed: true, codec: 1, ioMemLength: 0, fileLength: h.fileLength - 8, mapsCrc: crcOf(compressed) }).ioMem.length, 0);
  const parts2 = { ...h, ioBlocks: 2, ioMemLength: 16, fileLength: h.fileLength + 12 };
  const dup = encodeMaps({ memIo: Float64Array.of(off, ZERO_BLOCK, off), ioMem: Uint32Array.of(0, 2, NO_BLOCK, NO_BLOCK), parts: Uint32Array.of(0, 0) }, false);
  fails(t, () => decodeMaps(dup, { ...parts2, mapsCrc: crcOf(dup) }), "VMSCN7301", h.memIoOffset + 24 + 16 + 4, "an IO block listed twice");
});

t.test("IO blocks: uncompressed and compressed layouts parse; corruption is found where it is", async (t) => {
  const h = header();
  const g = geometry(8, 2);
  // Memory block 2 is the guest's last: pages 16-19 of 20, so its identities end in zeros.
  const ids = Float64Array.of(3, 3, 3, 3, 0, 0, 0, 0);
  const block = (patch?: (b: Uint8Array, v: DataView) => void, count = 1): Uint8Array => {
    const b = new Uint8Array(g.ioBlockSize);
    putRecord(b, 32, g, 2, true, 8 * 4096, 0, 0, ids, 0, 8);
    b.fill(9, g.dataOffset, g.dataOffset + 8 * 4096);
    patch?.(b, new DataView(b.buffer));
    sealIoBlock(b, 0, 1, 0, count, g.dataOffset + Math.min(count, 2) * 8 * 4096);
    return b;
  };
  const b = block();
  const v = parseIoBlock(b, 8192, h, 0);
  t.same([v.index, v.part, v.writer, v.records.length, v.records[0]!.mb, v.records[0]!.bodyAt, v.records[0]!.body.length], [0, 1, 0, 1, 2, g.dataOffset, 8 * 4096]);
  fails(t, () => parseIoBlock(b, 8192, h, 1), "VMSCN7301", 8192 + 4, "the wrong index");
  fails(t, () => parseIoBlock(b.subarray(0, 10), 8192, h, 0), "VMSCN7302", 8202, "a short read");
  const flip = b.slice();
  flip[g.dataOffset + 5] ^= 1;
  fails(t, () => parseIoBlock(flip, 8192, h, 0), "VMSCN7301", 8192 + 28, "a flipped data byte (CRC)");
  const magic = b.slice();
  magic[0] = 0;
  fails(t, () => parseIoBlock(magic, 8192, h, 0), "VMSCN7301", 8192, "no IO block magic");
  const used = b.slice();
  new DataView(used.buffer).setUint32(20, 5, true);
  fails(t, () => parseIoBlock(used, 8192, h, 0), "VMSCN7301", 8192 + 20, "used bytes out of range");
  // Each field of a record, its CRC made good: the check that refuses it, at its byte.
  const rec = (what: string, at: number, patch: (b: Uint8Array, v: DataView) => void, count = 1): void => fails(t, () => parseIoBlock(block(patch, count), 8192, h, 0), "VMSCN7301", 8192 + at, what);
  rec("a memory block id past the last", 32, (_, w) => w.setUint32(32, 7, true));
  rec("an uncompressed body of the wrong length", 32 + 8, (_, w) => w.setUint32(32 + 8, 100, true));
  rec("more records than an IO block holds", 16, () => {}, 3);
  rec("a second record naming the same memory block", 32 + g.recordBytes, (x) => x.copyWithin(32 + g.recordBytes, 32, 32 + g.recordBytes), 2);
  for (const [bad, name] of [[NaN, "NaN"], [-1, "a negative"], [1.5, "a fraction"], [2 ** 53, "2^53"], [Infinity, "infinity"]] as const) {
    rec(`a page content that is ${name}`, 32 + 24 + 8, (_, w) => w.setFloat64(32 + 24 + 8, bad, true));
  }
  rec("contents past the guest's last page", 32 + 24 + 5 * 8, (_, w) => w.setFloat64(32 + 24 + 5 * 8, 3, true));
  rec("a page with contents marked zero", 32 + 12, (_, w) => w.setUint32(32 + 12, 0b1, true));
  rec("a zero mask past the block's last page", 32 + 12, (_, w) => w.setUint32(32 + 12, 0b10000, true));
  rec("a zero page not marked zero", 32 + 12, (_, w) => w.setFloat64(32 + 24, 0, true));
  rec("an untouched page that is not zero", 32 + 16, (_, w) => w.setUint32(32 + 16, 0b1, true));
  // With the maps: exactly the blocks they place here, in their order and part.
  const off = 8192;
  const maps = (memIo: number[], ioMem: number[], partOf = 1) => ({ memIo: Float64Array.from(memIo), ioMem: Uint32Array.from(ioMem), parts: Uint32Array.of(0), perIo: Uint32Array.of(memIo.filter((o) => o === off).length), partOf: Uint8Array.of(partOf) });
  t.equal(parseIoBlock(b, off, h, 0, maps([ZERO_BLOCK, ZERO_BLOCK, off], [2, NO_BLOCK])).records.length, 1, "the maps agree");
  fails(t, () => parseIoBlock(b, off, h, 0, maps([off, ZERO_BLOCK, off], [0, 2])), "VMSCN7301", off + 16, "fewer records than the memory-IO map places in it");
  fails(t, () => parseIoBlock(b, off, h, 0, maps([ZERO_BLOCK, ZERO_BLOCK, off], [2, NO_BLOCK], 2)), "VMSCN7301", off + 8, "another part than the part table's");
  fails(t, () => parseIoBlock(b, off, h, 0, { ...maps([off, ZERO_BLOCK, ZERO_BLOCK], [0, NO_BLOCK]), perIo: Uint32Array.of(1) }), "VMSCN7301", off + 32, "a block the memory-IO map places elsewhere");
  fails(t, () => parseIoBlock(b, off, h, 0, maps([ZERO_BLOCK, ZERO_BLOCK, off], [1, NO_BLOCK])), "VMSCN7301", off + 32, "another order than the IO-memory map's");
  // compressed: records and bodies one after the other
  const hc = { ...h, compressed: true, codec: 1 };
  const ids0 = Float64Array.of(0, 0, 3, 3, 3, 3, 3, 3);
  const cblock = (first: { raw: boolean; length: number }, count = 2, patch?: (b: Uint8Array) => void): Uint8Array => {
    const c = new Uint8Array(g.ioBlockSize);
    putRecord(c, 32, g, 0, first.raw, first.length, 0b11, 0b01, ids0, 0, 8);
    c.fill(7, 32 + g.recordBytes, 32 + g.recordBytes + first.length);
    const second = 32 + g.recordBytes + first.length;
    putRecord(c, second, g, 2, true, 4 * 4096, 0, 0, ids, 0, 8);
    patch?.(c);
    sealIoBlock(c, 0, 2, 0x10000, count, second + g.recordBytes + 4 * 4096);
    return c;
  };
  const cv = parseIoBlock(cblock({ raw: false, length: 10 }), 8192, hc, 0);
  t.same(cv.records.map((r) => [r.mb, r.raw, r.zeroMask, r.untouchedMask, r.body.length, r.bodyAt]), [[0, false, 3, 1, 10, 32 + g.recordBytes], [2, true, 0, 0, 4 * 4096, 32 + 2 * g.recordBytes + 10]]);
  t.same([cv.part, cv.writer], [2, 0x10000]);
  const short = cblock({ raw: false, length: 10 });
  sealIoBlock(short, 0, 2, 0, 2, 32 + g.recordBytes + 5);
  fails(t, () => parseIoBlock(short, 8192, hc, 0), "VMSCN7301", 8192 + 32 + 8, "a body past the bytes used");
  fails(t, () => parseIoBlock(cblock({ raw: false, length: 10 }, 3), 8192, hc, 0), "VMSCN7301", 8192 + 32 + 2 * g.recordBytes + 10 + 4 * 4096, "a record past the bytes used");
  fails(t, () => parseIoBlock(cblock({ raw: true, length: 10 }), 8192, hc, 0), "VMSCN7301", 8192 + 32 + 8, "a stored body that is not its pages' bytes");
  fails(t, () => parseIoBlock(cblock({ raw: false, length: 6 * 4096 }), 8192, hc, 0), "VMSCN7301", 8192 + 32 + 8, "a compressed body no smaller than its pages");
});

t.test("byte stores: a real file and memory behave alike", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vmscn-store-"));
  try {
    for (const s of [FileStore.create(dir, ["sub"], "f.ckpt"), new MemoryStore()]) {
      s.write(3, Uint8Array.of(1, 2, 3));
      s.write(2 * 1024 * 1024 - 1, Uint8Array.of(9, 9));
      t.equal(s.size, 2 * 1024 * 1024 + 1);
      t.same([...s.read(2, 5)], [0, 1, 2, 3, 0]);
      t.same([...s.read(2 * 1024 * 1024 - 1, 10)], [9, 9], "a read past the end is short");
      if (s instanceof FileStore) {
        t.match(readdirSync(join(dir, "sub")), [/^f\.ckpt\.tmp-[0-9a-f]{16}$/], "a file being written has its temporary name only: 64 random bits");
        s.close();
        s.write(0, Uint8Array.of(5));
        t.same([...s.read(0, 4)], [5, 0, 0, 1], "closed, it opens again without truncating");
      }
      s.commit();
      s.close();
    }
    t.same(readdirSync(join(dir, "sub")), ["f.ckpt"], "committed, it has its final name only");
    const r = FileStore.openInside(dir, ["sub"], "f.ckpt");
    t.equal(r.size, 2 * 1024 * 1024 + 1);
    t.same([...r.read(3, 3)], [1, 2, 3]);
    r.close();
    r.close();
    const m = new MemoryStore();
    m.write(0, new Uint8Array(10).fill(1));
    m.corrupt(4, Uint8Array.of(0));
    m.truncate(6);
    t.same([...m.read(0, 10)], [1, 1, 1, 1, 0, 1]);
    // A failed save: the temporary file goes, the final name never appears, the head stays readable.
    const f = FileStore.create(dir, [], "g.ckpt");
    f.write(0, new Uint8Array(8192).fill(3));
    f.discard(4096);
    f.discard(4096);
    t.same(readdirSync(dir).filter((n) => n.startsWith("g.")), [], "no file is left of a failed save");
    t.same([f.path, f.current, f.size], [null, null, 8192]);
    t.same([...f.read(4094, 4)], [3, 3, 0, 0], "the kept head reads back; what was not kept reads as zeros");
    t.equal(f.read(8190, 10).length, 2);
    f.commit();
    m.discard();
    t.same([...m.read(0, 2)], [1, 1], "bytes in memory stay as written");
    // Opened for reading, commit and discard leave the file alone.
    r.commit();
    r.discard(10);
    t.same(readdirSync(join(dir, "sub")), ["f.ckpt"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
