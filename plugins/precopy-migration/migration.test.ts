// The migration engine through the kernel API: exact page, byte and time figures; the
// destination's contents equal the source's at switch-over; refusals and failures.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { MS, SECOND, US } from "../../core/sim/time.js";
import type { Kernel } from "../../core/run/kernel.js";
import plugin from "./index.js";
import compression from "../compression/index.js";
import { afterRound, expectedDowntimeNs, nextThrottle } from "./convergence.js";
import { parseOptions, QEMU_DEFAULT_BANDWIDTH } from "./options.js";
import { NORMAL_PAGE_BYTES, wireBytes, ZERO_PAGE_BYTES } from "./wire.js";
import { DISK_BLOCK_BYTES } from "./migration.js";
import { vmInfo } from "../../core/world/vm-info.js";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };

async function cluster(opts: { latency?: number; bMemory?: number } = {}): Promise<Kernel> {
  const k = createKernel({ seed: 3, checkInvariants: true });
  await k.plugins.registerAll([compression, plugin]);
  k.addHost({ name: "a", cpus: 4, memoryBytes: 1 * GiB });
  k.addHost({ name: "b", cpus: 4, memoryBytes: opts.bMemory ?? 1 * GiB });
  k.addLink({ a: "a", b: "b", bandwidth: 1.25e9, latency: opts.latency ?? 0 });
  return k;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const section = (k: Kernel, vm: string): any => (k.report("t") as any).migration[vm];

t.test("the worked example: 4096, 1024, then 300 pages at switch-over; contents equal the source's", async (t) => {
  const k = await cluster();
  const web = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 16 * MiB, deviceStateBytes: 410_400, initial: RANDOM });
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "migrate", { vm: "web", host: "b" }, { bandwidth: 16_416_000 });
  const src = web.memory!;
  k.workload.attach(web, { activities: [], mix: RANDOM, scripted: [
    { at: 1.5 * SECOND, op: "write", first: 0, count: 1024 },
    { at: 2.1 * SECOND, op: "write", first: 0, count: 200 },
    { at: 2.1 * SECOND, op: "write", first: 1024, count: 100 },
  ] });
  // Snapshot the source just before it is freed: it is frozen from the suspend on.
  let before: number[] = [];
  k.scheduler.at(2 * SECOND + 300 * MS, () => { before = Array.from({ length: src.pages }, (_, p) => k.memory.peek(src, p)); });
  k.run(4 * SECOND);
  const m = section(k, "web");
  t.equal(m.status, "completed");
  t.same([m.rounds.r1.pages, m.rounds.r1.dirtied, m.rounds.r2.pages, m.rounds.r2.dirtied], [4096, 1024, 1024, 300]);
  t.equal(m.ram.duplicate + m.ram.normal, 4096 + 1024 + 300);
  t.equal(m.ram.transferred, m.ram.duplicate * ZERO_PAGE_BYTES + m.ram.normal * NORMAL_PAGE_BYTES);
  t.equal(m["downtime-ns"], 100 * MS);
  t.equal(web.host.name, "b");
  t.equal(web.memory!.hostId, k.cluster.host("b").id);
  const after = Array.from({ length: src.pages }, (_, p) => k.memory.peek(web.memory!, p));
  t.same(after, before, "every page on the destination equals the source's at switch-over");
  t.equal(k.memory.machine(0).used, 0, "the source freed the VM's frames");
  t.ok(!k.memory.liveGuests().includes(src));
  t.end();
});

t.test("demand paging: several vCPUs faulting on one page share one fetch; stall = RTT + page", async (t) => {
  const k = await cluster({ latency: 50 * US });
  const web = k.createVm({ name: "web", host: "a", vcpus: 2, memoryBytes: 1 * MiB, deviceStateBytes: 0, initial: RANDOM });
  k.workload.attach(web, { activities: [], mix: RANDOM, scripted: [
    { at: 1 * SECOND, op: "read", first: 7, count: 1, vcpu: 0 },
    { at: 1 * SECOND, op: "write", first: 7, count: 1, vcpu: 1 },
    { at: 1 * SECOND, op: "read", first: 8, count: 1, vcpu: 1 },
  ] });
  k.act(0, "start", { vm: "web" });
  k.act(10 * MS, "migrate", { vm: "web", host: "b", mode: "demand-paging" }, { bandwidth: 4_104_000 });
  k.run(2 * SECOND);
  const m = section(k, "web");
  t.equal(m.status, "postcopy-active");
  t.equal(m["depends-on-source"], true);
  t.equal(m.ram["postcopy-requests"], 2, "page 7 fetched once for two vCPUs, then page 8");
  t.equal(m["demand-paging"].faults, 3);
  // each fetch: 50 us request + 1 ms page + 50 us delivery; vCPU 1 waits for 7 then for 8
  t.equal(m["demand-paging"]["stall-time"], 3 * 1_100_000);
  t.equal(m["demand-paging"]["pages-left"], 256 - 2);
  // The request's round trip before the migration thread starts; QEMU's setup-time is after it (0 here).
  t.equal(m["setup-time-ns"], 0);
  t.equal(m["total-time-ns"] - m["source-dependency-time"] - m["downtime-ns"], 100 * US);
  t.equal(m["downtime-ns"], 50 * US, "no device state: one latency");
  t.end();
});

t.test("refusals are coded errors that leave everything as it was", async (t) => {
  const k = await cluster({ bMemory: 8 * MiB });
  k.addHost({ name: "c", cpus: 1, memoryBytes: 1 * GiB });
  k.addHost({ name: "r", cpus: 1, memoryBytes: 1 * GiB, rdma: true });
  k.addLink({ a: "a", b: "r", bandwidth: 1e9, latency: 0 });
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 16 * MiB, initial: RANDOM });
  k.createVm({ name: "off", host: "a", vcpus: 1, memoryBytes: 1 * MiB });
  k.act(0, "start", { vm: "web" });
  const acts = [
    k.act(1 * MS, "migrate", { vm: "web", host: "b" }),
    k.act(1 * MS, "migrate", { vm: "web", host: "c" }),
    k.act(1 * MS, "migrate", { vm: "web", host: "a" }),
    k.act(1 * MS, "migrate", { vm: "off", host: "r" }),
    k.act(1 * MS, "migrate", { vm: "web", host: "r" }, { transport: "rdma" }),
    k.act(1 * MS, "migrate", { vm: "web", host: "nowhere" }),
  ];
  k.run(10 * MS);
  t.same(acts.map((a) => a.failure?.slice(0, 9)), ["VMSCN5002", "VMSCN5009", "VMSCN5011", "VMSCN5004", "VMSCN5011", "VMSCN5005"]);
  t.match(acts[0]!.failure, /host "b" cannot hold VM "web": it needs 16 MiB and 8 MiB is free/);
  t.equal(section(k, "web").refusals, 5);
  t.equal(k.cluster.world("web").host.name, "a");
  t.end();
});

t.test("background paging completes; the source crash kills a dependent destination VM", async (t) => {
  const k = await cluster({ latency: 10 * US });
  k.createVm({ name: "bg", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: { zero: 0.5, images: [], random: 0.5, compressible: [] } });
  k.createVm({ name: "dp", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: RANDOM });
  k.act(0, "start", { vm: "bg" });
  k.act(0, "start", { vm: "dp" });
  k.act(1 * MS, "migrate", { vm: "bg", host: "b" }, { after: ["background"], converge: "xen", batch: 32 });
  k.act(1 * MS, "migrate", { vm: "dp", host: "b", mode: "demand-paging" });
  k.act(1 * SECOND, "crash", { host: "a" });
  k.run(2 * SECOND);
  const bg = section(k, "bg");
  t.equal(bg.status, "completed");
  t.equal(bg["switch-reason"], "few-dirty");
  t.ok(bg.ram.duplicate > 0, "zero pages travel as short markers");
  t.equal(bg.ram.transferred, bg.ram.duplicate * ZERO_PAGE_BYTES + bg.ram.normal * NORMAL_PAGE_BYTES);
  const dp = section(k, "dp");
  t.equal(dp.status, "failed");
  t.match(dp.failure, /host "a" crashed .* while the destination still depended on it for 256 pages/);
  t.equal(k.cluster.world("dp").state, "stopped");
  t.match(k.cluster.world("dp").failure, /^VMSCN5010 at 1 s: migration: host "a" crashed at 1 s/);
  t.equal(k.cluster.world("bg").state, "running");
  t.end();
});

t.test("qemu's rule switches over during a pass; max-rounds and no-progress end the others", async (t) => {
  const k = await cluster();
  const busy = { activities: [{ op: "write" as const, rate: 20_000, pattern: { kind: "uniform" as const } }], mix: RANDOM, scripted: [] };
  for (const name of ["q", "n", "x"]) {
    const w = k.createVm({ name, host: "a", vcpus: 1, memoryBytes: (name === "q" ? 28 : 8) * MiB, initial: RANDOM });
    if (name !== "q") k.workload.attach(w, busy);
    k.act(0, "start", { vm: name });
  }
  k.act(1 * MS, "migrate", { vm: "q", host: "b" }, { converge: "qemu", "downtime-limit": 20 * MS, "setup-time": 0 });
  k.act(1 * MS, "migrate", { vm: "n", host: "b" }, { bandwidth: 40e6, threshold: 10, "write-protect": "at-sync" });
  k.act(1 * MS, "migrate", { vm: "x", host: "b" }, { bandwidth: 40e6, "max-rounds": 1, threshold: 10, "write-protect": "at-sync" });
  k.run(5 * SECOND);
  const q = section(k, "q");
  t.equal(q.status, "completed");
  t.equal(q["switch-reason"], "downtime-limit");
  // The 128 MiB/s cap is a budget of 13421772.8 B a 100 ms window: 3271 pages of 4104 B go at
  // link speed (the 3271st exceeds it), then the sender sleeps to the window's end. The first
  // turn has no estimate; the next, at T+100 ms, measures 3271 × 4104 B / 100 ms: the threshold
  // is 134241.84 B/ms × 20 ms = 655.5 pages of 4096 B. 7168 − 3271 pages are left, then
  // 7168 − 2 × 3271 = 626 at T+200 ms, under it: a sync (nothing new), completion, its sync.
  t.equal(q.rounds.r1.pages, 2 * 3271, "switched over before the first pass ended");
  t.equal(q.ram["downtime-bytes"], 626 * NORMAL_PAGE_BYTES);
  t.equal(q.ram["dirty-sync-count"], 3);
  t.equal(section(k, "n")["switch-reason"], "no-progress");
  t.equal(section(k, "x")["switch-reason"], "max-rounds");
  t.equal(section(k, "x")["round-count"], 1);
  t.end();
});

t.test("convergence rules, options and wire sizes", (t) => {
  const base = { threshold: 512, maxRounds: 30, downtimeLimitNs: 300 * MS, pageBytes: NORMAL_PAGE_BYTES };
  const r = { round: 2, sent: 1024, dirty: 300, totalSent: 5120, pages: 4096, bandwidth: 1e6 };
  t.equal(afterRound({ ...base, rule: "threshold" }, r), "threshold");
  t.equal(afterRound({ ...base, rule: "threshold" }, { ...r, dirty: 1024 }), "no-progress");
  t.equal(afterRound({ ...base, rule: "threshold" }, { ...r, dirty: 600 }), null);
  t.equal(afterRound({ ...base, rule: "xen" }, { ...r, dirty: 49 }), "few-dirty");
  t.equal(afterRound({ ...base, rule: "xen" }, { ...r, totalSent: 3 * 4096 + 1 }), "sent-3x");
  t.equal(afterRound({ ...base, rule: "xen" }, { ...r, round: 29 }), "max-iterations");
  t.equal(afterRound({ ...base, rule: "threshold", threshold: 0 }, { ...r, dirty: 0 }), "threshold", "nothing dirty is under a threshold of 0");
  t.equal(afterRound({ ...base, rule: "threshold", threshold: 0 }, { ...r, dirty: 0, deferred: true }), null, "unless deferred pages may come back");
  t.equal(expectedDowntimeNs(0, 1, 0), 0);
  t.equal(expectedDowntimeNs(1000, 1000, 1e6), 1e9);
  t.equal(wireBytes(0), 9);
  t.equal(wireBytes(5), 4104);
  const o = parseOptions({ args: { vm: "web", host: "b" }, options: { converge: "qemu" } });
  t.equal(o.bandwidth, QEMU_DEFAULT_BANDWIDTH);
  t.equal(parseOptions({ args: { vm: "web", host: "b" }, options: { converge: "qemu", bandwidth: 0 } }).bandwidth, undefined, "max-bandwidth 0: no cap");
  t.equal(o.stopAndCopy, true);
  const d = parseOptions({ args: { vm: "web", host: "b", mode: "demand-paging" }, options: { after: ["stop-and-copy"] } });
  t.equal(d.stopAndCopy, false, "pure demand paging leaves every page for after resume");
  t.end();
});

t.test("auto-converge: throttle steps, no-progress deferred, removed at the end and on failure", async (t) => {
  t.equal(nextThrottle(0, 0.2, 0.1, 0.99), 0.2);
  t.equal(nextThrottle(0.2, 0.2, 0.1, 0.99), 0.3, "0.2 + 0.1 is exactly 0.3");
  t.equal(nextThrottle(0.95, 0.2, 0.1, 0.99), 0.99, "capped");
  const base = { rule: "threshold" as const, threshold: 10, maxRounds: 30, downtimeLimitNs: 300 * MS, pageBytes: NORMAL_PAGE_BYTES };
  const r = { round: 2, sent: 100, dirty: 100, totalSent: 200, pages: 256, bandwidth: 1e6 };
  t.equal(afterRound(base, r), "no-progress");
  t.equal(afterRound(base, { ...r, throttling: true }), null, "auto-converge throttles instead");
  const o = parseOptions({ args: { vm: "w", host: "b" }, options: {} });
  t.same([o.autoConverge, o.throttleInitial, o.throttleIncrement, o.throttleMax, o.disk], [false, 0.2, 0.1, 0.99, "copy"]);

  const k = await cluster();
  k.addHost({ name: "c", cpus: 4, memoryBytes: 1 * GiB });
  k.addLink({ a: "a", b: "c", bandwidth: 1.25e9, latency: 0 });
  const busy = { activities: [{ op: "write" as const, rate: 40_000, pattern: { kind: "sequential" as const } }], mix: RANDOM, scripted: [] };
  const ac = k.createVm({ name: "ac", host: "a", vcpus: 1, memoryBytes: 4 * MiB, initial: RANDOM });
  const fl = k.createVm({ name: "fl", host: "a", vcpus: 1, memoryBytes: 4 * MiB, initial: RANDOM });
  k.workload.attach(ac, busy);
  k.workload.attach(fl, busy);
  k.act(0, "start", { vm: "ac" });
  k.act(0, "start", { vm: "fl" });
  // 1024 pages at 4000 pages/s: the guest (40000 pages/s) saturates the dirty log until throttled
  k.act(1 * MS, "migrate", { vm: "ac", host: "b" }, { bandwidth: 16_416_000, threshold: 64, "auto-converge": true, "throttle-initial": 0.5, "throttle-increment": 0.25, "throttle-max": 0.95 });
  k.act(1 * MS, "migrate", { vm: "fl", host: "c" }, { bandwidth: 16_416_000, threshold: 64, "auto-converge": true });
  let during = -1;
  k.scheduler.at(2 * SECOND, () => { during = fl.throttle; });
  // QEMU throttles the source's vCPUs only: the VM resumes on the destination unthrottled.
  const atResume: number[] = [];
  k.cluster.signals.stateChanged.connect((w, _from, to) => {
    if (w === ac && to === "running" && w.host.name === "b") atResume.push(w.throttle);
  });
  k.act(2 * SECOND, "link", { link: "a<->c", state: "down" });
  k.run(5 * SECOND);
  const m = section(k, "ac");
  t.equal(m.status, "completed");
  t.same([m.rounds.r1.throttle, m.rounds.r2.throttle, m.rounds.r3.throttle], [0, 0.5, 0.75]);
  t.equal(m["max-throttle"], 0.95);
  t.equal(m["cpu-throttle"], 0);
  t.equal(ac.throttle, 0, "removed when the migration completed");
  t.same(atResume, [0], "and already when the VM resumed on the destination");
  const f = section(k, "fl");
  t.equal(f.status, "failed");
  t.ok(during > 0, "throttled while pre-copy ran");
  t.equal(fl.throttle, 0, "removed when the migration failed");
  t.equal(f["max-throttle"], during);
  t.end();
});

t.test("disk copy: blocks pre-copied to the destination's first datastore; refuse; no datastore", async (t) => {
  const k = await cluster();
  k.addHost({ name: "c", cpus: 4, memoryBytes: 1 * GiB });
  k.addLink({ a: "a", b: "c", bandwidth: 1.25e9, latency: 0 });
  const ds = (name: string, hosts: string[]) => k.addDatastore({ type: "datastore", name, hosts, bandwidth: 1e9, latency: 0, problems: [], loc: undefined } as never);
  ds("local-a", ["a"]);
  ds("local-b", ["b"]);
  ds("other-b", ["b"]);
  const size = 2 * DISK_BLOCK_BYTES + 4096;
  const web = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: RANDOM, disks: [{ datastore: "local-a", sizeBytes: size }] });
  const ro = k.createVm({ name: "ro", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: RANDOM, disks: [{ datastore: "local-a", sizeBytes: 4096 }] });
  const nc = k.createVm({ name: "nc", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: RANDOM, disks: [{ datastore: "local-a", sizeBytes: 4096 }] });
  // a file of that name already on the target: the copy gets another name
  k.storage.createFile("local-b", "web-disk0.vmdk", 1);
  const disk = vmInfo(web)!.disks[0]!;
  disk.write("a", DISK_BLOCK_BYTES + 10, Uint8Array.of(1, 2, 3), () => {});
  for (const vm of ["web", "ro", "nc"]) k.act(0, "start", { vm });
  const acts = [
    k.act(1 * MS, "migrate", { vm: "web", host: "b" }, { bandwidth: 1e9 }),
    k.act(1 * MS, "migrate", { vm: "ro", host: "b" }, { disk: "refuse" }),
    k.act(1 * MS, "migrate", { vm: "nc", host: "c" }),
  ];
  k.run(1 * SECOND);
  const m = section(k, "web");
  t.equal(m.status, "completed");
  t.same([m.disk.transferred, m.disk.total], [size + 3 * 8, size], "3 blocks, each with its 8-byte header");
  t.same(m.disk.files, ["local-b/web-disk0.vmdk.migrated-1"]);
  const copy = k.storage.file("local-b", "web-disk0.vmdk.migrated-1");
  t.equal(vmInfo(web)!.disks[0], copy, "the VM uses the copy");
  t.same(Array.from(copy.peek(DISK_BLOCK_BYTES + 9, 5)), [0, 1, 2, 3, 0], "contents copied");
  t.match(acts[1]!.failure, /^VMSCN5012.*cannot reach \(disk refuse\)/);
  t.match(acts[2]!.failure, /^VMSCN5012.*host "c" is attached to no datastore/);
  t.equal(ro.host.name, "a");
  t.equal(nc.host.name, "a");
  const chart = k.metrics.collectCharts().find((c) => c.title === "Migration bandwidth over time")!;
  const series = (chart.data as { series: { name: string; x: number[]; y: number[] }[] }).series.find((x) => x.name === "web")!;
  const bytes = series.y.reduce((sum, y) => sum + y * 0.01, 0);
  t.ok(Math.abs(bytes - (m.disk.transferred + m.ram.transferred + m["device-state-bytes"])) < 1, "B/s × 10 ms adds up to every byte sent");
  t.ok(series.x.length > 0 && series.x.every((x) => x % (10 * MS) === 0), "x: 10 ms bucket starts");
  t.end();
});

t.test("disk copy fails cleanly when the source crashes; the bandwidth series adds up", async (t) => {
  const k = await cluster();
  const ds = (name: string, hosts: string[]) => k.addDatastore({ type: "datastore", name, hosts, bandwidth: 1e9, latency: 0, problems: [], loc: undefined } as never);
  ds("local-a", ["a"]);
  ds("local-b", ["b"]);
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: RANDOM, disks: [{ datastore: "local-a", sizeBytes: 64 * MiB }] });
  k.act(0, "start", { vm: "web" });
  k.act(1 * MS, "migrate", { vm: "web", host: "b" }, { bandwidth: 100 * MiB });
  k.act(100 * MS, "crash", { host: "a" });
  k.run(1 * SECOND);
  const m = section(k, "web");
  t.equal(m.status, "failed");
  t.ok(m.disk.transferred > 0 && m.disk.transferred < m.disk.total, "stopped in the middle of the copy");
  t.ok(m.disk.time > 0);
  t.end();
});

t.test("the bandwidth cap holds for all of a migration's transfers together: demand fetches and background paging", async (t) => {
  const k = await cluster({ latency: 10 * US });
  const web = k.createVm({ name: "web", host: "a", vcpus: 4, memoryBytes: 4 * MiB, deviceStateBytes: 0, initial: RANDOM });
  k.act(0, "start", { vm: "web" });
  // 1024 pages of 4104 bytes at 4.104 MB/s: one second of paging whatever the flows
  k.act(1 * MS, "migrate", { vm: "web", host: "b", mode: "demand-paging" }, { after: ["background"], bandwidth: 4_104_000, batch: 64 });
  k.workload.attach(web, { activities: [{ op: "read", rate: 2000, pattern: { kind: "uniform" } }], mix: RANDOM, scripted: [] });
  let peak = 0;
  for (let at = 10 * MS; at < 900 * MS; at += 10 * MS) {
    k.scheduler.at(at, () => {
      const link = k.network.stats().links[0]!;
      peak = Math.max(peak, link.rateAB + link.rateBA);
    });
  }
  k.run(3 * SECOND);
  const m = section(k, "web");
  t.equal(m.status, "completed");
  t.ok(m["demand-paging"].requests > 0, "the guest faulted while the background thread ran");
  t.ok(m["demand-paging"]["background-pages"] > 0);
  t.ok(peak <= 4_104_000 * (1 + 1e-9), `the link never carried more than the cap (peak ${peak} B/s)`);
  // every page once, at the cap: about a second after the switch-over
  t.ok(m["source-dependency-time"] >= 1 * SECOND - 1 * MS, `${m["source-dependency-time"]} ns`);
  t.end();
});
