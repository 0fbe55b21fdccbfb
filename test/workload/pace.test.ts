// A sequential writer over a working set, and what a paced or a catch-up activity does with
// the accesses of time its vCPU could not run.
import t from "tap";
import { setup } from "./helpers.js";
import { DEFAULT_MIX } from "../../core/memory/content.js";
import { PageState } from "../../core/memory/page.js";
import { RandomStreams } from "../../core/sim/random.js";
import { makeSampler, workingSet } from "../../core/workload/patterns.js";
import { MS, SECOND } from "../../core/sim/time.js";
import type { Activity, Pace } from "../../core/workload/spec.js";

const writer = (rate: number, pace?: Pace, over?: number): Activity => ({
  op: "write",
  rate,
  pattern: over === undefined ? { kind: "sequential" } : { kind: "sequential", over },
  ...(pace ? { pace } : {}),
});

t.test("a sequential writer over 25% of 1024 pages at 1000 pages/s writes pages 0..255, then wraps", (t) => {
  const { scheduler, cluster, workload, vm, memory } = setup();
  const w = vm("web", 1024);
  const log = w.memory!.openLog("test");
  workload.attach(w, { activities: [writer(1000, undefined, 0.25)], mix: DEFAULT_MIX, scripted: [] });
  cluster.setState(w, "running");
  scheduler.run(SECOND - 1);
  // ticks at 0..999 ms, one write each: pages 0..255 three times, then 0..231
  t.equal(workload.stats(w)!.writes, 1000);
  t.equal(log.count, 256, "the dirty set is the working set");
  t.same(Array.from(log.readAndClear()), Array.from({ length: 256 }, (_, p) => p));
  t.equal(memory.machine(0).used, 256);
  t.equal(w.memory!.state(256), PageState.Unbacked);
  t.end();
});

t.test("the working set rounds as zipf's does, at least one page; the cursor wraps inside it", (t) => {
  t.equal(workingSet(10, 0.25), 3, "2.5 rounds to 3");
  t.equal(workingSet(10, 1e-9), 1);
  t.equal(workingSet(10, 1), 10);
  const out = new Int32Array(7);
  makeSampler({ kind: "sequential", over: 0.25 }, 10, new RandomStreams(1).stream("x")).fill(out, 7);
  t.same(Array.from(out), [0, 1, 2, 0, 1, 2, 0]);
  makeSampler({ kind: "sequential" }, 3, new RandomStreams(1).stream("x")).fill(out, 7);
  t.same(Array.from(out), [0, 1, 2, 0, 1, 2, 0], "without over: the whole guest");
  t.end();
});

/** One VM, one vCPU, a sequential writer at 1000 pages/s (one page per 1 ms tick), suspended [10 ms, 20 ms). */
function suspended(pace: Pace | undefined) {
  const { scheduler, cluster, workload, vm } = setup();
  const w = vm("web", 64);
  workload.attach(w, { activities: [writer(1000, pace)], mix: DEFAULT_MIX, scripted: [] });
  cluster.setState(w, "running");
  scheduler.at(10 * MS - 1, () => cluster.setState(w, "suspended"));
  scheduler.at(20 * MS, () => cluster.setState(w, "running"));
  scheduler.run(30 * MS - 1);
  return { w, stats: workload.stats(w)! };
}

t.test("suspended for 10 ms: paced drops that time's accesses, catch-up issues them on resume", (t) => {
  // paced (the default): ticks 0..9 and 20..29 ms, one page each
  t.equal(suspended(undefined).stats.writes, 20);
  t.equal(suspended("paced").stats.writes, 20);
  // catch-up: ticks 0..9 (one page each), then at 20 ms the 11 ms since the tick at 9 ms,
  // then 21..29: 30 pages, the rate times the 30 ms
  const c = suspended("catch-up");
  t.equal(c.stats.writes, 30);
  t.equal(c.w.memory!.state(29), PageState.Present);
  t.equal(c.w.memory!.state(30), PageState.Unbacked);
  t.end();
});

/**
 * One vCPU writing pages 0, 1, 2, ...; page 5 is absent and its fault stalls the vCPU 5 ms;
 * `pause` suspends the VM and resumes it at the two given times. The stats and the pages
 * written, in order (a dirty log opened at the start).
 */
function stalledRun(pace: Pace, pause?: [number, number]) {
  const { scheduler, cluster, workload, vm, memory } = setup();
  const w = vm("web", 64);
  memory.setAbsent(w.memory!, 5, PageState.AbsentFetch);
  memory.onFault("absent-fetch", (f) => {
    memory.populate(f.guest, f.page, 1);
    return 5 * MS;
  });
  const log = w.memory!.openLog("test");
  workload.attach(w, { activities: [writer(1000, pace)], mix: DEFAULT_MIX, scripted: [] });
  cluster.setState(w, "running");
  if (pause) {
    scheduler.at(pause[0], () => cluster.setState(w, "suspended"));
    scheduler.at(pause[1], () => cluster.setState(w, "running"));
  }
  scheduler.run(20 * MS - 1);
  return { stats: workload.stats(w)!, written: Array.from(log.readAndClear()) };
}

const stalled = (pace: Pace) => stalledRun(pace).stats;

t.test("stalled 5 ms on a fault: paced loses the stall, catch-up makes it up", (t) => {
  // the tick at 5 ms writes page 5 at 10 ms; the next tick comes at 10 ms
  // paced: 6 pages (ticks 0..5), 1 at 10 ms (one tick at most), 9 at 11..19 ms
  t.same(stalled("paced"), { reads: 0, writes: 16, stallNs: 5 * MS, stalls: 1, scripted: 0, hypercalls: 0, diskReads: 0, diskWrites: 0, diskBytesRead: 0, diskBytesWritten: 0, diskErrors: 0 });
  // catch-up: 6, then 5 at 10 ms (the 5 ms since the tick at 5 ms), 9 at 11..19 ms
  t.equal(stalled("catch-up").writes, 20);
  t.end();
});

t.test("starved of CPU: paced slows with its share, catch-up keeps its rate", (t) => {
  const { scheduler, cluster, workload, vm } = setup({}, 2);
  const a = vm("a", 64, 2);
  const b = vm("b", 64, 2);
  workload.attach(a, { activities: [{ op: "write", rate: 10_000, pattern: { kind: "uniform" }, pace: "paced" }], mix: DEFAULT_MIX, scripted: [] });
  workload.attach(b, { activities: [{ op: "write", rate: 10_000, pattern: { kind: "uniform" }, pace: "catch-up" }], mix: DEFAULT_MIX, scripted: [] });
  cluster.setState(a, "running");
  cluster.setState(b, "running");
  t.equal(cluster.cpuFactor(b), 0.5);
  scheduler.run(100 * MS - 1);
  // 5 writes per vCPU per tick, 100 ticks, 2 vCPUs: 1000; at half the CPU, paced issues 500
  t.equal(workload.stats(a)!.writes, 500);
  t.equal(workload.stats(b)!.writes, 1000);
  t.end();
});

t.test("throttled: paced makes (1 − p) of its accesses; catch-up all, and under a throttle of 1 it waits", (t) => {
  const run = (pace: Pace) => {
    const { scheduler, cluster, workload, vm } = setup();
    const w = vm("web", 64);
    workload.attach(w, { activities: [writer(1000, pace)], mix: DEFAULT_MIX, scripted: [] });
    cluster.setState(w, "running");
    scheduler.at(10 * MS - 1, () => cluster.setThrottle(w, 1));
    scheduler.at(30 * MS - 1, () => cluster.setThrottle(w, 0.5));
    scheduler.run(40 * MS - 1);
    return workload.stats(w)!.writes;
  };
  // ticks 0..9 ms: 10; 10..29 at a CPU factor of 0: none; 30..39 at 0.5: 5
  t.equal(run("paced"), 15);
  // ticks 0..9: 10; 10..29 accrue 20 and wait; 30 issues 21; 31..39: 9
  t.equal(run("catch-up"), 40);
  t.end();
});

t.test("a catch-up activity counts its time from its vCPU's first tick, not from time 0", (t) => {
  const { scheduler, cluster, workload, vm } = setup();
  const w = vm("web", 64);
  workload.attach(w, { activities: [writer(1000, "catch-up")], mix: DEFAULT_MIX, scripted: [] });
  scheduler.at(50 * MS, () => cluster.setState(w, "running"));
  scheduler.run(60 * MS - 1);
  // ticks at 50..59 ms: 10 pages, as a paced writer
  t.equal(workload.stats(w)!.writes, 10);
  t.end();
});

t.test("suspended and resumed while stalled on a fault: the stalled job is written once, the resume's tick waits for it", (t) => {
  // As `stalled`, and suspended at 6 ms, resumed at 7 ms, while the write of page 5 waits.
  const r = stalledRun("paced", [6 * MS, 7 * MS]);
  // Ticks 0..4 write pages 0..4; page 5 at 10 ms, after the stall; the tick at 7 ms (the
  // resume's) leaves the stalled job alone and its page waits; at 10 ms the next tick issues
  // it and its own (pages 6, 7); ticks 11..19 write pages 8..16. Each page once.
  t.equal(r.stats.writes, 17);
  t.same(r.written, Array.from({ length: 17 }, (_, p) => p));
  t.end();
});
