// The page coder: what each page of a batch costs on the wire and in CPU when a migration
// compresses or delta-encodes, against the compression plugin's real codecs and cache.
import "reflect-metadata";
import t from "tap";
import { imagePage, privatePage } from "../../core/memory/content.js";
import type { World } from "../../core/api.js";
import { makeCodec } from "../compression/codecs.js";
import { Session, Xbzrle } from "../compression/service.js";
import { COMPRESSED_PAGE_OVERHEAD, PageCoder, type CodingOptions } from "./coding.js";
import type { CompressionService } from "../compression/api.js";

const port: CompressionService = {
  codecNames: ["zlib", "snappy"],
  codec: (name, level) => makeCodec(name as "zlib" | "snappy", level),
  session: (name, codec) => new Session(name, codec as ReturnType<typeof makeCodec>),
  xbzrle: (name, o) => new Xbzrle(name, o),
  timeOn: (_w: World, ns: number) => ns,
};

const base: CodingOptions = { compress: "none", compressLevel: undefined, compressThreads: 8, decompressThreads: 2, xbzrle: false, xbzrleCacheBytes: 1 << 20 };

function batch(coder: PageCoder, contents: number[], started: boolean, writes = 1) {
  return coder.batch(Int32Array.from(contents.map((_, i) => i)), Float64Array.from(contents), contents.length, started, writes);
}

t.test("compression: zero pages are markers, compressible pages shrink, incompressible ones go whole", async (t) => {
  const coder = new PageCoder(port, "m", { ...base, compress: "zlib", compressLevel: 1 }, 4096);
  const compressible = privatePage(12, 1, 7); // 12/16 of its bytes compress away
  const random = privatePage(0, 1, 8);
  const b = batch(coder, [0, compressible, random, 0], false);
  t.equal(b.zero, 2);
  t.equal(b.compressed, 1);
  t.equal(b.normal, 1, "the random page did not shrink");
  t.ok(b.compressedBytes > 0 && b.compressedBytes < 4096 / 2);
  t.equal(b.bytes, 2 * 9 + COMPRESSED_PAGE_OVERHEAD + b.compressedBytes + 4104);
  t.equal(b.sendNs, 2 * 4096 * 8, "zlib level 1 costs 8 ns a byte for each page with contents");
  t.equal(b.receiveNs, 4096 * 2.5, "only the compressed page is decompressed");
  t.equal(coder.figures!.pages, 1);
  t.equal(coder.figures!["compressed-size"], b.compressedBytes);
  t.equal(coder.figures!["compression-rate"], 4096 / b.compressedBytes);
  t.equal(coder.figures!["cpu-time"], 2 * 4096 * 8);
  t.equal(coder.figures!.level, 1);
  t.equal(coder.cache, null);
});

t.test("snappy has no level", async (t) => {
  const coder = new PageCoder(port, "m", { ...base, compress: "snappy" }, 4096);
  const b = batch(coder, [imagePage(3, 5)], false);
  t.equal(b.compressed, 1);
  t.equal(b.sendNs, 4096 * 2);
  t.equal(coder.figures!.level, null);
  t.equal(coder.figures!.codec, "snappy");
});

t.test("XBZRLE: nothing before it starts; then a miss, a hit on a change, nothing for an unchanged page", async (t) => {
  const coder = new PageCoder(port, "m", { ...base, xbzrle: true }, 64);
  const a1 = privatePage(0, 1, 100);
  const a2 = privatePage(0, 1, 101);
  const before = batch(coder, [a1], false);
  t.equal(before.normal, 1, "round 1: sent whole");
  t.equal(before.sendNs, 0, "and the cache is not touched");
  t.equal(coder.cache!.stats["cache-miss"], 0);
  const miss = batch(coder, [a1], true);
  t.same([miss.normal, miss.xbzrle, miss.bytes], [1, 0, 4104]);
  t.equal(miss.sendNs, 819, "compare and cache update: 0.1 ns a byte, twice over the page");
  const hit = batch(coder, [a2], true);
  t.equal(hit.xbzrle, 1);
  // One 64-byte run: ULEB128 offset (1 or 2 bytes), ULEB128 length (1), the bytes; QEMU's 3-byte header; the page header.
  t.ok(hit.bytes === 8 + 3 + 1 + 1 + 64 || hit.bytes === 8 + 3 + 2 + 1 + 64, `a hit of ${hit.bytes} bytes`);
  t.equal(hit.receiveNs, Math.round((hit.bytes - 11) * 0.1));
  const same = batch(coder, [a2], true);
  t.same([same.unchanged, same.bytes, same.normal], [1, 0, 0], "unchanged since last sent: nothing goes");
  const zero = batch(coder, [0], true);
  t.same([zero.zero, zero.bytes], [1, 9]);
  const after = batch(coder, [a1], true);
  t.equal(after.normal, 1, "a page that was zero in the cache changed throughout: overflow, sent whole");
  t.equal(coder.cache!.stats.overflow, 1);
  t.equal(coder.figures, null, "no compression figures without a codec");
});

t.test("compress and xbzrle together: compression until XBZRLE starts, then XBZRLE alone", async (t) => {
  const coder = new PageCoder(port, "m", { ...base, compress: "zlib", compressLevel: 1, xbzrle: true }, 4096);
  const p = privatePage(12, 1, 5);
  t.equal(batch(coder, [p], false).compressed, 1);
  const b = batch(coder, [p], true);
  t.same([b.compressed, b.normal], [0, 1], "a cache miss goes whole, not compressed");
  t.equal(coder.figures!.pages, 1);
});

t.test("more writes per page change more bytes", async (t) => {
  const coder = new PageCoder(port, "m", { ...base, xbzrle: true }, 16);
  batch(coder, [privatePage(0, 1, 1), privatePage(0, 1, 2)], true);
  const one = coder.batch(Int32Array.of(0), Float64Array.of(privatePage(0, 1, 3)), 1, true, 1);
  const many = coder.batch(Int32Array.of(1), Float64Array.of(privatePage(0, 1, 4)), 1, true, 20);
  t.ok(many.bytes > one.bytes, `${many.bytes} > ${one.bytes}`);
});
