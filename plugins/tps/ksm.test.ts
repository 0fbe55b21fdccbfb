// The scanner, driven batch by batch: exact item states, counters and frames after each
// step, checked against hand counts; the kernel's invariants hold after every step.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { definePlugin, PageState, type GuestMemory, type PluginContext } from "../../core/api.js";
import type { Kernel } from "../../core/run/kernel.js";
import { HostKsm } from "./ksm.js";
import { Item } from "./items.js";
import type { KsmSettings } from "./options.js";

const MiB = 1024 ** 2;
const SETTINGS: KsmSettings = { pagesToScan: 100, sleepNs: 20_000_000, scope: "across-vms", zeroPages: "merge", remotePages: "local" };
const C = 2 ** 48 + 11; // an image-like content identity
const D = 2 ** 48 + 12;

interface Fixture {
  k: Kernel;
  ctx: PluginContext;
  ksm: HostKsm;
  remaps: string[];
  vm(name: string, pages: number, host?: string): GuestMemory;
}

async function fixture(settings: Partial<KsmSettings> = {}, hosts = ["a"]): Promise<Fixture> {
  const k = createKernel({ seed: 1 });
  let ctx!: PluginContext;
  await k.plugins.registerAll([definePlugin({ name: "probe", version: "1.0.0", kernel: "^1", register: (c) => void (ctx = c) })]);
  for (const h of hosts) k.addHost({ name: h, cpus: 4, memoryBytes: 64 * MiB, rdma: true });
  if (hosts.length > 1) k.addLink({ a: hosts[0]!, b: hosts[1]!, bandwidth: 1.024e9, latency: 10_000 });
  const remaps: string[] = [];
  const ksm = new HostKsm(ctx, k.cluster.host("a"), { ...SETTINGS, ...settings }, (g, p, from, to) => remaps.push(`${g.name}:${p} ${from}->${to}`));
  ctx.onCowBreak((g, p, old) => ksm.cowBreak(g, p, old));
  ctx.on("moved", (w) => ksm.removeWorld(w));
  return { k, ctx, ksm, remaps, vm: (name, pages, host = "a") => k.createVm({ name, host, vcpus: 1, memoryBytes: pages * 4096 }).memory! };
}

const fill = (k: Kernel, g: GuestMemory, contents: number[]): void => contents.forEach((c, p) => k.memory.populate(g, p, c));
const counters = (ksm: HostKsm) => {
  const c = ksm.counters();
  return [c.pages_shared, c.pages_sharing, c.pages_unshared, c.pages_volatile, c.full_scans];
};

t.test("two scans merge equal pages; a batch ends at the end of a full scan", async (t) => {
  const { k, ksm } = await fixture();
  const x = k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: 4 * 4096 }).memory!;
  const y = k.createVm({ name: "y", host: "a", vcpus: 1, memoryBytes: 4 * 4096 }).memory!;
  fill(k, x, [C, D, 7, 0]);
  fill(k, y, [C, D, 8, 0]);
  ksm.start(SETTINGS, 1);
  t.equal(ksm.scanner!.demand, (100 * 1000) / 20e6, "the scanner's modelled CPU demand");
  t.equal(ksm.scan(5), 5);
  t.same(counters(ksm), [0, 0, 0, 5, 0], "first sight: volatile");
  t.equal(ksm.scan(5), 3, "the batch stops at the end of the scan");
  t.same(counters(ksm), [0, 0, 0, 8, 1]);
  t.equal(k.memory.machine(0).used, 8);
  t.equal(ksm.scan(100), 8);
  // x: C, D, 7, 0 go to the unstable tree; y: C, D, 0 merge (3 nodes); 8 waits alone
  t.same(counters(ksm), [3, 3, 2, 0, 2]);
  t.equal(k.memory.machine(0).used, 5);
  t.equal(y.frame[0], x.frame[0]);
  t.equal(k.memory.machine(0).refs[x.frame[0]!], 2);
  t.equal(ksm.counters().memory_saved, 3 * 4096);
  k.checkInvariants();
  // a third scan changes nothing; the unstable items are re-inserted
  ksm.scan(100);
  t.same(counters(ksm), [3, 3, 2, 0, 3]);
  t.equal(ksm.counters().pages_scanned, 24);
  k.checkInvariants();
  t.end();
});

t.test("a changed page is volatile; a write to a merged page is a COW break that leaves the node", async (t) => {
  const { k, ksm } = await fixture();
  const x = k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: 2 * 4096 }).memory!;
  const y = k.createVm({ name: "y", host: "a", vcpus: 1, memoryBytes: 2 * 4096 }).memory!;
  fill(k, x, [C, D]);
  fill(k, y, [C, D]);
  ksm.start(SETTINGS, 1);
  ksm.scan(100);
  k.memory.write(x, 1, 5); // changes before the second scan
  ksm.scan(100);
  t.same(counters(ksm), [1, 1, 1, 1, 2], "x's page 1 volatile, y's page 1 alone in the unstable tree");
  // x (the node's rep) writes page 0: a COW break; the node keeps y's page and closes
  k.memory.write(x, 0, 9);
  t.equal(ksm.counters().cow_breaks, 1);
  t.same(counters(ksm), [1, 0, 1, 2, 2]);
  t.equal(k.memory.machine(0).used, 4);
  k.checkInvariants();
  // y, the last sharer, writes in place (the kernel just drops the trap): no event; the next
  // scan finds its page changed and the node empty
  k.memory.write(y, 0, 10);
  t.equal(ksm.counters().cow_breaks, 1);
  ksm.scan(100);
  t.same(counters(ksm), [0, 0, 2, 2, 3], "x's page 1, unchanged since, and y's page 1 wait in the unstable tree");
  k.checkInvariants();
  t.end();
});

t.test("a closed node reopens through a page scanned again, and takes new pages", async (t) => {
  const { k, ksm } = await fixture();
  const x = k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: 4096 }).memory!;
  const y = k.createVm({ name: "y", host: "a", vcpus: 1, memoryBytes: 4096 }).memory!;
  const z = k.createVm({ name: "z", host: "a", vcpus: 1, memoryBytes: 4096 }).memory!;
  fill(k, x, [C]);
  fill(k, y, [C]);
  fill(k, z, [C]);
  ksm.start(SETTINGS, 1);
  ksm.scan(100);
  ksm.scan(100);
  t.same(counters(ksm), [1, 2, 0, 0, 2]);
  k.memory.write(x, 0, 9); // the rep breaks away: the node closes
  ksm.scan(100); // x volatile; y finds its node closed and reopens it as the rep
  t.same(counters(ksm), [1, 1, 0, 1, 3]);
  const w = k.createVm({ name: "w", host: "a", vcpus: 1, memoryBytes: 4096 }).memory!;
  k.memory.populate(w, 0, C);
  ksm.addWorld(k.cluster.world("w"));
  ksm.scan(100); // w hits the reopened node at once (the stable tree needs no second look)
  t.same(counters(ksm), [1, 2, 1, 0, 4], "x's new page, unchanged since, is in the unstable tree");
  t.equal(w.frame[0], y.frame[0]);
  t.equal(k.memory.machine(0).used, 2);
  k.checkInvariants();
  t.end();
});

t.test("pages that changed and changed back merge into the node their contents have", async (t) => {
  const { k, ksm } = await fixture();
  const g = (n: string) => k.createVm({ name: n, host: "a", vcpus: 1, memoryBytes: 4096 }).memory!;
  const x = g("x");
  const v = g("v");
  const y = g("y");
  fill(k, x, [C]);
  fill(k, v, [5]);
  fill(k, y, [C]);
  ksm.start(SETTINGS, 1);
  ksm.scan(100);
  ksm.scan(100); // node {x, y}; v alone
  t.same(counters(ksm), [1, 1, 1, 0, 2]);
  k.memory.write(x, 0, 9); // the node's rep breaks away (COW): the node closes, y stays
  k.memory.write(x, 0, C); // x's own frame, contents C again
  k.memory.write(v, 0, C);
  // y, alone on the frame, writes in place (no COW event) and writes C back: still valid
  k.memory.write(y, 0, 6);
  k.memory.write(y, 0, C);
  ksm.scan(100); // x and v changed: volatile; y reopens its node as the rep
  t.same(counters(ksm), [1, 0, 0, 2, 3]);
  ksm.scan(100); // x and v are unchanged: the stable tree takes them
  t.same(counters(ksm), [1, 2, 0, 0, 4]);
  t.equal(v.frame[0], y.frame[0]);
  t.equal(x.frame[0], y.frame[0]);
  t.equal(k.memory.machine(0).used, 1);
  k.checkInvariants();
  t.end();
});

t.test("pages that already share a frame (a fork) become a node without a copy; salting keeps VMs apart", async (t) => {
  const { k, ksm } = await fixture({ scope: "within-vm" });
  const x = k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  const y = k.createVm({ name: "y", host: "a", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  fill(k, x, [C, C, D]);
  fill(k, y, [C, 4, D]);
  k.memory.share(x, 2, y, 2); // a fork shares x's page 2 with y
  ksm.start({ ...SETTINGS, scope: "within-vm" }, 1);
  ksm.scan(100);
  ksm.scan(100);
  // x's two C pages merge (within x); y's C does not join them; page 2 of x and y is one frame
  // already, but salted apart: no node. Nodes: {x0, x1}
  t.same(counters(ksm), [1, 1, 4, 0, 2]);
  t.equal(x.frame[1], x.frame[0]);
  t.not(y.frame[0], x.frame[0]);
  k.checkInvariants();
  const b = await fixture();
  const p = b.k.createVm({ name: "p", host: "a", vcpus: 1, memoryBytes: 4096 }).memory!;
  const q = b.k.createVm({ name: "q", host: "a", vcpus: 1, memoryBytes: 4096 }).memory!;
  b.k.memory.populate(p, 0, D);
  b.k.memory.share(p, 0, q, 0);
  b.ksm.start(SETTINGS, 1);
  b.ksm.scan(100);
  b.ksm.scan(100);
  t.same(counters(b.ksm), [1, 1, 0, 0, 2], "the forked frame becomes a node as it is");
  t.equal(b.k.memory.machine(0).used, 1);
  b.k.checkInvariants();
  t.end();
});

t.test("zero pages: merged, unmapped to the zero page, or kept", async (t) => {
  for (const [mode, expect] of [
    ["merge", { shared: 1, sharing: 2, zero: 0, used: 1, unbacked: 0 }],
    ["use-zero-pages", { shared: 0, sharing: 0, zero: 3, used: 0, unbacked: 3 }],
    ["keep", { shared: 0, sharing: 0, zero: 0, used: 3, unbacked: 0 }],
  ] as const) {
    const { k, ksm } = await fixture({ zeroPages: mode });
    const x = k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
    fill(k, x, [0, 0, 0]);
    ksm.start({ ...SETTINGS, zeroPages: mode }, 1);
    ksm.scan(100);
    ksm.scan(100);
    const c = ksm.counters();
    t.same({ shared: c.pages_shared, sharing: c.pages_sharing, zero: c.ksm_zero_pages, used: k.memory.machine(0).used, unbacked: x.census().unbacked }, expect, mode);
    t.equal(c.memory_saved, (expect.sharing + expect.zero) * 4096);
    k.checkInvariants();
    if (mode === "use-zero-pages") {
      // a write to an unmapped zero page allocates a frame; the next scan sees a page again
      k.memory.write(x, 1, 77);
      ksm.scan(100);
      t.equal(ksm.counters().ksm_zero_pages, 2);
      t.equal(ksm.counters().pages_volatile, 1);
      t.equal(ksm.counters().pages_scanned, 3 + 3 + 1, "unmapped zero pages are not scanned");
    }
  }
  t.end();
});

t.test("pages that leave: absent pages, a world that moves or is destroyed, a page map replaced", async (t) => {
  const { k, ksm } = await fixture();
  const x = k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: 2 * 4096 }).memory!;
  const y = k.createVm({ name: "y", host: "a", vcpus: 1, memoryBytes: 2 * 4096 }).memory!;
  const z = k.createVm({ name: "z", host: "a", vcpus: 1, memoryBytes: 2 * 4096 }).memory!;
  fill(k, x, [C, D]);
  fill(k, y, [C, D]);
  fill(k, z, [C, 3]);
  ksm.start(SETTINGS, 1);
  ksm.scan(100);
  ksm.scan(100);
  t.same(counters(ksm), [2, 3, 1, 0, 2]);
  // another plugin drops z's page 0 (it will be fetched later): it leaves its node at the next scan
  k.memory.setAbsent(z, 0, PageState.AbsentFetch);
  ksm.scan(100);
  t.same(counters(ksm), [2, 2, 1, 0, 3]);
  // y is destroyed: its pages leave at once
  k.destroyVm(k.cluster.world("y"));
  ksm.removeWorld(k.cluster.worlds.find((w) => w.name === "y") ?? ({} as never));
  ksm.scan(100);
  t.same(counters(ksm), [2, 0, 1, 0, 4], "x's pages are alone in their nodes");
  // x gets a new page map (a restore, say): its old entry goes, the new one is scanned afresh
  const w = k.cluster.world("x");
  const fresh = k.memory.createGuest(w.id, "x'", 2, 0);
  k.memory.populate(fresh, 0, C);
  k.memory.dropGuest(x);
  w.memory = fresh;
  ksm.scan(100);
  t.same(counters(ksm), [0, 0, 1, 1, 5]);
  k.checkInvariants();
  t.end();
});

t.test("remote pages: re-mapped onto a local frame (stable or unstable match), after an RDMA read", async (t) => {
  const { k, ksm, remaps } = await fixture({}, ["a", "b"]);
  // on b: the frames a moved VM still maps remotely
  const src = k.createVm({ name: "src", host: "b", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  fill(k, src, [C, D, 4]);
  const local = k.createVm({ name: "local", host: "a", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  const other = k.createVm({ name: "other", host: "a", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  fill(k, local, [C, 8, 4]);
  fill(k, other, [C, 9, 6]);
  const moved = k.createVm({ name: "moved", host: "a", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  for (let p = 0; p < 3; p++) k.memory.share(src, p, moved, p);
  ksm.start(SETTINGS, 1);
  ksm.scan(100);
  ksm.scan(100);
  // scanned after local and other: moved's page 0 equals the node {local 0, other 0} and its
  // page 2 equals local's page 2 in the unstable tree: each waits for an RDMA read (pending)
  t.equal(ksm.counters().remote_compares, 2);
  t.equal(moved.state(0), PageState.Remote);
  t.same(counters(ksm), [1, 1, 5, 2, 2]);
  ksm.scan(100); // pending pages are skipped
  t.same(counters(ksm), [1, 1, 5, 2, 3]);
  k.run(1_000_000);
  t.equal(moved.state(0), PageState.Present, "moved's page 0 maps the local frame");
  t.equal(moved.frame[0], local.frame[0]);
  t.equal(moved.state(2), PageState.Present);
  t.equal(moved.frame[2], local.frame[2]);
  t.same(remaps, ["moved:0 1->0", "moved:2 1->0"]);
  const c = ksm.counters();
  t.equal(c.remote_pages_merged, 2);
  t.equal(c.remote_compare_bytes, 2 * 4096);
  t.equal(c.pages_shared, 2, "{local 0, other 0, moved 0} and {local 2, moved 2}");
  t.equal(c.pages_sharing, 3);
  t.equal(k.memory.machine(1).refs[src.frame[0]!], 1, "b's frame lost moved's reference");
  k.checkInvariants();
  t.end();
});

t.test("remote pages: the local page moves onto the remote frame (remote), or nothing (ignore); a failed read merges nothing", async (t) => {
  for (const policy of ["remote", "ignore"] as const) {
    const { k, ksm, remaps } = await fixture({ remotePages: policy }, ["a", "b"]);
    const src = k.createVm({ name: "src", host: "b", vcpus: 1, memoryBytes: 4096 }).memory!;
    k.memory.populate(src, 0, C);
    const local = k.createVm({ name: "local", host: "a", vcpus: 1, memoryBytes: 4096 }).memory!;
    k.memory.populate(local, 0, C);
    const moved = k.createVm({ name: "moved", host: "a", vcpus: 1, memoryBytes: 4096 }).memory!;
    k.memory.share(src, 0, moved, 0);
    ksm.start({ ...SETTINGS, remotePages: policy }, 1);
    ksm.scan(100);
    ksm.scan(100);
    k.run(1_000_000);
    if (policy === "remote") {
      t.equal(local.state(0), PageState.Remote, "local's page maps the frame on b");
      t.equal(k.memory.machine(0).used, 0);
      t.equal(k.memory.machine(1).refs[src.frame[0]!], 3);
      t.same(remaps, ["local:0 0->1"]);
      t.equal(ksm.counters().pages_mapped_remote, 1);
    } else {
      t.equal(ksm.counters().remote_compares, 0);
      t.equal(local.state(0), PageState.Present);
      t.same(remaps, []);
    }
    k.checkInvariants();
  }
  const { k, ksm } = await fixture({}, ["a", "b"]);
  const src = k.createVm({ name: "src", host: "b", vcpus: 1, memoryBytes: 4096 }).memory!;
  k.memory.populate(src, 0, C);
  const local = k.createVm({ name: "local", host: "a", vcpus: 1, memoryBytes: 4096 }).memory!;
  k.memory.populate(local, 0, C);
  const moved = k.createVm({ name: "moved", host: "a", vcpus: 1, memoryBytes: 4096 }).memory!;
  k.memory.share(src, 0, moved, 0);
  ksm.start(SETTINGS, 1);
  ksm.scan(100);
  ksm.scan(100);
  t.equal(ksm.counters().remote_compares, 1);
  k.network.setLinkUp("a<->b", false);
  k.run(1_000_000);
  t.equal(moved.state(0), PageState.Remote, "the read failed: nothing merged");
  t.equal(ksm.counters().pages_volatile, 1);
  ksm.scan(100);
  t.equal(ksm.counters().remote_compares, 1, "no route: no comparison is started");
  k.checkInvariants();
  t.end();
});

t.test("edge cases of the trees: a stale candidate, a stale rep, entries dropped before the cursor", async (t) => {
  const { k, ksm } = await fixture();
  const g = (n: string) => k.createVm({ name: n, host: "a", vcpus: 1, memoryBytes: 4096 }).memory!;
  const x = g("x");
  const y = g("y");
  const z = g("z");
  fill(k, x, [C]);
  fill(k, y, [C]);
  fill(k, z, [D]);
  ksm.start(SETTINGS, 1);
  ksm.scan(100);
  ksm.scan(1); // x goes into the unstable tree...
  k.memory.write(x, 0, 5); // ...and changes before y is looked up: compared in full, it no longer matches
  ksm.scan(100);
  t.same(counters(ksm), [0, 0, 2, 1, 2], "y replaced x in the tree; x is volatile");
  ksm.scan(100);
  ksm.scan(100);
  k.memory.write(z, 0, 5);
  ksm.scan(100);
  ksm.scan(100); // x and z (both 5 now) merge; y alone
  t.same(counters(ksm), [1, 1, 1, 0, 6]);
  // z (not the rep) breaks away, then x, alone, writes in place: the node's rep no longer holds
  // its contents, so a lookup of 5 closes the node instead of merging into it
  k.memory.write(z, 0, 6);
  k.memory.write(x, 0, 7);
  const w = g("w");
  k.memory.populate(w, 0, 5);
  ksm.addWorld(k.cluster.world("w"));
  ksm.scan(100);
  t.not(w.frame[0], x.frame[0]);
  t.same(counters(ksm), [0, 0, 1, 3, 7], "x's node is gone; y waits; x, z, w are new");
  // an entry before the cursor goes: the cursor moves back with it
  ksm.scan(2);
  ksm.removeWorld(k.cluster.world("x"));
  ksm.removeWorld(k.cluster.world("y"));
  t.equal(ksm.scan(100), 2, "z and w");
  ksm.removeWorld(k.cluster.world("z"));
  ksm.removeWorld(k.cluster.world("w"));
  t.equal(ksm.scan(100), 0, "nothing left to scan");
  k.checkInvariants();
  t.end();
});

t.test("remote edge cases: two remote pages, a remote candidate, comparisons overtaken by events", async (t) => {
  const { k, ksm } = await fixture({}, ["a", "b"]);
  const src = k.createVm({ name: "src", host: "b", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  fill(k, src, [C, C, D]);
  // m1 and m2 map frames on b: page 0 the same frame, page 1 two frames with equal contents
  const m1 = k.createVm({ name: "m1", host: "a", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  const m2 = k.createVm({ name: "m2", host: "a", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  k.memory.share(src, 0, m1, 0);
  k.memory.share(src, 0, m2, 0);
  k.memory.share(src, 0, m1, 1);
  k.memory.share(src, 1, m2, 1);
  k.memory.share(src, 2, m1, 2);
  k.memory.populate(m2, 2, 8);
  // l is scanned after the remote pages: its page 0 finds m1's page 0 (remote) in the tree
  const l = k.createVm({ name: "l", host: "a", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  fill(k, l, [C, 9, D]);
  ksm.start(SETTINGS, 1);
  ksm.scan(100);
  ksm.scan(100);
  t.equal(ksm.counters().remote_compares, 2, "l's pages 0 and 2 read their remote candidates; the remote pairs cost nothing");
  k.run(1_000_000);
  t.equal(m1.state(0), PageState.Present, "m1's page 0 moved onto l's frame");
  t.equal(m1.frame[0], l.frame[0]);
  t.equal(m1.state(2), PageState.Present);
  t.equal(m2.state(0), PageState.Remote);
  t.same(counters(ksm).slice(0, 2), [2, 2]);
  ksm.scan(100);
  ksm.scan(100);
  k.run(2_000_000);
  t.equal(m2.state(0), PageState.Present, "m2's page 0 joined the node (its comparison read b's page)");
  k.checkInvariants();
  // a comparison whose page changes meanwhile, one whose entry goes, and one cut by a crash
  const b = await fixture({}, ["a", "b"]);
  const s2 = b.k.createVm({ name: "s2", host: "b", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  fill(b.k, s2, [C, D, 4]);
  const loc = b.k.createVm({ name: "loc", host: "a", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  fill(b.k, loc, [C, D, 4]);
  const mv = b.k.createVm({ name: "mv", host: "a", vcpus: 1, memoryBytes: 3 * 4096 }).memory!;
  for (let p = 0; p < 3; p++) b.k.memory.share(s2, p, mv, p);
  b.ksm.start(SETTINGS, 1);
  b.ksm.scan(100);
  b.ksm.scan(100);
  t.equal(b.ksm.counters().remote_compares, 3);
  b.k.memory.write(loc, 0, 11); // the candidate of page 0 changes
  b.k.memory.populate(mv, 1, 12); // page 1 no longer maps the frame that was read
  b.ksm.removeWorld(b.k.cluster.world("loc"));
  b.k.run(1_000_000);
  t.equal(mv.state(0), PageState.Remote);
  t.equal(mv.state(2), PageState.Remote);
  t.equal(b.ksm.counters().remote_pages_merged, 0);
  b.ksm.addWorld(b.k.cluster.world("loc"));
  b.ksm.scan(100);
  b.ksm.scan(100);
  b.ksm.crashed("host a crashed");
  t.equal(b.ksm.counters().pages_volatile, 0, "the crash cut the comparisons and emptied the trees");
  b.k.run(2_000_000);
  t.end();
});

t.test("stop keeps merged pages; a crash clears the trees; the memory-saved series thins out", async (t) => {
  const { k, ksm } = await fixture({ sleepNs: 1_000_000 });
  const x = k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: 2 * 4096 }).memory!;
  const y = k.createVm({ name: "y", host: "a", vcpus: 1, memoryBytes: 2 * 4096 }).memory!;
  fill(k, x, [C, D]);
  fill(k, y, [C, D]);
  ksm.start({ ...SETTINGS, sleepNs: 1_000_000 }, 1);
  k.run(10_000_000);
  t.same(counters(ksm), [2, 2, 0, 0, 11]);
  ksm.stop();
  ksm.stop();
  t.equal(ksm.on, false);
  t.equal(ksm.scanner, null);
  k.run(20_000_000);
  t.same(counters(ksm), [2, 2, 0, 0, 11], "nothing scanned while off; merged pages stay merged");
  // a batch every 50 ms, a sample every 100 ms: past 2000 samples (200 s) every other one goes
  ksm.start({ ...SETTINGS, sleepNs: 50_000_000 }, 2);
  k.run(250_000_000_000);
  const n = ksm.savedSeries.x.length;
  t.ok(n <= 2000 && n > 1000, `${n} samples`);
  t.equal(ksm.savedSeries.x[n - 1]! - ksm.savedSeries.x[n - 2]!, 200_000_000, "thinned: one sample every 200 ms since");
  t.equal(ksm.savedSeries.y[ksm.savedSeries.y.length - 1], 2 * 4096);
  ksm.crashed("host a crashed");
  t.same(counters(ksm).slice(0, 4), [0, 0, 0, 0]);
  t.equal(ksm.stoppedBy, "host a crashed");
  t.equal(ksm.on, false);
  t.end();
});

t.test("the item states are the documented numbers", (t) => {
  t.same(Item, { None: 0, Volatile: 1, Unstable: 2, Stable: 3, Zero: 4, Pending: 5 });
  t.end();
});
