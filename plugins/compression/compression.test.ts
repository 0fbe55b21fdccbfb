// Codecs, block encoding with zero and untouched pages up front, page compression, XBZRLE (the
// real encoder against QEMU's rules, and the modelled changes), the service and its report.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { pageBytes, privatePage } from "../../core/memory/content.js";
import { definePlugin, type PluginContext } from "../../core/api.js";
import plugin from "./index.js";
import { CODEC_IDS, codecNameOf, makeCodec, levelRange, SNAPPY_COMPRESS_NS_PER_BYTE, ZLIB_COMPRESS_NS_PER_BYTE } from "./codecs.js";
import type { CompressionService } from "./api.js";
import { Session, Xbzrle, XBZRLE_HEADER_BYTES } from "./service.js";
import { changeRuns, encodedLength, MAX_RUNS, ulebLength, xbzrleDecode, xbzrleEncode } from "./xbzrle.js";

const PAGE = 4096;

t.test("codecs: real round trips, levels, corrupt input, modelled costs", async (t) => {
  const half = pageBytes(privatePage(8, 1, 7));
  for (const [name, level] of [["zlib", 1], ["zlib", 9], ["zlib", 0], ["snappy", undefined]] as const) {
    const c = makeCodec(name, level);
    const packed = c.compress(half);
    t.ok(name === "zlib" && level === 0 ? packed.length > PAGE : packed.length < PAGE * 0.6, `${name} ${level ?? ""} sizes the half-compressible page as expected (${packed.length})`);
    t.same(Buffer.from(c.decompress(packed, PAGE)), Buffer.from(half), `${name} ${level ?? ""} gives the bytes back`);
    t.throws(() => c.decompress(packed, PAGE - 1), { name: "CodecError" });
    t.throws(() => c.decompress(new Uint8Array([1, 2, 3, 4, 5]), PAGE), { name: "CodecError" });
  }
  t.equal(makeCodec("zlib").level, 6);
  t.equal(makeCodec("zlib", 9).compressNsPerByte, 60);
  t.equal(makeCodec("zlib", 6).compressNsPerByte, ZLIB_COMPRESS_NS_PER_BYTE[6]);
  t.equal(makeCodec("snappy").compressNsPerByte, SNAPPY_COMPRESS_NS_PER_BYTE);
  t.throws(() => makeCodec("zlib", 10), RangeError);
  t.throws(() => makeCodec("snappy", 3), RangeError);
  t.same(levelRange("zlib"), [0, 9]);
  t.same(levelRange("snappy"), [0, 0]);
  t.equal(codecNameOf(CODEC_IDS.snappy), "snappy");
  t.equal(codecNameOf(9), undefined);
  // Snappy given a Buffer answers a plain byte array all the same.
  t.ok(makeCodec("snappy").compress(Buffer.from(half)).length < PAGE);
});

t.test("a memory block: zero pages only in the mask, untouched ones flagged, the rest compressed or kept raw", async (t) => {
  const s = new Session("t", makeCodec("zlib", 1));
  const ids = new Float64Array([0, privatePage(12, 1, 1), 0, privatePage(12, 1, 2), 0, 0, 0, privatePage(12, 1, 3)]);
  const e = s.encodeBlock(ids, 0, 8, 0b0000_0101 | 0b1000_0000);
  t.equal(e.zeroMask, 0b0111_0101, "pages 0, 2, 4, 5, 6 are zero");
  t.equal(e.untouchedMask, 0b0000_0101, "untouched is a subset of zero: page 7 has contents");
  t.equal(e.rawBytes, 3 * PAGE);
  t.equal(e.raw, false);
  t.ok(e.body.length < PAGE, `three 3/4-compressible pages shrink to ${e.body.length} bytes`);
  t.equal(e.cpuNs, 3 * PAGE * 8, "zlib 1: 8 ns per byte of the three pages");
  const d = s.decodeBlock(e.zeroMask, 8, e.raw, e.body);
  const want = new Uint8Array(3 * PAGE);
  [1, 3, 7].forEach((p, i) => pageBytes(ids[p]!, want, i * PAGE));
  t.same(Buffer.from(d.bytes), Buffer.from(want));
  t.equal(d.cpuNs, 3 * PAGE * 2.5);
  t.same([s.stats.pages, s.stats.zeroPages, s.stats.untouchedPages, s.stats.bytesIn, s.stats.encoded, s.stats.decoded], [8, 5, 2, 3 * PAGE, 1, 1]);
  // All zero: nothing for the codec.
  const z = s.encodeBlock(new Float64Array(8), 0, 8, 0xff);
  t.same([z.raw, z.body.length, z.rawBytes, z.cpuNs, z.zeroMask, z.untouchedMask], [true, 0, 0, 0, 0xff, 0xff]);
  // Random pages do not shrink: kept raw, decoded as they are.
  const r = s.encodeBlock(new Float64Array([privatePage(0, 1, 9), privatePage(0, 1, 10)]), 0, 2, 0);
  t.equal(r.raw, true);
  t.equal(r.body.length, 2 * PAGE);
  t.equal(s.stats.stored, 1);
  t.same(Buffer.from(s.decodeBlock(0, 2, true, r.body).bytes), Buffer.from(r.body));
  t.throws(() => s.decodeBlock(0, 2, true, r.body.subarray(1)), { name: "CodecError" });
});

t.test("page compression for migration: zero pages free, sizes remembered, costs modelled", async (t) => {
  const s = new Session("m", makeCodec("snappy"));
  t.same(s.compressPage(0), { bytes: 0, cpuNs: 0, zero: true });
  const a = s.compressPage(privatePage(8, 2, 1));
  t.ok(a.bytes < PAGE && a.bytes > PAGE / 3);
  t.equal(a.cpuNs, PAGE * 2);
  t.same(s.compressPage(privatePage(8, 2, 1)), a, "the same content again: the same size");
  t.equal(s.compressPage(privatePage(0, 2, 2)).bytes, PAGE, "a random page is sent whole");
  t.same([s.stats.pages, s.stats.zeroPages, s.stats.encoded, s.stats.stored], [4, 1, 3, 1]);
});

t.test("XBZRLE: the real encoder and decoder, and QEMU's overflow rule", async (t) => {
  const old = pageBytes(privatePage(0, 3, 1));
  const cur = old.slice();
  const dst = new Uint8Array(PAGE);
  t.equal(xbzrleEncode(old, cur, dst), 0, "unchanged: 0");
  cur[100] ^= 0xff;
  cur[101] ^= 0xff;
  cur[4000] ^= 0xff;
  // zrun 100 (1 byte), nzrun 2 (1) + 2 bytes, zrun 3898 (2), nzrun 1 (1) + 1 byte; the last zero run is left out
  t.equal(xbzrleEncode(old, cur, dst), 1 + 1 + 2 + 2 + 1 + 1);
  const back = old.slice();
  xbzrleDecode(dst, 8, back);
  t.same(Buffer.from(back), Buffer.from(cur));
  const all = pageBytes(privatePage(0, 3, 2));
  t.equal(xbzrleEncode(old, all, dst), -1, "a page changed throughout overflows");
  t.throws(() => xbzrleDecode(new Uint8Array([5]), 1, back.slice()), RangeError);
  t.throws(() => xbzrleDecode(new Uint8Array([0, 0]), 2, back.slice()), RangeError, "an empty changed run is invalid");
  t.throws(() => xbzrleDecode(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80]), 5, back.slice()), RangeError);
  t.throws(() => xbzrleDecode(new Uint8Array([0x90, 0x40]), 2, back.slice()), RangeError, "a zero run past the page");
  t.same([ulebLength(0), ulebLength(127), ulebLength(128), ulebLength(16383), ulebLength(16384)], [1, 1, 2, 2, 3]);
});

t.test("XBZRLE: the encoded length computed from the changed runs equals the real encoder's", async (t) => {
  const starts = new Int32Array(MAX_RUNS);
  const ends = new Int32Array(MAX_RUNS);
  const dst = new Uint8Array(PAGE);
  let checked = 0;
  for (const changed of [1, 8, 64, 300, 2000]) {
    for (const writes of [1, 2, 5, 17]) {
      for (let page = 0; page < 6; page++) {
        const id = privatePage(0, 4, page * 100 + writes);
        const n = changeRuns(page, id, writes, changed, starts, ends);
        const old = pageBytes(privatePage(0, 5, page));
        const cur = old.slice();
        for (let k = 0; k < n; k++) for (let i = starts[k]!; i < ends[k]!; i++) cur[i] ^= 0xa5;
        t.equal(encodedLength(starts, ends, n), xbzrleEncode(old, cur, dst), `${writes} writes of ${changed} bytes to page ${page}`);
        checked++;
      }
    }
  }
  t.equal(checked, 120);
  t.equal(changeRuns(1, 5, MAX_RUNS + 1, 8, starts, ends), 1, "more writes than runs drawn: the whole page");
  t.same([starts[0], ends[0]], [0, PAGE]);
  t.equal(encodedLength(starts, ends, 0), 0);
  t.equal(changeRuns(1, 5, 7, 64, starts, ends, 128), 1, "writes at a fixed offset change one run, however many");
  t.same([starts[0], ends[0]], [128, 192]);
  t.equal(encodedLength(starts, ends, 1), 2 + 1 + 64, "ULEB128(128) + ULEB128(64) + 64 bytes");
});

t.test("XBZRLE cache: direct-mapped, misses, hits, unchanged pages, overflow, rates", async (t) => {
  const x = new Xbzrle("x", { cacheBytes: 3 * PAGE, changedBytes: 16 });
  t.equal(x.slots, 2, "3 pages round down to 2");
  t.equal(x.stats["cache-size"], 2 * PAGE);
  t.equal(x.send(0, 0).kind, "zero");
  t.same(x.send(4, 111), { kind: "miss", bytes: PAGE, encoded: 0, cpuNs: 819 });
  t.equal(x.send(4, 111).kind, "unchanged");
  const hit = x.send(4, 222);
  t.equal(hit.kind, "hit");
  // one run of 16 bytes: uleb(start) + uleb(16) + 16
  t.ok(hit.encoded >= 18 && hit.encoded <= 19);
  t.equal(hit.bytes, hit.encoded + XBZRLE_HEADER_BYTES);
  t.equal(x.send(6, 333).kind, "miss", "page 6 takes slot 0 from page 4");
  t.equal(x.send(4, 444).kind, "miss");
  t.equal(x.send(4, 0).kind, "zero");
  t.equal(x.send(4, 555).kind, "overflow", "a page that was zero changed throughout");
  t.equal(x.send(4, 666, 1000).kind, "overflow", "many writes changed it throughout");
  const s = x.stats;
  // QEMU's figures: `pages` counts every hit (encoded, unchanged, overflowing); `bytes` the encoded ones and 4096 an overflow
  t.same([s["cache-miss"], s["cache-hit"], s.unchanged, s.pages, s.overflow], [3, 4, 1, 4, 2]);
  t.equal(s.bytes, hit.bytes + 2 * PAGE);
  t.equal(s["cache-miss-rate"], 3 / 7);
  t.equal(s["encoding-rate"], (4 * PAGE) / (hit.bytes + 2 * PAGE));
  const none = new Xbzrle("n", { cacheBytes: 100 });
  t.equal(none.slots, 0);
  t.equal(none.send(1, 5).kind, "miss");
  t.equal(none.send(1, 5).kind, "miss", "no cache: every page misses");
});

t.test("XBZRLE: a cache larger than its guest allocates the guest's slots only and behaves as the size asked for", async (t) => {
  // 4 PiB (2^40 slots) for a guest of 1000 pages: 1024 slots allocated; the same as a cache of 1024 pages.
  const huge = new Xbzrle("huge", { cacheBytes: 2 ** 52, changedBytes: 16, guestPages: 1000 });
  const fits = new Xbzrle("fits", { cacheBytes: 1024 * PAGE, changedBytes: 16 });
  t.equal(huge.slots, 2 ** 40);
  t.equal(huge.stats["cache-size"], 2 ** 52, "the report gives the size asked for");
  const kinds = (x: Xbzrle) => [0, 999, 500, 999, 0, 7, 500].map((p, i) => x.send(p, 100 + (i % 3), 1, { age: i, lastStage: false }).kind);
  t.same(kinds(huge), kinds(fits));
  t.same({ ...huge.stats, "cache-size": 0 }, { ...fits.stats, "cache-size": 0 });
});

t.test("XBZRLE with QEMU's generations: a slot touched in this sync generation or the one before is not evicted; the last stage neither fills nor updates; rates per period", async (t) => {
  const x = new Xbzrle("g", { cacheBytes: PAGE, changedBytes: 16 });
  t.equal(x.send(0, 11, 1, { age: 1, lastStage: false }).kind, "miss", "page 0 enters the one slot at generation 1");
  t.equal(x.send(1, 22, 1, { age: 2, lastStage: false }).kind, "miss", "page 1 cannot evict it: 1 + 2 > 2");
  t.equal(x.send(0, 12, 1, { age: 2, lastStage: false }).kind, "hit", "page 0 is still cached (its age becomes 2)");
  t.equal(x.send(1, 22, 1, { age: 4, lastStage: false }).kind, "miss", "at generation 4 page 1 evicts it: 2 + 2 ≤ 4");
  t.equal(x.send(1, 23, 1, { age: 5, lastStage: true }).kind, "hit", "the downtime still encodes against the cache...");
  t.equal(x.send(1, 24, 1, { age: 5, lastStage: true }).kind, "hit", "...but does not update it: the delta is against 22 again");
  t.equal(x.send(7, 0, 1, { age: 9, lastStage: false }).kind, "zero");
  t.equal(x.send(7, 5, 1, { age: 9, lastStage: false }).kind, "overflow", "a zero page enters the cache (xbzrle_cache_zero_page): its next content changed throughout");
  // 3 misses and 4 hits so far; a period in which the sender wrote 8 pages
  x.closePeriod(8);
  t.equal(x.stats["cache-miss-rate"], 3 / 8);
  x.send(7, 5, 1, { age: 10, lastStage: false });
  x.closePeriod(8);
  t.equal(x.stats["cache-miss-rate"], 3 / 8, "a period in which nothing was written keeps the rates");
  x.closePeriod(9);
  t.equal(x.stats["cache-miss-rate"], 0, "one page written, a hit");
  t.equal(x.stats["encoding-rate"], 0, "an unchanged page: no bytes encoded");
});

t.test("the plugin: a service for other plugins, coded errors, CPU time on a world, the report", async (t) => {
  const k = createKernel({ seed: 1 });
  let svc!: CompressionService;
  let ctx!: PluginContext;
  await k.plugins.registerAll([
    plugin,
    definePlugin({ name: "user", version: "1.0.0", kernel: "^1", requires: ["compression"], register(c) {
      ctx = c;
      svc = c.use("compression");
    } }),
  ]);
  t.same(svc.codecNames, ["zlib", "snappy"]);
  t.throws(() => svc.codec("lz77"), { code: "VMSCN7401" });
  t.throws(() => svc.codec("zlib", 12), { code: "VMSCN7402" });
  t.throws(() => svc.codec("snappy", 1), { code: "VMSCN7402" });
  t.throws(() => svc.xbzrle("x", { cacheBytes: 10 }), { code: "VMSCN7403" });
  t.throws(() => svc.xbzrle("x", { cacheBytes: 4096, changedBytes: 0 }), { code: "VMSCN7403" });
  t.throws(() => svc.xbzrle("x", { cacheBytes: 2 ** 52 }), { code: "VMSCN7403", message: /larger than the largest guest/ });
  t.equal(svc.xbzrle("y", { cacheBytes: 2 ** 52, guestPages: 1000 }).stats["cache-size"], 2 ** 52, "with its guest's pages: the size asked for");
  k.addHost({ name: "a", cpus: 1, memoryBytes: 1 << 30 });
  const w = ctx.systemWorld("helper", k.cluster.host("a"));
  t.equal(svc.timeOn(w, 1000), 1000, "a world not running: its CPU time as it is");
  k.cluster.setState(w, "running");
  const w2 = ctx.systemWorld("helper2", k.cluster.host("a"));
  k.cluster.setState(w2, "running");
  t.equal(svc.timeOn(w, 1000), 2000, "two worlds on one CPU: twice as long");
  const s = svc.session("checkpoint:web", svc.codec("zlib", 1));
  s.encodeBlock(new Float64Array([privatePage(12, 1, 1), 0]), 0, 2, 0b10);
  svc.session("idle", svc.codec("snappy"));
  const x = svc.xbzrle("migrate:web", { cacheBytes: 1 << 20 });
  x.send(1, 7);
  svc.xbzrle("unused", { cacheBytes: 1 << 20 });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const r = (k.report("t") as any).compression;
  t.same(Object.keys(r).sort(), ["checkpoint:web", "migrate:web"], "sessions and caches that did nothing are left out");
  const c = r["checkpoint:web"];
  t.same([c.codec, c.level, c.pages, c["zero-pages"], c["untouched-pages"], c["bytes-in"], c["cpu-time"]], ["zlib", 1, 2, 1, 1, PAGE, PAGE * 8]);
  t.equal(c.ratio, (2 * PAGE) / c["bytes-out"]);
  t.equal(c["bytes-saved"], 2 * PAGE - c["bytes-out"]);
  t.equal(r["migrate:web"].xbzrle["cache-miss"], 1);
  const tables = k.metrics.collectTables();
  t.ok(tables.some((tb) => tb.title === "compression" && tb.rows.length === 1));
});
