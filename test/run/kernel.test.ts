import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { stableStringify } from "../../core/report/json.js";
import { definePlugin } from "../../core/plugin-host/define.js";
import { Trap } from "../../core/memory/page.js";
import { MS, SECOND, US } from "../../core/sim/time.js";
import { buildSmoke } from "../../cli/smoke.js";
import type { Kernel } from "../../core/run/kernel.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function twoHosts(): Kernel {
  const k = createKernel({ seed: 7, checkInvariants: true });
  k.addHost({ name: "a", cpus: 4, memoryBytes: 1 * GiB });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 1 * GiB, rdma: true });
  k.addLink({ a: "a", b: "b", bandwidth: 1.25e9, latency: 50 * US });
  return k;
}

t.test("the same scenario and seed give a byte-identical report", (t) => {
  const run = (seed: number) => {
    const k = buildSmoke(seed);
    k.run(2 * SECOND);
    return stableStringify(k.report("smoke"));
  };
  const a = run(42);
  t.equal(a, run(42));
  t.not(a, run(43));
  const r = JSON.parse(a);
  t.equal(r.schema, "vmscn.report/2");
  t.equal(r.simulatedTimeNs, 2 * SECOND);
  t.end();
});

t.test("a VM's initial contents take exactly its pages in frames", (t) => {
  const k = twoHosts();
  k.createVm({ name: "web", host: "a", vcpus: 2, memoryBytes: 64 * MiB, initial: { zero: 0.5, images: [], random: 0.5, compressible: [] } });
  k.createVm({ name: "idle", host: "a", vcpus: 1, memoryBytes: 64 * MiB });
  k.run(0);
  const r = k.report("t") as unknown as { hosts: Record<string, { memory: { used: number } }>; vms: Record<string, { pages: { present: number; unbacked: number }; mac: string }> };
  t.equal(r.hosts["a"]!.memory.used, 64 * MiB);
  t.equal(r.vms["web"]!.pages.present, 16384);
  t.equal(r.vms["idle"]!.pages.unbacked, 16384);
  t.equal(r.vms["web"]!.mac, "02:00:00:00:00:01");
  t.equal(r.vms["idle"]!.mac, "02:00:00:00:00:02");
  t.end();
});

t.test("impossible requests at build time are clear errors", (t) => {
  const k = twoHosts();
  k.addDatastore({ name: "local-a", hosts: ["a"], bandwidth: 1e9, latency: 100 * US });
  t.throws(() => k.createVm({ name: "big", host: "a", vcpus: 1, memoryBytes: 2 * GiB }), { code: "VMSCN5011", message: /more than host "a" has/ });
  t.throws(() => k.createVm({ name: "x", host: "b", vcpus: 1, memoryBytes: MiB, disks: [{ datastore: "local-a", sizeBytes: GiB }] }), { code: "VMSCN5012" });
  t.throws(() => k.createVm({ name: "x", host: "c", vcpus: 1, memoryBytes: MiB }), { code: "VMSCN5005" });
  k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: MiB, mac: "02:aa:00:00:00:01" });
  t.throws(() => k.createVm({ name: "y", host: "a", vcpus: 1, memoryBytes: MiB, mac: "02:AA:00:00:00:01" }), { code: "VMSCN5006", message: /already used by "x"/ });
  t.throws(() => k.createVm({ name: "z", host: "a", vcpus: 1, memoryBytes: MiB, mac: "nope" }), { code: "VMSCN5011" });
  t.throws(() => k.act(0, "fly", { vm: "x" }), { code: "VMSCN5005", message: /there is no verb "fly"/ });
  // Options are own keys: a prototype's key is an option no verb has.
  for (const name of ["constructor", "toString", "__proto__"]) {
    t.throws(() => k.act(0, "suspend", { vm: "x" }, JSON.parse(`{"${name}": 1}`)), { code: "VMSCN5011", message: new RegExp(`verb "suspend" has no option "${name}"`) }, name);
  }
  t.throws(() => k.vm("nobody"), { code: "VMSCN5005" });
  t.end();
});

t.test("an impossible action fails alone, with its sentence, and changes nothing", (t) => {
  const k = twoHosts();
  const w = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB });
  k.act(0, "start", { vm: "web" });
  const bad = k.act(1 * MS, "resume", { vm: "web" });
  const bad2 = k.act(1 * MS, "link", { link: "a<->c", state: "down" });
  k.act(2 * MS, "suspend", { vm: "web" });
  const summary = k.run();
  t.equal(summary.reason, "actions-done");
  t.equal(summary.simulatedTimeNs, 2 * MS);
  t.equal(bad.state, "failed");
  t.equal(bad.failure, 'VMSCN5004 at 0.001 s: cannot resume VM "web": it is running');
  t.equal(bad2.state, "failed");
  t.match(bad2.failure, /VMSCN5005/);
  t.equal(w.state, "suspended");
  t.end();
});

t.test("a host crash fails its VMs, frees their frames and fails its transfers", (t) => {
  const k = twoHosts();
  const web = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 4 * MiB, initial: { zero: 0, images: [], random: 1, compressible: [] } });
  const db = k.createVm({ name: "db", host: "b", vcpus: 1, memoryBytes: 4 * MiB, initial: { zero: 0, images: [], random: 1, compressible: [] } });
  let failed = "";
  k.act(0, "start", { vm: "web" });
  k.act(0, "start", { vm: "db" });
  k.scheduler.at(1 * MS, () => {
    k.network.transfer({ from: "a", to: "b", bytes: 100 * MiB, kind: "tcp", label: "copy", onFail: (e) => (failed = e.code) });
  });
  k.act(5 * MS, "crash", { host: "a" });
  k.run(10 * MS);
  t.equal(web.state, "stopped");
  t.equal(web.failure, 'host "a" crashed at 0.005 s');
  t.equal(db.state, "running");
  t.equal(k.memory.machine(0).used, 0);
  t.equal(k.memory.machine(1).used, 1024);
  t.equal(failed, "VMSCN5010");
  t.equal(k.cluster.host("a").up, false);
  k.recoverHost("a");
  t.equal(k.cluster.host("a").up, true);
  k.checkInvariants();
  t.end();
});

t.test("run() without a time ends when the last action finishes", (t) => {
  const k = twoHosts();
  let started = 0;
  k.plugins.addVerb("wait-a-bit", {
    description: "finishes 3 ms after it starts",
    args: [],
    options: { delay: { type: "quantity", dimension: "time", default: 3 * MS, description: "how long" } },
    async: true,
    run(call) {
      started = k.scheduler.now;
      k.scheduler.after(Number(call.options["delay"]), () => call.done());
    },
  }, "test");
  k.act(1 * MS, "wait-a-bit", {});
  const r = k.act(2 * MS, "wait-a-bit", {}, { delay: 10 * MS });
  t.same(r.options, { delay: 10 * MS });
  t.throws(() => k.act(0, "wait-a-bit", {}, { speed: 1 }), { message: /has no option "speed"; its options are delay/ });
  const s = k.run();
  t.equal(started, 2 * MS);
  t.equal(s.simulatedTimeNs, 12 * MS);
  t.equal(r.finishedAt, 12 * MS);
  t.equal(createKernel().run().reason, "empty", "no actions: nothing to run");
  t.end();
});

t.test("plugins register in dependency order and get a working context", async (t) => {
  const k = twoHosts();
  const order: string[] = [];
  const seen: string[] = [];
  const base = definePlugin({
    name: "base",
    version: "1.0.0",
    kernel: "^1",
    register(ctx) {
      order.push("base");
      ctx.on("created", (w) => seen.push(`created ${w.name}`));
      ctx.on("state-changed", (w, from, to) => seen.push(`${w.name} ${from}->${to}`));
      ctx.on("simulation-end", (time) => seen.push(`end ${time}`));
      ctx.onFault("write-protect", (f) => {
        seen.push(`wp ${f.guest.name}:${f.page}`);
        ctx.memory.clearTraps(f.guest, f.page, Trap.WriteProtect);
        return 0;
      });
      ctx.metric("base", () => ({ answer: 42 }));
      ctx.verb("protect", {
        description: "write-protects page 0",
        args: [{ name: "vm", kind: "vm", description: "the VM" }],
        options: {},
        run: (call) => ctx.memory.setTraps(ctx.cluster.world(String(call.args["vm"])).memory!, 0, Trap.WriteProtect),
      });
    },
  });
  const top = definePlugin({ name: "top", version: "1.0.0", kernel: "^1", requires: ["base"], register: () => void order.push("top") });
  await k.plugins.registerAll([top, base]);
  t.same(order, ["base", "top"]);
  t.same(k.plugins.plugins().map((p) => [p.name, p.verbs]), [["base", ["protect"]], ["top", []]]);
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB, workload: { activities: [], mix: { zero: 0, images: [], random: 1, compressible: [] }, scripted: [{ at: 2 * MS, op: "write", first: 0, count: 2 }] } });
  k.act(0, "start", { vm: "web" });
  k.act(1 * MS, "protect", { vm: "web" });
  k.run(3 * MS);
  t.same(seen, ["created web", "web created->running", "wp web:0", `end ${3 * MS}`]);
  const report = k.report("t") as unknown as Record<string, unknown>;
  t.same(report["base"], { answer: 42 });
  t.end();
});

t.test("a plugin hook that throws is reported with plugin, hook, world and time", async (t) => {
  const k = twoHosts();
  await k.plugins.registerAll([
    definePlugin({
      name: "buggy",
      version: "1.0.0",
      kernel: "^1",
      register(ctx) {
        ctx.onFault("write-protect", () => {
          throw new Error("oops");
        });
        ctx.verb("arm", {
          description: "arms page 0",
          args: [{ name: "vm", kind: "vm", description: "the VM" }],
          options: {},
          run: (call) => ctx.memory.setTraps(ctx.cluster.world(String(call.args["vm"])).memory!, 0, Trap.WriteProtect),
        });
        ctx.at(9 * MS, () => {
          throw new Error("late");
        }, "timer");
      },
    }),
  ]);
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB, workload: { activities: [], mix: { zero: 0, images: [], random: 1, compressible: [] }, scripted: [{ at: 2 * MS, op: "write", first: 0, count: 1 }] } });
  k.act(0, "start", { vm: "web" });
  k.act(1 * MS, "arm", { vm: "web" });
  t.throws(() => k.run(5 * MS), {
    code: "VMSCN6006",
    plugin: "buggy",
    hook: "onFault(write-protect)",
    world: "web",
    time: 2 * MS,
    message: 'plugin "buggy" failed in hook "onFault(write-protect)" (world web, at 0.002 s): oops',
  });
  const k2 = twoHosts();
  await t.rejects(
    k2.plugins.registerAll([definePlugin({ name: "bad", version: "1.0.0", kernel: "^1", register: () => { throw new Error("no"); } })]),
    { code: "VMSCN6006", message: /hook "register"/ },
  );
  await t.rejects(k2.plugins.registerAll([definePlugin({ name: "needy", version: "1.0.0", kernel: "^1", requires: ["ghost"], register() {} })]), { code: "VMSCN6001" });
  await t.rejects(k2.plugins.registerAll([definePlugin({ name: "future", version: "1.0.0", kernel: "^2", register() {} })]), { code: "VMSCN6002" });
  t.throws(() => k2.plugins.addVerb("start", { description: "", args: [], options: {}, run() {} }, "copycat"), { code: "VMSCN6008", message: 'verb "start" is registered twice, by plugin "kernel" and by plugin "copycat"' });
  t.end();
});

t.test("time series sample memory per host and bandwidth per link", (t) => {
  const k = createKernel({ sampleIntervalNs: 10 * MS });
  k.addHost({ name: "a", cpus: 4, memoryBytes: GiB });
  k.addHost({ name: "b", cpus: 4, memoryBytes: GiB });
  k.addLink({ a: "a", b: "b", bandwidth: 1e8, latency: 0 });
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 64 * MiB, workload: { activities: [{ op: "write", rate: 100_000, pattern: { kind: "sequential" } }], mix: { zero: 0, images: [], random: 1, compressible: [] }, scripted: [] } });
  k.act(0, "start", { vm: "web" });
  k.scheduler.at(0, () => void k.network.transfer({ from: "a", to: "b", bytes: 3e6, kind: "tcp" }));
  k.run(25 * MS);
  const mem = k.metrics.series("host.a.memory.used", "B");
  // 100 pages per 1 ms tick; samples after the ticks at 0, 10 and 20 ms, and at the end
  t.same([...mem.times()], [0, 10 * MS, 20 * MS, 25 * MS]);
  t.same([...mem.values()], [100, 1100, 2100, 2600].map((p) => p * 4096));
  const link = k.metrics.series("link.a<->b.rate", "B/s");
  t.same([...link.values()], [1e8, 1e8, 1e8, 1e8]);
  t.end();
});

t.test("RDMA transfers need RDMA NICs at both ends", (t) => {
  const k = twoHosts();
  t.throws(() => k.network.transfer({ from: "a", to: "b", bytes: 4096, kind: "rdma" }), { code: "VMSCN5011" });
  t.end();
});

t.test("the trace shows worlds' running periods and every transfer as spans", (t) => {
  const k = buildSmoke(42);
  k.trace.enabled = true;
  k.run(5 * SECOND);
  const events = (k.trace.toJSON() as { traceEvents: { name: string; ph: string; ts: number; dur?: number; args?: Record<string, unknown> }[] }).traceEvents;
  const spans = events.filter((e) => e.ph === "X");
  const running = spans.filter((e) => e.name === "running").map((e) => [e.ts, e.dur]);
  // db runs 0-1 s and 1.5-5 s; web runs 0-5 s (times in µs)
  t.same(running.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!), [[0, 1e6], [0, 5e6], [1.5e6, 3.5e6]]);
  const flows = spans.filter((e) => e.name === "image copy" || e.name === "backup");
  t.same(flows.map((e) => [e.name, e.args?.["state"]]), [["image copy", "done"], ["backup", "failed"]]);
  t.end();
});

t.test("run() without a time gives up at the horizon when an action never finishes", (t) => {
  const k = createKernel({ doneHorizonNs: 50 * MS });
  k.addHost({ name: "a", cpus: 1, memoryBytes: GiB });
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB, workload: { activities: [{ op: "write", rate: 1000, pattern: { kind: "uniform" } }], mix: { zero: 0, images: [], random: 1, compressible: [] }, scripted: [] } });
  k.plugins.addVerb("forever", { description: "never finishes", args: [], options: {}, async: true, run() {} }, "test");
  k.act(0, "start", { vm: "web" });
  const never = k.act(10 * MS, "forever", {});
  const s = k.run();
  t.equal(s.reason, "horizon");
  t.equal(s.simulatedTimeNs, 60 * MS);
  t.equal(never.state, "running");
  t.end();
});
