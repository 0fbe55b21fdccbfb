// The engine as a service: an extension adds options to `migrate`, defers pages, adds bytes
// to the switch-over, maps the deferred pages before resume, and may change or refuse a
// request. Figures by hand: 4104 B per page at 4,104,000 B/s is one page per ms.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { MS } from "../../core/sim/time.js";
import { definePlugin, kernelError, PageState, type PluginContext } from "../../core/api.js";
import type { Kernel } from "../../core/run/kernel.js";
import plugin from "./index.js";
import compression from "../compression/index.js";
import type { MigrationEngine, MigrationExtension, MigrationHooks, MigrationView } from "./api.js";

const GiB = 1024 ** 3;
const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };
const PAGE_RATE = 4_104_000;

async function cluster(ext: (k: PluginContext) => Partial<MigrationExtension>): Promise<Kernel> {
  const k = createKernel({ seed: 3, checkInvariants: true });
  const probe = definePlugin({
    name: "probe",
    version: "1.0.0",
    kernel: "^1",
    requires: ["precopy-migration"],
    register(ctx) {
      ctx.use("precopy-migration").extend({ plugin: "probe", options: {}, ...ext(ctx) });
    },
  });
  await k.plugins.registerAll([probe, compression, plugin]);
  k.addHost({ name: "a", cpus: 4, memoryBytes: 1 * GiB, rdma: true });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 1 * GiB, rdma: true });
  k.addLink({ a: "a", b: "b", bandwidth: 1.25e9, latency: 0 });
  return k;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const section = (k: Kernel, vm: string): any => (k.report("t") as any).migration[vm];

t.test("deferred pages are skipped, re-queued when they no longer qualify, and handed over before resume", async (t) => {
  const defer = new Uint8Array(16);
  for (let p = 0; p < 16; p += 2) defer[p] = 1;
  let handed: number[] = [];
  let seen: MigrationView | undefined;
  const events: string[] = [];
  const k = await cluster((ctx) => ({
    options: { probe: { type: "boolean", description: "use the probe" } },
    prepare(req): MigrationHooks | undefined {
      if (req.call.options["probe"] !== true) return undefined;
      return {
        defer: (p) => defer[p] === 1,
        initiator: "destination",
        switchOverBytes: (n) => n * 4104,
        started: (m) => events.push(`started ${m.status}`),
        beforeResume(m, list) {
          handed = [...list];
          seen = m;
          for (const p of list) ctx.memory.share(m.srcGuest, p, m.dst, p);
        },
        finished: (m) => events.push(`finished ${m.status}`),
      };
    },
  }));
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 16 * 4096, deviceStateBytes: 0, initial: RANDOM });
  k.act(0, "start", { vm: "web" });
  const act = k.act(1 * MS, "migrate", { vm: "web", host: "b" }, { bandwidth: PAGE_RATE, threshold: 0, "max-rounds": 2, probe: true });
  // during round 1, pages 0 and 2 stop qualifying: they join round 2
  k.scheduler.at(5 * MS, () => {
    defer[0] = 0;
    defer[2] = 0;
  });
  k.run(100 * MS);
  t.equal(act.state, "done");
  const m = section(k, "web");
  t.equal(m.status, "completed");
  t.same([m.rounds.r1.pages, m.rounds.r2.pages], [8, 2], "8 odd pages, then the two re-queued");
  t.equal(m.ram.normal, 10);
  t.equal(m.ram.transferred, 10 * 4104);
  t.equal(m["downtime-ns"], 6 * MS, "the list of 6 deferred pages crosses with the device state");
  t.equal(m["total-time-ns"], 16 * MS);
  t.same(handed, [4, 6, 8, 10, 12, 14]);
  t.same(seen!.deferral, { skips: 8, bytes: 8 * 4104, pages: 6, listBytes: 6 * 4104 });
  t.same(events, ["started setup", "finished completed"]);
  const web = k.cluster.world("web");
  t.equal(web.memory!.census().remote, 6);
  t.equal(k.memory.machine(0).used, 6, "the source keeps the frames the destination maps");
  t.equal(k.memory.machine(1).used, 10);
  t.equal(k.network.hostStats("b").initiated, 2, "both pre-copy batches driven from the destination");
  t.equal(k.network.hostStats("a").initiated, 1, "the device state from the source");
  k.checkInvariants();
  t.end();
});

t.test("post-copy modes defer at switch-over; the remaining pages are still paged in", async (t) => {
  const k = await cluster((ctx) => ({
    prepare: () => ({
      defer: (p) => p % 2 === 0,
      beforeResume(m, list) {
        for (const p of list) ctx.memory.share(m.srcGuest, p, m.dst, p);
      },
    }),
  }));
  k.createVm({ name: "dp", host: "a", vcpus: 1, memoryBytes: 16 * 4096, deviceStateBytes: 0, initial: RANDOM });
  k.createVm({ name: "pc", host: "a", vcpus: 1, memoryBytes: 16 * 4096, deviceStateBytes: 0, initial: RANDOM });
  k.act(0, "start", { vm: "dp" });
  k.act(0, "start", { vm: "pc" });
  k.act(1 * MS, "migrate", { vm: "dp", host: "b", mode: "demand-paging" }, { after: ["background"], bandwidth: PAGE_RATE });
  // pre-copy sends the 8 odd pages (round 1); 3 of them are written again, so they are left for post-copy
  k.act(1 * MS, "migrate", { vm: "pc", host: "b" }, { after: ["demand-paging", "background"], bandwidth: PAGE_RATE, threshold: 100 });
  k.workload.attach(k.cluster.world("pc"), { activities: [], mix: RANDOM, scripted: [{ at: 3 * MS, op: "write", first: 1, count: 6 }] });
  k.run(100 * MS);
  const dp = section(k, "dp");
  t.equal(dp.status, "completed");
  t.equal(dp.ram.normal, 8, "only the odd pages are fetched");
  t.equal(dp["demand-paging"]["background-pages"], 8);
  t.equal(k.cluster.world("dp").memory!.census().remote, 8);
  const pc = section(k, "pc");
  t.equal(pc.status, "completed");
  t.equal(pc.rounds.r1.pages, 8);
  t.equal(pc.rounds.r1.dirtied, 6);
  t.equal(pc["demand-paging"]["background-pages"], 3, "pages 1, 3, 5 again (2, 4, 6 are deferred)");
  t.equal(k.cluster.world("pc").memory!.census().remote, 8);
  k.checkInvariants();
  t.end();
});

t.test("an extension may change the options, refuse a request, and add or drop validation problems", async (t) => {
  const k = await cluster(() => ({
    options: { fallback: { type: "enum", values: ["tcp", "refuse"], description: "what to do without RDMA" } },
    check: (call, _s, problems) => (call.options["fallback"] === "tcp" ? problems.filter((p) => p.at !== "transport") : [...problems, { message: "probe says no", at: "fallback" }]),
    prepare(req) {
      if (req.call.options["fallback"] === "refuse") throw kernelError("VMSCN5011", "refused by the probe");
      if (req.call.options["fallback"] === "tcp") req.options.transport = "tcp";
      return undefined;
    },
  }));
  k.addHost({ name: "c", cpus: 1, memoryBytes: 1 * GiB });
  k.addLink({ a: "a", b: "c", bandwidth: 1.25e9, latency: 0 });
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 16 * 4096, initial: RANDOM });
  k.act(0, "start", { vm: "web" });
  const refused = k.act(1 * MS, "migrate", { vm: "web", host: "c" }, { transport: "rdma", fallback: "refuse" });
  const moved = k.act(2 * MS, "migrate", { vm: "web", host: "c" }, { transport: "rdma", fallback: "tcp" });
  k.run(1000 * MS);
  t.match(refused.failure, /VMSCN5011.*refused by the probe/);
  t.equal(moved.state, "done");
  t.equal(k.network.stats().transfers.rdma, 0, "fell back to TCP");
  const verb = k.plugins.verb("migrate")!;
  t.ok("fallback" in verb.options, "the extension's option is an option of migrate");
  const view = { hosts: new Map([["a", { cpus: 1, memoryBytes: GiB, rdma: true, datastores: [] }], ["c", { cpus: 1, memoryBytes: GiB, rdma: false, datastores: [] }]]), vms: new Map([["web", { host: "a", vcpus: 1, memoryBytes: 4096, disks: [] }]]), datastores: new Map() };
  t.same(verb.check!({ args: { vm: "web", host: "c" }, options: { transport: "rdma", fallback: "tcp" } }, view), []);
  t.same(
    verb.check!({ args: { vm: "web", host: "c" }, options: { transport: "rdma" } }, view).map((p) => p.at),
    ["transport", "fallback"],
  );
  t.end();
});

t.test("an option added twice, and a deferred page left unmapped, are errors", async (t) => {
  const k = createKernel({ seed: 1 });
  const twice = definePlugin({
    name: "twice",
    version: "1.0.0",
    kernel: "^1",
    requires: ["precopy-migration"],
    register: (ctx) => ctx.use("precopy-migration").extend({ plugin: "twice", options: { batch: { type: "integer", description: "again" } } }),
  });
  await t.rejects(k.plugins.registerAll([compression, plugin, twice]), /adds option "batch" to "migrate", which it has already/);

  const k2 = await cluster(() => ({ prepare: () => ({ defer: (p) => p === 3 }) }));
  k2.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 16 * 4096, initial: RANDOM });
  k2.act(0, "start", { vm: "web" });
  k2.act(1 * MS, "migrate", { vm: "web", host: "b" });
  t.throws(() => k2.run(1000 * MS), { code: "VMSCN5014", message: /deferred page 3 was not mapped on "b" before resume/ });
  t.equal(k2.cluster.world("web").memory!.state(3), PageState.Present, "the VM never left the source");
  t.end();
});

t.test("two extensions' hooks combine: either may defer a page, every callback runs, list bytes add up", async (t) => {
  const k = createKernel({ seed: 3, checkInvariants: true });
  const calls: string[] = [];
  const probe = (name: string, deferred: number) =>
    definePlugin({
      name,
      version: "1.0.0",
      kernel: "^1",
      requires: ["precopy-migration"],
      register(ctx) {
        ctx.use("precopy-migration").extend({
          plugin: name,
          options: {},
          prepare: () => ({
            defer: (p) => p === deferred,
            initiator: name === "p2" ? "destination" : "source",
            switchOverBytes: (n) => n * 4104,
            started: () => void calls.push(`${name} started`),
            beforeResume(m, list) {
              calls.push(`${name} ${[...list].join(",")}`);
              if (name === "p1") for (const p of list) ctx.memory.share(m.srcGuest, p, m.dst, p);
            },
            finished: () => void calls.push(`${name} finished`),
          }),
        });
      },
    });
  await k.plugins.registerAll([compression, plugin, probe("p1", 3), probe("p2", 5)]);
  k.addHost({ name: "a", cpus: 4, memoryBytes: 1 * GiB });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 1 * GiB });
  k.addLink({ a: "a", b: "b", bandwidth: 1.25e9, latency: 0 });
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 16 * 4096, deviceStateBytes: 0, initial: RANDOM });
  k.act(0, "start", { vm: "web" });
  k.act(1 * MS, "migrate", { vm: "web", host: "b" }, { bandwidth: PAGE_RATE });
  k.run(100 * MS);
  const m = section(k, "web");
  t.equal(m.ram.normal, 14);
  t.equal(m["downtime-ns"], 2 * 2 * MS, "each extension's list: 2 pages x 4104 B, twice");
  t.same(calls, ["p1 started", "p2 started", "p1 3,5", "p2 3,5", "p1 finished", "p2 finished"]);
  t.equal(k.network.hostStats("b").initiated, 1, "the last extension's initiator");
  t.end();
});
