import t from "tap";
import { RandomStreams } from "../../core/sim/random.js";

t.test("a stream depends only on the seed and its name", (t) => {
  const a = new RandomStreams(42);
  const b = new RandomStreams(42);
  const x = a.stream("vm:web");
  a.stream("vm:db").u32(); // another stream drawn in between changes nothing
  const y = b.stream("vm:web");
  const xs = Array.from({ length: 8 }, () => x.u32());
  const ys = Array.from({ length: 8 }, () => y.u32());
  t.same(xs, ys);
  t.not(new RandomStreams(43).stream("vm:web").u32(), xs[0]);
  t.not(a.stream("vm:web2").u32(), xs[0]);
  t.end();
});

t.test("draws are in range and roughly uniform", (t) => {
  const r = new RandomStreams(1).stream("u");
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const f = r.float();
    if (!(f >= 0 && f < 1)) t.fail(`float out of range: ${f}`);
    buckets[Math.floor(f * 10)]++;
  }
  for (const b of buckets) t.ok(Math.abs(b - 10_000) < 500, `bucket ${b} near 10000`);
  for (let i = 0; i < 1000; i++) {
    const k = r.int(7);
    if (k < 0 || k >= 7 || !Number.isInteger(k)) t.fail(`int(7) gave ${k}`);
  }
  const big = r.int(2 ** 40);
  t.ok(big >= 0 && big < 2 ** 40 && Number.isInteger(big));
  const b45 = r.bits(45);
  t.ok(b45 >= 0 && b45 < 2 ** 45 && Number.isInteger(b45));
  t.ok(r.bits(8) < 256);
  t.ok(r.bits(32) < 2 ** 32);
  let sum = 0;
  for (let i = 0; i < 20_000; i++) sum += r.exponential(5);
  t.ok(Math.abs(sum / 20_000 - 5) < 0.25, "exponential mean near 5");
  t.end();
});
