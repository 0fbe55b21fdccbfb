// The fault-matrix harness checks itself: the shadow of a guest's view sees every guest write
// and catches a page whose contents changed without one; a forked child starts from its
// parent's view at the capture; a cell whose run throws fails; a VM missing from the report fails.
import "reflect-metadata";
import t, { type Test } from "tap";
import { HOST_CRASH, OOM_KILL, checkVms, contentsCheck, runCells, simulate, withHelpers } from "./harness.js";

const text = (extra = "") => `scenario "h" {
  host a { cpus 4  memory 64 MiB  nodes 3 }
  vm web on a { vcpus 1  memory 1 MiB  initial random 100%  workload { writes 500 pages/s uniform } }
  at 0 s: start web
  at 100 ms: fork web
${extra}
  run until 300 ms
}
`;

/** A stand-in for tap's Test that records what the harness asserts. */
function recorder(): { t: Test; failed: string[] } {
  const failed: string[] = [];
  const ok = (cond: boolean, name: string): void => {
    if (!cond) failed.push(name);
  };
  const fake = {
    fail: (name: string) => ok(false, name),
    pass: (name: string) => ok(true, name),
    ok: (v: unknown, name: string) => ok(Boolean(v), name),
    same: (a: unknown, b: unknown, name: string) => ok(JSON.stringify(a) === JSON.stringify(b), name),
    match: (a: string, re: RegExp, name: string) => ok(re.test(a), name),
  };
  return { t: fake as unknown as Test, failed };
}

t.test("the shadow: every guest write, the child's start, a page changed behind the guest's back", async (t) => {
  const o = await simulate(text(), { startFrom: "web" });
  for (const vm of ["web", "web-child1"]) t.same(contentsCheck(o, vm), { wrong: 0, absent: 0, first: "" }, `${vm} holds what its guest wrote`);
  t.equal(o.shadow.suspendedView("web", 99_000_000), undefined, "no suspension before the fork");
  t.ok(o.shadow.suspendedView("web"), "the capture suspended the parent");
  // A write through the single-page path is a guest write too.
  const g = o.kernel.cluster.world("web").memory!;
  t.equal(o.kernel.memory.write(g, 3, 12345), 0);
  t.equal(o.shadow.views.get("web")![3], 12345);
  t.same(contentsCheck(o, "web").wrong, 0);
  // A frame's contents changed without a guest write: caught, page and values named.
  o.kernel.memory.machine(g.hostId).content[g.frame[5]!] = 42;
  const c = contentsCheck(o, "web");
  t.equal(c.wrong, 1);
  t.match(c.first, /^page 5: 42, the guest wrote \d+$/);
  o.shadow.views.delete("web-child1");
  t.same(contentsCheck(o, "web-child1"), { wrong: 256, absent: 0, first: 'no view of "web-child1"' }, "a VM without a view is all wrong");
});

t.test("the cell loop and the VM checks fail what they must", async (t) => {
  const r = recorder();
  const cells = await runCells(r.t, { early: 1, late: 2 }, () => withHelpers({ crash: "crash a", "helper killed": 'kill "x"' }, []), async (cell) => {
    if (cell.phase === "late") throw new Error("the run threw");
    return simulate(text());
  }, () => {});
  t.equal(cells, 1, "one cell ran; the kill of a helper not alive is no cell");
  t.same(r.failed, ["late × crash: the run threw"]);
  const o = await simulate(text("  at 200 ms: crash a"));
  const r2 = recorder();
  t.equal(checkVms(r2.t, o, "crash", ["web", "nobody"]), 0, "no VM survived");
  t.same(r2.failed, ['crash: VM "nobody" is missing from the report']);
  t.match(o.report.vms.web.failure, HOST_CRASH);
  t.match('killed: VMSCN5002 at 0.2 s: host "a" is out of memory: no free frame for "web@b" (...)', OOM_KILL, "the OOM kill");
  const r3 = recorder();
  o.report.vms.web.failure = "gone";
  checkVms(r3.t, o, "untimed", ["web"]);
  t.same(r3.failed, ["untimed: web stopped with a reason and a time"]);
});
