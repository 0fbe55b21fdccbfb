import "reflect-metadata";
import t from "tap";
import { Scheduler } from "../../core/sim/scheduler.js";
import { Cluster, hint } from "../../core/world/cluster.js";
import { editDistance } from "../../core/text/edit-distance.js";
import { Slot } from "../../core/world/slots.js";
import { Signal } from "../../core/world/signal.js";
import type { World } from "../../core/world/world.js";
import { Hooks } from "../../core/plugin-host/hooks.js";
import { kernelCause } from "../../core/world/cause.js";

/** TCP copies' CPU per host, as the network would report it. */
const tcpLoad = new Map<string, number>();

function newCluster(): Cluster {
  const s = new Scheduler();
  return new Cluster(s, new Hooks(s), { cpuLoad: (h) => tcpLoad.get(h) ?? 0 });
}

function cluster() {
  const c = newCluster();
  const a = c.addHost({ name: "a", cpus: 4, memoryBytes: 1 << 30, nicBandwidth: 1.25e9, rdma: false });
  const b = c.addHost({ name: "b", cpus: 2, memoryBytes: 1 << 30, nicBandwidth: 1.25e9, rdma: true });
  return { c, a, b };
}

t.test("signals fire synchronously in connection order", (t) => {
  const { c, a, b } = cluster();
  const log: string[] = [];
  c.signals.created.connect((w) => log.push(`1:created:${w.name}`));
  const off = c.signals.created.connect((w) => log.push(`2:created:${w.name}`));
  c.signals.stateChanged.connect((w, from, to) => log.push(`state:${w.name}:${from}->${to}`));
  c.signals.moved.connect((w, from, to) => log.push(`moved:${w.name}:${from.name}->${to.name}`));
  c.signals.destroyed.connect((w) => log.push(`destroyed:${w.name}`));
  const w = c.createWorld({ name: "web", kind: "vm", vcpus: 2 }, a);
  off();
  c.createWorld({ name: "db", kind: "vm", vcpus: 1 }, a);
  c.setState(w, "running");
  c.setState(w, "suspended");
  c.move(w, b);
  c.move(w, b); // already there: no signal
  c.setState(w, "running");
  c.destroy(w);
  t.same(log, [
    "1:created:web",
    "2:created:web",
    "1:created:db",
    "state:web:created->running",
    "state:web:running->suspended",
    "moved:web:a->b",
    "state:web:suspended->running",
    "state:web:running->stopped",
    "destroyed:web",
  ]);
  t.equal(c.hasWorld("web"), false);
  t.same(b.worlds, []);
  t.same(a.worlds.map((x) => x.name), ["db"]);
  t.end();
});

t.test("a signal handler may disconnect itself while the signal fires", (t) => {
  const s = new Signal<[number]>();
  const seen: string[] = [];
  const off = s.connect((n) => {
    seen.push(`a${n}`);
    off();
  });
  s.connect((n) => seen.push(`b${n}`));
  s.emit(1);
  s.emit(2);
  t.same(seen, ["a1", "b1", "b2"]);
  t.equal(s.size, 1);
  t.end();
});

t.test("lifecycle: only created → running ⇄ suspended → stopped", (t) => {
  const { c, a } = cluster();
  const w = c.createWorld({ name: "web", kind: "vm", vcpus: 1 }, a);
  t.throws(() => c.setState(w, "suspended"), { code: "VMSCN5004", message: 'world "web" cannot go from created to suspended' });
  c.setState(w, "running");
  c.setState(w, "running"); // same state: nothing
  c.setState(w, "stopped");
  t.throws(() => c.setState(w, "running"), { code: "VMSCN5004" });
  t.end();
});

t.test("names are unique and unknown names get a hint", (t) => {
  const { c, a } = cluster();
  t.throws(() => c.addHost({ name: "a", cpus: 1, memoryBytes: 1, nicBandwidth: 1, rdma: false }), { code: "VMSCN5006" });
  t.throws(() => c.addHost({ name: "z", cpus: 0, memoryBytes: 1, nicBandwidth: 1, rdma: false }), { code: "VMSCN5011" });
  c.createWorld({ name: "web", kind: "vm", vcpus: 1 }, a);
  t.throws(() => c.createWorld({ name: "web", kind: "vm", vcpus: 1 }, a), { code: "VMSCN5006" });
  t.throws(() => c.host("c"), { code: "VMSCN5005", message: 'there is no host "c" (did you mean "a"?)' });
  t.throws(() => c.world("wbe"), { message: 'there is no world "wbe" (did you mean "web"?)' });
  t.equal(hint("zzzzzz", ["a", "b"]), "");
  t.equal(editDistance("kitten", "sitting"), 3);
  t.equal(c.world("web").label, "web@a");
  t.same(c.vms().map((w) => w.name), ["web"]);
  t.end();
});

t.test("CPU share is fair when demand exceeds the host's CPUs", (t) => {
  const { c, b } = cluster();
  const x = c.createWorld({ name: "x", kind: "vm", vcpus: 2 }, b);
  const y = c.createWorld({ name: "y", kind: "vm", vcpus: 2 }, b);
  const sender = c.createWorld({ name: "x-sender", kind: "system", vcpus: 1, serves: x }, b);
  t.equal(sender.serves, x);
  t.equal(c.cpuFactor(x), 0, "not running: no share");
  c.setState(x, "running");
  t.equal(c.cpuFactor(x), 1, "2 cores wanted of 2");
  c.setState(y, "running");
  t.equal(c.cpuFactor(x), 0.5, "4 wanted of 2");
  c.setState(sender, "running");
  t.equal(c.cpuFactor(sender), 0.4, "5 wanted of 2");
  c.setDemand(sender, 0);
  t.equal(c.cpuFactor(y), 0.5, "an idle helper wants nothing");
  tcpLoad.set(b.name, 4);
  t.equal(c.cpuFactor(y), 0.25, "TCP copies take CPU too");
  tcpLoad.clear();
  c.move(y, c.host("a"));
  t.equal(c.cpuFactor(x), 1);
  t.equal(c.cpuFactor(y), 1);
  t.equal(b.demand, 2);
  t.equal(c.host("a").demand, 2);
  t.end();
});

t.test("a throttled world gets (1 - throttle) of its CPU share; its demand is unchanged", (t) => {
  const { c, b } = cluster();
  const x = c.createWorld({ name: "x", kind: "vm", vcpus: 2 }, b);
  const y = c.createWorld({ name: "y", kind: "vm", vcpus: 2 }, b);
  c.setState(x, "running");
  t.equal(x.throttle, 0);
  c.setThrottle(x, 0.2);
  t.equal(c.cpuFactor(x), 0.8, "alone on the host: 1 × (1 − 0.2)");
  c.setState(y, "running");
  t.equal(c.cpuFactor(x), 0.4, "fair share 0.5 × 0.8");
  t.equal(c.cpuFactor(y), 0.5, "the other world is not throttled and gains nothing");
  t.equal(b.demand, 4);
  c.setThrottle(x, 1);
  t.equal(c.cpuFactor(x), 0);
  c.setThrottle(x, 0);
  t.equal(c.cpuFactor(x), 0.5, "throttle removed");
  t.throws(() => c.setThrottle(x, 1.5), { code: "VMSCN5011" });
  t.throws(() => c.setThrottle(x, -0.1), { code: "VMSCN5011" });
  t.throws(() => c.setThrottle(x, Number.NaN), { code: "VMSCN5011" });
  t.equal(x.throttle, 0);
  t.end();
});

t.test("extension slots give each world its own typed value", (t) => {
  const { c, a } = cluster();
  const counter = new Slot<{ n: number }, World>("counter", () => ({ n: 0 }));
  const x = c.createWorld({ name: "x", kind: "vm", vcpus: 1 }, a);
  const y = c.createWorld({ name: "y", kind: "vm", vcpus: 1 }, a);
  t.equal(x.hasExt(counter), false);
  x.ext(counter).n += 3;
  t.equal(x.ext(counter).n, 3);
  t.equal(y.ext(counter).n, 0);
  y.setExt(counter, undefined);
  t.equal(y.hasExt(counter), false);
  t.end();
});

t.test("a down host takes no worlds", (t) => {
  const { c, a, b } = cluster();
  const w = c.createWorld({ name: "w", kind: "vm", vcpus: 1 }, a);
  const seen: string[] = [];
  c.signals.hostStateChanged.connect((_h, from, to, cause) => seen.push(`${from}->${to} by ${cause.by}: ${cause.reason}`));
  c.setHostUp(b, false, kernelCause("crash"));
  c.setHostUp(b, false, kernelCause("crash"));
  t.throws(() => c.move(w, b), { code: "VMSCN5011" });
  t.throws(() => c.createWorld({ name: "v", kind: "vm", vcpus: 1 }, b), { code: "VMSCN5011" });
  c.setHostUp(b, true, kernelCause("recover"));
  t.same(seen, ["up->down by kernel: crash", "down->up by kernel: recover"]);
  t.end();
});

t.test("a host's nodes (one per CPU unless declared), VMM API and hypercall interface", (t) => {
  const c = newCluster();
  const a = c.addHost({ name: "a", cpus: 4, memoryBytes: 1 << 30, nicBandwidth: 1, rdma: false });
  t.equal(a.nodes, 4);
  t.equal(a.vmm, "default");
  t.equal(a.hypercalls, "default");
  const b = c.addHost({ name: "b", cpus: 4, memoryBytes: 1 << 30, nicBandwidth: 1, rdma: false, nodes: 3, vmm: "kvm-1.2", hypercalls: "kvm-hc" });
  t.same([b.nodes, b.vmm, b.hypercalls], [3, "kvm-1.2", "kvm-hc"]);
  for (const nodes of [0, 1.5, -1, Number.NaN]) {
    t.throws(() => c.addHost({ name: `z${nodes}`, cpus: 1, memoryBytes: 1, nicBandwidth: 1, rdma: false, nodes }), { code: "VMSCN5011", message: /needs a whole number of nodes, at least 1/ }, String(nodes));
  }
  t.end();
});

t.test("claim: one operation on a VM's memory at a time, released once", (t) => {
  const { c, a } = cluster();
  const w = c.createWorld({ name: "web", kind: "vm", vcpus: 1 }, a);
  const release = c.claim(w, "a migration to host \"b\"");
  t.same(w.operation, { what: 'a migration to host "b"', since: 0 });
  t.throws(() => c.claim(w, "a lazy restore"), { code: "VMSCN5011", message: /VM "web" is busy: a migration to host "b" since 0 s; a lazy restore must wait until it ends/ });
  release();
  t.equal(w.operation, undefined);
  const again = c.claim(w, "a lazy restore");
  release(); // a stale release does not free the new claim
  t.equal(w.operation?.what, "a lazy restore");
  again();
  again();
  t.equal(w.operation, undefined);
  t.end();
});

t.test("holdSuspended: holds nest; the last release resumes a VM that ran, unless told not to", (t) => {
  const { c, a } = cluster();
  const w = c.createWorld({ name: "web", kind: "vm", vcpus: 1 }, a);
  c.setState(w, "running");
  const one = c.holdSuspended(w, "a migration's switch-over");
  t.equal(w.state, "suspended");
  const two = c.holdSuspended(w, "a checkpoint save");
  t.same(w.suspendHolds, ["a migration's switch-over", "a checkpoint save"]);
  two();
  two();
  t.equal(w.state, "suspended", "another still holds it");
  one();
  t.equal(w.state, "running", "the last release resumes it: it ran before the first hold");
  const kept = c.holdSuspended(w, "a save that leaves it suspended");
  kept(false);
  t.equal(w.state, "suspended");
  const idle = c.holdSuspended(w, "a hold on a suspended VM");
  idle();
  t.equal(w.state, "suspended", "it was suspended when held: it stays so");
  t.same(w.suspendHolds, []);
  t.end();
});
