import t from "tap";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setup } from "./helpers.js";
import { ContentSampler, DEFAULT_MIX } from "../../core/memory/content.js";
import { RandomStreams } from "../../core/sim/random.js";
import { PageState } from "../../core/memory/page.js";
import { MS, SECOND } from "../../core/sim/time.js";

/** The figures of a workload that issued no hypercall and no disk IO. */
const NO_IO = { hypercalls: 0, diskReads: 0, diskWrites: 0, diskBytesRead: 0, diskBytesWritten: 0, diskErrors: 0 };

t.test("a writer issues exactly rate × time accesses, in batches per tick", (t) => {
  const { scheduler, cluster, workload, vm } = setup();
  const w = vm("web", 1024, 2);
  workload.attach(w, { activities: [{ op: "write", rate: 20_000, pattern: { kind: "uniform" } }, { op: "read", rate: 3_000, pattern: { kind: "uniform" } }], mix: DEFAULT_MIX, scripted: [] });
  cluster.setState(w, "running");
  scheduler.run(1 * SECOND - 1);
  const s = workload.stats(w)!;
  // 10,000 writes/s per vCPU = 10 per 1 ms tick; ticks at 0, 1, ..., 999 ms: 1000 ticks.
  t.equal(s.writes, 20_000);
  // 1,500 reads/s per vCPU = 1.5 per tick: the carried fraction makes it exact over 1000 ticks.
  t.equal(s.reads, 3_000);
  t.equal(w.memory!.writes, 20_000);
  t.equal(scheduler.executed, 2000, "one event per vCPU per tick");
  t.end();
});

t.test("a suspended VM issues nothing; resuming picks up again", (t) => {
  const { scheduler, cluster, workload, vm } = setup();
  const w = vm("web", 64);
  workload.attach(w, { activities: [{ op: "write", rate: 1000, pattern: { kind: "sequential" } }], mix: DEFAULT_MIX, scripted: [] });
  cluster.setState(w, "running");
  scheduler.at(10 * MS - 1, () => cluster.setState(w, "suspended"));
  scheduler.at(20 * MS, () => cluster.setState(w, "running"));
  scheduler.run(30 * MS - 1);
  // ticks at 0..9 ms and 20..29 ms: 20 writes, sequential pages 0..19
  t.equal(workload.stats(w)!.writes, 20);
  t.equal(w.memory!.state(19), PageState.Present);
  t.equal(w.memory!.state(20), PageState.Unbacked);
  t.end();
});

t.test("an overcommitted host slows every VM in proportion", (t) => {
  const { scheduler, cluster, workload, vm } = setup({}, 2);
  const a = vm("a", 64, 2);
  const b = vm("b", 64, 2);
  for (const w of [a, b]) {
    workload.attach(w, { activities: [{ op: "write", rate: 10_000, pattern: { kind: "uniform" } }], mix: DEFAULT_MIX, scripted: [] });
    cluster.setState(w, "running");
  }
  t.equal(cluster.cpuFactor(a), 0.5);
  scheduler.run(100 * MS - 1);
  t.equal(workload.stats(a)!.writes, 500);
  t.equal(workload.stats(b)!.writes, 500);
  t.end();
});

t.test("scripted accesses run at their time, on their vCPU", (t) => {
  const { scheduler, cluster, workload, vm, memory } = setup();
  const w = vm("web", 2048, 2);
  workload.attach(w, { activities: [], mix: DEFAULT_MIX, scripted: [{ at: 12 * SECOND, op: "write", first: 0, count: 1024 }] });
  workload.script(w, { at: 13 * SECOND, op: "read", first: 0, count: 10, vcpu: 1 });
  cluster.setState(w, "running");
  scheduler.run(12 * SECOND - 1);
  t.equal(memory.machine(0).used, 0);
  scheduler.run(14 * SECOND);
  t.equal(memory.machine(0).used, 1024);
  t.same(workload.stats(w), { reads: 10, writes: 1024, stallNs: 0, stalls: 0, scripted: 1034, ...NO_IO });
  t.throws(() => workload.script(w, { at: 15 * SECOND, op: "write", first: 2000, count: 100 }), { code: "VMSCN5011" });
  t.end();
});

t.test("a stalled vCPU loses the stalled time and resumes where it stopped", (t) => {
  const { scheduler, cluster, workload, vm, memory } = setup();
  const w = vm("web", 100);
  for (let p = 0; p < 100; p++) memory.setAbsent(w.memory!, p, PageState.AbsentFetch);
  const faults: number[] = [];
  memory.onFault("absent-fetch", (f) => {
    faults.push(scheduler.now);
    memory.populate(f.guest, f.page, 1);
    return 2 * MS + 500_000; // 2.5 ms
  });
  workload.attach(w, { activities: [], mix: DEFAULT_MIX, scripted: [{ at: 0, op: "write", first: 0, count: 3 }] });
  cluster.setState(w, "running");
  scheduler.run(20 * MS);
  t.same(faults, [0, 2.5 * MS, 5 * MS]);
  t.same(workload.stats(w), { reads: 0, writes: 3, stallNs: 7.5 * MS, stalls: 3, scripted: 3, ...NO_IO });
  t.end();
});

t.test("WAIT parks a vCPU; a wake resumes it; a missing wake is a deadlock", (t) => {
  const { scheduler, cluster, workload, vm, memory } = setup();
  const w = vm("web", 16);
  memory.setAbsent(w.memory!, 3, PageState.AbsentRestore);
  memory.onFault("absent-restore", () => -1);
  workload.attach(w, { activities: [], mix: DEFAULT_MIX, scripted: [{ at: 5 * MS, op: "read", first: 2, count: 3 }] });
  cluster.setState(w, "running");
  scheduler.at(9 * MS, () => {
    memory.populate(w.memory!, 3, 33);
    memory.wake(w.memory!);
  });
  scheduler.run(10 * MS);
  t.same(workload.stats(w), { reads: 3, writes: 0, stallNs: 4 * MS, stalls: 1, scripted: 3, ...NO_IO });
  memory.setAbsent(w.memory!, 3, PageState.AbsentRestore);
  workload.script(w, { at: 11 * MS, op: "read", first: 3, count: 1 });
  // stop the tick loop so nothing else is scheduled
  scheduler.at(11 * MS, () => cluster.setState(w, "suspended"), 10);
  t.throws(() => scheduler.run(), { code: "VMSCN5001", message: /web\/vcpu0 \(waits for page 3 of "web"\)/ });
  t.end();
});

t.test("zipf writes concentrate on the working set", (t) => {
  const { scheduler, cluster, workload, vm, memory } = setup();
  const w = vm("db", 10_000);
  workload.attach(w, { activities: [{ op: "write", rate: 100_000, pattern: { kind: "zipf", skew: 0.99, over: 0.1 } }], mix: DEFAULT_MIX, scripted: [] });
  cluster.setState(w, "running");
  scheduler.run(100 * MS - 1);
  t.equal(workload.stats(w)!.writes, 10_000);
  const touched = memory.machine(0).used;
  t.ok(touched <= 1000, `only the 10% working set is touched (${touched})`);
  t.ok(touched > 500, `zipf 0.99 over 1000 pages touches most of them in 10,000 writes (${touched})`);
  t.end();
});

t.test("trace files replay; malformed ones name the line", (t) => {
  const dir = t.testdir({});
  const good = join(dir, "good.trace");
  writeFileSync(good, "# a trace\n1000000 w 0..9\n2ms r 5 vcpu 1\n3 ms w 20\n");
  const { scheduler, cluster, workload, vm, memory } = setup();
  const w = vm("web", 32, 2);
  workload.attach(w, { activities: [], mix: DEFAULT_MIX, scripted: [], trace: good });
  cluster.setState(w, "running");
  scheduler.run(5 * MS);
  t.same(workload.stats(w), { reads: 1, writes: 11, stallNs: 0, stalls: 0, scripted: 12, ...NO_IO });
  t.equal(memory.machine(0).used, 11);
  const cases: [string, RegExp][] = [
    ["5 x 3\n", /bad\.trace:1: expected/],
    ["5 w 3\n1 w 4\n", /bad\.trace:2: time goes backwards/],
    ["5 w 9..3\n", /is empty/],
    ["5 w 40\n", /page 40 is outside the guest \(32 pages\)/],
  ];
  for (const [text, re] of cases) {
    const bad = join(dir, "bad.trace");
    writeFileSync(bad, text);
    const x = setup();
    const v = x.vm("v", 32);
    t.throws(() => x.workload.attach(v, { activities: [], mix: DEFAULT_MIX, scripted: [], trace: bad }), { code: "VMSCN5013", message: re });
  }
  const y = setup();
  t.throws(() => y.workload.attach(y.vm("v", 4), { activities: [], mix: DEFAULT_MIX, scripted: [], trace: join(dir, "missing") }), { code: "VMSCN5013" });
  t.end();
});

t.test("the same seed gives the same accesses", (t) => {
  const run = (seed: number) => {
    const { scheduler, cluster, workload, vm, memory } = setup({ seed });
    const w = vm("web", 4096);
    workload.attach(w, { activities: [{ op: "write", rate: 50_000, pattern: { kind: "zipf", skew: 0.8, over: 0.5 } }], mix: { zero: 0.1, images: [{ name: "os", fraction: 0.4 }], random: 0.5, compressible: [] }, scripted: [] });
    cluster.setState(w, "running");
    scheduler.run(50 * MS);
    return Array.from({ length: 4096 }, (_, p) => memory.peek(w.memory!, p));
  };
  t.same(run(5), run(5));
  t.notSame(run(5), run(6));
  t.end();
});

t.test("a workload write never repeats an identity the initial contents drew", (t) => {
  const { scheduler, cluster, workload, vm, memory } = setup();
  const w = vm("web", 256);
  const initial = new ContentSampler(DEFAULT_MIX, memory.images, w.id, new RandomStreams(1).stream("init"));
  memory.populateAll(w.memory!, (p) => initial.next(p));
  const before = new Set<number>();
  for (let p = 0; p < 256; p++) before.add(memory.peek(w.memory!, p));
  workload.attach(w, { activities: [], mix: DEFAULT_MIX, scripted: [{ at: 0, op: "write", first: 0, count: 256 }] });
  cluster.setState(w, "running");
  scheduler.run(10 * MS);
  let same = 0;
  for (let p = 0; p < 256; p++) if (before.has(memory.peek(w.memory!, p))) same++;
  t.equal(same, 0);
  t.end();
});
