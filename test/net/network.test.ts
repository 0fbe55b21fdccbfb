import "reflect-metadata";
import { Hooks } from "../../core/plugin-host/hooks.js";
import { throwsCode } from "../support/errors.js";
import t, { type Test } from "tap";
import { FairShare } from "../../core/net/fair-share.js";
import { Network, type Transfer, type TransferOptions } from "../../core/net/network.js";
import { Scheduler } from "../../core/sim/scheduler.js";
import { defaultRunConfig } from "../../core/config.js";
import { VmscnError } from "../../core/errors.js";
import { US } from "../../core/sim/time.js";

const GB = 1e9; // 1 byte per ns
const NIC = 1e10; // NICs faster than links, so links are the bottleneck unless a test says otherwise

function setup(tcpCpuNsPerPage = 1000): { s: Scheduler; fs: FairShare; net: Network } {
  const s = new Scheduler();
  const fs = new FairShare(s);
  const net = new Network(s, fs, defaultRunConfig({ tcpCpuNsPerPage }), new Hooks(s));
  return { s, fs, net };
}

/** Hosts a, b, c (RDMA on a and b); links a<->b 10 us, b<->c 20 us, a<->c 100 us, all 1 GB/s. */
function triangle(): ReturnType<typeof setup> {
  const env = setup();
  const { net } = env;
  net.addHost("a", { nicBandwidth: NIC, rdma: true });
  net.addHost("b", { nicBandwidth: NIC, rdma: true });
  net.addHost("c", { nicBandwidth: NIC });
  net.addLink("a", "b", { bandwidth: GB, latency: 10 * US });
  net.addLink("b", "c", { bandwidth: GB, latency: 20 * US });
  net.addLink("a", "c", { bandwidth: GB, latency: 100 * US });
  return env;
}

interface Outcome {
  done?: number;
  error?: VmscnError;
  at?: number;
}

function send(env: ReturnType<typeof setup>, opts: Omit<TransferOptions, "onDone" | "onFail">): { tr: Transfer; out: Outcome } {
  const out: Outcome = {};
  const tr = env.net.transfer({
    ...opts,
    onDone: (time) => (out.done = time),
    onFail: (err) => {
      out.error = err;
      out.at = env.s.now;
    },
  });
  return { tr, out };
}


t.test("routes take the fewest hops and add their latency to completion", (t) => {
  const env = triangle();
  const { s, net } = env;
  const r = net.route("a", "c");
  t.same(r.links, ["a<->c"]);
  t.same(r.hosts, ["a", "c"]);
  t.equal(r.latency, 100 * US);
  t.equal(net.rtt("a", "c"), 200 * US);
  t.same(net.route("c", "b").links, ["b<->c"]);
  t.same(net.route("a", "a"), { from: "a", to: "a", hosts: ["a"], links: [], latency: 0 });
  t.equal(net.hasRoute("a", "c"), true);
  const { tr, out } = send(env, { from: "a", to: "c", bytes: 1e6, kind: "tcp", label: "page batch" });
  t.equal(tr.id, 1);
  t.equal(tr.label, "page batch");
  s.run(0);
  t.equal(tr.rate, GB);
  // 1e6 B at 1e9 B/s drains at 1 ms; the last byte arrives 100 us later.
  s.run();
  t.equal(out.done, 1_100_000);
  t.equal(tr.state, "done");
  t.equal(tr.finishedAt, 1_100_000);
  t.equal(tr.bytesDone(), 1e6);
  t.equal(tr.rate, 0);
  const ls = net.linkStats("a<->c");
  t.equal(ls.bytesAB, 1e6);
  t.equal(ls.bytesBA, 0);
  t.equal(net.hostStats("a").bytesSent, 1e6);
  t.equal(net.hostStats("c").bytesReceived, 1e6);
  t.equal(net.hostStats("b").bytesSent, 0);
  t.end();
});

t.test("equal-hop routes break ties by link creation order", (t) => {
  for (const [order, expected] of [
    [["a-b", "a-c", "b-d", "c-d"], ["a<->b", "b<->d"]],
    [["a-c", "a-b", "c-d", "b-d"], ["a<->c", "c<->d"]],
  ] as const) {
    const { net } = setup();
    for (const h of ["a", "b", "c", "d"]) net.addHost(h, { nicBandwidth: NIC });
    for (const l of order) {
      const [x, y] = l.split("-") as [string, string];
      net.addLink(x, y, { bandwidth: GB, latency: 1000 });
    }
    t.same(net.route("a", "d").links, expected);
    t.same(net.route("a", "d").hosts, ["a", expected[0].slice(-1), "d"]);
  }
  t.end();
});

t.test("multi-hop: flows share each link direction max-min; links are full duplex", (t) => {
  const env = setup();
  const { s, net } = env;
  for (const h of ["a", "b", "c"]) net.addHost(h, { nicBandwidth: NIC });
  net.addLink("a", "b", { bandwidth: GB, latency: 0 });
  net.addLink("b", "c", { bandwidth: 4e8, latency: 0 });
  // x: a->c over both links; y: a->b; z: c->b (the other direction of b<->c); w: b->a.
  const x = send(env, { from: "a", to: "c", bytes: 2e6, kind: "tcp" });
  const y = send(env, { from: "a", to: "b", bytes: 8e6, kind: "tcp" });
  const z = send(env, { from: "c", to: "b", bytes: 4e6, kind: "tcp" });
  const w = send(env, { from: "b", to: "a", bytes: 1e6, kind: "tcp" });
  s.run(0);
  // b->c carries x alone (4e8); a->b has x and y: y gets the rest, 6e8. c->b and b->a are
  // the other directions: z and w get their links whole.
  t.equal(x.tr.rate, 4e8);
  t.equal(y.tr.rate, 6e8);
  t.equal(z.tr.rate, 4e8);
  t.equal(w.tr.rate, GB);
  t.same(net.linkRates(), [
    { name: "a<->b", ab: GB, ba: GB, rate: 2 * GB },
    { name: "b<->c", ab: 4e8, ba: 4e8, rate: 8e8 },
  ]);
  s.run();
  // w: 1e6 / 1e9 = 1 ms. x: 2e6 / 4e8 = 5 ms. z: 4e6 / 4e8 = 10 ms.
  // y: 6e8 × 5 ms = 3e6 by 5 ms, then 5e6 left alone at 1e9: 10 ms.
  t.equal(w.out.done, 1_000_000);
  t.equal(x.out.done, 5_000_000);
  t.equal(z.out.done, 10_000_000);
  t.equal(y.out.done, 10_000_000);
  const st = net.stats();
  t.same(
    st.links.map((l) => [l.name, l.bytesAB, l.bytesBA, l.rateAB, l.rateBA, l.up]),
    [
      ["a<->b", 10e6, 1e6, 0, 0, true],
      ["b<->c", 2e6, 4e6, 0, 0, true],
    ],
  );
  t.equal(st.transfers.completed, 4);
  t.equal(st.transfers.bytesDelivered, 15e6);
  t.end();
});

t.test("the NIC is a bottleneck too", (t) => {
  const env = setup();
  const { s, net } = env;
  net.addHost("a", { nicBandwidth: 5e8 });
  net.addHost("b", { nicBandwidth: NIC });
  net.addHost("c", { nicBandwidth: NIC });
  net.addLink("a", "b", { bandwidth: GB, latency: 0 });
  net.addLink("a", "c", { bandwidth: GB, latency: 0 });
  const x = send(env, { from: "a", to: "b", bytes: 1e6, kind: "tcp" });
  const y = send(env, { from: "a", to: "c", bytes: 1e6, kind: "tcp" });
  s.run(0);
  // a's NIC (5e8) is shared by both: 2.5e8 each, 4 ms.
  t.equal(x.tr.rate, 2.5e8);
  t.equal(y.tr.rate, 2.5e8);
  s.run();
  t.equal(x.out.done, 4_000_000);
  t.equal(y.out.done, 4_000_000);
  t.end();
});

t.test("maxRate paces a transfer", (t) => {
  const env = triangle();
  const { s } = env;
  const x = send(env, { from: "a", to: "b", bytes: 1e6, kind: "rdma", maxRate: 1e8 });
  s.run();
  // 1e6 B at 1e8 B/s = 10 ms, plus 10 us.
  t.equal(x.out.done, 10_010_000);
  t.end();
});

t.test("a link going down fails its flows (VMSCN5010) and later routes avoid it", (t) => {
  const env = triangle();
  const { s, net } = env;
  const x = send(env, { from: "a", to: "c", bytes: 1e6, kind: "tcp", label: "round 3" });
  const bystander = send(env, { from: "a", to: "b", bytes: 1e6, kind: "tcp" });
  let later: ReturnType<typeof send> | undefined;
  s.at(500_000, () => {
    net.setLinkUp("a<->c", false);
    net.setLinkUp("a<->c", false);
    t.equal(net.isLinkUp("a<->c"), false);
    t.equal(x.tr.state, "failed");
    t.equal(x.out.error, undefined, "reported on its own event");
    later = send(env, { from: "a", to: "c", bytes: 1e6, kind: "tcp" });
  });
  s.run();
  t.equal(x.out.at, 500_000);
  t.equal(x.out.error?.code, "VMSCN5010");
  t.equal(x.out.error?.message, 'link "a<->c" went down at 0.0005 s: round 3 from host "a" to host "c" failed after 500000 of 1000000 bytes');
  t.equal(x.out.error?.where, "a<->c");
  t.equal(x.out.done, undefined);
  t.equal(x.tr.bytesDone(), 500_000);
  t.same(later!.tr.route.links, ["a<->b", "b<->c"]);
  // bystander (a->b) ran alone at 1e9 until 0.5 ms (5e5 B), then shares a<->b with `later`:
  // 5e8 each. bystander's 5e5 B left take 1 ms: drained at 1.5 ms, delivered at 1.51 ms.
  // later moved 5e5 B by then, has 5e5 B left alone at 1e9: 0.5 ms, drained at 2 ms,
  // delivered 30 us later.
  t.equal(bystander.out.done, 1_510_000);
  t.equal(later!.out.done, 2_030_000);
  t.equal(net.linkStats("a<->c").up, false);
  net.setLinkUp("a<->b", false);
  throwsCode(t, () => net.transfer({ from: "a", to: "c", bytes: 1, kind: "tcp" }), "VMSCN5009", /^no route from host "a" to host "c"$/);
  throwsCode(t, () => net.route("a", "c"), "VMSCN5009", /^no route from host "a" to host "c"$/);
  t.equal(net.hasRoute("a", "c"), false);
  net.setLinkUp("a<->c", true);
  t.same(net.route("a", "c").links, ["a<->c"]);
  t.end();
});

t.test("a transfer still in flight (latency) fails when its link goes down", (t) => {
  const env = triangle();
  const { s, net } = env;
  const x = send(env, { from: "a", to: "c", bytes: 1e6, kind: "tcp" });
  s.at(1_050_000, () => net.setLinkUp("a<->c", false));
  s.run();
  t.equal(x.out.done, undefined);
  t.match(x.out.error?.message, /failed after 1000000 of 1000000 bytes$/);
  t.equal(net.stats().transfers.failed, 1);
  t.end();
});

t.test("a failure without onFail is thrown from its event", (t) => {
  const { s, net } = triangle();
  net.transfer({ from: "a", to: "c", bytes: 1e6, kind: "tcp" });
  s.at(10, () => net.setLinkUp("a<->c", false));
  try {
    s.run();
    t.fail("should throw");
  } catch (e) {
    t.equal((e as VmscnError).code, "VMSCN5010");
    t.equal((e as VmscnError).time, 10);
  }
  t.end();
});

t.test("a host crash fails transfers from, to and through it", (t) => {
  const env = triangle();
  const { s, net } = env;
  net.setLinkUp("a<->c", false);
  const through = send(env, { from: "a", to: "c", bytes: 1e6, kind: "tcp", label: "via b" });
  const into = send(env, { from: "c", to: "b", bytes: 1e6, kind: "tcp" });
  const local = send(env, { from: "b", to: "b", bytes: 1e6, kind: "tcp" });
  const elsewhere = send(env, { from: "c", to: "c", bytes: 1e6, kind: "tcp" });
  t.same(through.tr.route.hosts, ["a", "b", "c"]);
  net.failHost("b");
  net.failHost("b");
  t.equal(net.isHostUp("b"), false);
  s.run();
  t.equal(through.out.error?.code, "VMSCN5010");
  t.equal(through.out.error?.message, 'host "b" crashed at 0 s: via b from host "a" to host "c" failed after 0 of 1000000 bytes');
  t.equal(into.out.error?.code, "VMSCN5010");
  t.equal(local.out.error?.code, "VMSCN5010");
  t.equal(elsewhere.out.done, 0);
  throwsCode(t, () => net.transfer({ from: "a", to: "b", bytes: 1, kind: "tcp" }), "VMSCN5009", /host "b" is down/);
  throwsCode(t, () => net.transfer({ from: "b", to: "a", bytes: 1, kind: "tcp" }), "VMSCN5009", /host "b" is down/);
  throwsCode(t, () => net.route("a", "c"), "VMSCN5009", /^no route from host "a" to host "c"$/);
  throwsCode(t, () => net.route("a", "b"), "VMSCN5009", /: host "b" is down$/);
  throwsCode(t, () => net.route("b", "a"), "VMSCN5009", /: host "b" is down$/);
  net.restoreHost("b");
  net.restoreHost("b");
  t.same(net.route("a", "c").hosts, ["a", "b", "c"]);
  t.end();
});

t.test("RDMA needs RDMA NICs at both ends; initiators are recorded", (t) => {
  const env = triangle();
  const { s, net } = env;
  throwsCode(t, () => net.transfer({ from: "a", to: "c", bytes: 1, kind: "rdma", label: "remote cow" }), "VMSCN5011", /^remote cow is an RDMA transfer from host "a" to host "c", but host "c" has no RDMA NIC$/);
  throwsCode(t, () => net.transfer({ from: "c", to: "a", bytes: 1, kind: "rdma" }), "VMSCN5011", /host "c" has no RDMA NIC/);
  const read = send(env, { from: "a", to: "b", bytes: 8192, kind: "rdma", initiator: "destination" });
  const write = send(env, { from: "a", to: "b", bytes: 4096, kind: "rdma" });
  t.equal(read.tr.initiator, "destination");
  t.equal(write.tr.initiator, "source");
  // A local copy never touches a NIC, so "rdma" on a host without one is fine.
  send(env, { from: "c", to: "c", bytes: 4096, kind: "rdma" });
  s.run();
  const st = net.stats();
  t.equal(st.transfers.rdma, 2);
  t.equal(st.transfers.local, 1);
  t.equal(st.transfers.initiatedByDestination, 1);
  t.equal(st.transfers.initiatedBySource, 2);
  const a = st.hosts.find((h) => h.name === "a")!;
  const b = st.hosts.find((h) => h.name === "b")!;
  t.equal(a.initiated, 1);
  t.equal(b.initiated, 1);
  t.equal(a.rdmaBytes, 12288);
  t.equal(b.rdmaBytes, 12288);
  t.equal(a.tcpCpuNs, 0, "RDMA costs no CPU");
  t.equal(b.tcpCpuNs, 0);
  t.end();
});

t.test("TCP costs tcpCpuNsPerPage per 4 KiB page on both hosts", (t) => {
  const env = triangle();
  const { s, net } = env;
  const x = send(env, { from: "a", to: "b", bytes: 1 << 20, kind: "tcp" });
  s.run(0);
  // 1e9 B/s / 4096 B = 244140.625 pages/s × 1000 ns = 0.244140625 cores on each end.
  t.equal(net.cpuLoad("a"), 0.244140625);
  t.equal(net.cpuLoad("b"), 0.244140625);
  t.equal(net.cpuLoad("c"), 0);
  // At 0.5 ms, 5e5 B moved: 5e5 / 4096 × 1000 ns.
  s.run(500_000);
  t.equal(net.tcpCpuNs("a"), (5e5 / 4096) * 1000);
  t.equal(x.tr.bytesDone(), 5e5);
  // Drained (1048576 ns) but still in flight (10 us latency): all bytes counted.
  s.run(1_050_000);
  t.equal(x.tr.state, "delivering");
  t.equal(net.cpuLoad("a"), 0);
  t.equal(net.tcpCpuNs("b"), 256_000);
  s.run();
  t.equal(x.out.done, 1_048_576 + 10_000);
  // 1 MiB = 256 pages × 1000 ns = 256 us on each host.
  t.equal(net.tcpCpuNs("a"), 256_000);
  t.equal(net.tcpCpuNs("b"), 256_000);
  t.equal(net.tcpCpuNs("c"), 0);
  t.equal(net.hostStats("a").tcpCpuNs, 256_000);
  t.end();
});

t.test("a local copy completes at once, on an event, without network resources", (t) => {
  const env = triangle();
  const { s, net } = env;
  let x: ReturnType<typeof send> | undefined;
  s.at(7000, () => {
    x = send(env, { from: "a", to: "a", bytes: 1e9, kind: "tcp" });
    t.equal(x.out.done, undefined);
  });
  s.run();
  t.equal(x!.out.done, 7000);
  t.equal(x!.tr.bytesDone(), 1e9);
  t.equal(net.hostStats("a").bytesSent, 0);
  t.equal(net.tcpCpuNs("a"), 0);
  t.end();
});

t.test("a zero-byte transfer takes the route latency", (t) => {
  const env = triangle();
  const x = send(env, { from: "a", to: "b", bytes: 0, kind: "tcp" });
  env.s.run();
  t.equal(x.out.done, 10_000);
  t.end();
});

t.test("cancel stops a transfer quietly", (t) => {
  const env = triangle();
  const { s, net } = env;
  const x = send(env, { from: "a", to: "b", bytes: 1e6, kind: "tcp" });
  s.at(100_000, () => {
    t.equal(x.tr.cancel(), true);
    t.equal(x.tr.cancel(), false);
  });
  s.run();
  t.equal(x.out.done, undefined);
  t.equal(x.out.error, undefined);
  t.equal(x.tr.state, "cancelled");
  t.equal(x.tr.bytesDone(), 100_000);
  t.equal(net.tcpCpuNs("a"), (100_000 / 4096) * 1000);
  t.equal(net.stats().transfers.cancelled, 1);
  t.end();
});

t.test("names and arguments are checked", (t) => {
  const { net } = triangle();
  throwsCode(t, () => net.addHost("a", { nicBandwidth: NIC }), "VMSCN5006", /^host "a" is already on the network$/);
  throwsCode(t, () => net.addHost("z", { nicBandwidth: 0 }), "VMSCN5011");
  throwsCode(t, () => net.addLink("a", "b", { bandwidth: GB, latency: 0 }), "VMSCN5006", /^link "a<->b" already exists$/);
  throwsCode(t, () => net.addLink("b", "a", { bandwidth: GB, latency: 0 }), "VMSCN5006", /already linked/);
  t.equal(net.addLink("b", "a", { bandwidth: GB, latency: 0, name: "second" }), "second");
  throwsCode(t, () => net.addLink("a", "x", { bandwidth: GB, latency: 0 }), "VMSCN5005", /^there is no host "x" on the network$/);
  throwsCode(t, () => net.addLink("a", "a", { bandwidth: GB, latency: 0 }), "VMSCN5011");
  throwsCode(t, () => net.addLink("a", "c", { bandwidth: GB, latency: -1, name: "neg" }), "VMSCN5011");
  throwsCode(t, () => net.addLink("a", "c", { bandwidth: -1, latency: 1, name: "neg" }), "VMSCN5011");
  throwsCode(t, () => net.setLinkUp("nope", false), "VMSCN5005", /^there is no link "nope"$/);
  throwsCode(t, () => net.route("a", "x"), "VMSCN5005");
  throwsCode(t, () => net.transfer({ from: "x", to: "a", bytes: 1, kind: "tcp" }), "VMSCN5005");
  throwsCode(t, () => net.transfer({ from: "a", to: "b", bytes: -1, kind: "tcp" }), "VMSCN5011");
  throwsCode(t, () => net.transfer({ from: "a", to: "b", bytes: 1, kind: "udp" as "tcp" }), "VMSCN5011");
  throwsCode(t, () => net.transfer({ from: "a", to: "b", bytes: 1, kind: "tcp", initiator: "both" as "source" }), "VMSCN5011");
  throwsCode(t, () => net.transfer({ from: "a", to: "b", bytes: 1, kind: "tcp", maxRate: 0 }), "VMSCN5011");
  t.equal(net.hasHost("a"), true);
  t.equal(net.hasHost("x"), false);
  t.end();
});

t.test("a rate limit caps the transfers that share it, together, whatever their routes", async (t) => {
  const env = triangle();
  const { s, net } = env;
  const limit = net.rateLimit("m1", 0.1 * GB);
  const one = send(env, { from: "a", to: "b", bytes: 1e6, kind: "tcp", limit });
  const two = send(env, { from: "c", to: "a", bytes: 3e6, kind: "tcp", limit });
  const free = send(env, { from: "b", to: "a", bytes: 1e6, kind: "tcp" });
  s.run(1);
  t.equal(one.tr.flow!.rate, 0.05 * GB, "the two limited transfers split the limit");
  t.equal(two.tr.flow!.rate, 0.05 * GB);
  t.equal(limit.used, 0.1 * GB);
  t.equal(free.tr.flow!.rate, GB, "a transfer outside the limit is not held by it");
  s.run(50e6);
  // one: 1e6 B at 50 MB/s = 20 ms (+10 us); two then has 2e6 B left alone at 100 MB/s = 20 ms more (+100 us)
  t.equal(one.out.done, 20e6 + 10 * US);
  t.equal(two.out.done, 40e6 + 100 * US);
  limit.rate = 0.2 * GB;
  t.equal(limit.rate, 0.2 * GB, "the cap can change");
  t.throws(() => net.rateLimit("bad", 0), /rate limit "bad" was given 0 bytes\/s/);
});

t.test("onSent fires when the last byte left the sender, before onDone's latency; not for a transfer cancelled meanwhile", (t) => {
  const { s, net } = triangle();
  const seen: string[] = [];
  net.transfer({ from: "a", to: "b", bytes: 1000, kind: "tcp", onSent: (time) => seen.push(`sent ${time}`), onDone: (time) => seen.push(`done ${time}`) });
  const tr = net.transfer({ from: "b", to: "c", bytes: 1000, kind: "tcp", onSent: (time) => seen.push(`cancelled sent ${time}`) });
  s.at(1000, () => tr.cancel());
  s.run();
  // 1000 B at 1 GB/s: 1 us on the wire, then the a<->b link's 10 us
  t.same(seen, [`sent ${1 * US}`, `done ${11 * US}`]);
  t.end();
});
