import "reflect-metadata";
import t from "tap";
import { container } from "tsyringe";
import { VmscnError } from "../../core/errors.js";
import { TOKENS } from "../../core/di/tokens.js";
import { Metrics, SERIES_MAX_POINTS, TimeSeries } from "../../core/report/metrics.js";
import { SECOND } from "../../core/sim/time.js";

t.test("groups keep registration order and are computed at collect time", (t) => {
  const m = new Metrics();
  let downtime = 0;
  m.group("migration", () => ({ downtime }), "precopy-migration");
  m.group("ksm", () => ({ pages_shared: 3 }), "tps");
  m.group("hosts", () => 2);
  t.same(m.groups().map((g) => [g.name, g.owner]), [["migration", "precopy-migration"], ["ksm", "tps"], ["hosts", undefined]]);
  downtime = 31;
  const out = m.collect();
  t.same(Object.keys(out), ["migration", "ksm", "hosts"]);
  t.same(out, { migration: { downtime: 31 }, ksm: { pages_shared: 3 }, hosts: 2 });
  t.end();
});

t.test("a group name registered twice is VMSCN6008 naming both owners", (t) => {
  const m = new Metrics();
  m.group("migration", () => 1, "precopy-migration");
  const err = t.throws(() => m.group("migration", () => 2, "postcopy-migration")) as unknown as VmscnError;
  t.equal(err.code, "VMSCN6008");
  t.equal(err.message, 'metric group "migration" is registered twice: by plugin "precopy-migration" and by plugin "postcopy-migration"');
  m.group("hosts", () => 1);
  t.throws(() => m.group("hosts", () => 1, "tps"), {
    code: "VMSCN6008",
    message: 'metric group "hosts" is registered twice: by the kernel and by plugin "tps"',
  });
  t.end();
});

t.test("a provider's throw passes through: the plugin host wraps a plugin's provider as its hook", (t) => {
  const k = new Metrics();
  const bug = new Error("kernel bug");
  k.group("hosts", () => {
    throw bug;
  });
  t.equal(t.throws(() => k.collect()), bug);
  t.end();
});

t.test("time series: append, growth and read-back", (t) => {
  const s = new TimeSeries("pages-left", "pages", 2);
  t.equal(s.length, 0);
  for (let i = 0; i < 1000; i++) s.append(i * 1000, 1000 - i);
  t.equal(s.length, 1000);
  t.equal(s.timeAt(0), 0);
  t.equal(s.valueAt(0), 1000);
  t.equal(s.timeAt(999), 999_000);
  t.equal(s.valueAt(999), 1);
  t.ok(Number.isNaN(s.valueAt(1000)));
  t.ok(Number.isNaN(s.timeAt(-1)));
  t.equal(s.times().length, 1000);
  t.equal(s.values()[500], 500);
  s.append(999_000, 0); // equal times are allowed (a step)
  t.equal(s.length, 1001);
  const err = t.throws(() => s.append(5000, 1)) as unknown as VmscnError;
  t.equal(err.code, "VMSCN5011");
  t.equal(err.message, 'time series "pages-left": a sample at 0.000005 s comes before the previous one at 0.000999 s');
  const small = new TimeSeries("x", "B/s", 0);
  small.append(1, 2.5);
  small.append(2, 3.5);
  t.same(JSON.parse(JSON.stringify(small.toJSON())), { unit: "B/s", timesNs: { 0: 1, 1: 2 }, values: { 0: 2.5, 1: 3.5 } });
  t.same(Array.from(small.toJSON().values), [2.5, 3.5]);
  t.end();
});

t.test("time series are bounded: full, they drop every other point and keep one sample in twice as many", (t) => {
  const s = new TimeSeries("x", "B", 2, 8);
  for (let i = 0; i < 8; i++) s.append(i, i * 10);
  t.same([...s.times()], [0, 1, 2, 3, 4, 5, 6, 7], "up to the bound, every sample");
  s.append(8, 80);
  // Full: samples 0, 2, 4, 6 stay; the new one is the last point.
  t.same([...s.times()], [0, 2, 4, 6, 8]);
  s.append(9, 90);
  t.same([...s.times()], [0, 2, 4, 6, 8, 9], "the newest sample is always last, kept or not");
  s.append(10, 100);
  t.same([...s.times()], [0, 2, 4, 6, 8, 10], "sample 9 was only the newest: 10 replaces it");
  t.same([...s.values()], [0, 20, 40, 60, 80, 100]);
  for (let i = 11; i <= 1000; i++) s.append(i, i * 10);
  t.ok(s.length <= 8 && s.length >= 4, `between half the bound and the bound (${s.length})`);
  t.equal(s.samples, 1001);
  const times = [...s.times()];
  t.equal(times[0], 0);
  t.equal(times[times.length - 1], 1000, "the end of the run shows");
  // Evenly spread: the kept points are one stride apart (the last one is the newest sample).
  const gaps = new Set(times.slice(1, -1).map((x, i) => x - times[i]!));
  t.equal(gaps.size, 1, `one spacing: ${[...gaps]}`);
  t.throws(() => s.append(999, 0), { code: "VMSCN5011" });
  t.end();
});

t.test("the default bound holds a run of days at 100 ms in 32 KiB", (t) => {
  const s = new TimeSeries("host.a.memory.used", "B");
  const n = 3 * 24 * 3600 * 10;
  for (let i = 0; i < n; i++) s.append(i * 1e8, i);
  t.ok(s.length <= SERIES_MAX_POINTS && s.length > SERIES_MAX_POINTS / 2, String(s.length));
  t.equal(s.timeAt(s.length - 1), (n - 1) * 1e8);
  t.equal(SERIES_MAX_POINTS, 2048);
  t.end();
});

t.test("series are created once per name and listed in creation order", (t) => {
  const m = new Metrics();
  const a = m.series("memory@a", "B");
  const b = m.series("bandwidth@l1", "B/s");
  t.equal(m.series("memory@a", "B"), a);
  t.same(m.allSeries(), [a, b]);
  t.throws(() => m.series("memory@a", "pages"), {
    code: "VMSCN6008",
    message: 'time series "memory@a" is registered twice, in B and in pages',
  });
  t.end();
});

t.test("Metrics resolves from a container", (t) => {
  const c = container.createChildContainer();
  c.registerSingleton(TOKENS.Metrics, Metrics);
  const m = c.resolve<Metrics>(TOKENS.Metrics);
  t.ok(m instanceof Metrics);
  t.equal(c.resolve(TOKENS.Metrics), m);
  t.end();
});
