import "reflect-metadata";
import { Hooks } from "../../core/plugin-host/hooks.js";
import { throwsCode } from "../support/errors.js";
import t, { type Test } from "tap";
import { existsSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FairShare } from "../../core/net/fair-share.js";
import { Storage } from "../../core/storage/storage.js";
import { Scheduler } from "../../core/sim/scheduler.js";
import { defaultRunConfig } from "../../core/config.js";
import { VmscnError } from "../../core/errors.js";
import { US } from "../../core/sim/time.js";

const GB = 1e9; // 1 byte per ns

function setup(outDir?: string): { s: Scheduler; st: Storage } {
  const s = new Scheduler();
  const fs = new FairShare(s);
  return { s, st: new Storage(s, fs, defaultRunConfig({ outDir }), new Hooks(s)) };
}


t.test("a timed write then read: bytes / bandwidth + latency", (t) => {
  const { s, st } = setup();
  const ds = st.addDatastore("local", { hosts: ["a"], bandwidth: GB, latency: 100 * US, iops: 1000 });
  t.equal(ds.shared, false);
  t.equal(st.datastore("local"), ds);
  const f = st.createFile("local", "disk", 4 << 20);
  const data = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
  let wrote = -1;
  let read: Uint8Array | undefined;
  let readAt = -1;
  const w = f.write("a", 4096, data, () => {
    wrote = s.now;
    f.read("a", 4096, 1 << 20, (bytes) => {
      read = bytes;
      readAt = s.now;
    });
  });
  t.equal(w.kind, "write");
  t.equal(w.state, "transferring");
  data[0] = 99; // the write copied its bytes when issued
  s.run();
  // 1 MiB = 1048576 B at 1e9 B/s = 1048576 ns, plus 100 us latency.
  t.equal(wrote, 1_148_576);
  t.equal(w.state, "done");
  // The read is issued at 1148576, after the 1 ms IOPS spacing since the write's admission at
  // 0, so it is admitted at once: 1148576 + 1048576 + 100000.
  t.equal(readAt, 2_297_152);
  t.equal(read!.length, 1 << 20);
  t.equal(read![0], 0);
  t.equal(read![1], 7);
  t.equal(read![1000], (1000 * 7) & 0xff);
  const dsStats = ds.stats();
  t.equal(dsStats.bytesWritten, 1 << 20);
  t.equal(dsStats.bytesRead, 1 << 20);
  t.equal(dsStats.ios, 2);
  t.equal(dsStats.rate, 0);
  t.same(f.stats(), { datastore: "local", name: "disk", size: 4 << 20, backed: false, path: null, bytesRead: 1 << 20, bytesWritten: 1 << 20, reads: 1, writes: 1 });
  t.end();
});

t.test("the IOPS limiter admits requests FIFO, 1/iops apart", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 100 * US, iops: 1000 });
  const f = st.createFile("d", "f", 1 << 20);
  const done: number[] = [];
  for (let i = 0; i < 3; i++) f.read("a", i * 4096, 4096, () => done.push(s.now));
  s.run();
  // Admitted at 0, 1 ms, 2 ms; each 4096 ns of transfer + 100 us.
  t.same(done, [104_096, 1_104_096, 2_104_096]);
  t.end();
});

t.test("fractional IOPS spacing does not drift", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0, iops: 3 });
  const f = st.createFile("d", "f", 100);
  const done: number[] = [];
  for (let i = 0; i < 4; i++) f.write("a", 0, 0, () => done.push(s.now));
  s.run();
  // 1e9 / 3 = 333333333.33 ns apart, each admission rounded up to a whole ns.
  t.same(done, [0, 333_333_334, 666_666_667, 1_000_000_000]);
  t.end();
});

t.test("concurrent IOs share the bandwidth max-min", (t) => {
  const { s, st } = setup();
  st.addDatastore("san", { hosts: ["a", "b"], bandwidth: GB, latency: 100 * US });
  t.equal(st.datastore("san").shared, true);
  t.equal(st.datastore("san").stats().iops, null);
  const f = st.createFile("san", "f", 10e6);
  const g = st.createFile("san", "g", 10e6);
  const done: Record<string, number> = {};
  f.read("a", 0, 1e6, () => (done.a = s.now), undefined, { data: false });
  g.write("b", 0, 3e6, () => (done.b = s.now));
  s.run(0);
  t.equal(st.datastore("san").stats().rate, GB);
  s.run();
  // Both at 5e8 B/s: a's 1e6 B drain at 2 ms (+0.1 ms). b then has 2e6 B left alone at 1e9:
  // 2 ms more, drained at 4 ms (+0.1 ms).
  t.same(done, { a: 2_100_000, b: 4_100_000 });
  const ss = st.stats();
  t.equal(ss.datastores[0]!.bytesRead, 1e6);
  t.equal(ss.datastores[0]!.bytesWritten, 3e6);
  t.equal(ss.datastores[0]!.reads, 1);
  t.equal(ss.datastores[0]!.writes, 1);
  t.equal(ss.datastores[0]!.files, 2);
  t.same(
    ss.files.map((x) => [x.name, x.bytesRead, x.bytesWritten]),
    [
      ["f", 1e6, 0],
      ["g", 0, 3e6],
    ],
  );
  t.end();
});

t.test("a read without data hands undefined", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "f", 100);
  let got: Uint8Array | undefined | null = null;
  f.read("a", 0, 10, (b) => (got = b), undefined, { data: false });
  s.run();
  t.equal(got, undefined);
  t.end();
});

t.test("out-of-bounds requests and unreachable hosts are refused", (t) => {
  const { st } = setup();
  st.addDatastore("local", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("local", "disk", 8192);
  throwsCode(t, () => f.read("a", 8190, 4, () => {}), "VMSCN5012", /^a read of 4 bytes at offset 8190 is outside file "disk" on datastore "local" \(8192 bytes\)$/);
  throwsCode(t, () => f.write("a", -1, 4, () => {}), "VMSCN5012");
  throwsCode(t, () => f.write("a", 0, new Uint8Array(8193), () => {}), "VMSCN5012");
  throwsCode(t, () => f.read("a", 0, -1, () => {}), "VMSCN5012");
  throwsCode(t, () => f.read("a", 0.5, 1, () => {}), "VMSCN5011");
  throwsCode(t, () => f.peek(0, 9000), "VMSCN5012");
  throwsCode(t, () => f.read("b", 0, 4096, () => {}), "VMSCN5012", /^datastore "local" is not reachable from host "b" \(it is attached to "a"\)$/);
  t.equal(st.reachable("local", "a"), true);
  t.equal(st.reachable("local", "b"), false);
  t.end();
});

t.test("a backed file is a real file; bytes read back equal bytes written", (t) => {
  const dir = t.testdir();
  const { s, st } = setup(dir);
  st.addDatastore("san", { hosts: ["a", "b"], bandwidth: GB, latency: 10 * US });
  const f = st.createFile("san", "ckpt/vm1.img", 1 << 20, { backing: true });
  t.equal(f.backed, true);
  const real = join(dir, "san", "ckpt", "vm1.img");
  t.equal(f.realPath, real);
  t.equal(f.stats().path, "san/ckpt/vm1.img");
  t.equal(statSync(real).size, 1 << 20, "preallocated");
  const data = new TextEncoder().encode("checkpoint page contents");
  let back: Uint8Array | undefined;
  f.write("a", 5000, data, () => {
    t.same(readFileSync(real).subarray(5000, 5000 + data.length), data, "on disk at completion");
    f.read("b", 4990, data.length + 20, (bytes) => (back = bytes));
  });
  t.same(readFileSync(real).subarray(5000, 5000 + data.length), new Uint8Array(data.length), "not before");
  s.run();
  t.same(back!.subarray(10, 10 + data.length), data);
  t.same(back!.subarray(0, 10), new Uint8Array(10));
  t.same(f.peek(5000, data.length), data);
  st.close();
  st.close();
  t.same(readFileSync(real).subarray(5000, 5000 + data.length), data);
  t.end();
});

t.test("backing without an output folder keeps the file in memory", (t) => {
  const { st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "f", 10, { backing: true });
  t.equal(f.backed, false);
  t.equal(f.realPath, undefined);
  t.end();
});

t.test("a backed file may not escape the output folder", (t) => {
  const dir = t.testdir();
  const { st } = setup(dir);
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  st.addDatastore("..", { hosts: ["a"], bandwidth: GB, latency: 0 });
  throwsCode(t, () => st.createFile("d", "../../x", 10, { backing: true }), "VMSCN5011", /outside the output folder/);
  throwsCode(t, () => st.createFile("..", "x", 10, { backing: true }), "VMSCN5011");
  t.notOk(existsSync(join(dir, "..", "x")));
  t.end();
});

t.test("a backed file is never written through a link or onto a special file under the output folder", (t) => {
  const dir = t.testdir({ outside: { precious: "keep me\n" }, out: { d: { dir: {} }, e: {} } });
  const out = join(dir, "out");
  symlinkSync(join(dir, "outside"), join(out, "link"));
  symlinkSync(join(dir, "outside", "precious"), join(out, "d", "f"));
  symlinkSync(join(dir, "outside"), join(out, "e", "sub"));
  const { st } = setup(out);
  for (const name of ["d", "e", "link"]) st.addDatastore(name, { hosts: ["a"], bandwidth: GB, latency: 0 });
  throwsCode(t, () => st.createFile("link", "x", 10, { backing: true }), "VMSCN5011", /^file "x" on datastore "link" cannot be stored under the output folder ".*": ".*\/out\/link" is a symbolic link$/);
  throwsCode(t, () => st.createFile("d", "f", 10, { backing: true }), "VMSCN5011", /".*\/out\/d\/f" is a symbolic link$/);
  throwsCode(t, () => st.createFile("e", "sub/x", 10, { backing: true }), "VMSCN5011", /".*\/out\/e\/sub" is a symbolic link$/);
  throwsCode(t, () => st.createFile("d", "dir", 10, { backing: true }), "VMSCN5011", /".*\/out\/d\/dir" is not a regular file$/);
  writeFileSync(join(out, "d", "plain"), "");
  throwsCode(t, () => st.createFile("d", "plain/x", 10, { backing: true }), "VMSCN5011", /".*\/out\/d\/plain" is not a folder$/);
  t.same(readdirSync(join(dir, "outside")), ["precious"]);
  t.equal(readFileSync(join(dir, "outside", "precious"), "utf8"), "keep me\n");
  // A regular file an earlier run left is truncated and reused.
  writeFileSync(join(out, "d", "old"), "x".repeat(100));
  st.createFile("d", "old", 10, { backing: true });
  t.same(readFileSync(join(out, "d", "old")), Buffer.alloc(10));
  t.end();
});

t.test("an unbacked file keeps written bytes; unwritten ranges read as zeros", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "f", 1 << 20);
  const data = new Uint8Array(100).fill(0xab);
  // Spans the boundary of two 64 KiB chunks.
  f.write("a", 65_500, data, () => {});
  f.write("a", 0, 4096, () => {}); // a length only: contents unchanged
  let back: Uint8Array | undefined;
  s.run();
  f.read("a", 65_450, 200, (b) => (back = b));
  s.run();
  t.same(back!.subarray(0, 50), new Uint8Array(50));
  t.same(back!.subarray(50, 150), data);
  t.same(back!.subarray(150), new Uint8Array(50));
  t.same(f.peek(0, 4096), new Uint8Array(4096));
  t.same(f.peek(500_000, 10), new Uint8Array(10));
  t.equal(f.bytesWritten, 4196);
  t.end();
});

t.test("a host crash fails its IOs in every phase (VMSCN5010)", (t) => {
  const { s, st } = setup();
  const ds = st.addDatastore("san", { hosts: ["a", "b"], bandwidth: GB, latency: 100 * US, iops: 1000 });
  const f = st.createFile("san", "disk", 10e6);
  const seen: string[] = [];
  const fail = (name: string) => (e: VmscnError) => seen.push(`${name} ${e.code} ${s.now}: ${e.message}`);
  const ok = (name: string) => () => seen.push(`${name} done ${s.now}`);
  // Admitted at 0, drained at 4096 ns: in its latency at 50 us (it would complete at 104096).
  f.read("a", 0, 4096, ok("lat"), fail("lat"));
  // Waits for the IOPS limiter (admission at 1 ms) at 50 us. (A crash while the bytes flow
  // is the next test.)
  f.write("a", 0, 1e6, ok("queued"), fail("queued"));
  // b's IO is admitted at 2 ms and is unaffected.
  f.write("b", 0, 4096, ok("b"), fail("b"));
  s.at(50 * US, () => st.failHost("a"));
  s.run();
  t.same(seen, [
    'lat VMSCN5010 50000: host "a" crashed at 0.00005 s: its read of 4096 bytes at offset 0 from file "disk" on datastore "san" failed',
    'queued VMSCN5010 50000: host "a" crashed at 0.00005 s: its write of 1000000 bytes at offset 0 to file "disk" on datastore "san" failed',
    "b done 2104096",
  ]);
  t.equal(ds.stats().failed, 2);
  throwsCode(t, () => f.read("a", 0, 1, () => {}), "VMSCN5010", /^host "a" is down: it cannot read file "disk" on datastore "san"$/);
  st.failHost("a");
  st.restoreHost("a");
  let back = -1;
  f.read("a", 0, 1, () => (back = s.now));
  s.run();
  t.equal(back, s.now);
  t.end();
});

t.test("an IO failing while its bytes flow; without onFail the error is thrown", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "f", 10e6);
  const io = f.write("a", 0, 1e6, () => t.fail("should not complete"));
  s.at(1000, () => {
    t.equal(io.state, "transferring");
    st.failHost("a");
  });
  try {
    s.run();
    t.fail("should throw");
  } catch (e) {
    t.equal((e as VmscnError).code, "VMSCN5010");
  }
  t.equal(io.state, "failed");
  t.equal(io.cancel(), false);
  t.equal(f.bytesWritten, 0);
  t.end();
});

t.test("cancel drops an IO quietly and frees its bandwidth", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "f", 10e6);
  const done: Record<string, number> = {};
  const x = f.read("a", 0, 2e6, () => (done.x = s.now));
  const y = f.read("a", 0, 2e6, () => (done.y = s.now));
  s.at(1_000_000, () => t.equal(y.cancel(), true));
  s.run();
  // x: 5e5 B by 1 ms, then 1.5e6 B alone at 1e9: 2.5 ms.
  t.same(done, { x: 2_500_000 });
  t.equal(x.describe(), 'read of 2000000 bytes at offset 0 from file "f" on datastore "d"');
  t.end();
});

t.test("names and arguments are checked", (t) => {
  const { st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  throwsCode(t, () => st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 }), "VMSCN5006", /^datastore "d" already exists$/);
  throwsCode(t, () => st.addDatastore("e", { hosts: [], bandwidth: GB, latency: 0 }), "VMSCN5011");
  throwsCode(t, () => st.addDatastore("e", { hosts: ["a"], bandwidth: 0, latency: 0 }), "VMSCN5011");
  throwsCode(t, () => st.addDatastore("e", { hosts: ["a"], bandwidth: GB, latency: 1.5 }), "VMSCN5011");
  throwsCode(t, () => st.addDatastore("e", { hosts: ["a"], bandwidth: GB, latency: 0, iops: 0 }), "VMSCN5011");
  throwsCode(t, () => st.datastore("x"), "VMSCN5005", /^there is no datastore "x"$/);
  throwsCode(t, () => st.reachable("x", "a"), "VMSCN5005");
  throwsCode(t, () => st.createFile("x", "f", 1), "VMSCN5005");
  st.createFile("d", "f", 1);
  throwsCode(t, () => st.createFile("d", "f", 1), "VMSCN5006", /^file "f" already exists on datastore "d"$/);
  throwsCode(t, () => st.createFile("d", "", 1), "VMSCN5011");
  throwsCode(t, () => st.createFile("d", "g", -1), "VMSCN5011");
  throwsCode(t, () => st.file("d", "nope"), "VMSCN5005", /^there is no file "nope" on datastore "d"$/);
  t.equal(st.file("d", "f").size, 1);
  t.equal(st.datastore("d").hasFile("f"), true);
  t.equal(st.hasDatastore("d"), true);
  t.equal(st.hasDatastore("x"), false);
  t.same(
    st.datastores().map((d) => d.name),
    ["d"],
  );
  t.end();
});
