// Scripted accesses, scripted hypercalls and replayed traces under the vCPU throttle: what
// falls in one of its sleeps happens when the sleep ends (core/world/throttle.ts gives the
// sleeps; core/workload/sleep-gate.ts holds the work).
import t from "tap";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setup } from "./helpers.js";
import { DEFAULT_MIX } from "../../core/memory/content.js";
import { Trap } from "../../core/memory/page.js";
import { MS, SECOND } from "../../core/sim/time.js";
import type { ScriptedAccess } from "../../core/workload/spec.js";

/** A VM "web" (64 pages, 2 vCPUs) whose first access of each page is recorded as [page, time]. */
function traced(scripted: ScriptedAccess[] = [], trace?: string) {
  const s = setup();
  const w = s.vm("web", 64, 2);
  const seen: [number, number][] = [];
  s.memory.setTrapsAll(w.memory!, Trap.AccessTrace);
  s.memory.onFault("access-trace", (f) => {
    seen.push([f.page, s.scheduler.now]);
    s.memory.clearTraps(f.guest, f.page, Trap.AccessTrace);
    return 0;
  });
  s.workload.attach(w, { activities: [], mix: DEFAULT_MIX, scripted, ...(trace ? { trace } : {}) });
  s.cluster.setState(w, "running");
  const throttle = (at: number, f: number) => s.scheduler.at(at, () => s.cluster.setThrottle(w, f));
  return { ...s, w, seen, throttle };
}

const write = (at: number, page: number, vcpu?: number): ScriptedAccess => ({ at, op: "write", first: page, count: 1, ...(vcpu === undefined ? {} : { vcpu }) });
const ms = (x: number) => SECOND + x * MS;

t.test("a throttle of 0.5 set at 1 s: an access at 1.004 s happens at 1.010 s, one in the run slice on time", (t) => {
  const { scheduler, seen, throttle, workload, w } = traced([write(ms(4), 0), write(ms(12), 1, 1), write(ms(21), 2), write(ms(30), 3)]);
  throttle(SECOND, 0.5);
  scheduler.run(ms(40));
  // periods from 1 s: sleep [0, 10) ms, run [10, 20), sleep [20, 30), run [30, 40)
  t.same(seen, [[0, ms(10)], [1, ms(12)], [2, ms(30)], [3, ms(30)]]);
  t.equal(workload.stats(w)!.scripted, 4);
  t.end();
});

t.test("removing the throttle ends the sleep at once; a throttle of 1 holds until it changes", (t) => {
  const a = traced([write(ms(4), 0)]);
  a.throttle(SECOND, 0.5);
  a.throttle(ms(6), 0);
  a.scheduler.run(ms(40));
  t.same(a.seen, [[0, ms(6)]]);

  const b = traced([write(ms(500), 0), write(ms(600), 1)]);
  b.throttle(SECOND, 1);
  b.throttle(2 * SECOND, 0.5); // from 1 the new figures apply at once: sleep [2.000, 2.010)
  b.scheduler.run(3 * SECOND);
  t.same(b.seen, [[0, 2 * SECOND + 10 * MS], [1, 2 * SECOND + 10 * MS]], "held in arrival order");
  t.end();
});

t.test("a raise while throttled waits for the period in progress, as QEMU's timer does", (t) => {
  const { scheduler, seen, throttle } = traced([write(ms(16), 0), write(ms(21), 1)]);
  throttle(SECOND, 0.5);
  throttle(ms(15), 0.75); // from 1.020 s: sleeps of 30 ms, then 10 ms runs
  scheduler.run(ms(100));
  t.same(seen, [[0, ms(16)], [1, ms(50)]]);
  t.end();
});

t.test("a scripted hypercall in a sleep is issued when it ends", (t) => {
  const { scheduler, workload, w, throttle } = traced();
  const calls: [number, number][] = [];
  workload.onHypercall("probe", (c) => {
    calls.push([c.vcpu, c.time]);
    return 0;
  });
  workload.hypercall(w, { at: ms(4), name: "probe", options: {} });
  workload.hypercall(w, { at: ms(15), name: "probe", options: {}, vcpu: 1 });
  throttle(SECOND, 0.5);
  scheduler.run(ms(40));
  t.same(calls, [[0, ms(10)], [1, ms(15)]]);
  t.equal(workload.stats(w)!.hypercalls, 2);
  t.end();
});

t.test("a replayed trace: a held record delays the later ones by as long", (t) => {
  const dir = t.testdir({});
  const file = join(dir, "web.trace");
  // 1.004 s in the first sleep; the others recorded 2, 12 and 13 ms after it
  writeFileSync(file, "1004 ms w 0\n1006 ms w 1 vcpu 1\n1016 ms w 2\n1017 ms w 3\n");
  const { scheduler, seen, throttle, workload, w } = traced([], file);
  throttle(SECOND, 0.5);
  scheduler.run(ms(60));
  // record 0 waits 6 ms (to 1.010); record 1 then comes 2 ms later, in the run slice;
  // record 2 is due at 1.022, in the sleep [1.020, 1.030): 8 ms more, 14 ms in all;
  // record 3 comes 1 ms after it
  t.same(seen, [[0, ms(10)], [1, ms(12)], [2, ms(30)], [3, ms(31)]]);
  t.equal(workload.stats(w)!.scripted, 4);
  t.end();
});

t.test("unthrottled, a trace replays at its recorded times, many records at one instant included", (t) => {
  const dir = t.testdir({});
  const file = join(dir, "web.trace");
  const lines = ["2 ms w 0"];
  for (let p = 1; p < 64; p++) lines.push(`5 ms r ${p}`);
  writeFileSync(file, lines.join("\n"));
  const { scheduler, seen } = traced([], file);
  scheduler.run(10 * MS);
  t.equal(seen.length, 64);
  t.same(seen[0], [0, 2 * MS]);
  t.ok(seen.slice(1).every(([, at]) => at === 5 * MS));
  t.end();
});

t.test("a trace whose records all fall in one sleep: they come out in order when it ends", (t) => {
  const dir = t.testdir({});
  const file = join(dir, "web.trace");
  const lines: string[] = [];
  for (let p = 0; p < 64; p++) lines.push(`1001 ms w ${p}`);
  writeFileSync(file, lines.join("\n"));
  const { scheduler, seen, throttle } = traced([], file);
  throttle(SECOND, 0.99);
  scheduler.run(3 * SECOND);
  t.equal(seen.length, 64);
  t.same(seen.map(([p]) => p), Array.from({ length: 64 }, (_, p) => p));
  t.ok(seen.every(([, at]) => at === ms(990)), "the 990 ms sleep's end");
  t.end();
});

t.test("rate activities take the throttle as its average: (1 − p) of their accesses", (t) => {
  const { scheduler, cluster, workload, vm } = setup();
  const w = vm("web", 64);
  workload.attach(w, { activities: [{ op: "write", rate: 1000, pattern: { kind: "uniform" } }], mix: DEFAULT_MIX, scripted: [] });
  cluster.setThrottle(w, 0.75);
  cluster.setState(w, "running");
  scheduler.run(100 * MS - 1);
  // ticks at 0..99 ms, 1 access per tick × 0.25
  t.equal(workload.stats(w)!.writes, 25);
  t.end();
});
