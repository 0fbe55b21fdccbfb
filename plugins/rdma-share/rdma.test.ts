// RDMA migration with deferred shared pages, through the kernel: which pages cross and which
// stay, remote reads, remote copy-on-write, the background copier, the end of the dependence,
// and every way it can fail. 4096 B take 4 us at 1.024 GB/s; a remote access costs
// 10 us (request) + 4 us + 10 us (delivery) = 24 us.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { PageState, definePlugin } from "../../core/api.js";
import type { Kernel } from "../../core/run/kernel.js";
import type { World } from "../../core/world/world.js";
import precopy from "../precopy-migration/index.js";
import tps from "../tps/index.js";
import compression from "../compression/index.js";
import plugin from "./index.js";
import { checkRdma, parseRdmaOptions } from "./options.js";

const MiB = 1024 ** 2;
const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };
const US = 1000;

async function cluster(opts: { rdmaB?: boolean; latency?: number } = {}): Promise<Kernel> {
  const k = createKernel({ seed: 5, checkInvariants: true });
  await k.plugins.registerAll([plugin, tps, compression, precopy]);
  k.addHost({ name: "a", cpus: 4, memoryBytes: 64 * MiB, rdma: true });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 64 * MiB, rdma: opts.rdmaB ?? true });
  k.addLink({ a: "a", b: "b", bandwidth: 1.024e9, latency: opts.latency ?? 10 * US });
  return k;
}

/** vm1 (16 pages) and vm2 on a; vm2's pages 0..5 are vm1's frames (a fork, say). */
function pair(k: Kernel, vcpus = 1): { vm1: World; vm2: World } {
  const vm1 = k.createVm({ name: "vm1", host: "a", vcpus, memoryBytes: 16 * 4096, deviceStateBytes: 0, initial: RANDOM });
  const vm2 = k.createVm({ name: "vm2", host: "a", vcpus: 1, memoryBytes: 16 * 4096, deviceStateBytes: 0, initial: RANDOM });
  for (let p = 0; p < 6; p++) k.memory.share(vm1.memory!, p, vm2.memory!, p);
  k.act(0, "start", { vm: "vm1" });
  k.act(0, "start", { vm: "vm2" });
  return { vm1, vm2 };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const rdma = (k: Kernel, vm: string): any => (k.report("t") as any).rdma?.[vm];

t.test("shared pages stay behind; the moved VM maps them on the source; reads go over RDMA", async (t) => {
  const k = await cluster();
  const { vm1 } = pair(k, 2);
  k.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  // both vCPUs read page 0 at once: two RDMA reads (nothing is cached); then page 1
  k.workload.attach(vm1, { activities: [], mix: RANDOM, scripted: [
    { at: 10_000_000, op: "read", first: 0, count: 1, vcpu: 0 },
    { at: 10_000_000, op: "read", first: 0, count: 2, vcpu: 1 },
  ] });
  k.run(20_000_000);
  const r = rdma(k, "vm1");
  t.match(r, { status: "completed", transport: "rdma", fallback: false, "shared-pages": "leave", "remote-cow": "on-write", "remote-background": false, initiator: "source", source: "a", destination: "b" });
  t.equal(r["pages-sent"], 10);
  t.equal(r["pages-left-remote"], 6);
  t.equal(r["pages-remote"], 6);
  t.equal(r["bytes-deferred"], 6 * 4104);
  t.equal(r["page-list-bytes"], 6 * 16);
  t.equal(r["bytes-saved"], 6 * 4104 - 6 * 16);
  t.equal(r["bytes-saved-pct"], (100 * (6 * 4104 - 6 * 16)) / (10 * 4104 + 6 * 4104));
  t.equal(r["remote-reads"], 3);
  t.equal(r["remote-read-bytes"], 3 * 4096);
  // the two reads of page 0 share the link (28 us each); vCPU 1's read of page 1 runs alone (24 us)
  t.equal(r["remote-stall-time"], 28 * US + 28 * US + 24 * US);
  t.same(r["ksm-before"], { a: null, b: null });
  t.equal(r["depends-on-source"], true);
  t.equal(vm1.memory!.census().remote, 6);
  t.equal(k.memory.machine(0).used, 16, "vm2's frames, 6 of them also mapped from b");
  t.equal(k.memory.machine(1).used, 10);
  const table = k.metrics.collectTables().find((x) => x.title.startsWith("RDMA migrations"))!;
  t.same(table.rows[0]!.slice(0, 8), ["vm1", "a → b", "completed", 10, 6, 6, 3, 0]);
  k.checkInvariants();
  t.end();
});

t.test("remote copy-on-write: vCPUs writing one page share one copy; the last copy ends the dependence", async (t) => {
  const k = await cluster();
  const { vm1 } = pair(k, 2);
  k.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  k.workload.attach(vm1, { activities: [], mix: RANDOM, scripted: [
    { at: 10_000_000, op: "write", first: 0, count: 1, vcpu: 0 },
    { at: 10_000_000, op: "write", first: 0, count: 1, vcpu: 1 },
    { at: 20_000_000, op: "write", first: 1, count: 5, vcpu: 0 },
  ] });
  k.run(15_000_000);
  let r = rdma(k, "vm1");
  t.equal(r["remote-cows"], 1);
  t.equal(r["remote-stall-time"], 2 * 24 * US, "both vCPUs waited for the one copy");
  t.equal(r["pages-remote"], 5);
  k.run(30_000_000);
  r = rdma(k, "vm1");
  t.equal(r["remote-cows"], 6);
  t.equal(r["pages-remote"], 0);
  t.equal(r["depends-on-source"], false);
  t.equal(r["dependence-end"], "local");
  t.equal(r["bytes-saved"], 6 * 4104 - 6 * 16 - 6 * 4096);
  t.equal(k.cluster.host("a").worlds.filter((w) => w.name.includes("rdma-responder")).length, 0, "the responder is gone");
  t.equal(vm1.memory!.census().remote, 0);
  k.checkInvariants();
  t.end();
});

t.test("the background copier pulls batches at the migration's rate; a write to a page in flight waits for its batch", async (t) => {
  const k = await cluster();
  let resumed = 0;
  // a probe schedules vm1's write half-way through the first batch (the copier starts at resume)
  await k.plugins.registerAll([
    definePlugin({
      name: "probe",
      version: "1.0.0",
      kernel: "^1",
      register: (ctx) =>
        ctx.on("moved", (w) => {
          resumed = ctx.scheduler.now;
          k.workload.attach(w, { activities: [], mix: RANDOM, scripted: [{ at: resumed + 500 * US, op: "write", first: 2, count: 1 }] });
        }),
    }),
  ]);
  pair(k);
  // batches of 4 pages (16 KiB) capped at 16.384 MB/s: 1 ms each, and 10 us of latency each way
  k.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma", "remote-background": true, batch: 4, bandwidth: 16_384_000 });
  k.run(20_000_000);
  const r = rdma(k, "vm1");
  t.ok(resumed > 0);
  t.equal(r["background-pages"], 6);
  t.equal(r["background-bytes"], 6 * 4096);
  t.equal(r["remote-cows"], 0, "page 2 came with its batch");
  t.equal(r["remote-stall-time"], 520 * US, "from 0.5 ms to the batch's arrival at 1.02 ms");
  t.equal(r["dependence-time"], 1020 * US + 520 * US, "4 pages, then 2 (0.5 ms + 20 us)");
  t.equal(r["pages-remote"], 0);
  t.equal(r["depends-on-source"], false);
  t.equal(k.cluster.host("b").worlds.filter((w) => w.name.includes("remote-copier")).length, 0);
  k.checkInvariants();
  t.end();
});

t.test("remote pages nobody migrated: adopted at their first fault; a page map without a world is copied at once", async (t) => {
  const k = await cluster({ rdmaB: false });
  const src = k.createVm({ name: "src", host: "a", vcpus: 1, memoryBytes: 4 * 4096, initial: RANDOM });
  const v = k.createVm({ name: "v", host: "b", vcpus: 1, memoryBytes: 4 * 4096, initial: RANDOM });
  k.memory.share(src.memory!, 0, v.memory!, 0);
  k.memory.share(src.memory!, 1, v.memory!, 1);
  k.act(0, "start", { vm: "v" });
  k.workload.attach(v, { activities: [], mix: RANDOM, scripted: [
    { at: 1_000_000, op: "read", first: 0, count: 1 },
    { at: 2_000_000, op: "write", first: 1, count: 1 },
  ] });
  k.run(3_000_000);
  const r = rdma(k, "v");
  t.equal(r["remote-reads"], 1);
  t.equal(r["remote-cows"], 1);
  t.equal(r["pages-remote"], 1);
  t.equal(r["pages-left-remote"], undefined, "no migration: only the period's figures");
  t.equal(k.network.stats().transfers.tcp, 2, "no RDMA NIC on b: the reads go over TCP");
  // a page map no world owns
  const loose = k.memory.createGuest(999, "loose", 2, 1);
  k.memory.share(src.memory!, 2, loose, 0);
  t.equal(k.memory.write(loose, 0, 42), 0);
  t.equal(loose.state(0), PageState.Present);
  t.equal(k.memory.read(loose, 1), 0);
  k.memory.dropGuest(loose);
  k.checkInvariants();
  t.end();
});

t.test("the period ends when the VM stops or is destroyed; a source crash fails every VM that maps pages there", async (t) => {
  const k = await cluster();
  pair(k);
  const x = k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: 16 * 4096, deviceStateBytes: 0, initial: RANDOM });
  const y = k.createVm({ name: "y", host: "a", vcpus: 1, memoryBytes: 16 * 4096, deviceStateBytes: 0, initial: RANDOM });
  for (let p = 0; p < 3; p++) k.memory.share(x.memory!, p, y.memory!, p);
  k.act(0, "start", { vm: "x" });
  k.act(0, "start", { vm: "y" });
  k.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  k.act(1_000_000, "migrate", { vm: "x", host: "b" }, { transport: "rdma" });
  k.act(10_000_000, "stop", { vm: "vm1" });
  k.run(20_000_000);
  t.match(rdma(k, "vm1"), { "depends-on-source": false, "dependence-end": 'VM "vm1" stopped at 0.01 s' });
  t.equal(rdma(k, "x")["depends-on-source"], true);
  k.destroyVm(k.cluster.world("vm1"));
  t.equal(k.memory.machine(0).used, 32, "vm1's remote references went with it");
  k.act(30_000_000, "crash", { host: "a" });
  k.run(40_000_000);
  const xr = rdma(k, "x");
  t.equal(xr["depends-on-source"], false);
  t.match(xr["dependence-end"], /^VMSCN7603 at [\d.]+ s: host "a" crashed at 0.03 s while VM "x" still mapped 3 of its pages there/);
  t.equal(k.cluster.world("x").state, "stopped");
  t.equal(k.memory.machine(1).used, 0);
  k.checkInvariants();
  t.end();
});

t.test("post-copy with pages left behind: the source's crash during post-copy ends both", async (t) => {
  const k = await cluster();
  const { vm1 } = pair(k);
  k.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma", after: ["demand-paging"] });
  // written during round 1 (1.02 to 1.07 ms): left for post-copy
  k.workload.attach(vm1, { activities: [], mix: RANDOM, scripted: [{ at: 1_030_000, op: "write", first: 8, count: 8 }] });
  k.run(5_000_000);
  // pages 8..15 changed during round 1: they wait for post-copy; 0..5 are remote
  t.equal(vm1.memory!.census().remote, 6);
  t.equal((k.report("t") as unknown as { migration: { vm1: { status: string } } }).migration.vm1.status, "postcopy-active");
  k.act(6_000_000, "crash", { host: "a" });
  k.run(7_000_000);
  const r = rdma(k, "vm1");
  t.equal(r.status, "failed");
  t.equal(r["depends-on-source"], false);
  t.equal(vm1.state, "stopped");
  t.equal(k.memory.machine(1).used, 0);
  k.checkInvariants();
  t.end();
});

t.test("an unreachable source fails the VM: a read cut in flight, a request that finds no route, no route at all", async (t) => {
  for (const [downAt, why] of [
    [15 * US, /link "a<->b" went down/],
    [5 * US, /no route from host "a" to host "b"/],
    [-1, /no route from host "b"/],
  ] as const) {
    const k = await cluster();
    const { vm1 } = pair(k);
    k.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
    const T = 10_000_000;
    if (downAt < 0) k.act(T - 1, "link", { link: "a<->b", state: "down" });
    else k.act(T + downAt, "link", { link: "a<->b", state: "down" });
    k.workload.attach(vm1, { activities: [], mix: RANDOM, scripted: [{ at: T, op: "read", first: 0, count: 1 }] });
    k.run(20_000_000);
    t.equal(vm1.state, "stopped");
    t.match(vm1.failure, /^VMSCN7604 at [\d.]+ s: VM "vm1" could not read its pages on host "a" \(/);
    t.match(vm1.failure, why);
    t.equal(rdma(k, "vm1")["depends-on-source"], false);
    t.equal(k.memory.machine(1).used, 0);
    k.checkInvariants();
  }
  t.end();
});

t.test("a read whose request is under way when the last page turns local finds it local", async (t) => {
  const k = await cluster();
  const vm1 = k.createVm({ name: "vm1", host: "a", vcpus: 2, memoryBytes: 4 * 4096, deviceStateBytes: 0, initial: RANDOM });
  const vm2 = k.createVm({ name: "vm2", host: "a", vcpus: 1, memoryBytes: 4 * 4096, deviceStateBytes: 0, initial: RANDOM });
  k.memory.share(vm1.memory!, 0, vm2.memory!, 0);
  k.act(0, "start", { vm: "vm1" });
  k.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  // vCPU 0's copy of page 0 lands at T + 24 us; vCPU 1's read request reaches a at T + 29 us
  const T = 10_000_000;
  k.workload.attach(vm1, { activities: [], mix: RANDOM, scripted: [
    { at: T, op: "write", first: 0, count: 1, vcpu: 0 },
    { at: T + 19 * US, op: "read", first: 0, count: 1, vcpu: 1 },
  ] });
  k.run(20_000_000);
  const r = rdma(k, "vm1");
  t.equal(r["remote-cows"], 1);
  t.equal(r["dependence-end"], "local");
  t.equal(r["dependence-time"], T + 24 * US - (k.report("t") as unknown as { migration: { vm1: { "start-time": number; "total-time-ns": number } } }).migration.vm1["start-time"] - (k.report("t") as unknown as { migration: { vm1: { "total-time-ns": number } } }).migration.vm1["total-time-ns"]);
  t.equal(vm1.memory!.state(0), PageState.Present);
  t.equal(vm1.state, "running");
  t.equal(k.workload.stats(vm1)!.reads, 1, "the read completed, locally");
  k.checkInvariants();
  t.end();
});

t.test("page sharing on the destination: a page re-mapped locally ends a dependence; one re-mapped remotely starts one", async (t) => {
  for (const policy of ["local", "remote"] as const) {
    const k = await cluster();
    const { vm1 } = pair(k);
    const vm3 = k.createVm({ name: "vm3", host: "b", vcpus: 1, memoryBytes: 4 * 4096, deviceStateBytes: 0, initial: RANDOM });
    k.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
    k.run(5_000_000);
    // vm3's page 0 gets the contents of vm1's remote page 3
    k.memory.write(vm3.memory!, 0, k.memory.peek(vm1.memory!, 3));
    k.act(6_000_000, "tps", { state: "on", host: "b" }, { "pages-to-scan": 1000, sleep: 10_000_000, "remote-pages": policy });
    k.run(40_000_000);
    if (policy === "local") {
      t.equal(rdma(k, "vm1")["reshared-locally"], 1);
      t.equal(rdma(k, "vm1")["pages-remote"], 5);
      t.equal(vm1.memory!.frame[3], vm3.memory!.frame[0]);
    } else {
      t.equal(vm3.memory!.state(0), PageState.Remote);
      t.match(rdma(k, "vm3"), { "mapped-remotely": 1, "pages-remote": 1, "depends-on-source": true });
      t.equal(rdma(k, "vm3")["pages-sent"], undefined);
      k.act(50_000_000, "crash", { host: "a" });
      k.run(60_000_000);
      t.equal(vm3.state, "stopped", "vm3 depended on a too");
      t.match(vm3.failure, /^VMSCN7603 at [\d.]+ s: host "a" crashed at 0.05 s while VM "vm3" still mapped 1 of its pages there/);
      // re-mapped when its RDMA comparison (started by the second scan, at 16 ms) arrived: 10 + 4 us later
      t.match(rdma(k, "vm3"), { "depends-on-source": false, "dependence-time": 50_000_000 - 16_014_000 });
    }
    k.checkInvariants();
  }
  t.end();
});

t.test("killed helpers: the responder (the VM fails, VMSCN7604), the copier (background copying stops)", async (t) => {
  const k = await cluster();
  const { vm1 } = pair(k);
  k.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  k.act(5_000_000, "kill", { world: "vm1.rdma-responder.a#1" });
  k.run(10_000_000);
  t.equal(vm1.state, "stopped");
  t.match(vm1.failure, /^VMSCN7604 at [\d.]+ s: the RDMA responder "vm1.rdma-responder.a#1" on host "a" was killed at 0.005 s while VM "vm1" still mapped 6 of its pages there/);
  t.equal(k.memory.machine(1).used, 0);
  k.checkInvariants();

  const k2 = await cluster();
  const p2 = pair(k2);
  // batches of 2 pages at 8.192 MB/s: 1 ms each (+ 20 us); the copier dies during the second
  k2.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma", "remote-background": true, batch: 2, bandwidth: 8_192_000 });
  k2.run(6_500_000);
  const mig = (k2.report("t") as unknown as { migration: { vm1: { status: string; "start-time": number; "total-time-ns": number } } }).migration.vm1;
  t.equal(mig.status, "completed");
  const resumed = mig["start-time"] + mig["total-time-ns"];
  const copier = k2.cluster.worlds.find((w) => w.name.startsWith("vm1.remote-copier"));
  t.ok(copier, "the copier runs on b");
  t.equal(copier!.host.name, "b");
  k2.act(resumed + 1_500_000, "kill", { world: copier!.name });
  k2.run(30_000_000);
  const r = rdma(k2, "vm1");
  t.equal(r["background-pages"], 4, "the batch in flight still landed; no batch after it");
  t.equal(r["pages-remote"], 2);
  t.equal(r["depends-on-source"], true);
  t.match(r["background-stopped"], /^the copier "vm1.remote-copier#1" was killed at/);
  t.equal(p2.vm1.state, "running");
  k2.checkInvariants();
  t.end();
});

t.test("the destination's memory exhausted in the remote-shared period: reads go on, the next remote copy fails the VM (VMSCN5002), not the run", async (t) => {
  const k = await cluster();
  const { vm1 } = pair(k);
  k.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  k.act(5_000_000, "exhaust", { host: "b" });
  k.workload.attach(vm1, { activities: [], mix: RANDOM, scripted: [
    { at: 6_000_000, op: "read", first: 0, count: 1 },
    { at: 7_000_000, op: "write", first: 1, count: 1 },
  ] });
  k.run(10_000_000);
  t.equal(vm1.state, "stopped");
  t.equal(vm1.failure, 'VMSCN5002 at 0.007024 s: VM "vm1" could not copy page 1 from host "a": host "b" is out of memory: no free frame for "vm1@b" (capacity 64 MiB, all 16384 frames in use)');
  const r = rdma(k, "vm1");
  t.same([r["remote-reads"], r["remote-cows"], r["pages-remote"], r["depends-on-source"]], [1, 0, 0, false], "the read went through; the copy had nowhere to land");
  t.equal(r["dependence-end"], vm1.failure);
  k.checkInvariants();
  t.end();
});

t.test("failures during the RDMA pre-copy: the source or the destination crashes, the link goes down", async (t) => {
  for (const fault of ["crash a", "crash b", "link"] as const) {
    const k = await cluster();
    const { vm1, vm2 } = pair(k);
    // 10 pages at 4,104,000 B/s: round 1 runs from 1.02 ms to about 11 ms
    k.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma", bandwidth: 4_104_000 });
    if (fault === "link") k.act(5_000_000, "link", { link: "a<->b", state: "down" });
    else k.act(5_000_000, "crash", { host: fault.slice(-1) });
    k.run(20_000_000);
    const r = rdma(k, "vm1");
    t.equal(r.status, "failed", fault);
    t.equal(r["pages-left-remote"], 0);
    t.equal(r["depends-on-source"], false);
    t.equal(vm1.memory!.census().remote, 0, "nothing was left remote");
    if (fault === "crash a") {
      t.equal(vm1.state, "stopped", "the VM died with its host");
      t.equal(k.memory.machine(1).used, 0, "the destination's copy is dropped");
    } else {
      t.equal(vm1.host.name, "a");
      t.equal(vm1.state, "running", `${fault}: the VM keeps running on the source`);
      t.equal(vm2.memory!.frame[0], vm1.memory!.frame[0], "its pages still shared there");
      t.equal(k.memory.machine(0).used, 26);
    }
    k.checkInvariants();
  }
  t.end();
});

t.test("refusals at run time: leave over TCP, RDMA without NICs; TCP fallback", async (t) => {
  const k = await cluster({ rdmaB: false });
  pair(k);
  const a = k.act(1_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "tcp", "shared-pages": "leave" });
  const b = k.act(2_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  const c = k.act(3_000_000, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma", fallback: "tcp" });
  k.run(100_000_000);
  t.match(a.failure, /^VMSCN7602 .*: cannot leave the shared pages of VM "vm1" on host "a": shared-pages leave needs transport rdma/);
  t.match(b.failure, /^VMSCN7601 .*: cannot migrate VM "vm1" from host "a" to host "b" over RDMA: host "b" has no RDMA NIC \(add fallback tcp/);
  t.equal(c.state, "done");
  t.match(rdma(k, "vm1"), { transport: "tcp", fallback: true, "shared-pages": "copy", "pages-sent": 16, "pages-left-remote": 0, initiator: "source" });
  t.equal((k.report("t") as unknown as { migration: { vm1: { refusals: number } } }).migration.vm1.refusals, 2);
  t.end();
});

t.test("options: defaults, and the checks at validation time", (t) => {
  t.same(parseRdmaOptions({}, "rdma"), { sharedPages: "leave", remoteCow: "on-write", background: false, fallback: "refuse", initiator: "source" });
  t.equal(parseRdmaOptions({}, "tcp").sharedPages, "copy");
  const view = {
    hosts: new Map([
      ["a", { cpus: 1, memoryBytes: MiB, rdma: true, datastores: [] }],
      ["b", { cpus: 1, memoryBytes: MiB, rdma: false, datastores: [] }],
      ["c", { cpus: 1, memoryBytes: MiB, rdma: true, datastores: [] }],
    ]),
    vms: new Map([["v", { host: "a", vcpus: 1, memoryBytes: 4096, disks: [] }]]),
    datastores: new Map(),
  };
  const rdmaProblem = { message: "RDMA transport needs RDMA NICs", at: "transport" };
  const at = (host: string, options: Record<string, string | boolean>, problems = [rdmaProblem]) => checkRdma({ args: { vm: "v", host }, options }, view, problems).map((p) => p.at);
  t.same(at("b", { transport: "rdma", fallback: "tcp" }), [], "fallback tcp lifts the engine's objection");
  t.same(at("b", { transport: "rdma" }), ["transport"]);
  t.same(at("c", { transport: "tcp", "shared-pages": "leave" }, []), ["shared-pages"]);
  t.same(at("c", { transport: "rdma", "remote-cow": "on-access" }, []), []);
  t.same(at("c", { transport: "rdma", "shared-pages": "copy", "remote-background": true }, []), ["remote-background"]);
  t.same(at("b", { transport: "rdma", fallback: "tcp", "remote-cow": "on-access" }), ["remote-cow"], "a fallback to TCP leaves nothing behind");
  t.end();
});
