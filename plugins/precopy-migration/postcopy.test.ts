// QEMU's post-copy: its discard commands' size, and migrate-start-postcopy's refusals.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { MS, SECOND } from "../../core/sim/time.js";
import plugin from "./index.js";
import compression from "../compression/index.js";
import { discardBytes } from "./qemu-precopy.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

t.test("the dirty bitmap as discard ranges: 16 B a run, 12 runs a command of 14 B more", (t) => {
  t.equal(discardBytes(new Int32Array(0)), 0);
  t.equal(discardBytes(Int32Array.from([0, 1, 2, 3])), 14 + 16, "one run");
  t.equal(discardBytes(Int32Array.from([0, 2, 4])), 14 + 3 * 16, "three runs");
  t.equal(discardBytes(Int32Array.from({ length: 13 }, (_, i) => 2 * i)), 2 * 14 + 13 * 16, "13 runs: two commands");
  t.end();
});

t.test("migrate-start-postcopy is refused without a migration, without postcopy-ram, and once pre-copy is over", async (t) => {
  const k = createKernel({ seed: 3, checkInvariants: true });
  await k.plugins.registerAll([compression, plugin]);
  k.addHost({ name: "a", cpus: 4, memoryBytes: 1 * GiB });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 1 * GiB });
  k.addLink({ a: "a", b: "b", bandwidth: 1.25e9, latency: 0 });
  const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };
  for (const name of ["p", "q"]) {
    k.createVm({ name, host: "a", vcpus: 1, memoryBytes: 4 * MiB, initial: RANDOM });
    k.act(0, "start", { vm: name });
  }
  const none = k.act(1 * MS, "migrate-start-postcopy", { vm: "p" }, {});
  k.act(2 * MS, "migrate", { vm: "p", host: "b" }, { converge: "qemu" });
  const plain = k.act(3 * MS, "migrate-start-postcopy", { vm: "p" }, {});
  k.act(2 * MS, "migrate", { vm: "q", host: "b" }, { converge: "qemu", "postcopy-ram": true, "setup-time": 0 });
  const late = k.act(SECOND, "migrate-start-postcopy", { vm: "q" }, {});
  k.run(2 * SECOND);
  t.match(none.failure, /VMSCN5011.*no migration of it is under way/);
  t.match(plain.failure, /VMSCN5011.*started without postcopy-ram/);
  t.match(late.failure, /VMSCN5011/, "q's migration completed long before (an idle 4 MiB guest)");
  t.end();
});

t.test("demand paging and a link failure: the next page request finds no route, the migration fails and the VM is stopped", async (t) => {
  const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };
  // Without a background thread nothing is on the wire when the link goes down: the faults find out.
  const cases = [{ name: "demand-paging", mode: "demand-paging", options: {} }];
  for (const c of cases) {
    const k = createKernel({ seed: 3, checkInvariants: true });
    await k.plugins.registerAll([compression, plugin]);
    k.addHost({ name: "a", cpus: 4, memoryBytes: 1 * GiB });
    k.addHost({ name: "b", cpus: 4, memoryBytes: 1 * GiB });
    k.addLink({ a: "a", b: "b", bandwidth: 1.25e9, latency: 50_000 });
    const web = k.createVm({ name: "web", host: "a", vcpus: 2, memoryBytes: 4 * MiB, deviceStateBytes: 4104, initial: RANDOM });
    k.act(0, "start", { vm: "web" });
    const mig = k.act(1 * SECOND, "migrate", { vm: "web", host: "b", mode: c.mode }, c.options);
    k.act(1.1 * SECOND, "link", { link: "a<->b", state: "down" });
    // Both vCPUs fault on pages still on the source, after the link went down.
    k.workload.attach(web, { activities: [], mix: RANDOM, scripted: [
      { at: 1.2 * SECOND, op: "read", first: 1000, count: 3, vcpu: 0 },
      { at: 1.2 * SECOND, op: "write", first: 1010, count: 1, vcpu: 1 },
    ] });
    k.run(2 * SECOND);
    t.equal(mig.state, "failed", c.name);
    t.equal(mig.failure, 'VMSCN5009 at 1.2 s: migration of "web" to "b" failed: the destination could no longer fetch pages from "a" (no route from host "b" to host "a")', c.name);
    t.equal(web.state, "stopped", c.name);
    t.equal(web.host.name, "b", `${c.name}: it had resumed on the destination`);
    t.equal(web.failure, 'VMSCN5009 at 1.2 s: migration: the destination could no longer fetch pages from "a" (no route from host "b" to host "a")', c.name);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = (k.report("t") as any).migration.web;
    t.match(r, { status: "failed", "depends-on-source": false }, c.name);
    t.equal(k.memory.machine(0).used + k.memory.machine(1).used, 0, `${c.name}: both copies are freed`);
    k.checkInvariants();
  }
  t.end();
});

t.test("a helper on the destination killed after the resume: the VM, still missing pages, is stopped (it never runs on with pages absent)", async (t) => {
  const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };
  for (const helper of ["web.migration-daemon#1", "web.background-pager#1"]) {
    const k = createKernel({ seed: 3, checkInvariants: true });
    await k.plugins.registerAll([compression, plugin]);
    k.addHost({ name: "a", cpus: 4, memoryBytes: 1 * GiB });
    k.addHost({ name: "b", cpus: 4, memoryBytes: 1 * GiB });
    k.addLink({ a: "a", b: "b", bandwidth: 1.25e9, latency: 50_000 });
    // 1 ms a page for the background thread: it is still at work at 1.1 s.
    const web = k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 4 * MiB, deviceStateBytes: 4104, initial: RANDOM });
    k.act(0, "start", { vm: "web" });
    const mig = k.act(1 * SECOND, "migrate", { vm: "web", host: "b", mode: "demand-paging" }, { bandwidth: 4104000, after: ["background"] });
    k.act(1.1 * SECOND, "kill", { world: helper });
    k.workload.attach(web, { activities: [], mix: RANDOM, scripted: [{ at: 1.2 * SECOND, op: "read", first: 1000, count: 3 }] });
    k.run(2 * SECOND);
    t.equal(mig.state, "failed", helper);
    t.match(mig.failure, new RegExp(`^VMSCN5010 at 1\\.1 s: migration of "web" to "b" failed: "${helper.replace(/[.#]/g, "\\$&")}" on "b" was killed at 1\\.1 s while the destination still depended on "a" for \\d+ pages$`), helper);
    t.equal(web.state, "stopped", helper);
    t.equal(web.host.name, "b", helper);
    t.equal(k.memory.machine(0).used + k.memory.machine(1).used, 0, `${helper}: both copies are freed`);
    k.checkInvariants();
  }
  t.end();
});
