// Page sharing and RDMA migration with deferred shared pages.
// - tps.scan_pages_per_s: eight VMs booted from one image (8 x 512 MiB = 1 M pages); the
//   scanner's first ten full scans in pages per wall second, after a warm-up run: the first
//   hashes every page and looks it up in the stable tree, the second hashes, looks up and
//   merges (7/8 of the pages merge: the kernel's share() per page), the other eight find
//   every page merged already (KSM's "page already merged": no hash). Also the figures of
//   the first two (converge), of each, and of the steady eight.
// - rdma.migrate_16gib_bytes_saved_pct: a 16 GiB guest whose pages are 30% an image another
//   16 GiB VM on its host also holds; page sharing merges them, then the guest migrates over
//   RDMA leaving the shared pages behind: the bytes saved against plain pre-copy, in percent,
//   with the wall times of the merge and of the migration. Run in a child process (this file
//   with VMSCN_BENCH_CHILD=rdma) so its peak RSS is its own.
import "reflect-metadata";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createKernel } from "../core/run/container.js";
import { builtinPlugins } from "../app/builtins.js";
import { peakRssMiB, seconds, type Benchmark } from "./harness.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const image = (f: number) => ({ zero: 0, images: [{ name: "os", fraction: f }], random: 1 - f, compressible: [] });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyReport = any;

async function scan(): Promise<Record<string, number>> {
  // A first run, so the figures are of optimized code (as in a long simulation).
  await scanOnce(512 * MiB);
  return scanOnce(512 * MiB);
}

async function scanOnce(vmBytes: number): Promise<Record<string, number>> {
  const k = createKernel({ seed: 1 });
  await k.plugins.registerAll([...builtinPlugins]);
  k.addHost({ name: "a", cpus: 16, memoryBytes: 8 * GiB });
  const vms = 8;
  for (let i = 0; i < vms; i++) k.createVm({ name: `vm${i}`, host: "a", vcpus: 1, memoryBytes: vmBytes, initial: image(1) });
  const pages = (vms * vmBytes) / 4096;
  // one batch a full scan: a batch every 1 ms
  k.act(0, "tps", { state: "on", host: "a" }, { "pages-to-scan": pages, sleep: 1_000_000 });
  const times: number[] = [];
  for (let i = 0; i < SCANS; i++) times.push(seconds(() => k.run(i * 1_000_000)));
  const ksm = (k.report("bench") as AnyReport).ksm.a;
  if (ksm.pages_sharing !== pages - pages / vms || ksm.full_scans !== SCANS) throw new Error(`the scan did not converge: pages_sharing ${ksm.pages_sharing}`);
  const sum = (a: number[]): number => a.reduce((s, x) => s + x, 0);
  return {
    "tps.scan_pages_per_s": (SCANS * pages) / sum(times),
    "tps.converge_scan_pages_per_s": (2 * pages) / (times[0]! + times[1]!),
    "tps.first_scan_pages_per_s": pages / times[0]!,
    "tps.merge_scan_pages_per_s": pages / times[1]!,
    "tps.steady_scan_pages_per_s": ((SCANS - 2) * pages) / sum(times.slice(2)),
  };
}

/** Full scans the scan benchmark runs: the first two converge, the others hold. */
const SCANS = 10;

async function migrate16(): Promise<Record<string, number>> {
  const k = createKernel({ seed: 1 });
  await k.plugins.registerAll([...builtinPlugins]);
  k.addHost({ name: "a", cpus: 32, memoryBytes: 40 * GiB, rdma: true });
  k.addHost({ name: "b", cpus: 32, memoryBytes: 24 * GiB, rdma: true });
  k.addLink({ a: "a", b: "b", bandwidth: 10e9 / 8, latency: 50_000 });
  const setup = seconds(() => {
    k.createVm({ name: "big", host: "a", vcpus: 4, memoryBytes: 16 * GiB, initial: image(0.3) });
    k.createVm({ name: "other", host: "a", vcpus: 4, memoryBytes: 16 * GiB, initial: image(1) });
  });
  const pages = (32 * GiB) / 4096;
  k.act(0, "start", { vm: "big" });
  k.act(0, "tps", { state: "on", host: "a" }, { "pages-to-scan": pages, sleep: 1_000_000 });
  const merge = seconds(() => k.run(1_000_000));
  k.act(2_000_000, "tps", { state: "off", host: "a" });
  k.act(3_000_000, "migrate", { vm: "big", host: "b" }, { transport: "rdma" });
  const migrate = seconds(() => k.run());
  const r = k.report("bench") as AnyReport;
  const m = r.rdma.big;
  if (m.status !== "completed") throw new Error(`the migration ended ${m.status}`);
  return {
    "rdma.migrate_16gib_bytes_saved_pct": m["bytes-saved-pct"],
    "rdma.migrate_16gib_left_remote_pages": m["pages-left-remote"],
    "rdma.migrate_16gib_s": migrate,
    "rdma.tps_merge_32gib_s": merge,
    "rdma.setup_32gib_s": setup,
    "rdma.migrate_16gib_peak_mib": peakRssMiB(),
  };
}

if (process.env["VMSCN_BENCH_CHILD"] === "rdma") console.log(JSON.stringify(await migrate16()));

export const benchmarks: Benchmark[] = [
  { name: "tps.scan_pages_per_s", unit: "/s", target: ">= 20,000,000", run: scan },
  {
    name: "rdma.migrate_16gib_bytes_saved_pct",
    unit: "%",
    target: "about 30% for a guest with 30% shared pages",
    run() {
      const script = fileURLToPath(import.meta.url);
      const loader = fileURLToPath(new URL("../test/loader/register.mjs", import.meta.url));
      const r = spawnSync(process.execPath, ["--import", loader, script], { encoding: "utf8", env: { ...process.env, VMSCN_BENCH_CHILD: "rdma" } });
      if (r.status !== 0) throw new Error(`the RDMA benchmark failed: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
    },
  },
];
