// Scripted hypercalls (through a plugin's k.hypercall) and guest disk IO with dirty-block logs.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { definePlugin } from "../../core/plugin-host/define.js";
import { WAIT } from "../../core/memory/memory.js";
import { MS, SECOND, US } from "../../core/sim/time.js";
import type { PluginContext } from "../../core/plugin-host/context.js";
import { files, run, check, scenario } from "../dsl/validate/helpers.js";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const MIX = { zero: 0, images: [], random: 1, compressible: [] };

async function kernelWith(register: (k: PluginContext) => void) {
  const k = createKernel({ seed: 1 });
  k.addHost({ name: "a", cpus: 4, memoryBytes: 256 * MiB });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 256 * MiB });
  k.addDatastore({ name: "san", hosts: ["a", "b"], bandwidth: 100 * MiB, latency: 100 * US });
  await k.plugins.registerAll([definePlugin({ name: "hc", version: "1.0.0", kernel: "^1", register })]);
  return k;
}

t.test("a hypercall runs on the guest's vCPU, stalls it, and is logged", async (t) => {
  const log: string[] = [];
  const k = await kernelWith((k) => {
    k.hypercall("ping", {
      description: "ping",
      options: { cost: { type: "quantity", dimension: "time", default: 5 * MS, description: "stall" } },
      run(call) {
        log.push(`${call.name} ${call.world.name}/vcpu${call.vcpu} at ${call.time} cost ${call.options["cost"]}`);
        return Number(call.options["cost"]);
      },
    });
  });
  const w = k.createVm({ name: "web", host: "a", vcpus: 2, memoryBytes: MiB, workload: { activities: [], mix: MIX, scripted: [{ at: 3 * MS, op: "write", first: 0, count: 1, vcpu: 1 }], hypercalls: [{ at: 2 * MS, name: "ping", options: {}, vcpu: 1 }] } });
  k.act(0, "start", { vm: "web" });
  k.run(50 * MS);
  t.same(log, [`ping web/vcpu1 at ${2 * MS} cost ${5 * MS}`]);
  const s = k.workload.stats(w)!;
  t.equal(s.hypercalls, 1);
  t.equal(s.stallNs, 5 * MS, "the vCPU stalled for the hypercall's cost");
  t.equal(s.writes, 1, "the write queued behind the hypercall ran after the stall");
  t.same(k.plugins.hypercallLog, [{ time: 2 * MS, vm: "web", vcpu: 1, name: "ping", options: { cost: 5 * MS }, state: "done" }]);
});

t.test("a hypercall that WAITs holds its vCPU until the plugin wakes it; a suspended guest issues it on resume", async (t) => {
  let woke = 0;
  const k = await kernelWith((k) => {
    k.hypercall("sleep", {
      description: "sleep",
      options: {},
      run(call) {
        k.after(10 * MS, () => {
          woke = k.scheduler.now;
          k.memory.wake(call.world.memory!, call.vcpu);
        });
        return WAIT;
      },
    });
  });
  const w = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB, workload: { activities: [], mix: MIX, scripted: [], hypercalls: [{ at: 1 * MS, name: "sleep", options: {} }] } });
  k.act(0, "start", { vm: "web" });
  k.act(0, "suspend", { vm: "web" });
  k.act(4 * MS, "resume", { vm: "web" });
  k.run(50 * MS);
  t.equal(k.plugins.hypercallLog[0]!.time, 4 * MS, "issued when the vCPU ran again");
  t.equal(woke, 14 * MS);
  t.equal(k.workload.stats(w)!.stallNs, 10 * MS);
});

t.test("an unknown hypercall is VMSCN5015; a refused one fails and the run goes on", async (t) => {
  const k = await kernelWith((k) => {
    k.hypercall("no", { description: "refuses", options: {}, run: () => { throw k.error("VMSCN5011", "not today"); } });
  });
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB, workload: { activities: [], mix: MIX, scripted: [], hypercalls: [{ at: 1 * MS, name: "no", options: {} }] } });
  k.act(0, "start", { vm: "web" });
  k.run(10 * MS);
  t.equal(k.plugins.hypercallLog[0]!.state, "failed");
  t.match(k.plugins.hypercallLog[0]!.failure, /VMSCN5011 at .*: not today/);
  k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: MiB, workload: { activities: [], mix: MIX, scripted: [], hypercalls: [{ at: 12 * MS, name: "nope", options: {} }] } });
  k.act(11 * MS, "start", { vm: "x" });
  t.throws(() => k.run(20 * MS), { code: "VMSCN5015", message: /issued hypercall "nope" and no plugin handles it \(handled: no\)/ });
  t.throws(() => k.plugins.addHypercall("no", { description: "", options: {}, run: () => 0 }, "other"), { code: "VMSCN6008" });
});

t.test("guest disk IO: exact IO counts, queue depth, dirty-block logs, errors", async (t) => {
  const k = await kernelWith(() => {});
  const w = k.createVm({
    name: "web",
    host: "a",
    vcpus: 1,
    memoryBytes: MiB,
    disks: [{ datastore: "san", sizeBytes: 64 * MiB }],
    workload: { activities: [], mix: MIX, scripted: [], disk: [{ op: "write", rate: 6.4 * MiB, pattern: "sequential" }, { op: "read", rate: 3.2 * MiB, pattern: "uniform" }] },
  });
  const disk = k.storage.datastore("san").file("web-disk0.vmdk");
  const log = disk.openDirtyLog(MiB);
  k.act(0, "start", { vm: "web" });
  k.run(SECOND);
  const s = k.workload.stats(w)!;
  // 6.4 MiB/s in 64 KiB IOs = 102.4 IOs/s; ticks every 1 ms from 1 ms to 1000 ms accrue 1 s of
  // demand: 102 whole IOs issued, each done 0.625 ms + 100 us later (the last ones still in flight).
  t.equal(s.diskWrites + 0, 102);
  t.equal(s.diskBytesWritten, 102 * 64 * 1024);
  t.equal(s.diskReads, 51);
  t.equal(s.diskErrors, 0);
  // Sequential 64 KiB writes from offset 0: 102 × 64 KiB = 6.375 MiB → blocks 0..6 of 1 MiB.
  t.equal(log.count, 7);
  t.same([...log.readAndClear()], [0, 1, 2, 3, 4, 5, 6]);
  t.equal(log.count, 0);
  log.close();
  t.equal(disk.logs.length, 0);
  t.throws(() => disk.openDirtyLog(0), { code: "VMSCN5011" });

  // A crashed host: IO can no longer be issued; each attempt is a guest IO error, not a crash.
  k.crashHost("a");
  t.equal(w.state, "stopped");
});

t.test("a queue that cannot drain caps the guest's demand", async (t) => {
  const k = createKernel({ seed: 1 });
  k.addHost({ name: "a", cpus: 4, memoryBytes: 256 * MiB });
  k.addDatastore({ name: "slow", hosts: ["a"], bandwidth: 1 * MiB, latency: 0 });
  await k.plugins.registerAll([]);
  const w = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB, disks: [{ datastore: "slow", sizeBytes: GiB }], workload: { activities: [], mix: MIX, scripted: [], disk: [{ op: "write", rate: 100 * MiB, pattern: "uniform", queueDepth: 1 }] } });
  k.act(0, "start", { vm: "web" });
  k.run(SECOND);
  // One 64 KiB IO at a time through 1 MiB/s takes 62.5 ms; the next is issued at the tick
  // after it completes: done at 63.5 ms + 63 ms × i, so 15 complete by 1 s, whatever the demand.
  t.equal(k.workload.stats(w)!.diskWrites, 15);
  t.equal(k.storage.datastore("slow").inFlight, 1, "at most the queue depth in flight");
});

t.test("the language: disk activities and hypercall statements, with their diagnostics", async (t) => {
  const ok = await run(
    files({
      "t.vmscn": scenario(`  vm db on a { vcpus 1  memory 64 MiB  disk san 1 GiB  workload { disk writes 6.4 MiB/s sequential } }
  at 0 s: start db
  at 0 s: start web
  at 10 ms: web hypercall probe { stall 2 ms }
  at 20 ms: web hypercall probe on vcpu 1 { wake-after 3 ms }
  at 30 ms: web hypercall probe { refuse }
  run until 1 s
  expect vm(db).workload.diskWrites == 102
  expect vm(web).workload.hypercalls == 3
  expect vm(web).workload.stallNs == 5 ms`, { plugin: true }),
    }),
    {},
  );
  t.same(ok.diagnostics, []);
  t.equal(ok.failedPhase, undefined);
  t.same(ok.expects!.map((e) => e.passed), [true, true, true], ok.expects!.map((e) => e.message).join("; "));
  const hc = (ok.report as unknown as { hypercalls: { vcpu: number; state: string; options: Record<string, unknown> }[] }).hypercalls;
  t.same(hc.map((h) => [h.vcpu, h.state]), [[0, "done"], [1, "done"], [0, "failed"]]);
  t.same(hc[0]!.options, { stall: 2 * MS, refuse: false });

  const bad = await check(
    files({
      "t.vmscn": scenario(`  vm db on a { vcpus 1  memory 64 MiB  workload { disk writes 5 MB/s zipf 0.9 over 10% } }
  at 1 s: web hypercall pong
  at 1 s: web hypercall probe { stall 5 GiB }
  at 1 s: web hypercall probe on vcpu 7`, { plugin: true }),
    }),
    {},
  );
  const rows = bad.diagnostics.map((d) => `${d.code} ${d.loc.line}:${d.loc.column} ${d.message}`);
  const parse = await check(files({ "t.vmscn": scenario(`  at 1 s: web hypercall probe on cpu 1\n  at 2 s: web hypercall 5`, { plugin: true }) }), {});
  t.same(
    parse.diagnostics.map((d) => `${d.code} ${d.loc.line}:${d.loc.column} ${d.message}`),
    ['VMSCN0101 9:34 expected "vcpu" after "on", but found "cpu"', 'VMSCN0101 10:25 expected the hypercall\'s name, such as "fork" after "hypercall", but found "5"'],
  );
  t.ok(rows.some((r) => /^VMSCN0213 .*the disk writes of VM "db" can be uniform or sequential, not zipf/.test(r)), rows.join("\n"));
  t.ok(rows.some((r) => /^VMSCN0209 .*VM "db" has no disk for the disk writes/.test(r)), rows.join("\n"));
  t.ok(rows.some((r) => /^VMSCN0207 .*no loaded plugin handles the hypercall "pong"/.test(r)), rows.join("\n"));
  t.ok(rows.some((r) => /^VMSCN0210 .*stall/.test(r)), rows.join("\n"));
  t.ok(rows.some((r) => /^VMSCN0212 .*vCPU of VM "web"/.test(r)), rows.join("\n"));
});

t.test("a guest write on a host with no free frame kills that VM, not the run", async (t) => {
  const k = createKernel({ seed: 1, checkInvariants: true });
  k.addHost({ name: "a", cpus: 4, memoryBytes: 4 * MiB });
  await k.plugins.registerAll([]);
  const w = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 4 * MiB, workload: { activities: [{ op: "write", rate: 100_000, pattern: { kind: "sequential" } }], mix: MIX, scripted: [] } });
  k.exhaustMemory("a", 64 * 4096);
  k.act(0, "start", { vm: "web" });
  k.run(SECOND);
  t.equal(w.state, "stopped");
  t.match(w.failure, /^killed: VMSCN5002 at [\d.]+ s: host "a" is out of memory/);
  t.equal(k.memory.machine(k.cluster.host("a").id).free, 64, "it took the 64 frames there were, and the OOM rule freed them");
  t.equal(k.memory.machine(k.cluster.host("a").id).used, 1024 - 64, "only the other tenant's frames are in use");
  k.checkInvariants();
});
