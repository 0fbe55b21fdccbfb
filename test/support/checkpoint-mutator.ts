// A structure-aware mutator of checkpoint files (docs/checkpoint-format.md), for fuzzing the
// restore and `vmscn checkpoint inspect`: it knows where every field is (the header's, each
// map entry, each IO block's header, record and page identity), sets one to a value chosen to
// hit a limit (0, 1, all ones, off by one, 2^31, 2^32, 2^53, another field's value, a
// non-integer), or cuts, extends, swaps or garbles a part of the file; then it makes every
// CRC-32 good again (header, device state, maps, IO blocks), so a mutant gets past the
// checksums to the checks behind them. Deterministic from a seed: a failing mutant is
// reproduced by its seed and index.
import { crc32 } from "node:zlib";
import { H, HEADER_SIZE, IO_HEADER_SIZE, geometry } from "../../plugins/lazy-checkpoint/format.js";

export type Kind = "u8" | "u32" | "u64" | "f64";

/** A field of a checkpoint file: where it is, its width, and what it is for the report. */
export interface Field {
  name: string;
  at: number;
  kind: Kind;
}

/** A seeded generator (mulberry32): floats in [0, 1). */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 2 ** 32;
  };
}

const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

function get(b: Uint8Array, f: Field): number {
  const v = dv(b);
  switch (f.kind) {
    case "u8":
      return b[f.at]!;
    case "u32":
      return v.getUint32(f.at, true);
    case "u64":
      return v.getUint32(f.at, true) + v.getUint32(f.at + 4, true) * 2 ** 32;
    case "f64":
      return v.getFloat64(f.at, true);
  }
}

function set(b: Uint8Array, f: Field, x: number): void {
  const v = dv(b);
  switch (f.kind) {
    case "u8":
      b[f.at] = x & 0xff;
      return;
    case "u32":
      v.setUint32(f.at, Number.isFinite(x) ? Math.trunc(x) >>> 0 : 0xffffffff, true);
      return;
    case "u64": {
      const n = Number.isFinite(x) && x >= 0 ? Math.trunc(Math.min(x, 2 ** 64 - 1)) : 2 ** 64 - 1;
      v.setUint32(f.at, n % 2 ** 32 >>> 0, true);
      v.setUint32(f.at + 4, Math.min(0xffffffff, Math.floor(n / 2 ** 32)) >>> 0, true);
      return;
    }
    case "f64":
      v.setFloat64(f.at, x, true);
  }
}

const width = (k: Kind): number => (k === "u8" ? 1 : k === "u32" ? 4 : 8);

/** The header's numbers, as the file says them (possibly mutated): where the parts are. */
function layout(b: Uint8Array) {
  if (b.length < HEADER_SIZE) return null;
  const v = dv(b);
  const u64 = (at: number): number => v.getUint32(at, true) + v.getUint32(at + 4, true) * 2 ** 32;
  return {
    compressed: (v.getUint32(H.flags, true) & 2) !== 0,
    P: v.getUint32(H.pagesPerBlock, true),
    M: v.getUint32(H.blocksPerIo, true),
    ioBlockSize: v.getUint32(H.ioBlockSize, true),
    memoryBlocks: v.getUint32(H.memoryBlocks, true),
    ioBlocks: v.getUint32(H.ioBlocks, true),
    deviceOffset: u64(H.deviceOffset),
    deviceLength: u64(H.deviceLength),
    ioAreaOffset: u64(H.ioAreaOffset),
    memIoOffset: u64(H.memIoOffset),
    memIoLength: u64(H.memIoLength),
    ioMemOffset: u64(H.ioMemOffset),
    ioMemLength: u64(H.ioMemLength),
    partOffset: u64(H.partOffset),
    partLength: u64(H.partLength),
    fileLength: u64(H.fileLength),
  };
}

/** Every field of the file that a mutation may set, found by walking its structure. */
export function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  const L = layout(b);
  if (!L) return out;
  const u32 = ["version", "headerSize", "flags", "pageSize", "pagesPerBlock", "blocksPerIo", "ioBlockSize", "memoryBlocks", "ioBlocks", "firstPart", "vcpus", "deviceCrc", "mapsCrc"] as const;
  const u64 = ["guestPages", "deviceOffset", "deviceLength", "ioAreaOffset", "memIoOffset", "memIoLength", "ioMemOffset", "ioMemLength", "partOffset", "partLength", "fileLength", "contentPages", "zeroPages", "untouchedPages", "savedAt"] as const;
  for (const n of u32) out.push({ name: `header.${n}`, at: H[n], kind: "u32" });
  for (const n of u64) out.push({ name: `header.${n}`, at: H[n], kind: "u64" });
  out.push({ name: "header.codec", at: H.codec, kind: "u8" }, { name: "header.level", at: H.level, kind: "u8" });
  const within = (at: number, k: Kind): boolean => Number.isSafeInteger(at) && at >= 0 && at + width(k) <= b.length;
  for (let i = 0; i < L.memoryBlocks && i < 4096; i++) if (within(L.memIoOffset + i * 8, "u64")) out.push({ name: `memIo[${i}]`, at: L.memIoOffset + i * 8, kind: "u64" });
  for (let i = 0; i * 4 < L.ioMemLength && i < 4096; i++) if (within(L.ioMemOffset + i * 4, "u32")) out.push({ name: `ioMem[${i}]`, at: L.ioMemOffset + i * 4, kind: "u32" });
  for (let i = 0; i < L.ioBlocks && i < 4096; i++) if (within(L.partOffset + i * 4, "u32")) out.push({ name: `parts[${i}]`, at: L.partOffset + i * 4, kind: "u32" });
  if (L.P < 1 || L.P > 32 || L.M < 1 || L.M > 64) return out;
  const g = geometry(L.P, L.M);
  for (let io = 0; io < L.ioBlocks && io < 4096; io++) {
    const base = L.ioAreaOffset + io * L.ioBlockSize;
    if (!within(base, "u32") || !within(base + IO_HEADER_SIZE, "u32")) break;
    for (const [n, off] of [["index", 4], ["part", 8], ["writer", 12], ["count", 16], ["used", 20]] as const) out.push({ name: `io${io}.${n}`, at: base + off, kind: "u32" });
    const count = Math.min(dv(b).getUint32(base + 16, true), 256);
    let at = base + IO_HEADER_SIZE;
    for (let r = 0; r < count && within(at + g.recordBytes - 8, "f64"); r++) {
      for (const [n, off] of [["mb", 0], ["flags", 4], ["bodyLength", 8], ["zeroMask", 12], ["untouchedMask", 16]] as const) out.push({ name: `io${io}.rec${r}.${n}`, at: at + off, kind: "u32" });
      for (let p = 0; p < L.P; p++) out.push({ name: `io${io}.rec${r}.page${p}`, at: at + 24 + p * 8, kind: "f64" });
      const body = dv(b).getUint32(at + 8, true);
      if (L.compressed) {
        if (body > 0 && within(at + g.recordBytes + Math.min(body, 64) - 1, "u8")) out.push({ name: `io${io}.rec${r}.body`, at: at + g.recordBytes + (body > 8 ? 8 : 0), kind: "u8" });
        at += g.recordBytes + body;
      } else {
        const data = base + g.dataOffset + r * L.P * 4096 + 100;
        if (within(data, "u8")) out.push({ name: `io${io}.rec${r}.data`, at: data, kind: "u8" });
        at += g.recordBytes;
      }
    }
  }
  return out;
}

/** Values at and around the limits, and the field's own value nudged. */
function interesting(b: Uint8Array, f: Field, all: Field[], rnd: () => number): number {
  const cur = get(b, f);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  if (f.kind === "f64") return pick([0, -0, 1, -1, 0.5, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 53 - 1, 2 ** 48, 32 * 2 ** 48, cur + 1, cur - 1, cur * 2, get(b, pick(all.filter((x) => x.kind === "f64")))]);
  if (f.kind === "u8") return pick([0, 1, 2, 3, 9, 10, 11, 127, 128, 255, cur + 1, cur - 1, cur ^ 0xff, Math.floor(rnd() * 256)]);
  const other = get(b, pick(all));
  return pick([0, 1, 2, cur + 1, cur - 1, cur * 2, Math.floor(cur / 2), 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, ...(f.kind === "u64" ? [2 ** 32, 2 ** 33 + 5, 3 * 2 ** 30, 2 ** 53 - 1, 2 ** 53, 2 ** 64 - 1] : []), other, other + 1, Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * Math.max(2, cur * 4))]);
}

/** Makes every CRC-32 of the file good again, where the (possibly mutated) header lets it be found. */
export function fixCrcs(b: Uint8Array): void {
  const L = layout(b);
  if (!L) return;
  const v = dv(b);
  const inFile = (at: number, n: number): boolean => Number.isSafeInteger(at) && Number.isSafeInteger(n) && at >= 0 && n >= 0 && at + n <= b.length;
  if (L.P >= 1 && L.P <= 32 && L.M >= 1 && L.M <= 64 && L.ioBlockSize > IO_HEADER_SIZE) {
    for (let io = 0; io < L.ioBlocks && io < 65536; io++) {
      const base = L.ioAreaOffset + io * L.ioBlockSize;
      if (!inFile(base, IO_HEADER_SIZE)) break;
      const used = v.getUint32(base + 20, true);
      if (used < IO_HEADER_SIZE || !inFile(base, used)) continue;
      v.setUint32(base + 28, crc32(b.subarray(base + IO_HEADER_SIZE, base + used), crc32(b.subarray(base, base + 28))) >>> 0, true);
    }
  }
  if (inFile(L.deviceOffset, L.deviceLength)) v.setUint32(H.deviceCrc, crc32(b.subarray(L.deviceOffset, L.deviceOffset + L.deviceLength)) >>> 0, true);
  const mapsEnd = Math.min(L.fileLength, b.length);
  if (inFile(L.memIoOffset, mapsEnd - L.memIoOffset)) v.setUint32(H.mapsCrc, crc32(b.subarray(L.memIoOffset, mapsEnd)) >>> 0, true);
  v.setUint32(H.crc, crc32(b.subarray(0, H.crc)) >>> 0, true);
}

export interface Mutant {
  bytes: Uint8Array;
  /** What was done, for a failing case's message. */
  what: string[];
}

/** One to three mutations of a valid checkpoint file, the CRCs made good after each. */
export function mutate(file: Uint8Array, rnd: () => number): Mutant {
  let b = file.slice();
  const what: string[] = [];
  const n = 1 + Math.floor(rnd() * rnd() * 3);
  for (let i = 0; i < n; i++) {
    const all = fields(b);
    const r = rnd();
    const L = layout(b);
    if (r < 0.72 && all.length > 0) {
      const f = all[Math.floor(rnd() * all.length)]!;
      const x = interesting(b, f, all, rnd);
      set(b, f, x);
      what.push(`${f.name}=${x}`);
    } else if (r < 0.78) {
      const at = Math.floor(rnd() * b.length);
      b = b.slice(0, at);
      what.push(`cut at ${at}`);
    } else if (r < 0.82) {
      const grown = new Uint8Array(b.length + 1 + Math.floor(rnd() * 300_000));
      grown.set(b);
      b = grown;
      what.push(`grown to ${b.length}`);
    } else if (r < 0.9 && L && L.ioBlocks >= 2 && L.ioBlockSize > 0) {
      // Two IO blocks trade places (their index fields go with them).
      const x = Math.floor(rnd() * L.ioBlocks);
      const y = Math.floor(rnd() * L.ioBlocks);
      const ax = L.ioAreaOffset + x * L.ioBlockSize;
      const ay = L.ioAreaOffset + y * L.ioBlockSize;
      if (x !== y && ax + L.ioBlockSize <= b.length && ay + L.ioBlockSize <= b.length) {
        const tmp = b.slice(ax, ax + L.ioBlockSize);
        b.copyWithin(ax, ay, ay + L.ioBlockSize);
        b.set(tmp, ay);
        what.push(`io${x} <-> io${y}`);
      }
    } else if (r < 0.95 && L && L.P >= 1 && L.P <= 32 && L.M >= 1 && L.M <= 64) {
      // A record copied over the next one: a memory block twice in an IO block.
      const g = geometry(L.P, L.M);
      const io = Math.floor(rnd() * Math.max(1, L.ioBlocks));
      const at = L.ioAreaOffset + io * L.ioBlockSize + IO_HEADER_SIZE;
      if (!L.compressed && at + 2 * g.recordBytes <= b.length) {
        b.copyWithin(at + g.recordBytes, at, at + g.recordBytes);
        what.push(`io${io}.rec1 = rec0`);
      }
    } else {
      const at = Math.floor(rnd() * b.length);
      b[at] = b[at]! ^ (1 << Math.floor(rnd() * 8));
      what.push(`bit flipped at ${at}`);
    }
    fixCrcs(b);
  }
  return { bytes: b, what };
}
