// The tps plugin through the kernel: the verb, the ksm report section, the summary table and
// chart, the service, and what happens when VMs come, go, move and hosts crash.
import "reflect-metadata";
import t from "tap";
import { createKernel } from "../../core/run/container.js";
import { definePlugin, type PluginContext } from "../../core/api.js";
import type { Kernel } from "../../core/run/kernel.js";
import tps from "./index.js";
import type { TpsService } from "./api.js";
import precopy from "../precopy-migration/index.js";
import compression from "../compression/index.js";
import { parseSettings } from "./options.js";

const MiB = 1024 ** 2;
const IMAGE = { zero: 0, images: [{ name: "debian", fraction: 1 }], random: 0, compressible: [] };

async function kernel(): Promise<{ k: Kernel; service: TpsService }> {
  const k = createKernel({ seed: 1, checkInvariants: true });
  let ctx!: PluginContext;
  await k.plugins.registerAll([compression, precopy, tps, definePlugin({ name: "probe", version: "1.0.0", kernel: "^1", requires: ["tps"], register: (c) => void (ctx = c) })]);
  k.addHost({ name: "a", cpus: 4, memoryBytes: 64 * MiB });
  k.addHost({ name: "b", cpus: 4, memoryBytes: 64 * MiB });
  k.addLink({ a: "a", b: "b", bandwidth: 1.25e9, latency: 0 });
  return { k, service: ctx.use("tps") };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ksm = (k: Kernel): any => (k.report("t") as any).ksm;

t.test("tps on a host: KSM's counters and settings in the report; the table and the chart", async (t) => {
  const { k, service } = await kernel();
  k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: IMAGE });
  k.createVm({ name: "y", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: IMAGE });
  t.equal(service.counters("a"), null, "TPS never ran on a");
  t.equal(ksm(k), undefined, "no section before TPS runs");
  // 512 pages at 100 per 20 ms: 6 batches a scan (0..100 ms), merged by the 12th (220 ms)
  k.act(0, "tps", { state: "on", host: "a" });
  k.run(220_000_000);
  const a = ksm(k).a;
  t.match(a, { run: 1, pages_to_scan: 100, sleep_millisecs: 20, scope: "across-vms", zero_pages: "merge", use_zero_pages: 0, remote_pages: "local" });
  t.match(a, { pages_shared: 256, pages_sharing: 256, pages_unshared: 0, pages_volatile: 0, full_scans: 2, memory_saved: 256 * 4096, cow_breaks: 0 });
  t.equal(service.counters("a")!.pages_sharing, 256);
  t.equal(k.cluster.host("a").worlds.filter((w) => w.kind === "system").length, 1, "one scanner world");
  const table = k.metrics.collectTables().find((x) => x.title === "page sharing (KSM counters)")!;
  t.same(table.rows[0], ["a", "on", 256, 256, 0, 0, 2, 256 * 4096, 0]);
  const chart = k.metrics.collectCharts().find((c) => c.title === "Memory saved by page sharing")!;
  const series = (chart.data as { series: { name: string; x: number[]; y: number[] }[] }).series[0]!;
  t.equal(series.name, "a");
  t.same(series.x, [0, 100_000_000, 200_000_000, 220_000_000]);
  // the second scan (from 120 ms) merges y's pages from its third batch on: 44, 144, 244 by 200 ms
  t.same(series.y, [0, 0, 244 * 4096, 256 * 4096]);
  // re-configured: every setting is what the new action says
  k.act(230_000_000, "tps", { state: "on", host: "a" }, { "pages-to-scan": 1000, sleep: 5_000_000, scope: "within-vm", "zero-pages": "keep", "remote-pages": "ignore" });
  k.run(240_000_000);
  t.match(ksm(k).a, { pages_to_scan: 1000, sleep_millisecs: 5, scope: "within-vm", zero_pages: "keep", remote_pages: "ignore" });
  t.equal(k.cluster.host("a").worlds.filter((w) => w.kind === "system").length, 1, "still one scanner");
  k.act(250_000_000, "tps", { state: "off", host: "a" });
  k.act(250_000_000, "tps", { state: "off", host: "b" });
  k.run(300_000_000);
  t.equal(ksm(k).a.run, 0);
  t.equal(ksm(k).b, undefined, "off on a host where TPS never ran: nothing to report");
  t.equal(k.cluster.host("a").worlds.filter((w) => w.kind === "system").length, 0);
  t.end();
});

t.test("VMs created, moved and destroyed join and leave the scan", async (t) => {
  const { k } = await kernel();
  k.act(0, "tps", { state: "on", host: "a" }, { "pages-to-scan": 10_000, sleep: 10_000_000 });
  k.act(0, "tps", { state: "on", host: "b" }, { "pages-to-scan": 10_000, sleep: 10_000_000 });
  k.run(5_000_000);
  k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: IMAGE });
  k.createVm({ name: "y", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: IMAGE });
  k.createVm({ name: "z", host: "b", vcpus: 1, memoryBytes: 1 * MiB, initial: IMAGE });
  k.run(30_000_000);
  t.equal(ksm(k).a.pages_sharing, 256);
  // y migrates to b: it leaves a's nodes and joins b's (with z)
  k.act(40_000_000, "start", { vm: "y" });
  k.act(40_000_000, "migrate", { vm: "y", host: "b" });
  k.run(100_000_000);
  t.equal(k.cluster.world("y").host.name, "b");
  t.equal(ksm(k).a.pages_sharing, 0);
  t.equal(ksm(k).a.pages_shared, 256, "x's pages stay in their nodes, alone");
  t.equal(ksm(k).b.pages_sharing, 256);
  // z is destroyed: b's nodes keep y's pages
  k.destroyVm(k.cluster.world("z"));
  t.equal(ksm(k).b.pages_sharing, 0);
  k.checkInvariants();
  t.end();
});

t.test("a host crash stops its scanner and clears its trees; TPS cannot start on a host that is down", async (t) => {
  const { k } = await kernel();
  k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: IMAGE });
  k.createVm({ name: "y", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: IMAGE });
  k.act(0, "tps", { state: "on", host: "a" }, { "pages-to-scan": 10_000, sleep: 10_000_000 });
  k.act(50_000_000, "crash", { host: "a" });
  const refused = k.act(60_000_000, "tps", { state: "on", host: "a" });
  k.run(100_000_000);
  t.match(ksm(k).a, { run: 0, stopped: 'host "a" crashed at 0.05 s', pages_shared: 0, pages_sharing: 0, full_scans: 5 });
  t.equal(refused.failure, 'VMSCN7501 at 0.06 s: cannot turn page sharing on on host "a": the host is down');
  k.act(110_000_000, "recover", { host: "a" });
  k.act(120_000_000, "tps", { state: "on", host: "a" });
  k.run(130_000_000);
  t.equal(ksm(k).a.run, 1, "back on after the host recovered");
  t.equal(ksm(k).a.stopped, undefined);
  t.end();
});

t.test("a killed scanner stops scanning; merged pages stay merged; tps on starts a new one", async (t) => {
  const { k } = await kernel();
  k.createVm({ name: "x", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: IMAGE });
  k.createVm({ name: "y", host: "a", vcpus: 1, memoryBytes: 1 * MiB, initial: IMAGE });
  k.act(0, "tps", { state: "on", host: "a" }, { "pages-to-scan": 10_000, sleep: 10_000_000 });
  k.act(25_000_000, "kill", { world: "ksmd.a#1" });
  k.run(60_000_000);
  t.match(ksm(k).a, { run: 0, stopped: 'the scanner "ksmd.a#1" was killed at 0.025 s', pages_sharing: 256, full_scans: 3 });
  t.equal(k.memory.machine(0).used, 256);
  k.act(70_000_000, "tps", { state: "on", host: "a" });
  k.run(80_000_000);
  t.equal(ksm(k).a.run, 1);
  t.equal(ksm(k).a.stopped, undefined);
  t.ok(k.cluster.hasWorld("ksmd.a#2"));
  k.checkInvariants();
  t.end();
});

t.test("settings default to KSM's", (t) => {
  t.same(parseSettings({ options: {} }), { pagesToScan: 100, sleepNs: 20_000_000, scope: "across-vms", zeroPages: "merge", remotePages: "local" });
  t.end();
});
