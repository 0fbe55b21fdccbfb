import t from "tap";
import { setup } from "./helpers.js";
import { PageState, Trap } from "../../core/memory/page.js";
import { MachineMemory } from "../../core/memory/machine.js";
import type { VmscnError } from "../../core/errors.js";

t.test("machine memory hands out frames, reuses freed ones and tracks the peak", (t) => {
  const m = new MachineMemory(0, "a", 4 * 4096);
  t.equal(m.capacity, 4);
  t.same([m.alloc(11), m.alloc(12), m.alloc(13)], [0, 1, 2]);
  t.equal(m.used, 3);
  m.release(1);
  t.equal(m.used, 2);
  t.equal(m.alloc(14), 1, "the freed frame comes back first");
  t.equal(m.alloc(15), 3);
  t.equal(m.alloc(16), -1, "full");
  t.equal(m.peak, 4);
  t.equal(m.free, 0);
  t.end();
});

t.test("first writes allocate frames; rewrites do not", (t) => {
  const { memory } = setup(16);
  const g = memory.createGuest(0, "web", 8, 0);
  const mach = memory.machine(0);
  t.equal(g.state(3), PageState.Unbacked);
  t.equal(memory.peek(g, 3), 0, "an unbacked page reads as the zero page");
  t.equal(memory.write(g, 3, 777), 0);
  t.equal(g.state(3), PageState.Present);
  t.equal(mach.used, 1);
  t.equal(memory.write(g, 3, 778), 0);
  t.equal(mach.used, 1);
  t.equal(memory.peek(g, 3), 778);
  t.equal(memory.read(g, 3), 0);
  t.equal(memory.lastRead, 778);
  t.equal(memory.read(g, 4), 0);
  t.equal(memory.lastRead, 0);
  t.equal(g.writes, 2);
  t.equal(g.reads, 2);
  memory.checkInvariants([g]);
  t.end();
});

t.test("sharing and copy-on-write keep exact frame accounting", (t) => {
  const { memory } = setup(16);
  const mach = memory.machine(0);
  const a = memory.createGuest(0, "a", 4, 0);
  const b = memory.createGuest(1, "b", 4, 0);
  for (let p = 0; p < 4; p++) memory.populate(a, p, 100 + p);
  for (let p = 0; p < 4; p++) memory.populate(b, p, 200 + p);
  t.equal(mach.used, 8);
  // b's page 1 becomes a's page 1 (same content found by a scanner, say)
  memory.share(a, 1, b, 1);
  t.equal(mach.used, 7, "b's old frame was freed");
  t.equal(mach.refs[a.frame[1]!], 2);
  t.ok(a.meta[1]! & Trap.CopyOnWrite);
  t.ok(b.meta[1]! & Trap.CopyOnWrite);
  t.equal(memory.peek(b, 1), 101);
  memory.checkInvariants([a, b]);
  // the first write by b copies into a new frame for b only
  t.equal(memory.write(b, 1, 999), 0);
  t.equal(mach.used, 8);
  t.equal(b.cowBreaks, 1);
  t.equal(memory.peek(a, 1), 101, "a keeps the original");
  t.equal(memory.peek(b, 1), 999);
  t.equal(mach.refs[a.frame[1]!], 1);
  // a's next write finds itself the only sharer: no copy, the trap just goes
  t.equal(memory.write(a, 1, 555), 0);
  t.equal(mach.used, 8);
  t.equal(a.cowBreaks, 0);
  t.equal(a.meta[1]! & Trap.CopyOnWrite, 0);
  memory.checkInvariants([a, b]);
  t.end();
});

t.test("a fork shares every present page: no new frames until writes", (t) => {
  const { memory } = setup(64);
  const mach = memory.machine(0);
  const parent = memory.createGuest(0, "parent", 16, 0);
  for (let p = 0; p < 12; p++) memory.populate(parent, p, 1000 + p);
  const child = memory.createGuest(1, "child", 16, 0);
  t.equal(memory.shareAll(parent, child), 12);
  t.equal(mach.used, 12);
  const breaks: number[] = [];
  memory.onCowBreak((g, page) => breaks.push(page + (g === child ? 100 : 0)));
  memory.write(child, 0, 1);
  memory.write(parent, 5, 2);
  memory.write(child, 13, 3); // unbacked in both: a plain allocation
  t.same(breaks, [100, 5]);
  t.equal(mach.used, 15);
  t.equal(memory.peek(child, 5), 1005);
  t.equal(memory.peek(parent, 0), 1000);
  memory.checkInvariants([parent, child]);
  memory.releaseAll(child);
  t.equal(mach.used, 12);
  memory.releaseAll(parent);
  t.equal(mach.used, 0);
  memory.checkInvariants([parent, child]);
  t.end();
});

t.test("remote mappings count as references on the other host", (t) => {
  const { memory } = setup(8, 8);
  const src = memory.createGuest(0, "src", 4, 0);
  const moved = memory.createGuest(1, "moved", 4, 1);
  memory.populate(src, 2, 42);
  memory.share(src, 2, moved, 2);
  t.equal(moved.state(2), PageState.Remote);
  t.equal(memory.machine(0).refs[src.frame[2]!], 2);
  t.equal(memory.machine(1).used, 0);
  t.equal(memory.peek(moved, 2), 42);
  t.equal(memory.read(moved, 2), 0, "reading a remote page in place needs no handler");
  t.equal(memory.lastRead, 42);
  memory.checkInvariants([src, moved]);
  // a write needs the "remote" handler (remote copy-on-write); the kernel has none
  const err = t.throws(() => memory.write(moved, 2, 7)) as unknown as VmscnError;
  t.equal(err.code, "VMSCN5007");
  memory.onFault("remote", (f) => {
    memory.populate(f.guest, f.page, memory.peek(f.guest, f.page));
    return 0;
  });
  t.equal(memory.write(moved, 2, 7), 0);
  t.equal(moved.state(2), PageState.Present);
  t.equal(memory.machine(0).refs[src.frame[2]!], 1);
  t.equal(memory.machine(1).used, 1);
  t.equal(memory.peek(src, 2), 42);
  t.equal(memory.peek(moved, 2), 7);
  memory.checkInvariants([src, moved]);
  t.end();
});

t.test("running out of frames is a clear error that leaves the page as it was", (t) => {
  const { memory, scheduler } = setup(2);
  const g = memory.createGuest(0, "web", 4, 0);
  memory.write(g, 0, 1);
  memory.write(g, 1, 2);
  scheduler.at(5_000_000_000, () => {
    const err = t.throws(() => memory.write(g, 2, 3)) as unknown as VmscnError;
    t.equal(err.code, "VMSCN5002");
    t.equal(err.message, 'host "h0" is out of memory: no free frame for "web" (capacity 8 KiB, all 2 frames in use)');
    t.equal(err.time, 5_000_000_000);
  });
  scheduler.run();
  t.equal(g.state(2), PageState.Unbacked);
  memory.checkInvariants([g]);
  t.end();
});

t.test("out-of-range pages are refused", (t) => {
  const { memory } = setup(4);
  const g = memory.createGuest(0, "web", 4, 0);
  t.throws(() => memory.write(g, 4, 1), { code: "VMSCN5011" });
  t.throws(() => memory.read(g, -1), { code: "VMSCN5011" });
  t.throws(() => memory.createGuest(1, "x", 0, 0), { code: "VMSCN5011" });
  t.throws(() => memory.machine(9), { code: "VMSCN5005" });
  t.end();
});

t.test("checkInvariants finds a corrupted reference count and a leaked frame", (t) => {
  const { memory } = setup(8);
  const g = memory.createGuest(0, "web", 4, 0);
  memory.populate(g, 0, 5);
  memory.populate(g, 1, 6);
  const mach = memory.machine(0);
  mach.refs[g.frame[0]!] = 3;
  const err = t.throws(() => memory.checkInvariants([g])) as unknown as VmscnError;
  t.equal(err.code, "VMSCN5014");
  t.match(err.message, /frame 0 of host "h0" counts 3 references but 1 page-map entries point to it/);
  mach.refs[g.frame[0]!] = 1;
  // a page dropped without releasing its frame: the frame leaks
  g.frame[1] = -1;
  g.meta[1] = PageState.Unbacked;
  t.throws(() => memory.checkInvariants([g]), /frame 1 of host "h0" counts 1 references but 0 page-map entries point to it/);
  mach.refs[1] = 0;
  t.throws(() => memory.checkInvariants([g]), /frame 1 of host "h0" is neither free nor mapped \(leaked\)/);
  t.end();
});

t.test("a shared frame mapped without copy-on-write is an invariant violation", (t) => {
  const { memory } = setup(8);
  const a = memory.createGuest(0, "a", 2, 0);
  const b = memory.createGuest(1, "b", 2, 0);
  memory.populate(a, 0, 5);
  memory.share(a, 0, b, 0);
  b.meta[0] = PageState.Present;
  t.throws(() => memory.checkInvariants([a, b]), /maps a shared frame \(2 references\) without copy-on-write/);
  t.end();
});

t.test("land: a batch of arriving pages, each by its state; out of frames it stops at the page that found none", (t) => {
  const { memory } = setup(6, 6);
  const src = memory.createGuest(0, "src", 8, 0);
  const g = memory.createGuest(1, "dst", 8, 1);
  const mach = memory.machine(1);
  memory.populate(g, 0, 5); // present, private: rewritten in place
  memory.populate(g, 1, 6); // present, then zero: unbacked
  memory.populate(src, 2, 7);
  memory.share(src, 2, memory.createGuest(2, "other", 8, 0), 2); // (another host's sharing: untouched)
  memory.setAbsent(g, 3, PageState.AbsentRestore);
  memory.setTraps(g, 3, Trap.AccessTrace); // absent with a trap: present with the trap kept
  const frame0 = g.frame[0]!;
  const landed = memory.land(g, Int32Array.from([0, 1, 3, 4, 5, 6, 7]), Float64Array.from([50, 0, 30, 40, 0, 60, 70]), 7);
  t.equal(landed, 7);
  t.equal(g.frame[0], frame0, "rewritten in its own frame");
  t.same([0, 1, 3, 4, 5, 6, 7].map((p) => memory.peek(g, p)), [50, 0, 30, 40, 0, 60, 70]);
  t.same([0, 1, 3, 4, 5].map((p) => g.state(p)), [PageState.Present, PageState.Unbacked, PageState.Present, PageState.Present, PageState.Unbacked]);
  t.equal(g.meta[3]! & Trap.AccessTrace, Trap.AccessTrace, "the trap stays");
  t.equal(mach.used, 5, "frames for 0, 3, 4, 6, 7; none for the zero pages");
  // One frame left on host 1: page 2 gets it, page 1 finds none.
  t.equal(memory.landRange(g, 1, [10, 20], 2), 1, "page 1 took the last frame, page 2 found none");
  t.equal(memory.peek(g, 1), 10);
  t.equal(g.state(2), PageState.Unbacked, "nothing half done");
  memory.checkInvariants();
  t.end();
});
