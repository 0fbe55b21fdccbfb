// shareAll (a VM fork's sharing): the bulk path for a fresh child page map and the page-by-page
// path give the same page maps, references and copy-on-write marks.
import "reflect-metadata";
import t from "tap";
import { Scheduler } from "../../core/sim/scheduler.js";
import { Memory } from "../../core/memory/memory.js";
import { PageState, Trap } from "../../core/memory/page.js";

function setup(pages: number) {
  const m = new Memory(new Scheduler());
  m.addHost(0, "a", 64 << 20);
  const parent = m.createGuest(0, "p", pages, 0);
  // present, unbacked, absent-fetch, present with a write trap, ...
  for (let p = 0; p < pages; p++) {
    if (p % 4 === 1) continue;
    m.populate(parent, p, 100 + p);
    if (p % 4 === 2) m.setAbsent(parent, p, PageState.AbsentFetch);
    if (p % 4 === 3) m.setTraps(parent, p, Trap.WriteTrace);
  }
  return { m, parent };
}

t.test("a fresh child (bulk) and a child with a trap armed (page by page) end up alike", (t) => {
  for (const pages of [7, 64, 1001]) {
    const a = setup(pages);
    const fresh = a.m.createGuest(1, "fresh", pages, 0);
    const n1 = a.m.shareAll(a.parent, fresh);
    const b = setup(pages);
    const armed = b.m.createGuest(1, "armed", pages, 0);
    b.m.setTraps(armed, pages - 1, Trap.AccessTrace);
    const n2 = b.m.shareAll(b.parent, armed);
    t.equal(n1, n2, `${pages} pages: same count`);
    t.equal(n1, Math.ceil(pages / 4) + Math.floor(pages / 4), `${pages}: present pages only (p mod 4 = 0 or 3)`);
    const meta2 = Uint8Array.from(armed.meta);
    meta2[pages - 1] = meta2[pages - 1]! & ~Trap.AccessTrace;
    t.same(Array.from(fresh.meta), Array.from(meta2), `${pages}: same states and marks`);
    t.same(Array.from(fresh.frame), Array.from(armed.frame), `${pages}: same frames`);
    t.same(Array.from(a.parent.meta), Array.from(b.parent.meta), `${pages}: the parent marked copy-on-write alike`);
    t.same(Array.from(a.m.machine(0).refs.subarray(0, pages)), Array.from(b.m.machine(0).refs.subarray(0, pages)));
    a.m.checkInvariants();
    b.m.checkInvariants();
  }
  t.end();
});

t.test("a second fork of the same parent adds one reference per present page", (t) => {
  const { m, parent } = setup(16);
  const c1 = m.createGuest(1, "c1", 16, 0);
  const c2 = m.createGuest(2, "c2", 16, 0);
  m.shareAll(parent, c1);
  m.shareAll(parent, c2);
  t.equal(m.machine(0).refs[parent.frame[0]!], 3);
  t.equal(c2.meta[0], PageState.Present | Trap.CopyOnWrite);
  t.equal(c2.frame[1], -1, "an unbacked parent page stays unbacked in the child");
  t.equal(c2.meta[2], 0, "a page the parent does not hold is not shared");
  m.checkInvariants();
  t.end();
});
