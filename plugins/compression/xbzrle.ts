// XBZRLE, as QEMU's migration uses it (migration/xbzrle.c): a page sent again is encoded
// against the copy sent before, kept in a cache, as runs of unchanged bytes (zrun) and of
// changed bytes (nzrun): ULEB128(zrun) ULEB128(nzrun) nzrun-bytes ..., the last zero run
// left out. An encoding that would not fit in one page is an overflow: the page goes whole.
import { PAGE_SIZE } from "../../core/api.js";

/** Bytes of an unsigned LEB128 of `v` (QEMU encodes lengths below 2^14, so 1 or 2). */
export function ulebLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

function writeUleb(dst: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    dst[at++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 0x80);
  }
  dst[at++] = v;
  return at;
}

function readUleb(src: Uint8Array, at: number, end: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (at >= end) throw new RangeError("XBZRLE: truncated length");
    const b = src[at++]!;
    v += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [v, at];
    mul *= 0x80;
    if (mul > 2 ** 28) throw new RangeError("XBZRLE: length too long");
  }
}

/**
 * Encodes `cur` against `old` (same length) into `dst` (at most `dlen` bytes). Returns the
 * encoded length, 0 when nothing changed, -1 on overflow — QEMU's xbzrle_encode_buffer, with
 * its overflow checks at the same places.
 */
export function xbzrleEncode(old: Uint8Array, cur: Uint8Array, dst: Uint8Array, dlen = dst.length): number {
  const slen = cur.length;
  let d = 0;
  let i = 0;
  let zrun = 0;
  while (i < slen) {
    if (d + 2 > dlen) return -1;
    while (i < slen && old[i] === cur[i]) {
      zrun++;
      i++;
    }
    if (zrun === slen) return 0;
    if (i === slen) return d;
    d = writeUleb(dst, d, zrun);
    zrun = 0;
    if (d + 2 > dlen) return -1;
    const start = i;
    while (i < slen && old[i] !== cur[i]) i++;
    const n = i - start;
    d = writeUleb(dst, d, n);
    if (d + n > dlen) return -1;
    dst.set(cur.subarray(start, i), d);
    d += n;
  }
  return d;
}

/** Applies an encoding to `page` (which holds the old copy): QEMU's xbzrle_decode_buffer. */
export function xbzrleDecode(src: Uint8Array, length: number, page: Uint8Array): void {
  let i = 0;
  let d = 0;
  while (i < length) {
    let zrun: number;
    [zrun, i] = readUleb(src, i, length);
    d += zrun;
    if (d > page.length) throw new RangeError("XBZRLE: zero run past the end of the page");
    let nzrun: number;
    [nzrun, i] = readUleb(src, i, length);
    if (nzrun === 0 || d + nzrun > page.length || i + nzrun > length) throw new RangeError("XBZRLE: bad changed run");
    page.set(src.subarray(i, i + nzrun), d);
    i += nzrun;
    d += nzrun;
  }
}

/**
 * The encoded length of a page whose changed bytes are the runs [starts[k], ends[k]) (sorted,
 * disjoint, not touching): what xbzrleEncode returns for such a pair, computed from the runs.
 */
export function encodedLength(starts: Int32Array, ends: Int32Array, n: number, slen = PAGE_SIZE, dlen = PAGE_SIZE): number {
  if (n === 0) return 0;
  let d = 0;
  let prev = 0;
  for (let k = 0; k < n; k++) {
    if (d + 2 > dlen) return -1;
    d += ulebLength(starts[k]! - prev);
    if (d + 2 > dlen) return -1;
    const len = ends[k]! - starts[k]!;
    d += ulebLength(len);
    if (d + len > dlen) return -1;
    d += len;
    prev = ends[k]!;
  }
  // The loop comes round once more for a trailing zero run, checking for room first.
  if (prev < slen && d + 2 > dlen) return -1;
  return d;
}

/** How many writes' runs are drawn one by one; beyond that, the page has changed throughout. */
export const MAX_RUNS = 64;

/**
 * The bytes a page's writes changed since it was last sent: `writes` runs of `changedBytes`
 * each, at offsets that depend only on the page, its new content and the write's number, then
 * merged. Fills starts/ends (room for MAX_RUNS) and returns how many runs there are.
 */
export function changeRuns(page: number, identity: number, writes: number, changedBytes: number, starts: Int32Array, ends: Int32Array, offset?: number): number {
  const len = Math.max(1, Math.min(PAGE_SIZE, Math.floor(changedBytes)));
  // Writes at one fixed place change the same bytes, however many there were.
  if (offset !== undefined && len < PAGE_SIZE) {
    starts[0] = Math.min(offset, PAGE_SIZE - len);
    ends[0] = starts[0] + len;
    return 1;
  }
  if (writes > MAX_RUNS || len === PAGE_SIZE) {
    starts[0] = 0;
    ends[0] = PAGE_SIZE;
    return 1;
  }
  const span = PAGE_SIZE - len + 1;
  const lo = identity % 0x1_0000_0000;
  const hi = Math.floor(identity / 0x1_0000_0000);
  let n = 0;
  for (let w = 0; w < writes; w++) {
    let h = Math.imul(page ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(lo | 0, 0xc2b2ae35) ^ Math.imul(hi ^ (w + 1), 0x27d4eb2f);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    h = (h ^ (h >>> 12)) >>> 0;
    const s = h % span;
    // insertion into the sorted list
    let j = n++;
    while (j > 0 && starts[j - 1]! > s) {
      starts[j] = starts[j - 1]!;
      ends[j] = ends[j - 1]!;
      j--;
    }
    starts[j] = s;
    ends[j] = s + len;
  }
  // Merge overlapping or touching runs: they are one changed run to the encoder.
  let m = 0;
  for (let k = 1; k < n; k++) {
    if (starts[k]! <= ends[m]!) ends[m] = Math.max(ends[m]!, ends[k]!);
    else {
      m++;
      starts[m] = starts[k]!;
      ends[m] = ends[k]!;
    }
  }
  return m + 1;
}
