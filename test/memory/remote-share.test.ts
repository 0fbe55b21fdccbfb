// Sharing from a remote page: a page mapped to a frame on another host lends that frame, so
// page sharing on a migration's destination can re-map a local page onto the source's frame
// (the document's "alternatively the mapping for VM3 may be altered").
import t from "tap";
import { setup } from "./helpers.js";
import { PageState, Trap } from "../../core/memory/page.js";

t.test("a remote page lends its remote frame; reference counts follow", (t) => {
  const { memory } = setup(8, 8, 8);
  const src = memory.createGuest(0, "vm2", 4, 0); // on host 0 (the source)
  const moved = memory.createGuest(1, "vm1", 4, 1); // moved to host 1, maps page 2 remotely
  const local = memory.createGuest(2, "vm3", 4, 1); // a VM of host 1
  memory.populate(src, 2, 42);
  memory.share(src, 2, moved, 2);
  memory.populate(local, 3, 42);
  const f = src.frame[2]!;
  t.equal(memory.machine(1).used, 1);

  // vm3's page 3 moves onto the frame on host 0: its own frame is freed, host 0 gains a reference
  memory.share(moved, 2, local, 3);
  t.equal(local.state(3), PageState.Remote);
  t.equal(local.remoteHost![3], 0);
  t.equal(local.frame[3], f);
  t.ok(local.meta[3]! & Trap.CopyOnWrite);
  t.equal(memory.machine(0).refs[f], 3, "vm2, vm1 and vm3");
  t.equal(memory.machine(1).used, 0, "vm3's frame went back to host 1");
  t.equal(memory.peek(local, 3), 42);
  memory.checkInvariants([src, moved, local]);

  // sharing again onto the same frame changes nothing
  memory.share(moved, 2, local, 3);
  t.equal(memory.machine(0).refs[f], 3);

  // a remote page shared onto a guest of the frame's own host maps it locally
  const home = memory.createGuest(3, "vm4", 4, 0);
  memory.share(moved, 2, home, 0);
  t.equal(home.state(0), PageState.Present);
  t.equal(home.frame[0], f);
  t.ok(home.meta[0]! & Trap.CopyOnWrite);
  t.equal(memory.machine(0).refs[f], 4);
  memory.share(moved, 2, home, 0);
  t.equal(memory.machine(0).refs[f], 4, "already mapped: no second reference");
  memory.checkInvariants([src, moved, local, home]);

  // and to a guest on a third host, remotely
  const far = memory.createGuest(4, "vm5", 4, 2);
  memory.share(local, 3, far, 1);
  t.equal(far.state(1), PageState.Remote);
  t.equal(far.remoteHost![1], 0);
  t.equal(memory.machine(0).refs[f], 5);
  memory.checkInvariants([src, moved, local, home, far]);

  // releasing every remote mapping leaves the source's own reference
  for (const g of [moved, local, home, far]) memory.releaseAll(g);
  t.equal(memory.machine(0).refs[f], 1);
  memory.checkInvariants([src, moved, local, home, far]);
  t.end();
});

t.test("an absent or unbacked page still cannot be shared", (t) => {
  const { memory } = setup(8, 8);
  const a = memory.createGuest(0, "a", 4, 0);
  const b = memory.createGuest(1, "b", 4, 1);
  t.throws(() => memory.share(a, 0, b, 0), { code: "VMSCN5011", message: /cannot share page 0 of "a": it is unbacked/ });
  memory.setAbsent(a, 1, PageState.AbsentFetch);
  t.throws(() => memory.share(a, 1, b, 0), /it is absent-fetch/);
  t.end();
});
