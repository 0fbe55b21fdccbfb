// K concurrent live migrations of desynchronised VMs, the study of issue 16 measured beside
// SimGrid 3.32's flow-level live-migration plugin: VM i has 1024+i MiB, its own pair of hosts
// and its own 125 MB/s, 100 µs link, a sequential writer at half the link's speed, and
// migrates at 1 s with QEMU's loop (`converge qemu`, downtime limit 30 ms, no rate limit).
// Each K runs in a child process (this file, with VMSCN_BENCH_CHILD=scale:K) so its peak RSS is
// its own. A K whose estimated need exceeds the machine's free memory is not started: its
// figures are absent and the reason goes to stderr.
import "reflect-metadata";
import { spawnSync } from "node:child_process";
import { freemem } from "node:os";
import { fileURLToPath } from "node:url";
import { createKernel } from "../core/run/container.js";
import precopy from "../plugins/precopy-migration/index.js";
import compression from "../plugins/compression/index.js";
import { peakRssMiB, seconds, type Benchmark } from "./harness.js";

const MiB = 1024 ** 2;
const PAGE = 4096;
const LINK = 125e6;

/** Guest pages of the study with K VMs. */
function guestPages(k: number): number {
  let pages = 0;
  for (let i = 0; i < k; i++) pages += ((1024 + i) * MiB) / PAGE;
  return pages;
}

async function study(k: number): Promise<Record<string, number>> {
  const kernel = createKernel({ seed: 1 });
  await kernel.plugins.registerAll([compression, precopy]);
  let completed = 0;
  let lastEnd = 0;
  const secs = seconds(() => {
    for (let i = 0; i < k; i++) {
      const mem = (1024 + i) * MiB;
      kernel.addHost({ name: `s${i}`, cpus: 4, memoryBytes: mem + 64 * MiB });
      kernel.addHost({ name: `d${i}`, cpus: 4, memoryBytes: mem + 64 * MiB });
      kernel.addLink({ a: `s${i}`, b: `d${i}`, bandwidth: LINK, latency: 100_000 });
      kernel.createVm({
        name: `vm${i}`,
        host: `s${i}`,
        vcpus: 1,
        memoryBytes: mem,
        initial: { zero: 0, images: [], random: 1, compressible: [] },
        workload: { activities: [{ op: "write", rate: LINK / 2 / PAGE, pattern: { kind: "sequential" } }], mix: { zero: 0, images: [], random: 1, compressible: [] }, scripted: [] },
      });
      kernel.act(0, "start", { vm: `vm${i}` });
      kernel.act(1e9, "migrate", { vm: `vm${i}`, host: `d${i}` }, { converge: "qemu", bandwidth: 0, "downtime-limit": 30e6 });
    }
    kernel.run();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const section = (kernel.report("scale") as any).migration as Record<string, { status: string; "total-time-ns": number }>;
    for (const m of Object.values(section)) {
      if (m.status === "completed") completed++;
      lastEnd = Math.max(lastEnd, 1e9 + m["total-time-ns"]);
    }
  });
  if (completed !== k) throw new Error(`${k - completed} of ${k} migrations did not complete`);
  const peak = peakRssMiB();
  return {
    [`scale.k${k}_s`]: secs,
    [`scale.k${k}_peak_mib`]: peak,
    [`scale.k${k}_simulated_s`]: lastEnd / 1e9,
    [`scale.k${k}_bytes_per_page`]: (peak * MiB) / guestPages(k),
  };
}

const child = process.env["VMSCN_BENCH_CHILD"];
if (child?.startsWith("scale:")) console.log(JSON.stringify(await study(Number(child.slice(6)))));

/** Bytes per guest page the last measurement needed (source and destination together), for the memory guard. */
const BYTES_PER_PAGE_GUARD = 45;

function inChild(k: number): Record<string, number> {
  const need = guestPages(k) * BYTES_PER_PAGE_GUARD;
  if (need > freemem() * 0.8) {
    process.stderr.write(`scale.k${k}: not run: it would need about ${Math.round(need / MiB)} MiB at ${BYTES_PER_PAGE_GUARD} bytes per page, and ${Math.round(freemem() / MiB)} MiB are free\n`);
    return {};
  }
  const script = fileURLToPath(import.meta.url);
  const loader = fileURLToPath(new URL("../test/loader/register.mjs", import.meta.url));
  const r = spawnSync(process.execPath, ["--import", loader, script], { encoding: "utf8", env: { ...process.env, VMSCN_BENCH_CHILD: `scale:${k}` }, maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    process.stderr.write(`scale.k${k}: failed (exit ${r.status ?? r.signal}): ${r.stderr.split("\n").slice(-5).join(" ")}\n`);
    return {};
  }
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
}

export const benchmarks: Benchmark[] = [
  { name: "scale.k100_s", unit: "s", target: "< SimGrid 3.32's wall time for K=100 (0.15 s here)", run: () => inChild(100) },
  { name: "scale.k1000_s", unit: "s", target: "< SimGrid 3.32's wall time (about 4 s here), peak <= 4 GiB", run: () => inChild(1000) },
];
