// The kernel's fault verbs: slow and fill a datastore, exhaust a host's memory, kill a helper world.
import "reflect-metadata";
import { kernelCause } from "../../core/world/cause.js";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { MS, SECOND } from "../../core/sim/time.js";
import { PAGE_SIZE } from "../../core/config.js";
import { files, run } from "../dsl/validate/helpers.js";

const MiB = 1024 ** 2;

async function kernel() {
  const k = createKernel({ seed: 1 });
  k.addHost({ name: "a", cpus: 4, memoryBytes: 64 * MiB });
  k.addDatastore({ name: "san", hosts: ["a"], bandwidth: 10 * MiB, latency: 0 });
  await k.plugins.registerAll([]);
  return k;
}

t.test("slow: IOs in flight continue at the new rate", async (t) => {
  const k = await kernel();
  const f = k.storage.createFile("san", "x", 20 * MiB);
  let done = 0;
  f.write("a", 0, 10 * MiB, () => (done = k.scheduler.now));
  k.act(500 * MS, "slow", { datastore: "san" }, { bandwidth: 1 * MiB });
  k.run(10 * SECOND);
  // 5 MiB at 10 MiB/s by 0.5 s, then 5 MiB at 1 MiB/s: done at 5.5 s.
  t.equal(done, 5.5 * SECOND);
  t.equal(k.storage.datastore("san").stats().bandwidth, 1 * MiB);
  t.throws(() => k.storage.setBandwidth("san", 0), { code: "VMSCN5011" });
});

t.test("fill: writes and new files fail with VMSCN5016 until unfill; reads go on", async (t) => {
  const k = await kernel();
  const f = k.storage.createFile("san", "x", MiB);
  k.act(0, "fill", { datastore: "san" });
  k.run(1);
  t.equal(k.storage.datastore("san").stats().full, true);
  t.throws(() => f.write("a", 0, 4096, () => {}), { code: "VMSCN5016", message: /no space left on datastore "san": a write of 4096 bytes to file "x" failed/ });
  t.throws(() => k.storage.createFile("san", "y", 1), { code: "VMSCN5016" });
  let read = false;
  f.read("a", 0, 4096, () => (read = true));
  k.act(2, "unfill", { datastore: "san" });
  k.run(SECOND);
  t.ok(read);
  t.doesNotThrow(() => f.write("a", 0, 4096, () => {}));
});

t.test("exhaust and relieve: free memory goes down to `leave`, then comes back; invariants hold", async (t) => {
  const k = await kernel();
  const web = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 8 * MiB, initial: { zero: 0, images: [], random: 1, compressible: [] } });
  const m = k.memory.machine(k.cluster.host("a").id);
  t.equal(m.used, 2048);
  k.act(0, "exhaust", { host: "a" }, { leave: 1 * MiB });
  k.run(1);
  t.equal(m.free, MiB / PAGE_SIZE);
  k.checkInvariants();
  // Exhausting again replaces the first hog (it does not stack).
  t.equal(k.exhaustMemory("a", 80 * MiB), 0, "nothing to take: the host has less than 80 MiB");
  t.equal(m.used, 2048);
  t.equal(k.exhaustMemory("a", 0), 14336);
  t.equal(m.free, 0);
  k.act(2, "relieve", { host: "a" });
  k.run(3);
  t.equal(m.used, 2048, "only the VM's frames remain");
  t.ok(web.memory);
  k.checkInvariants();
  k.relieveMemory("a");
  k.crashHost("a");
  t.throws(() => k.exhaustMemory("a"), { code: "VMSCN5009" });
});

t.test("kill: a helper world dies and its plugin sees destroyed; a VM cannot be killed", async (t) => {
  const k = await kernel();
  const vm = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB });
  const helper = k.cluster.createWorld({ name: "web-sender", kind: "system", vcpus: 1, serves: vm }, k.cluster.host("a"));
  const seen: string[] = [];
  k.cluster.signals.destroyed.connect((w) => seen.push(`${w.name}: ${w.failure}`));
  k.act(5 * MS, "kill", { world: "web-sender" });
  const bad = k.act(5 * MS, "kill", { world: "web" });
  k.run(10 * MS);
  t.same(seen, ["web-sender: killed at 0.005 s"]);
  t.notOk(k.cluster.hasWorld("web-sender"));
  t.equal(helper.state, "stopped");
  t.equal(bad.state, "failed");
  t.match(bad.failure, /is a VM: kill is for helper worlds/);
});

t.test("the fault verbs in a scenario", async (t) => {
  const r = await run(
    files({
      "t.vmscn": `scenario "faults" {
  host a { cpus 4  memory 1 GiB }
  datastore san { on a  bandwidth 100 MB/s }
  vm web on a { vcpus 1  memory 64 MiB  disk san 1 GiB  workload { disk writes 10 MB/s sequential } }
  at 0 s: start web
  at 1 s: fill san
  at 2 s: unfill san
  at 2 s: slow san { bandwidth 1 MB/s }
  at 3 s: exhaust a { leave 16 MiB }
  at 3 s: kill "nobody@a"
  run until 4 s
  expect datastore(san).bandwidth == 1 MB/s
  expect host(a).memory.free == 16 MiB
  expect vm(web).workload.diskErrors > 0
}`,
    }),
    {},
  );
  t.same(r.diagnostics, []);
  t.same(r.expects!.map((e) => [e.text, e.passed, e.message]).filter((e) => !e[1]), []);
  const actions = (r.report as unknown as { actions: { verb: string; state: string; failure?: string }[] }).actions;
  t.same(actions.map((a) => `${a.verb} ${a.state}`), ["start done", "fill done", "unfill done", "slow done", "exhaust done", "kill failed"]);
  t.match(actions[5]!.failure, /VMSCN5005/);
});

t.test("checkInvariants catches a flow on a down link and a world running on a down host", async (t) => {
  const k = createKernel({ seed: 1 });
  k.addHost({ name: "a", cpus: 4, memoryBytes: 64 * MiB });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 64 * MiB });
  k.addLink({ a: "a", b: "b", bandwidth: 1e9, latency: 0 });
  await k.plugins.registerAll([]);
  k.network.transfer({ from: "a", to: "b", bytes: 1e9, kind: "tcp", initiator: "source", label: "x" });
  k.checkInvariants();
  // Corrupt the state behind the kernel's back, as a buggy plugin might.
  const link = (k.network as unknown as { links: Map<string, { up: boolean }> }).links.values().next().value!;
  link.up = false;
  t.throws(() => k.checkInvariants(), { code: "VMSCN5014", message: /link "a<->b" is down but carries 1 transfer/ });
  link.up = true;
  const vm = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: MiB });
  k.cluster.setState(vm, "running");
  k.cluster.setHostUp(k.cluster.host("a"), false, kernelCause("crash"));
  t.throws(() => k.checkInvariants(), { code: "VMSCN5014", message: /host "a" is down but 1 transfer|world "web" is running on host "a", which is down/ });
});
