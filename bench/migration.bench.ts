// Live migration of a 64 GiB guest writing 50,000 pages/s (zipf 0.9 over 25%) over a
// 10 Gbit/s link with the document's iterative pre-copy (threshold rule), and the same under
// QEMU's loop (converge qemu, no cap: its bitmap scan, syncs and streamed batches). Each run
// happens in a child process (this file, with VMSCN_BENCH_CHILD=migration or =qemu) so its
// peak RSS is its own; the two are compared as a ratio within one run of the benchmark.
import "reflect-metadata";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createKernel } from "../core/run/container.js";
import plugin from "../plugins/precopy-migration/index.js";
import compression from "../plugins/compression/index.js";
import { peakRssMiB, seconds, type Benchmark } from "./harness.js";

const GiB = 1024 ** 3;

async function migrate64(rule: "threshold" | "qemu"): Promise<Record<string, number>> {
  let pages = 0;
  let rounds = 0;
  let status = "";
  const k = createKernel({ seed: 1 });
  await k.plugins.registerAll([compression, plugin]);
  const secs = seconds(() => {
    k.addHost({ name: "a", cpus: 32, memoryBytes: 64 * GiB });
    k.addHost({ name: "b", cpus: 32, memoryBytes: 64 * GiB });
    k.addLink({ a: "a", b: "b", bandwidth: 10e9 / 8, latency: 50_000 });
    k.createVm({
      name: "big",
      host: "a",
      vcpus: 4,
      memoryBytes: 64 * GiB,
      initial: { zero: 0, images: [], random: 1, compressible: [] },
      workload: { activities: [{ op: "write", rate: 50_000, pattern: { kind: "zipf", skew: 0.9, over: 0.25 } }], mix: { zero: 0, images: [], random: 1, compressible: [] }, scripted: [] },
    });
    k.act(0, "start", { vm: "big" });
    k.act(1e9, "migrate", { vm: "big", host: "b" }, rule === "qemu" ? { converge: "qemu", bandwidth: 0 } : {});
    k.run();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const m = (k.report("bench") as any).migration.big;
    pages = m.ram.normal + m.ram.duplicate;
    rounds = m["round-count"];
    status = m.status;
  });
  if (status !== "completed") throw new Error(`the migration ended ${status}`);
  if (rule === "qemu") return { "migration.qemu_64gib_s": secs, "migration.qemu_64gib_peak_mib": peakRssMiB(), "migration.qemu_64gib_syncs": rounds + 1 };
  return { "migration.precopy_64gib_s": secs, "migration.precopy_64gib_peak_mib": peakRssMiB(), "migration.pages_per_s": pages / secs, "migration.precopy_64gib_rounds": rounds };
}

const child = process.env["VMSCN_BENCH_CHILD"];
if (child === "migration" || child === "qemu") console.log(JSON.stringify(await migrate64(child === "qemu" ? "qemu" : "threshold")));

function inChild(which: string): Record<string, number> {
  const script = fileURLToPath(import.meta.url);
  const loader = fileURLToPath(new URL("../test/loader/register.mjs", import.meta.url));
  const r = spawnSync(process.execPath, ["--import", loader, script], { encoding: "utf8", env: { ...process.env, VMSCN_BENCH_CHILD: which } });
  if (r.status !== 0) throw new Error(`the migration benchmark failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
}

export const benchmarks: Benchmark[] = [
  {
    name: "migration.precopy_64gib_s",
    unit: "s",
    target: "<= 3 s, peak <= 1024 MiB",
    run() {
      return inChild("migration");
    },
  },
  {
    name: "migration.qemu_vs_threshold",
    unit: "x",
    target: "<= 1.5× the round engine's time (same guest, link speed)",
    run() {
      const a = inChild("migration");
      const b = inChild("qemu");
      return { ...b, "migration.qemu_vs_threshold": b["migration.qemu_64gib_s"]! / a["migration.precopy_64gib_s"]! };
    },
  },
];
