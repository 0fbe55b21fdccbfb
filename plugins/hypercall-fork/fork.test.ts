// The VM fork through the kernel API: copy-on-write page and frame counts, contents that never
// leak between parent and child, launch times against hand calculations, placement on nodes,
// the cluster presumptions, refusals that change nothing, and failures.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { MS, SECOND } from "../../core/sim/time.js";
import type { Kernel } from "../../core/run/kernel.js";
import type { VmSpec } from "../../core/world/vm-spec.js";
import { builtinPlugins } from "../../app/builtins.js";

const MiB = 1024 ** 2;
const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };
/** 256 pages. */
const PARENT_BYTES = 1 * MiB;
const M = 256;

// Hand calculations of the modelled costs with the defaults (options.ts of clone-api):
// capsule = 1 vCPU × 4096 + 512 KiB device state + 256 pages × 8 = 530432 B;
// hosted capture = 200 µs exit + 530432 B / 2 GB/s (265216 ns) = 465216 ns;
// load = 1 ms + 256 pages / 5e8 pages/s (512 ns) = 1000512 ns.
const CAPSULE = 4096 + 512 * 1024 + M * 8;
const COPY = (CAPSULE / 2e9) * 1e9;
const CAPTURE = 200_000 + COPY;
const LOAD = 1_000_000 + 512;

async function cluster(hosts: { name: string; nodes?: number; vmm?: string; hypercalls?: string }[] = [{ name: "a", nodes: 3 }]): Promise<Kernel> {
  const k = createKernel({ seed: 5, checkInvariants: true });
  await k.plugins.registerAll(builtinPlugins);
  for (const h of hosts) k.addHost({ cpus: 8, memoryBytes: 64 * MiB, ...h });
  for (let i = 1; i < hosts.length; i++) k.addLink({ a: hosts[0]!.name, b: hosts[i]!.name, bandwidth: 1.25e9, latency: 50_000 });
  return k;
}

function parent(k: Kernel, extra: Partial<VmSpec> = {}) {
  return k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: PARENT_BYTES, initial: RANDOM, bootNs: 20 * SECOND, initNs: 5 * SECOND, appLaunchNs: 10 * SECOND, ...extra });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const section = (k: Kernel, name: string): any => (k.report("t") as any).fork?.[name];

t.test("fork: zero new frames; k child writes are k COW breaks and k new frames; no write leaks either way", async (t) => {
  const k = await cluster();
  const web = parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "fork", { vm: "web" });
  const breaks: string[] = [];
  k.memory.onCowBreak((g, page) => breaks.push(`${g.name}:${page}`));
  const machine = k.memory.machine(0);
  k.run(1 * SECOND + 10 * MS);
  const child = k.cluster.world("web-child1");
  const g = child.memory!;
  const p = web.memory!;
  t.equal(child.state, "running");
  t.equal(machine.used, M, "no new frame at fork: the child maps the parent's 256 frames");
  for (let i = 0; i < M; i++) if (g.frame[i] !== p.frame[i]) t.fail(`page ${i} maps another frame`);
  const atFork = Array.from({ length: M }, (_, i) => k.memory.peek(p, i));
  t.same(Array.from({ length: M }, (_, i) => k.memory.peek(g, i)), atFork, "the child reads the parent's pages");

  // The child writes k = 10 distinct pages (page 3 twice): 10 breaks, 10 new frames.
  for (const page of [0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9]) k.memory.write(g, page, 1000 + page);
  t.equal(g.cowBreaks, 10);
  t.equal(machine.used, M + 10);
  t.same(breaks, Array.from({ length: 10 }, (_, i) => `web-child1:${i}`));
  t.equal(k.memory.peek(p, 3), atFork[3], "the child's write does not change what the parent reads");

  // The parent writes pages 5..14: 5..9 are the parent's alone now (the child broke away), so
  // only 10..14 break (5 more frames); the child still reads what it had.
  for (let page = 5; page < 15; page++) k.memory.write(p, page, 2000 + page);
  t.equal(p.cowBreaks, 5);
  t.equal(machine.used, M + 15);
  for (let page = 5; page < 15; page++) t.equal(k.memory.peek(g, page), page < 10 ? 1000 + page : atFork[page], `child page ${page}`);
  for (let page = 15; page < M; page++) if (k.memory.peek(g, page) !== atFork[page]) t.fail(`child page ${page} changed`);

  const f = section(k, "web-child1");
  t.match(f, { role: "child", parent: "web", host: "a", status: "running", "frames-shared": M, "cow-breaks": 10, "new-frames": 10, "shared-now": M - 15, "memory-saved": (M - 15) * 4096, "bytes-sent": 0 });
  t.match(section(k, "web"), { role: "parent", workers: 1, children: 1, clones: 0, "parent-cow-breaks": 5, "memory-saved": (M - 15) * 4096 });
  k.checkInvariants();
  t.end();
});

t.test("launch latency: capture (the parent paused) then load, children loaded one after another; against the cold launch", async (t) => {
  const k = await cluster();
  const web = parent(k, { workload: { activities: [{ op: "write", rate: 100_000, pattern: { kind: "uniform" } }], mix: RANDOM, scripted: [] } });
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "fork", { vm: "web" }, { children: 2 });
  const states: string[] = [];
  k.scheduler.at(1 * SECOND + 1000, () => states.push(web.state));
  k.scheduler.at(1 * SECOND + CAPTURE + 1, () => states.push(web.state));
  k.run(2 * SECOND);
  t.same(states, ["suspended", "running"], "the parent is paused for the capture only");
  const c1 = section(k, "web-child1");
  const c2 = section(k, "web-child2");
  t.equal(c1["capture-time"], CAPTURE);
  t.same(c1.capture, { exit: 200_000, sync: 0, seal: 0, copy: COPY });
  t.equal(c1["capsule-bytes"], CAPSULE);
  t.same(c1.capsule, { "cpu-state": 4096, "device-state": 512 * 1024, "memory-bootstrap": M * 8 });
  t.equal(c1["load-time"], LOAD);
  t.equal(c1["launch-latency"], CAPTURE + LOAD);
  t.equal(c2["launch-latency"], CAPTURE + 2 * LOAD, "the VMM loads its children one after another");
  t.equal(c1["cold-launch"], 35 * SECOND, "boot 20 s + init 5 s + application launch 10 s");
  t.equal(c1.speedup, Math.round((35 * SECOND / (CAPTURE + LOAD)) * 1000) / 1000);
  t.match(section(k, "web"), { workers: 2, running: 2, failed: 0, "all-running-time": CAPTURE + 2 * LOAD, "cold-launch": 35 * SECOND });
  // Children inherit the parent's guest activity (workload inherit, the default).
  t.ok(k.workload.stats(k.cluster.world("web-child1"))!.writes > 0);
  t.equal(k.actionLog()[1]!.state, "done");
  t.equal(k.actionLog()[1]!.finishedAt, 1 * SECOND + CAPTURE + 2 * LOAD);
  t.end();
});

t.test("the micro-hypervisor model synchronises then seals; the options move every cost", async (t) => {
  const k = await cluster();
  parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "fork", { vm: "web" }, { "host-model": "micro-hypervisor", "sync-time": 1 * MS, "seal-time": 2 * MS, "copy-rate": 1e9, "cpu-state": 0, "load-time": 0, "map-rate": 256e3, workload: "idle" });
  k.run(2 * SECOND);
  const c = section(k, "web-child1");
  const copy = ((512 * 1024 + M * 8) / 1e9) * 1e9;
  t.same(c.capture, { exit: 0, sync: 1 * MS, seal: 2 * MS, copy });
  t.equal(c["launch-latency"], 3 * MS + copy + 1 * MS, "load: 256 pages at 256000 pages/s");
  t.equal(c["host-model"], "micro-hypervisor");
  t.equal(k.workload.stats(k.cluster.world("web-child1")), undefined, "workload idle: no guest activity");
  t.end();
});

t.test("same-host placement needs a free node per child; a refusal changes nothing", async (t) => {
  const k = await cluster();
  const web = parent(k);
  k.act(0, "start", { vm: "web" });
  const rec = k.act(1 * SECOND, "fork", { vm: "web" }, { children: 3 });
  k.run(2 * SECOND);
  t.equal(rec.state, "failed");
  t.match(rec.failure, /^VMSCN7101 .*host "a" has 2 free nodes \(of 3\) for 3 child VMs of "web"/);
  t.equal(web.state, "running");
  t.same(k.cluster.host("a").worlds.map((w) => w.name), ["web"]);
  t.match(section(k, "web"), { role: "parent", status: "refused", refusals: 1, "refusal-code": "VMSCN7101" });
  t.end();
});

t.test("auto placement: children on the parent's free nodes, clones on the next hosts (the nine-node example)", async (t) => {
  const k = await cluster([{ name: "a", nodes: 3 }, { name: "b", nodes: 3 }, { name: "c", nodes: 3 }]);
  parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "fork", { vm: "web" }, { children: 8, placement: "auto" });
  k.run(2 * SECOND);
  const f = section(k, "web");
  t.match(f, { workers: 8, children: 2, clones: 6, running: 8, failed: 0 });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const clones = (k.report("t") as any).clone;
  t.same(Object.keys(clones).filter((n) => clones[n].role === "clone").map((n) => `${n}@${clones[n].to}`), ["web-clone1@b", "web-clone2@b", "web-clone3@b", "web-clone4@c", "web-clone5@c", "web-clone6@c"]);
  t.equal(clones["web-clone1"].origin, "fork");
  const latest = Math.max(...Object.values(clones).map((c: unknown) => (c as { "launch-latency": number })["launch-latency"]));
  t.equal(f["all-running-time"], latest, "the fan-out ends when its slowest worker runs");
  for (const h of ["a", "b", "c"]) t.equal(k.cluster.host(h).worlds.filter((w) => w.kind === "vm").length, 3, `host ${h} has its three nodes in use`);
  // A ninth worker has nowhere to go.
  const rec = k.act(3 * SECOND, "fork", { vm: "web" }, { placement: "auto" });
  k.run(4 * SECOND);
  t.match(rec.failure, /^VMSCN7201 .*no room for 1 clone of VM "web" on the next hosts: host "b" has 0 free nodes/);
  t.end();
});

t.test("fork to a named host: the parent's own (children) or a next host (clones)", async (t) => {
  const k = await cluster([{ name: "a", nodes: 3 }, { name: "b", nodes: 3 }]);
  parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "fork", { vm: "web", host: "a" }, { placement: "next-host" });
  k.act(2 * SECOND, "fork", { vm: "web", host: "b" }, { children: 2 });
  k.act(3 * SECOND, "fork", { vm: "web" }, { placement: "next-host" });
  k.run(4 * SECOND);
  t.equal(section(k, "web-child1").host, "a", "a named host wins over the placement policy");
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const clones = (k.report("t") as any).clone;
  t.same(["web-clone1", "web-clone2", "web-clone3"].map((n) => clones[n].to), ["b", "b", "b"]);
  t.equal(section(k, "web").requests, 3);
  t.end();
});

t.test("fork into a declared worker VM: its configuration must be the parent's (presumptions 2-4)", async (t) => {
  const cases: [Partial<VmSpec>, string, RegExp][] = [
    [{ vcpus: 2 }, "VMSCN7102", /VM "w" has 2 vCPUs and 1048576 bytes of memory, VM "web" 1 and 1048576: a worker's VM interface must be its parent's \(presumption 2\)/],
    [{ guest: "debian-11" }, "VMSCN7103", /VM "w" has guest configuration "debian-11", VM "web" "debian-12"/],
    [{ usage: "db" }, "VMSCN7104", /VM "w" has usage "db", VM "web" "web"/],
  ];
  for (const [spec, code, re] of cases) {
    const k = await cluster();
    parent(k, { guest: "debian-12", usage: "web" });
    k.createVm({ name: "w", host: "a", vcpus: 1, memoryBytes: PARENT_BYTES, guest: "debian-12", usage: "web", ...spec });
    k.act(0, "start", { vm: "web" });
    const rec = k.act(1 * SECOND, "fork", { vm: "web", worker: "w" });
    k.run(2 * SECOND);
    t.match(rec.failure, new RegExp(`^${code} `), code);
    t.match(rec.failure, re, code);
    t.equal(k.cluster.world("w").state, "created", `${code}: the worker is untouched`);
  }
  // A matching worker receives the image: its own frames are given back, it maps the parent's.
  const k = await cluster();
  parent(k, { guest: "debian-12", usage: "web" });
  const w = k.createVm({ name: "w", host: "a", vcpus: 1, memoryBytes: PARENT_BYTES, guest: "debian-12", usage: "web", initial: RANDOM, bootNs: 60 * SECOND });
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "fork", { vm: "web", worker: "w" });
  k.run(2 * SECOND);
  t.equal(w.state, "running");
  t.equal(k.memory.machine(0).used, M, "the worker's 256 frames were freed, it shares the parent's");
  t.match(section(k, "w"), { declared: true, "frames-shared": M, "cold-launch": 60 * SECOND });
  t.end();
});

t.test("the worker must be a declared VM never started, not the parent; co-located VMs of another usage break presumption 4", async (t) => {
  const k = await cluster();
  parent(k, { usage: "web" });
  k.createVm({ name: "w", host: "a", vcpus: 1, memoryBytes: PARENT_BYTES });
  k.act(0, "start", { vm: "web" });
  k.act(0, "start", { vm: "w" });
  const self = k.act(1 * SECOND, "fork", { vm: "web", worker: "web" });
  const started = k.act(1 * SECOND, "fork", { vm: "web", worker: "w" });
  const many = k.act(1 * SECOND, "fork", { vm: "web", worker: "w" }, { children: 2 });
  k.run(2 * SECOND);
  t.match(self.failure, /^VMSCN7105 .*cannot receive its own runtime image/);
  t.match(started.failure, /^VMSCN7105 .*it is running \(a worker must be declared and never started\)/);
  t.match(many.failure, /^VMSCN5011 .*receives one image; children is 2/);
  const k2 = await cluster();
  parent(k2, { usage: "web" });
  k2.createVm({ name: "db", host: "a", vcpus: 1, memoryBytes: PARENT_BYTES, usage: "db" });
  k2.act(0, "start", { vm: "web" });
  const rec = k2.act(1 * SECOND, "fork", { vm: "web" });
  k2.run(2 * SECOND);
  t.match(rec.failure, /^VMSCN7104 .*VM "db" on host "a" has usage "db", VM "web" "web"/);
  t.end();
});

t.test("a parent that is not running, being captured, or whose memory is elsewhere cannot fork", async (t) => {
  const k = await cluster();
  parent(k);
  const early = k.act(0, "fork", { vm: "web" });
  k.act(1 * SECOND, "start", { vm: "web" });
  k.act(2 * SECOND, "fork", { vm: "web" });
  const twice = k.act(2 * SECOND, "fork", { vm: "web" });
  k.run(3 * SECOND);
  t.match(early.failure, /^VMSCN5004 .*it is created/);
  t.match(twice.failure, /^VMSCN7207 .*already being captured/);
  const k2 = await cluster();
  const web = parent(k2);
  k2.act(0, "start", { vm: "web" });
  k2.memory.setAbsent(web.memory!, 7, 3 /* absent-fetch */);
  const away = k2.act(1 * SECOND, "fork", { vm: "web" });
  k2.run(1 * SECOND);
  t.match(away.failure, /^VMSCN7207 .*1 of its pages are not on host "a"/);
  k2.memory.populate(web.memory!, 7, 1);
  t.end();
});

t.test("failures: the parent's host crashes or the parent stops during the capture; a child stopped before it runs", async (t) => {
  const k = await cluster();
  const web = parent(k);
  k.act(0, "start", { vm: "web" });
  const rec = k.act(1 * SECOND, "fork", { vm: "web" }, { children: 2 });
  k.act(1 * SECOND + 100_000, "crash", { host: "a" });
  k.run(2 * SECOND);
  t.equal(web.state, "stopped");
  t.match(rec.failure, /^VMSCN7106 .*2 of 2 workers of "web" failed: web-child1: the capture of "web" failed: host "a" crashed at 1\.0001 s; web-child2: /);
  const c = section(k, "web-child1");
  t.match(c, { status: "failed", state: "stopped", "launch-latency": null });
  t.equal(k.memory.machine(0).used, 0, "nothing is left mapped on the crashed host");
  k.checkInvariants();

  const k2 = await cluster();
  parent(k2);
  k2.act(0, "start", { vm: "web" });
  k2.act(1 * SECOND, "fork", { vm: "web" });
  k2.act(1 * SECOND + 100_000, "stop", { vm: "web" });
  k2.run(2 * SECOND);
  t.match(section(k2, "web-child1"), { status: "failed", failure: /the capture of "web" failed: VM "web" stopped during the capture/ });
  t.equal(k2.memory.machine(0).used, M, "the stopped parent keeps its frames; the child holds none");

  // A child stopped while the VMM loads it never runs; the parent is untouched.
  const k3 = await cluster();
  const p3 = parent(k3);
  k3.act(0, "start", { vm: "web" });
  k3.act(1 * SECOND, "fork", { vm: "web" });
  k3.act(1 * SECOND + CAPTURE + 10, "stop", { vm: "web-child1" });
  k3.run(2 * SECOND);
  t.match(section(k3, "web-child1"), { status: "failed", failure: /it was stopped at 1\.000465226 s/ });
  t.equal(p3.state, "running");
  t.equal(k3.memory.machine(0).used, M);
  // After it ran, a child is a VM like another: its host's crash is not a launch failure.
  const k4 = await cluster();
  parent(k4);
  k4.act(0, "start", { vm: "web" });
  k4.act(1 * SECOND, "fork", { vm: "web" });
  k4.act(1.5 * SECOND, "crash", { host: "a" });
  k4.run(2 * SECOND);
  t.match(section(k4, "web-child1"), { status: "running", state: "stopped" });
  t.end();
});

t.test("the summary tables and the chart", async (t) => {
  const k = await cluster();
  parent(k);
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "fork", { vm: "web" }, { children: 2 });
  k.run(2 * SECOND);
  const tables = k.metrics.collectTables();
  const children = tables.find((x) => x.title === "child VMs (fork)")!;
  t.same(children.rows[0], ["web-child1", "web", "a", "running", CAPTURE + LOAD, 35 * SECOND, M, 0, 0, M * 4096]);
  const fan = tables.find((x) => x.title === "forks (fan-out)")!;
  t.same(fan.rows, [["web", 1 * SECOND, 2, 2, 0, CAPTURE + 2 * LOAD, 35 * SECOND, 0]]);
  const chart = k.metrics.collectCharts().find((c) => c.title === "Workers running after a fork")!;
  t.same(chart.data, { series: [{ name: "web @ 1 s", x: [0, CAPTURE + LOAD, CAPTURE + 2 * LOAD], y: [0, 1, 2] }] });
  t.end();
});

t.test("a run without forks has no fork section", async (t) => {
  const k = await cluster();
  parent(k);
  k.run(1 * SECOND);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  t.equal((k.report("t") as any).fork, undefined);
  t.end();
});

t.test("fork into a worker on a next host is a clone; auto placement passes over the parent's host when it breaks a presumption", async (t) => {
  const k = await cluster([{ name: "a", nodes: 3 }, { name: "b", nodes: 3 }]);
  parent(k, { usage: "web" });
  k.createVm({ name: "w", host: "b", vcpus: 1, memoryBytes: PARENT_BYTES, usage: "web" });
  k.createVm({ name: "db", host: "a", vcpus: 1, memoryBytes: PARENT_BYTES, usage: "db" });
  k.act(0, "start", { vm: "web" });
  k.act(1 * SECOND, "fork", { vm: "web", worker: "w" });
  k.createVm({ name: "w2", host: "b", vcpus: 1, memoryBytes: PARENT_BYTES, usage: "web" });
  const wrongHost = k.act(1.5 * SECOND, "fork", { vm: "web", worker: "w2", host: "a" });
  k.act(2 * SECOND, "fork", { vm: "web" }, { placement: "auto" });
  k.run(3 * SECOND);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const clones = (k.report("t") as any).clone;
  t.match(clones.w, { role: "clone", origin: "fork", declared: true, to: "b", status: "running" });
  t.match(wrongHost.failure, /^VMSCN5011 .*VM "w2" is on host "b", not "a"/);
  t.match(section(k, "web"), { workers: 1, children: 0, clones: 1 }, "db's usage keeps the workers off host a");
  t.equal(clones["web-clone1"].to, "b");
  t.end();
});
