// The VM clone command through the kernel API: the clone's pages equal the parent's at
// capture, bytes on the link, launch times against hand calculations, on-demand faults and
// background fetches, placement and the cluster presumptions, refusals, and failures.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { MS, SECOND } from "../../core/sim/time.js";
import type { Kernel } from "../../core/run/kernel.js";
import type { VmSpec } from "../../core/world/vm-spec.js";
import { PageState } from "../../core/memory/page.js";
import { builtinPlugins } from "../../app/builtins.js";
import { parseLaunchOptions } from "./options.js";
import { captureCost, capsuleLayout, digestHex, loadCost, pageDigest } from "./capsule.js";
import { ringAfter } from "./placement.js";

const MiB = 1024 ** 2;
const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };
const M = 256;
const PAGE = 4096;

// Hand calculations with the default options (see fork.test.ts): capsule 530432 B, capture
// 465216 ns, load 1000512 ns; on the 10 Gbit/s link (1.25 GB/s, 50 µs) a transfer of B
// bytes takes ceil(B / 1.25) ns + 50 µs.
const CAPSULE = 4096 + 512 * 1024 + M * 8;
const CAPTURE = 200_000 + CAPSULE / 2;
const LOAD = 1_000_000 + 512;
const LATENCY = 50_000;
const wire = (bytes: number): number => Math.ceil(bytes / 1.25) + LATENCY;

type HostSpec = { name: string; nodes?: number; vmm?: string; hypercalls?: string; memoryBytes?: number };

async function cluster(hosts: HostSpec[] = [{ name: "a" }, { name: "b" }]): Promise<Kernel> {
  const k = createKernel({ seed: 7, checkInvariants: true });
  await k.plugins.registerAll(builtinPlugins);
  for (const h of hosts) k.addHost({ cpus: 4, memoryBytes: 64 * MiB, ...h });
  for (let i = 1; i < hosts.length; i++) k.addLink({ a: "a", b: hosts[i]!.name, bandwidth: 1.25e9, latency: LATENCY });
  return k;
}

function parent(k: Kernel, extra: Partial<VmSpec> = {}) {
  return k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: M * PAGE, initial: RANDOM, bootNs: 30 * SECOND, ...extra });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const section = (k: Kernel, name: string): any => (k.report("t") as any).clone?.[name];
const contents = (k: Kernel, g: Parameters<Kernel["memory"]["peek"]>[0]) => Array.from({ length: g.pages }, (_, p) => k.memory.peek(g, p));

t.test("eager: the clone's pages equal the parent's at capture; bytes on the link are pages × 4096 + capsule", async (t) => {
  const k = await cluster();
  const web = parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "clone", { vm: "web", host: "b" });
  let atCapture: number[] = [];
  // The capsule is sealed at 1 s + capture; the parent writes every page right after.
  k.scheduler.at(1 * SECOND + CAPTURE, () => (atCapture = contents(k, web.memory!)));
  k.scheduler.at(1 * SECOND + CAPTURE + 1, () => { for (let p = 0; p < M; p++) k.memory.write(web.memory!, p, 1000 + p); });
  k.run(2 * SECOND);
  const clone = k.cluster.world("web-clone1");
  t.equal(clone.host.name, "b");
  t.equal(clone.state, "running");
  t.same(contents(k, clone.memory!), atCapture, "every page of the clone is the parent's at capture");
  t.notSame(contents(k, web.memory!), atCapture, "though the parent wrote every page since");
  const c = section(k, "web-clone1");
  t.equal(c["bytes-sent"], M * PAGE + CAPSULE);
  t.equal(k.network.linkStats("a<->b").bytesAB, M * PAGE + CAPSULE, "the link carried exactly that");
  t.equal(c["pages-sent"], M);
  t.equal(c["launch-latency"], CAPTURE + wire(CAPSULE) + wire(M * PAGE) + LOAD);
  t.equal(c["memory-home-time"], CAPTURE + wire(CAPSULE) + wire(M * PAGE));
  t.match(c, { role: "clone", parent: "web", origin: "clone", from: "a", to: "b", status: "running", memory: "eager", "cold-launch": 30 * SECOND, frames: M, "depends-on-source": false });
  t.equal(c["on-demand"], undefined);
  let d = 0;
  atCapture.forEach((content, page) => (d ^= pageDigest(page, content)));
  t.equal(c["image-digest"], digestHex(d), "the image's digest is that of the parent's pages at capture");
  t.equal(c["arrived-digest"], c["image-digest"], "and every page arrived as it was");
  // The image the parent's writes copied away from is gone once the clone has its memory.
  t.equal(k.memory.machine(0).used, M, "host a holds the parent's pages only");
  t.equal(k.memory.machine(1).used, M);
  t.equal(k.memory.liveGuests().length, 2);
  t.match(section(k, "web"), { role: "parent", requests: 1, workers: 1, running: 1, "all-running-time": c["launch-latency"] });
  t.end();
});

t.test("on-demand: the fault count equals the distinct pages the clone touches; vCPUs share a fetch", async (t) => {
  const k = await cluster();
  parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "clone", { vm: "web", host: "b" }, { memory: "on-demand" });
  k.run(1 * SECOND + 10 * MS);
  const clone = k.cluster.world("web-clone1");
  const c0 = section(k, "web-clone1");
  t.equal(c0["launch-latency"], CAPTURE + wire(CAPSULE) + LOAD, "it runs once the capsule is there");
  t.equal(c0.status, "fetching");
  t.equal(c0["depends-on-source"], true);
  t.equal(clone.memory!.census().absentFetch, M);
  // Two vCPUs' worth of accesses: pages 0..19 read, 10..29 written, 0..4 read again later.
  k.workload.attach(clone, { activities: [], mix: RANDOM, scripted: [
    { at: k.scheduler.now + 1, op: "read", first: 0, count: 20 },
    { at: k.scheduler.now + 1, op: "write", first: 10, count: 20, vcpu: 0 },
    { at: k.scheduler.now + 500 * MS, op: "read", first: 0, count: 5 },
  ] });
  k.run(2 * SECOND);
  const c = section(k, "web-clone1");
  t.equal(c["on-demand"].requests, 30, "30 distinct pages touched, 30 fetches");
  t.equal(clone.memory!.faults, 30, "and 30 faults");
  t.equal(c["pages-sent"], 30);
  t.equal(c["bytes-sent"], CAPSULE + 30 * PAGE);
  t.equal(k.network.linkStats("a<->b").bytesAB, CAPSULE + 30 * PAGE);
  t.equal(c["on-demand"]["pages-left"], M - 30);
  t.equal(c["on-demand"]["background-pages"], 0);
  t.not(c["arrived-digest"], c["image-digest"], "30 of 256 pages arrived");
  t.ok(c["on-demand"]["stall-time"] > 0);
  t.end();
});

t.test("on-demand with a background fetcher: every page comes home, then the image is dropped", async (t) => {
  const k = await cluster();
  const web = parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "clone", { vm: "web", host: "b" }, { memory: "on-demand", background: true, batch: 100 });
  let atCapture: number[] = [];
  k.scheduler.at(1 * SECOND + CAPTURE, () => (atCapture = contents(k, web.memory!)));
  k.scheduler.at(1 * SECOND + CAPTURE + 1, () => { for (let p = 0; p < M; p++) k.memory.write(web.memory!, p, 77); });
  k.run(2 * SECOND);
  const clone = k.cluster.world("web-clone1");
  const c = section(k, "web-clone1");
  t.equal(c.status, "running");
  t.equal(c["on-demand"]["background-pages"], M, "batches of 100, 100, 56");
  t.equal(c["on-demand"]["pages-left"], 0);
  t.same(contents(k, clone.memory!), atCapture);
  t.equal(c["arrived-digest"], c["image-digest"]);
  t.equal(c["bytes-sent"], CAPSULE + M * PAGE);
  t.equal(k.memory.machine(0).used, M, "the image's frames (copied away from by the parent's writes) are freed");
  t.notOk(k.cluster.hasWorld("web-clone1.fetcher"), "the fetcher is gone");
  t.notOk(k.cluster.hasWorld("web.image-server#1"));
  t.end();
});

t.test("fan-out: workers spread first-fit over the next hosts in ring order; each host's VMM loads one at a time", async (t) => {
  const k = await cluster([{ name: "a" }, { name: "b", nodes: 2 }, { name: "c", nodes: 3 }]);
  parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "clone", { vm: "web" }, { workers: 4, memory: "on-demand" });
  k.run(2 * SECOND);
  const to = ["web-clone1", "web-clone2", "web-clone3", "web-clone4"].map((n) => section(k, n).to);
  t.same(to, ["b", "b", "c", "c"]);
  // Four capsules leave a's NIC at once (fair shares), so each takes 4 × as long to drain.
  const arrive = CAPTURE + Math.ceil((4 * CAPSULE) / 1.25) + LATENCY;
  t.equal(section(k, "web-clone1")["launch-latency"], arrive + LOAD);
  t.equal(section(k, "web-clone2")["launch-latency"], arrive + 2 * LOAD, "queued behind web-clone1 on b's VMM");
  t.equal(section(k, "web")["all-running-time"], arrive + 2 * LOAD);
  t.same(ringAfter(k.cluster.host("b"), k.cluster.hosts).map((h) => h.name), ["c", "a"]);
  t.end();
});

t.test("presumptions at a named host: VMM API (7202), hypercall interface (7203); the policy skips such hosts", async (t) => {
  const k = await cluster([{ name: "a", vmm: "kvm-1.2", hypercalls: "kvm" }, { name: "b", vmm: "xen-4.1", hypercalls: "kvm" }, { name: "c", vmm: "kvm-1.2", hypercalls: "xen" }, { name: "d", vmm: "kvm-1.2", hypercalls: "kvm", nodes: 1 }]);
  parent(k);
  k.act(0, "start", { vm: "web" });
  const vmm = k.act(1 * SECOND, "clone", { vm: "web", host: "b" });
  const hc = k.act(2 * SECOND, "clone", { vm: "web", host: "c" });
  k.act(3 * SECOND, "clone", { vm: "web" });
  const none = k.act(4 * SECOND, "clone", { vm: "web" });
  k.run(5 * SECOND);
  t.match(vmm.failure, /^VMSCN7202 .*host "b" complies with VMM API "xen-4\.1", host "a" with "kvm-1\.2": the VM clone command needs the same VMM API \(presumption 1\)/);
  t.match(hc.failure, /^VMSCN7203 .*host "c" offers hypercall interface "xen", host "a" "kvm"/);
  t.equal(section(k, "web-clone1").to, "d", "the policy passes over b and c");
  t.match(none.failure, /^VMSCN7202 .*no next host can take 1 clone of VM "web"; host "b" complies with VMM API "xen-4\.1"/, "with d full, the first broken presumption says why");
  t.match(section(k, "web"), { refusals: 3, "refusal-code": "VMSCN7202" });
  t.end();
});

t.test("presumptions of a declared worker (7204-7206) and of the VMs already on the next host", async (t) => {
  const cases: [Partial<VmSpec>, string][] = [
    [{ memoryBytes: 2 * MiB }, "VMSCN7204"],
    [{ guest: "alpine" }, "VMSCN7205"],
    [{ usage: "batch" }, "VMSCN7206"],
  ];
  for (const [spec, code] of cases) {
    const k = await cluster();
    parent(k, { guest: "debian", usage: "web" });
    k.createVm({ name: "w", host: "b", vcpus: 1, memoryBytes: M * PAGE, guest: "debian", usage: "web", ...spec });
    k.act(0, "start", { vm: "web" });
    const rec = k.act(1 * SECOND, "clone", { vm: "web", worker: "w" });
    k.run(2 * SECOND);
    t.match(rec.failure, new RegExp(`^${code} `), code);
  }
  const k = await cluster();
  parent(k, { guest: "debian", usage: "web" });
  k.createVm({ name: "db", host: "b", vcpus: 1, memoryBytes: MiB, guest: "centos" });
  k.act(0, "start", { vm: "web" });
  const rec = k.act(1 * SECOND, "clone", { vm: "web", host: "b" });
  k.run(2 * SECOND);
  t.match(rec.failure, /^VMSCN7205 .*VM "db" on host "b" has guest configuration "centos", VM "web" "debian"/);
  t.end();
});

t.test("clone into a declared worker: it gets the image (its own frames given back) and keeps its workload", async (t) => {
  const k = await cluster();
  const web = parent(k);
  const w = k.createVm({ name: "w", host: "b", vcpus: 1, memoryBytes: M * PAGE, initial: RANDOM, bootNs: 50 * SECOND, workload: { activities: [], mix: RANDOM, scripted: [{ at: 1.5 * SECOND, op: "write", first: 0, count: 4 }] } });
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "clone", { vm: "web", worker: "w", host: "b" });
  k.run(1.2 * SECOND);
  t.same(contents(k, w.memory!), contents(k, web.memory!));
  t.equal(k.memory.machine(1).used, M);
  k.run(2 * SECOND);
  t.equal(k.workload.stats(w)!.writes, 4);
  t.match(section(k, "w"), { declared: true, "cold-launch": 50 * SECOND });
  t.end();
});

t.test("a clone that is cloned from in turn: its entry keeps both roles, the clone's and (under as-parent) the parent's", async (t) => {
  const k = await cluster();
  parent(k);
  k.createVm({ name: "w", host: "b", vcpus: 1, memoryBytes: M * PAGE, initial: RANDOM, bootNs: 30 * SECOND });
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "clone", { vm: "web", worker: "w", host: "b" });
  k.act(2 * SECOND, "clone", { vm: "w", host: "a" });
  k.act(3 * SECOND, "clone", { vm: "w", host: "nowhere" });
  k.run(4 * SECOND);
  t.same(k.actionLog().map((a) => a.state), ["done", "done", "done", "failed"]);
  t.match(section(k, "w"), { role: "clone", parent: "web", declared: true, status: "running", to: "b" });
  t.match(section(k, "w")["as-parent"], { requests: 1, workers: 1, running: 1, failed: 0, "requested-at": 2 * SECOND, refusals: 1, "refusal-code": "VMSCN5005" });
  t.notOk("role" in section(k, "w")["as-parent"], "the role is the entry's");
  t.match(section(k, "w-clone1"), { role: "clone", parent: "w", from: "b", to: "a", status: "running" });
  t.match(section(k, "web"), { role: "parent", requests: 1 });
  t.end();
});

t.test("the parent's host crashes at the very instant the capsule would be sealed: the capture fails, nothing is placed on the dead host", async (t) => {
  const k = await cluster();
  parent(k);
  k.act(0, "start", { vm: "web" });
  const clone = k.act(1 * SECOND, "clone", { vm: "web", host: "b" });
  // The crash is an action at the seal's instant: it runs first, the seal finds the host down.
  k.act(1 * SECOND + CAPTURE, "crash", { host: "a" });
  k.run(2 * SECOND);
  t.equal(clone.state, "failed");
  t.match(clone.failure, /^VMSCN7208 at 1\.000465216 s: 1 of 1 clone of "web" failed: web-clone1: the capture of "web" failed: host "a" crashed at 1\.000465216 s$/);
  t.same(k.cluster.host("a").worlds.map((w) => w.name), ["web"], "no image server on the dead host (the parent died there)");
  t.equal(k.memory.machine(1).used, 0);
  k.checkInvariants();
  t.end();
});

t.test("refusals: own host, unknown or started worker, a worker on another host, no room, down or unreachable host", async (t) => {
  const k = await cluster([{ name: "a" }, { name: "b", nodes: 1, memoryBytes: 64 * MiB }, { name: "c", memoryBytes: 512 * 1024 }]);
  k.addHost({ name: "island", cpus: 1, memoryBytes: 64 * MiB });
  parent(k);
  k.createVm({ name: "w", host: "b", vcpus: 1, memoryBytes: M * PAGE });
  k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: M * PAGE });
  k.act(0, "start", { vm: "web" });
  const own = k.act(1 * SECOND, "clone", { vm: "web", host: "a" });
  const self = k.act(1 * SECOND, "clone", { vm: "web", worker: "web" });
  const elsewhere = k.act(1 * SECOND, "clone", { vm: "web", worker: "w", host: "c" });
  const two = k.act(1 * SECOND, "clone", { vm: "web", worker: "w" }, { workers: 2 });
  const full = k.act(1 * SECOND, "clone", { vm: "web", host: "b" });
  const small = k.act(1 * SECOND, "clone", { vm: "web", host: "c" });
  const island = k.act(1 * SECOND, "clone", { vm: "web", host: "island" });
  k.act(1 * SECOND, "crash", { host: "c" });
  const down = k.act(1 * SECOND + 1, "clone", { vm: "web", host: "c" });
  k.act(2 * SECOND, "start", { vm: "x" });
  const started = k.act(3 * SECOND, "clone", { vm: "web", worker: "x" });
  k.run(4 * SECOND);
  t.match(own.failure, /^VMSCN5011 .*goes to a next host, not to its own host "a"/);
  t.match(self.failure, /^VMSCN7209 .*cannot receive its own runtime image/);
  t.match(elsewhere.failure, /^VMSCN5011 .*VM "w" is on host "b", not "c"/);
  t.match(two.failure, /^VMSCN5011 .*receives one image; 2 were asked for/);
  t.match(full.failure, /^VMSCN7201 .*host "b" has 0 free nodes/);
  t.match(small.failure, /^VMSCN7201 .*host "c" has less memory than VM "web"/);
  t.match(island.failure, /^VMSCN5009 .*no route from host "a" to host "island"/);
  t.match(down.failure, /^VMSCN5009 .*cannot clone VM "web" to host "c": the host is down/);
  t.match(started.failure, /^VMSCN7209 .*it is running/);
  t.equal(k.cluster.vms().length, 3, "no clone was made");
  t.end();
});

t.test("failures: the link goes down during the capsule or the memory transfer; the parent runs on", async (t) => {
  for (const [at, what] of [[CAPTURE + 100_000, "capsule"], [CAPTURE + wire(CAPSULE) + 100_000, "memory"]] as const) {
    const k = await cluster();
    const web = parent(k);
    k.act(0, "start", { vm: "web" });
    const rec = k.act(1 * SECOND, "clone", { vm: "web", host: "b" });
    k.act(1 * SECOND + at, "link", { link: "a<->b", state: "down" });
    k.run(2 * SECOND);
    const c = section(k, "web-clone1");
    t.equal(c.status, "failed", what);
    t.match(c.failure, new RegExp(`link "a<->b" went down at .*clone web → web-clone1: ${what}`), what);
    t.match(rec.failure, /^VMSCN7208 .*1 of 1 clone of "web" failed/, what);
    t.equal(k.cluster.world("web-clone1").state, "stopped", what);
    t.equal(web.state, "running", what);
    t.equal(k.memory.machine(1).used, 0, `${what}: the next host holds nothing`);
    t.equal(k.memory.machine(0).used, M, `${what}: the image is gone`);
  }
  t.end();
});

t.test("failures: the source crashes while an on-demand clone still fetches (it dies); the next host crashes during a transfer", async (t) => {
  const k = await cluster();
  parent(k);
  k.act(0, "start", { vm: "web" });
  const rec = k.act(1 * SECOND, "clone", { vm: "web", host: "b" }, { memory: "on-demand" });
  k.act(1.1 * SECOND, "crash", { host: "a" });
  k.run(1.05 * SECOND);
  const clone = k.cluster.world("web-clone1");
  k.workload.attach(clone, { activities: [], mix: RANDOM, scripted: [{ at: 1.2 * SECOND, op: "read", first: 0, count: 3 }, { at: 1.06 * SECOND, op: "read", first: 9, count: 1 }] });
  k.run(2 * SECOND);
  const c = section(k, "web-clone1");
  t.equal(c.status, "failed");
  t.match(c.failure, /it still needed 255 pages from host "a": the image server on host "a" is gone \(host "a" crashed at 1\.1 s\)/);
  t.equal(clone.state, "stopped");
  t.equal(rec.state, "done", "the clone command had completed: the clone ran");
  t.equal(k.memory.machine(1).used, 0);
  t.equal(c["on-demand"].faults, 1);

  const k2 = await cluster();
  const web = parent(k2);
  k2.act(0, "start", { vm: "web" });
  k2.act(1 * SECOND, "clone", { vm: "web", host: "b" });
  k2.act(1 * SECOND + CAPTURE + 100_000, "crash", { host: "b" });
  k2.run(2 * SECOND);
  t.match(section(k2, "web-clone1"), { status: "failed", failure: /host "b" crashed at/ });
  t.equal(web.state, "running");
  t.equal(k2.memory.machine(0).used, M);
  t.end();
});

t.test("failures: the image server or the background fetcher is killed", async (t) => {
  const k = await cluster();
  parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "clone", { vm: "web", host: "b" }, { memory: "on-demand" });
  k.act(1.1 * SECOND, "kill", { world: "web.image-server#1" });
  k.run(2 * SECOND);
  t.match(section(k, "web-clone1"), { status: "failed", failure: /the image server on host "a" is gone \(killed at 1\.1 s\)/ });
  t.equal(k.memory.machine(0).used, M);

  const k2 = await cluster();
  parent(k2);
  k2.act(0, "start", { vm: "web" });
  k2.act(1 * SECOND, "clone", { vm: "web", host: "b" }, { memory: "on-demand", background: true, batch: 1 });
  k2.act(1 * SECOND + 5 * MS, "kill", { world: "web-clone1.fetcher" });
  k2.run(1.5 * SECOND);
  const c = section(k2, "web-clone1");
  t.equal(c.status, "fetching", "demand paging goes on without the fetcher");
  const pulled = c["on-demand"]["background-pages"];
  t.ok(pulled > 0 && pulled < M, `the fetcher pulled ${pulled} pages before it died`);
  const clone = k2.cluster.world("web-clone1");
  k2.workload.attach(clone, { activities: [], mix: RANDOM, scripted: [{ at: 1.6 * SECOND, op: "read", first: 0, count: M }] });
  k2.run(3 * SECOND);
  t.match(section(k2, "web-clone1"), { status: "running", "on-demand": { "pages-left": 0, requests: M - pulled } });
  t.end();
});

t.test("a clone stopped before it runs fails; the capture's parent stopping fails every clone", async (t) => {
  const k = await cluster();
  parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "clone", { vm: "web", host: "b" });
  k.act(1 * SECOND + 1000, "stop", { vm: "web-clone1" });
  k.act(2 * SECOND, "clone", { vm: "web", host: "b" });
  k.act(2 * SECOND + 1000, "stop", { vm: "web" });
  k.run(3 * SECOND);
  t.match(section(k, "web-clone1"), { status: "failed", failure: /it was stopped at 1\.000001 s/ });
  t.match(section(k, "web-clone2"), { status: "failed", failure: /the capture of "web" failed: VM "web" stopped during the capture/ });
  t.equal(k.memory.machine(1).used, 0);
  t.end();
});

t.test("an eager clone whose next host runs out of frames fails; the parent is untouched", async (t) => {
  const k = await cluster();
  const web = parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "clone", { vm: "web", host: "b" });
  // Another tenant takes b's memory while the image crosses.
  k.act(1 * SECOND + CAPTURE + 1, "exhaust", { host: "b" }, { leave: 100 * PAGE });
  k.run(2 * SECOND);
  t.match(section(k, "web-clone1"), { status: "failed", failure: /its memory does not fit on host "b"/ });
  t.equal(web.state, "running");
  t.end();
});

t.test("modelled costs: capsule layout, capture in both host models, load", (t) => {
  const o = parseLaunchOptions({});
  const l = capsuleLayout(4, 1000, 10, o.cpuStateBytes);
  t.same(l, { cpuState: 4 * 4096, deviceState: 1000, memoryBootstrap: 80, bytes: 16384 + 1000 + 80 });
  t.same(captureCost(l, o), { total: 200_000 + 8732, exit: 200_000, sync: 0, seal: 0, copy: 8732 });
  t.same(captureCost(l, { ...o, hostModel: "micro-hypervisor" }), { total: 400_000 + 8732, exit: 0, sync: 300_000, seal: 100_000, copy: 8732 });
  t.equal(loadCost(1_000_000, o), 1_000_000 + 2_000_000);
  t.same(parseLaunchOptions({ memory: "on-demand", background: true, batch: 3, workload: "idle" }), { ...o, memory: "on-demand", background: true, batch: 3, workload: "idle" });
  t.end();
});

t.test("the table and the chart; no clone, no section", async (t) => {
  const k = await cluster();
  parent(k);
  k.run(1);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  t.equal((k.report("t") as any).clone, undefined);
  k.act(1 * SECOND, "start", { vm: "web" });
  k.act(2 * SECOND, "clone", { vm: "web", host: "b" }, { memory: "on-demand" });
  k.run(3 * SECOND);
  const row = k.metrics.collectTables().find((x) => x.title === "clones")!.rows[0];
  const latency = CAPTURE + wire(CAPSULE) + LOAD;
  t.same(row, ["web-clone1", "web", "a → b", "on-demand", "fetching", latency, 30 * SECOND, CAPSULE, CAPSULE, 0]);
  const chart = k.metrics.collectCharts().find((c) => c.title === "Clone launch against cold launch")!;
  t.same(chart.data, { points: [{ x: "web-clone1", y: latency, series: "clone" }, { x: "web-clone1", y: 30 * SECOND, series: "cold launch" }] });
  t.ok(PageState.AbsentFetch);
  t.end();
});

t.test("failures: the link goes down during the capture (the command finds no route); on-demand pages that cannot come", async (t) => {
  const k = await cluster();
  const web = parent(k);
  k.act(0, "start", { vm: "web" });
  const rec = k.act(1 * SECOND, "clone", { vm: "web", host: "b" });
  k.act(1 * SECOND + 100_000, "link", { link: "a<->b", state: "down" });
  k.run(2 * SECOND);
  t.match(section(k, "web-clone1"), { status: "failed", failure: /no route from host "a" to host "b"/, "bytes-sent": 0 });
  t.match(rec.failure, /^VMSCN7208 /);
  t.equal(web.state, "running");
  t.equal(k.memory.machine(0).used, M, "the image is dropped");

  // On-demand: the link is down when the clone faults: it cannot fetch, it dies.
  const k2 = await cluster();
  parent(k2);
  k2.act(0, "start", { vm: "web" });
  k2.act(1 * SECOND, "clone", { vm: "web", host: "b" }, { memory: "on-demand" });
  k2.act(1.5 * SECOND, "link", { link: "a<->b", state: "down" });
  k2.run(1.6 * SECOND);
  const c2 = k2.cluster.world("web-clone1");
  k2.workload.attach(c2, { activities: [], mix: RANDOM, scripted: [{ at: 1.7 * SECOND, op: "read", first: 3, count: 1 }] });
  k2.run(2 * SECOND);
  t.match(section(k2, "web-clone1"), { status: "failed", failure: /no route from host "b" to host "a" for page 3/ });
  t.equal(c2.state, "stopped");

  // On-demand: the next host has no frame left when a page arrives: it dies.
  const k3 = await cluster();
  parent(k3);
  k3.act(0, "start", { vm: "web" });
  k3.act(1 * SECOND, "clone", { vm: "web", host: "b" }, { memory: "on-demand" });
  k3.act(1.5 * SECOND, "exhaust", { host: "b" });
  k3.run(1.6 * SECOND);
  const c3 = k3.cluster.world("web-clone1");
  k3.workload.attach(c3, { activities: [], mix: RANDOM, scripted: [{ at: 1.7 * SECOND, op: "write", first: 0, count: 1 }] });
  k3.run(2 * SECOND);
  t.match(section(k3, "web-clone1"), { status: "failed", failure: /host "b" has no free frame for page 0/ });
  t.end();
});

t.test("the policy passes over hosts that are down or unreachable", async (t) => {
  const k = await cluster([{ name: "a" }, { name: "b" }, { name: "c" }]);
  k.addHost({ name: "island", cpus: 1, memoryBytes: 64 * MiB });
  parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(0, "crash", { host: "b" });
  k.act(1 * SECOND, "clone", { vm: "web" });
  const none = k.act(2 * SECOND, "clone", { vm: "web" }, { workers: 5 });
  k.run(3 * SECOND);
  t.equal(section(k, "web-clone1").to, "c");
  t.match(none.failure, /^VMSCN7201 .*\(3 placed\): host "b" is down; host "island" is unreachable/);
  t.end();
});
