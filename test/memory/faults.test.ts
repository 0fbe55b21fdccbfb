import t from "tap";
import { setup } from "./helpers.js";
import { PageState, Trap } from "../../core/memory/page.js";
import { WAIT, type Fault } from "../../core/memory/memory.js";

t.test("write-protect faults run every handler in registration order", (t) => {
  const { memory } = setup(16);
  const g = memory.createGuest(0, "web", 4, 0);
  memory.populate(g, 1, 5);
  memory.setTraps(g, 1, Trap.WriteProtect);
  const seen: string[] = [];
  memory.onFault("write-protect", (f: Fault) => {
    seen.push(`first:${f.page}:${f.write}:${f.content}`);
    return 0;
  });
  memory.onFault("write-protect", (f: Fault) => {
    seen.push("second");
    memory.clearTraps(f.guest, f.page, Trap.WriteProtect);
    return 0;
  });
  t.equal(memory.write(g, 1, 9), 0);
  t.same(seen, ["first:1:true:9", "second"]);
  t.equal(memory.peek(g, 1), 9);
  t.equal(g.faults, 1);
  t.equal(memory.read(g, 1), 0, "write-protect does not trap reads");
  t.end();
});

t.test("a handler that stalls delays the access; the caller retries after the stall", (t) => {
  const { memory } = setup(16);
  const g = memory.createGuest(0, "web", 8, 0);
  for (let p = 0; p < 8; p++) memory.setAbsent(g, p, PageState.AbsentFetch);
  const fetched: number[] = [];
  memory.onFault("absent-fetch", (f) => {
    fetched.push(f.page);
    if (f.page === 5) {
      memory.populate(f.guest, f.page, 55);
      return 120_000; // round trip + transfer
    }
    memory.populate(f.guest, f.page, f.page);
    return 0;
  });
  const pages = Int32Array.from([1, 2, 5, 6]);
  const contents = Float64Array.from([10, 20, 50, 60]);
  t.equal(memory.writeBatch(g, pages, contents, 0, 4), 2, "stopped at the access that stalled");
  t.equal(memory.stall, 120_000);
  t.equal(memory.peek(g, 5), 55, "the fetched content, not yet overwritten");
  t.equal(memory.writeBatch(g, pages, contents, 2, 4), 4);
  t.same(fetched, [1, 2, 5, 6]);
  t.same([1, 2, 5, 6].map((p) => memory.peek(g, p)), [10, 20, 50, 60]);
  t.equal(g.writes, 4);
  t.end();
});

t.test("WAIT parks the vCPU until the plugin wakes it", (t) => {
  const { memory, scheduler } = setup(16);
  const g = memory.createGuest(0, "web", 4, 0);
  memory.setAbsent(g, 0, PageState.AbsentRestore);
  memory.onFault("absent-restore", () => WAIT);
  t.equal(memory.read(g, 0, 2), WAIT);
  const woke: number[] = [];
  memory.waitFor(g, 2, () => woke.push(scheduler.now));
  scheduler.at(300, () => {
    memory.populate(g, 0, 77);
    memory.wake(g, 2);
    memory.wake(g, 3); // nobody waits there
  });
  scheduler.run();
  t.same(woke, [300]);
  t.equal(memory.read(g, 0, 2), 0);
  t.equal(memory.lastRead, 77);
  t.end();
});

t.test("access traces trap reads and writes; write traces only writes", (t) => {
  const { memory } = setup(16);
  const g = memory.createGuest(0, "web", 4, 0);
  memory.populate(g, 0, 1);
  memory.populate(g, 1, 2);
  memory.setTrapsAll(g, Trap.AccessTrace);
  memory.setTraps(g, 3, Trap.WriteTrace);
  const log: string[] = [];
  memory.onFault("access-trace", (f) => {
    log.push(`at:${f.page}:${f.write ? "w" : "r"}`);
    memory.clearTraps(f.guest, f.page, Trap.AccessTrace);
    return 0;
  });
  memory.onFault("write-trace", (f) => {
    log.push(`wt:${f.page}`);
    memory.clearTraps(f.guest, f.page, Trap.WriteTrace);
    return 0;
  });
  memory.read(g, 0);
  memory.read(g, 0);
  memory.write(g, 1, 5);
  t.equal(memory.readBatch(g, Int32Array.from([2, 2]), 0, 2), 2);
  memory.write(g, 3, 9); // access trace first, then the write trace
  t.same(log, ["at:0:r", "at:1:w", "at:2:r", "at:3:w", "wt:3"]);
  memory.clearTrapsAll(g, Trap.AccessTrace);
  t.end();
});

t.test("a handler that neither resolves nor stalls is reported", (t) => {
  const { memory } = setup(16);
  const g = memory.createGuest(0, "web", 4, 0);
  memory.populate(g, 0, 1);
  memory.setTraps(g, 0, Trap.WriteProtect);
  memory.onFault("write-protect", () => 0);
  t.throws(() => memory.write(g, 0, 2), { code: "VMSCN5008" });
  memory.setAbsent(g, 1, PageState.AbsentFetch);
  memory.onFault("absent-fetch", () => 0);
  t.throws(() => memory.read(g, 1), { code: "VMSCN5008" });
  memory.setTraps(g, 2, Trap.AccessTrace);
  const off = memory.onFault("access-trace", () => 0);
  t.throws(() => memory.read(g, 2), { code: "VMSCN5008" });
  off();
  t.throws(() => memory.read(g, 2), { code: "VMSCN5007" });
  t.end();
});

t.test("a fault with no handler names the page, the guest and the kind", (t) => {
  const { memory } = setup(16);
  const g = memory.createGuest(0, "db", 4, 0);
  memory.setAbsent(g, 3, PageState.AbsentRestore);
  t.throws(() => memory.read(g, 3), {
    code: "VMSCN5007",
    message: 'a read of page 3 of "db" faulted (absent-restore, page absent-restore) and no plugin handles "absent-restore" faults',
  });
  t.end();
});

t.test("census counts pages by state", (t) => {
  const { memory } = setup(16);
  const g = memory.createGuest(0, "db", 6, 0);
  memory.populate(g, 0, 1);
  memory.setAbsent(g, 1, PageState.AbsentRestore);
  memory.setAbsent(g, 2, PageState.AbsentFetch);
  t.same(g.census(), { unbacked: 3, present: 1, absentRestore: 1, absentFetch: 1, remote: 0 });
  t.ok(Number.isNaN(memory.peek(g, 1)));
  t.end();
});
