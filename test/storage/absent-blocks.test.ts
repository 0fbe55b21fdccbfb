// Files with absent blocks (an IO touching one waits for the plugin's fill), drain, remove,
// dirty-block logs, and zero writes that cost no memory.
import "reflect-metadata";
import { Hooks } from "../../core/plugin-host/hooks.js";
import { throwsCode } from "../support/errors.js";
import t from "tap";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FairShare } from "../../core/net/fair-share.js";
import { isZero, Storage } from "../../core/storage/storage.js";
import { Scheduler } from "../../core/sim/scheduler.js";
import { defaultRunConfig } from "../../core/config.js";
import { VmscnError } from "../../core/errors.js";
import { US } from "../../core/sim/time.js";

const GB = 1e9; // 1 byte per ns
const BLOCK = 1000;

function setup(outDir?: string): { s: Scheduler; st: Storage } {
  const s = new Scheduler();
  return { s, st: new Storage(s, new FairShare(s), defaultRunConfig({ outDir }), new Hooks(s)) };
}

t.test("an IO on an absent block waits for its fill; present blocks do not wait", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 10 * US });
  const f = st.createFile("d", "f", 4 * BLOCK);
  const asked: string[] = [];
  const map = f.markAbsent(BLOCK, Int32Array.of(1, 2, 1), (b) => asked.push(`${b}@${s.now}`));
  t.equal(f.absent, map);
  t.equal(map.count, 2, "block 1 listed twice counts once");
  t.same([map.isAbsent(0), map.isAbsent(1), map.isAbsent(2), map.isAbsent(3)], [false, true, true, false]);
  const done: Record<string, number> = {};
  // Block 0 is present: 100 B at 1 B/ns + 10 us.
  f.read("a", 0, 100, () => (done.present = s.now));
  // Block 1: waits; a second IO on it waits too (the plugin is told twice, fills once).
  const r = f.read("a", BLOCK + 10, 100, (b) => (done.r = s.now + b![0]!));
  const w = f.write("a", BLOCK + 500, Uint8Array.of(9), () => (done.w = s.now));
  t.equal(r.state, "waiting");
  t.equal(w.state, "waiting");
  t.equal(f.inFlight, 3);
  t.same(asked, ["1@0", "1@0"]);
  t.equal(map.waits, 2);
  // The fill lands at 50 us: 1000 B + 10 us.
  s.at(50 * US, () => {
    const data = new Uint8Array(BLOCK).fill(7);
    map.fill("a", 1, data, () => (done.fill = s.now));
    t.equal(map.isFilling(1), true);
    t.equal(map.nextAbsent(0), 2, "a block being filled is skipped");
  });
  s.run();
  // fill: 50000 + 1000 + 10000 = 61000; then r and w start together at 61000, sharing the
  // datastore: r's 100 B and w's 1 B at 0.5 B/ns each: w drains at 61002, r at 61101; + 10 us.
  t.same(done, { present: 10_100, fill: 61_000, w: 71_002, r: 71_101 + 7 });
  t.equal(map.stallNs, 2 * 61_000);
  t.equal(map.count, 1);
  t.equal(f.peek(BLOCK + 500, 1)[0], 9, "the waiting write went after the fill");
  t.equal(f.peek(BLOCK + 499, 1)[0], 7);
  t.equal(f.inFlight, 0);
  t.end();
});

t.test("an IO spanning two absent blocks waits for both; the map detaches when the last arrives", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  // The last block is short: 2500 B = blocks of 1000, 1000, 500.
  const f = st.createFile("d", "f", 2500);
  const asked: number[] = [];
  const map = f.markAbsent(BLOCK, null, (b) => asked.push(b));
  t.equal(map.count, 3);
  t.equal(map.blockLength(2), 500);
  let at = -1;
  f.read("a", 900, 200, () => (at = s.now), undefined, { data: false });
  t.same(asked, [0, 1]);
  map.fill("a", 0, new Uint8Array(BLOCK), () => {});
  s.run();
  t.equal(at, -1, "still waiting for block 1");
  map.fill("a", 1, new Uint8Array(BLOCK), () => {});
  map.fill("a", 2, new Uint8Array(500), () => {});
  s.run();
  // Block 0 at 1000 ns; blocks 1 (1000 B) and 2 (500 B) share from 1000: 2 drains at 2000,
  // 1 at 2500; the read's 200 B then take 200 ns.
  t.equal(at, 2700);
  t.equal(map.count, 0);
  t.equal(f.absent, null, "detached");
  t.equal(map.nextAbsent(0), -1);
  // A file with nothing absent gets no map.
  const g = st.createFile("d", "g", 10);
  g.markAbsent(BLOCK, new Int32Array(0), () => t.fail("nothing to fetch"));
  t.equal(g.absent, null);
  t.end();
});

t.test("fills are checked: a present block, a block being filled, a wrong length", (t) => {
  const { st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "f", 3 * BLOCK);
  throwsCode(t, () => f.markAbsent(0, null, () => {}), "VMSCN5011", /whole, positive block size/);
  throwsCode(t, () => f.markAbsent(BLOCK, Int32Array.of(3), () => {}), "VMSCN5011", /^block 3 is outside file "f" \(3 blocks of 1000 bytes\)$/);
  const map = f.markAbsent(BLOCK, Int32Array.of(1), () => {});
  throwsCode(t, () => f.markAbsent(BLOCK, null, () => {}), "VMSCN5011", /has absent blocks already/);
  throwsCode(t, () => map.fill("a", 0, new Uint8Array(BLOCK), () => {}), "VMSCN5011", /^block 0 of file "f" is not absent/);
  throwsCode(t, () => map.fill("a", 1, new Uint8Array(10), () => {}), "VMSCN5011", /holds 1000 bytes; a fill of 10 bytes/);
  throwsCode(t, () => map.fill("b", 1, new Uint8Array(BLOCK), () => {}), "VMSCN5012", /not reachable from host "b"/);
  t.equal(map.isFilling(1), false, "a refused fill leaves nothing behind");
  map.fill("a", 1, new Uint8Array(BLOCK), () => {});
  throwsCode(t, () => map.fill("a", 1, new Uint8Array(BLOCK), () => {}), "VMSCN5011", /is being filled already/);
  t.end();
});

t.test("fail: waiting IOs fail with the error, later IOs on absent blocks are refused, present ones go on", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "f", 3 * BLOCK);
  const map = f.markAbsent(BLOCK, Int32Array.of(1, 2), () => {});
  const seen: string[] = [];
  f.read("a", BLOCK, 10, () => seen.push("read done"), (e) => seen.push(`read ${e.code} ${s.now}: ${e.message}`));
  f.write("a", 2 * BLOCK, 10, () => seen.push("write done"), (e) => seen.push(`write ${e.code}`));
  const err = new VmscnError("VMSCN5010", 'host "src" crashed', { time: 5 });
  s.at(5, () => {
    map.fail(err);
    seen.push("failed");
  });
  s.run();
  t.same(seen, ["failed", 'read VMSCN5010 5: host "src" crashed', "write VMSCN5010"]);
  t.equal(map.failed, err);
  t.equal(f.inFlight, 0);
  throwsCode(t, () => f.read("a", BLOCK + 5, 1, () => {}), "VMSCN5010", /^read of 1 bytes at offset 1005 from file "f" on datastore "d": its blocks cannot arrive any more \(host "src" crashed\)$/);
  let ok = false;
  f.read("a", 0, 10, () => (ok = true));
  s.run();
  t.ok(ok, "block 0 is present");
  map.fail(err); // a second time: nothing more
  t.equal(st.datastore("d").stats().failed, 2);
  t.end();
});

t.test("a host crash fails a waiting IO and a fill; the block can be filled again", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a", "b"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "f", 2 * BLOCK);
  const map = f.markAbsent(BLOCK, null, () => {});
  const seen: string[] = [];
  f.read("a", 0, 10, () => seen.push("a done"), (e) => seen.push(`a ${e.code}`));
  map.fill("b", 0, new Uint8Array(BLOCK), () => seen.push("fill done"), (e) => seen.push(`fill ${e.code}`));
  s.at(10, () => {
    st.failHost("a");
    st.failHost("b");
  });
  s.run();
  t.same(seen, ["a VMSCN5010", "fill VMSCN5010"]);
  t.equal(map.isFilling(0), false);
  t.equal(map.isAbsent(0), true);
  st.restoreHost("b");
  let filled = false;
  map.fill("b", 0, new Uint8Array(BLOCK), () => (filled = true));
  s.run();
  t.ok(filled);
  t.equal(map.count, 1);
  t.end();
});

t.test("drain calls back once no IO is in flight", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "f", 10_000);
  const seen: string[] = [];
  f.drain(() => seen.push(`idle ${s.now}`));
  t.same(seen, ["idle 0"], "at once when idle");
  f.write("a", 0, 1000, () => seen.push(`w ${s.now}`));
  const r = f.read("a", 0, 5000, () => seen.push(`r ${s.now}`));
  f.drain(() => seen.push(`drained ${s.now}`));
  s.at(1500, () => r.cancel());
  s.run();
  // w and r share 0.5 B/ns each; r is cancelled at 1500 with 750 B of w through, and w's
  // last 250 B go alone by 1750.
  t.same(seen, ["idle 0", "w 1750", "drained 1750"]);
  t.end();
});

t.test("remove: refused with IOs in flight; the file and its real file are gone", (t) => {
  const dir = t.testdir();
  const { s, st } = setup(dir);
  const ds = st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "copy", 2 * BLOCK, { backing: true });
  const log = f.openDirtyLog(BLOCK);
  f.markAbsent(BLOCK, null, () => {});
  t.ok(existsSync(join(dir, "d", "copy")));
  const io = f.read("a", 0, 10, () => t.fail("cancelled"));
  throwsCode(t, () => f.remove(), "VMSCN5011", /^file "copy" on datastore "d" has 1 IO\(s\) in flight; it cannot be removed before they end$/);
  io.cancel();
  f.remove();
  f.remove(); // twice: nothing more
  t.equal(f.removed, true);
  t.equal(log.closed, true);
  t.equal(f.absent, null);
  t.notOk(existsSync(join(dir, "d", "copy")), "the real file is deleted");
  t.equal(ds.hasFile("copy"), false);
  t.equal(ds.stats().files, 0);
  throwsCode(t, () => f.write("a", 0, 1, () => {}), "VMSCN5005", /^file "copy" was removed from datastore "d": it cannot be written$/);
  throwsCode(t, () => f.read("a", 0, 1, () => {}), "VMSCN5005", /cannot be read$/);
  throwsCode(t, () => f.markAbsent(BLOCK, null, () => {}), "VMSCN5005");
  const again = st.createFile("d", "copy", 10);
  t.not(again, f, "the name is free again");
  s.run();
  st.close();
  t.end();
});

t.test("writing zeros where nothing was written costs no memory; over data it clears it", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "f", 256 * 1024);
  f.write("a", 0, new Uint8Array(200_000), () => {});
  s.run();
  t.equal(f.chunks.size, 0);
  f.write("a", 70_000, Uint8Array.of(1, 2, 3), () => {});
  s.run();
  t.equal(f.chunks.size, 1);
  // Zeros across the written chunk and an empty one: the data is cleared, no chunk is added.
  f.write("a", 60_000, new Uint8Array(80_000), () => {});
  s.run();
  t.equal(f.chunks.size, 1);
  t.same(Array.from(f.peek(70_000, 3)), [0, 0, 0]);
  // An odd offset (the 4-byte fast path does not apply).
  f.write("a", 1, new Uint8Array(7).fill(0), () => {});
  s.run();
  t.equal(f.chunks.size, 1);
  t.end();
});

t.test("dirty-block logs: writes mark the blocks they cover; read-and-clear; close", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "f", 2500);
  throwsCode(t, () => f.openDirtyLog(0), "VMSCN5011");
  const log = f.openDirtyLog(BLOCK);
  const other = f.openDirtyLog(BLOCK);
  t.equal(log.blocks, 3);
  f.write("a", 900, 200, () => {});
  f.write("a", 2400, 0, () => {});
  f.read("a", 2000, 10, () => {});
  s.run();
  t.equal(log.count, 2);
  t.ok(log.isDirty(0) && log.isDirty(1) && !log.isDirty(2));
  t.same(Array.from(log.readAndClear()), [0, 1]);
  t.equal(log.count, 0);
  t.equal(other.count, 2, "each log is its own");
  t.equal(log.nextDirty(0), -1, "nothing dirty");
  log.markAll();
  log.clear(1);
  log.clear(1); // a clean block: nothing more
  t.equal(log.count, 2);
  t.same([log.nextDirty(0), log.nextDirty(1), log.nextDirty(3)], [0, 2, -1]);
  t.same(Array.from(log.readAndClear()), [0, 2]);
  log.close();
  log.close();
  f.write("a", 0, 1, () => {});
  s.run();
  t.equal(log.count, 0, "a closed log is not marked");
  t.equal(other.count, 2);
  t.equal(f.logs.length, 1);
  t.end();
});

t.test("writeZeros: a timed write whose range reads as zeros, costing no memory; isZeroRange", (t) => {
  const dir = t.testdir();
  const { s, st } = setup(dir);
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  for (const backing of [false, true]) {
    const f = st.createFile("d", `f${backing}`, 300_000, { backing });
    f.write("a", 60_000, new Uint8Array(100_000).fill(5), () => {});
    s.run();
    t.equal(f.isZeroRange(0, 60_000), true);
    t.equal(f.isZeroRange(0, 60_001), false);
    t.equal(f.isZeroRange(160_000, 140_000), true);
    let at = -1;
    const t0 = s.now;
    // Zeros over the end of one chunk, all of the next, the start of a third.
    f.writeZeros("a", 65_000, 80_000, () => (at = s.now));
    t.equal(f.isZeroRange(65_000, 10), false, "not before it completes");
    s.run();
    t.equal(at - t0, 80_000, "timed as any write of that length");
    t.equal(f.isZeroRange(65_000, 80_000), true);
    t.same(Array.from(f.peek(64_999, 2)), [5, 0]);
    t.same(Array.from(f.peek(144_999, 2)), [0, 5]);
    if (!backing) t.equal(f.chunks.size, 2, "the chunk it covered whole is dropped");
    t.equal(f.bytesWritten, 180_000);
  }
  throwsCode(t, () => st.file("d", "ffalse").isZeroRange(299_999, 2), "VMSCN5012");
  st.close();
  t.end();
});

t.test("a fill of zeros clears what the block held; a fill's data is copied when issued", (t) => {
  const { s, st } = setup();
  st.addDatastore("d", { hosts: ["a"], bandwidth: GB, latency: 0 });
  const f = st.createFile("d", "f", 2 * BLOCK);
  f.write("a", 0, new Uint8Array(2 * BLOCK).fill(3), () => {});
  s.run();
  const map = f.markAbsent(BLOCK, null, () => {});
  map.fill("a", 0, null, () => {});
  const data = new Uint8Array(BLOCK).fill(4);
  map.fill("a", 1, data, () => {});
  data.fill(9);
  s.run();
  t.equal(f.isZeroRange(0, BLOCK), true, "stale bytes cleared");
  t.same(Array.from(f.peek(BLOCK, 2)), [4, 4]);
  t.equal(f.absent, null);
  t.end();
});

t.test("isZero", (t) => {
  t.equal(isZero(new Uint8Array(0)), true);
  t.equal(isZero(new Uint8Array(9)), true);
  t.equal(isZero(Uint8Array.of(0, 0, 0, 0, 0, 1)), false);
  t.equal(isZero(Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 0)), false);
  t.equal(isZero(new Uint8Array(8).subarray(1)), true, "unaligned view");
  t.end();
});
