import t from "tap";
import { deflateSync } from "node:zlib";
import { pageBytes, imagePage, privatePage, kindOf, ContentKind, ContentSampler, ImageRegistry, compressibility } from "../../core/memory/content.js";
import { RandomStreams } from "../../core/sim/random.js";

t.test("identities encode their kind", (t) => {
  t.equal(kindOf(0), ContentKind.Zero);
  t.equal(kindOf(imagePage(3, 17)), ContentKind.Image);
  t.equal(kindOf(privatePage(0, 5, 9)), ContentKind.Random);
  t.equal(kindOf(privatePage(8, 5, 9)), ContentKind.CompressibleBase + 8);
  t.ok(privatePage(0, 5, 9) < 2 ** 53);
  t.not(privatePage(0, 5, 9), privatePage(0, 6, 9), "worlds never collide");
  t.not(privatePage(0, 5, 9), privatePage(0, 5, 10));
  t.equal(compressibility(privatePage(4, 1, 1)), 0.25);
  t.end();
});

t.test("page bytes are deterministic and really compress as declared", (t) => {
  const zero = pageBytes(0);
  t.equal(zero.length, 4096);
  t.ok(zero.every((b) => b === 0));
  const a = pageBytes(privatePage(0, 1, 1));
  const b = pageBytes(privatePage(0, 1, 1));
  const eq = (x: Uint8Array, y: Uint8Array) => Buffer.from(x).equals(Buffer.from(y));
  t.ok(eq(a, b), "same identity, same bytes");
  t.notOk(eq(a, pageBytes(privatePage(0, 1, 2))));
  const ratio = (id: number) => 4096 / deflateSync(pageBytes(id)).length;
  t.ok(ratio(privatePage(0, 1, 1)) < 1.01, `random pages do not compress (${ratio(privatePage(0, 1, 1))})`);
  const half = ratio(privatePage(8, 1, 1));
  t.ok(half > 1.8 && half < 2.1, `8/16 compressible compresses about 2x (${half})`);
  t.ok(ratio(0) > 100, "zero pages compress away");
  const out = new Uint8Array(8192);
  pageBytes(imagePage(1, 2), out, 4096);
  t.ok(eq(out.subarray(4096), pageBytes(imagePage(1, 2))), "writes at an offset");
  t.end();
});

t.test("the sampler follows the mix and names images in first-use order", (t) => {
  const images = new ImageRegistry();
  images.id("other");
  const s = new ContentSampler(
    { zero: 0.2, images: [{ name: "debian-12", fraction: 0.3 }], random: 0.5, compressible: [] },
    images,
    4,
    new RandomStreams(1).stream("c"),
  );
  t.equal(images.id("debian-12"), 2);
  t.same(images.names(), ["other", "debian-12"]);
  const counts = { zero: 0, image: 0, random: 0 };
  const seen = new Set<number>();
  for (let i = 0; i < 20_000; i++) {
    const c = s.next(i % 100);
    const k = kindOf(c);
    if (k === ContentKind.Zero) counts.zero++;
    else if (k === ContentKind.Image) {
      counts.image++;
      if (c !== imagePage(2, i % 100)) t.fail("image page content follows the guest page");
    } else {
      counts.random++;
      if (seen.has(c)) t.fail("private contents are unique");
      seen.add(c);
    }
  }
  t.ok(Math.abs(counts.zero - 4000) < 300, `zero ${counts.zero}`);
  t.ok(Math.abs(counts.image - 6000) < 300, `image ${counts.image}`);
  t.ok(Math.abs(counts.random - 10000) < 300, `random ${counts.random}`);
  const only = new ContentSampler({ zero: 0, images: [], random: 0, compressible: [{ level: 4, fraction: 1 }] }, images, 1, new RandomStreams(1).stream("d"));
  const pages = Int32Array.from([0, 1]);
  const out = new Float64Array(2);
  only.fill(pages, out, 2);
  t.equal(kindOf(out[0]!), ContentKind.CompressibleBase + 4);
  const fallback = new ContentSampler({ zero: 0, images: [], random: 0, compressible: [] }, images, 1, new RandomStreams(1).stream("e"));
  t.equal(kindOf(fallback.next(0)), ContentKind.Random);
  t.end();
});
