// Copy home: a page left on the source stays there only while a VM of the source maps the same
// frame. Once every VM that shared it has left (by RDMA migration or any other), the moved VMs
// copy their remote pages home in the background and the source can be evacuated.
// 4096 B take 4 us at 1.024 GB/s; the link's latency is 10 us each way.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import type { Kernel } from "../../core/run/kernel.js";
import type { World } from "../../core/world/world.js";
import precopy from "../precopy-migration/index.js";
import tps from "../tps/index.js";
import compression from "../compression/index.js";
import plugin from "./index.js";

const MiB = 1024 ** 2;
const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };
const US = 1000;
const MS = 1_000_000;

async function cluster(): Promise<Kernel> {
  const k = createKernel({ seed: 5, checkInvariants: true });
  await k.plugins.registerAll([plugin, tps, compression, precopy]);
  k.addHost({ name: "a", cpus: 4, memoryBytes: 64 * MiB, rdma: true });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 64 * MiB, rdma: true });
  k.addLink({ a: "a", b: "b", bandwidth: 1.024e9, latency: 10 * US });
  return k;
}

/** vm1 and vm2 (16 pages each) on a; pages 0..5 are one frame each, shared by both. */
function pair(k: Kernel): { vm1: World; vm2: World } {
  const vm1 = k.createVm({ name: "vm1", host: "a", vcpus: 1, memoryBytes: 16 * 4096, deviceStateBytes: 0, initial: RANDOM });
  const vm2 = k.createVm({ name: "vm2", host: "a", vcpus: 1, memoryBytes: 16 * 4096, deviceStateBytes: 0, initial: RANDOM });
  for (let p = 0; p < 6; p++) k.memory.share(vm1.memory!, p, vm2.memory!, p);
  k.act(0, "start", { vm: "vm1" });
  k.act(0, "start", { vm: "vm2" });
  return { vm1, vm2 };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const rdma = (k: Kernel, vm: string): any => (k.report("t") as any).rdma?.[vm];
const contents = (k: Kernel, w: World): number[] => Array.from({ length: w.memory!.pages }, (_, p) => k.memory.peek(w.memory!, p));

t.test("both VMs leave by RDMA: the second leaves its shared pages too, then both copy them home and the source is empty", async (t) => {
  const k = await cluster();
  const { vm1, vm2 } = pair(k);
  const before1 = contents(k, vm1);
  const before2 = contents(k, vm2);
  k.act(1 * MS, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  k.act(10 * MS, "migrate", { vm: "vm2", host: "b" }, { transport: "rdma" });
  k.run(9 * MS);
  // vm2 still maps the 6 frames on a: vm1 keeps them remote.
  t.match(rdma(k, "vm1"), { "pages-remote": 6, "depends-on-source": true, "background-pages": 0 });
  t.equal(rdma(k, "vm1")["copied-home"], undefined, "nothing copied home while vm2 is there");
  k.run(30 * MS);
  for (const vm of ["vm1", "vm2"]) {
    const r = rdma(k, vm);
    t.match(r, { status: "completed", "pages-left-remote": 6, "pages-remote": 0, "depends-on-source": false, "dependence-end": "local", "copied-home": 6, "background-pages": 6, "background-bytes": 6 * 4096, "remote-cows": 0 }, vm);
  }
  t.equal(k.memory.machine(0).used, 0, "no frame is left on a");
  t.same(k.cluster.host("a").worlds.map((w) => w.name), [], "no world is left on a: it can be evacuated");
  t.same(contents(k, vm1), before1);
  t.same(contents(k, vm2), before2);
  t.equal(vm1.memory!.census().remote + vm2.memory!.census().remote, 0);
  k.checkInvariants();
  t.end();
});

t.test("the copy starts when the second VM's migration ends; each VM copies its pages in one batch", async (t) => {
  const k = await cluster();
  pair(k);
  k.act(1 * MS, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  k.act(10 * MS, "migrate", { vm: "vm2", host: "b" }, { transport: "rdma" });
  let gone = -1;
  const resumed = new Map<string, number>();
  k.cluster.signals.destroyed.connect((w) => {
    if (gone < 0 && w.name.startsWith("vm2.")) gone = k.scheduler.now;
  });
  k.cluster.signals.moved.connect((w) => void resumed.set(w.name, k.scheduler.now));
  k.run(30 * MS);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const mig = (k.report("t") as any).migration;
  t.equal(gone, mig.vm2["start-time"] + mig.vm2["total-time-ns"], "vm2's helpers go when its migration ends");
  // From then: the request (10 us), the two batches of 6 pages sharing the link (2 × 24576 B
  // at 1.024 GB/s: 48 us), the delivery (10 us); both periods end together.
  const end = gone + 10 * US + 48 * US + 10 * US;
  t.equal(resumed.get("vm1")! + rdma(k, "vm1")["dependence-time"], end);
  t.equal(resumed.get("vm2")! + rdma(k, "vm2")["dependence-time"], end);
  t.end();
});

t.test("the other VM leaves by a TCP migration: the moved VM's pages come home once it has gone", async (t) => {
  const k = await cluster();
  const { vm1 } = pair(k);
  const before = contents(k, vm1);
  k.act(1 * MS, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  k.act(10 * MS, "migrate", { vm: "vm2", host: "b" });
  k.run(30 * MS);
  t.match(rdma(k, "vm1"), { "pages-remote": 0, "copied-home": 6, "dependence-end": "local" });
  t.equal(rdma(k, "vm2"), undefined, "vm2's own migration is no RDMA one");
  t.equal(k.memory.machine(0).used, 0);
  t.same(contents(k, vm1), before);
  k.checkInvariants();
  t.end();
});

t.test("a VM still on the source keeps the frames it maps there: only the others' pages come home", async (t) => {
  const k = await cluster();
  const { vm1, vm2 } = pair(k);
  const vm3 = k.createVm({ name: "vm3", host: "a", vcpus: 1, memoryBytes: 16 * 4096, deviceStateBytes: 0, initial: RANDOM });
  // vm3 maps frames of pages 0 and 1 too.
  k.memory.share(vm1.memory!, 0, vm3.memory!, 0);
  k.memory.share(vm1.memory!, 1, vm3.memory!, 1);
  k.act(1 * MS, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  k.act(10 * MS, "migrate", { vm: "vm2", host: "b" }, { transport: "rdma" });
  k.run(30 * MS);
  for (const vm of ["vm1", "vm2"]) t.match(rdma(k, vm), { "pages-remote": 2, "copied-home": 4, "depends-on-source": true }, vm);
  t.equal(vm1.memory!.census().remote, 2);
  t.equal(vm2.memory!.census().remote, 2);
  // vm3 goes too (destroyed): the last two come home.
  k.destroyVm(vm3);
  k.run(40 * MS);
  for (const vm of ["vm1", "vm2"]) t.match(rdma(k, vm), { "pages-remote": 0, "copied-home": 6, "dependence-end": "local" }, vm);
  t.equal(k.memory.machine(0).used, 0);
  k.checkInvariants();
  t.end();
});

t.test("a write on the source (an ordinary COW) is no departure: the moved VM keeps the original frame", async (t) => {
  const k = await cluster();
  const { vm2 } = pair(k);
  k.act(1 * MS, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  k.workload.attach(vm2, { activities: [], mix: RANDOM, scripted: [{ at: 10 * MS, op: "write", first: 0, count: 6 }] });
  k.run(30 * MS);
  t.match(rdma(k, "vm1"), { "pages-remote": 6, "depends-on-source": true });
  t.equal(rdma(k, "vm1")["copied-home"], undefined);
  k.checkInvariants();
  t.end();
});

t.test("the link goes down during the copy home: the VM fails as when the copier loses the source (VMSCN7604)", async (t) => {
  const k = await cluster();
  const { vm1 } = pair(k);
  k.act(1 * MS, "migrate", { vm: "vm1", host: "b" }, { transport: "rdma" });
  k.act(10 * MS, "migrate", { vm: "vm2", host: "b" }, { transport: "rdma" });
  k.run(9 * MS);
  // Cut the link as the copies fly: just after vm2's migration ends.
  let cut = false;
  k.cluster.signals.destroyed.connect((w) => {
    if (!cut && w.name.startsWith("vm2.") && w.kind === "system") {
      cut = true;
      k.scheduler.after(20 * US, () => k.network.setLinkUp("a<->b", false));
    }
  });
  k.run(30 * MS);
  t.ok(cut);
  t.match(rdma(k, "vm1")["dependence-end"], /^VMSCN7604 at [\d.]+ s: VM "vm1" could not read its pages on host "a"/);
  t.equal(vm1.state, "stopped");
  k.checkInvariants();
  t.end();
});
