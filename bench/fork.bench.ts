// Expedited launch at scale. fork: one VM fork hypercall's fan-out of 1,000 child VMs from a
// 4 GiB parent (1,048,576 pages) on one host: every child maps the parent's frames
// copy-on-write, none is copied. clone: one VM clone command fanned out to 1,000 clones of a
// 64 MiB parent over 100 next hosts (ten nodes each), memory sent eagerly over a 10 Gbit/s
// NIC. Each run happens in a child process (this file, with VMSCN_BENCH_CHILD) so its peak
// RSS is its own.
import "reflect-metadata";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createKernel } from "../core/run/container.js";
import { builtinPlugins } from "../app/builtins.js";
import { peakRssMiB, seconds, type Benchmark } from "./harness.js";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const RANDOM = { zero: 0, images: [], random: 1, compressible: [] };

async function fork1000(): Promise<Record<string, number>> {
  const k = createKernel({ seed: 1 });
  await k.plugins.registerAll(builtinPlugins);
  k.addHost({ name: "a", cpus: 64, memoryBytes: 8 * GiB, nodes: 1001 });
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 4 * GiB, initial: RANDOM });
  k.act(0, "start", { vm: "web" });
  k.run(1);
  const act = k.act(1e9, "fork", { vm: "web" }, { children: 1000, "load-time": 0 });
  const secs = seconds(() => k.run());
  if (act.state !== "done") throw new Error(`the fork ended ${act.state}: ${act.failure}`);
  const m = k.memory.machine(0);
  const children = k.cluster.vms().length - 1;
  if (children !== 1000 || m.used !== 1 << 20) throw new Error(`${children} children, ${m.used} frames in use: frames were copied`);
  return { "fork.children_per_s": children / secs, "fork.1000_children_s": secs, "fork.1000_children_peak_mib": peakRssMiB() };
}

async function clone1000(): Promise<Record<string, number>> {
  const k = createKernel({ seed: 1 });
  await k.plugins.registerAll(builtinPlugins);
  k.addHost({ name: "a", cpus: 64, memoryBytes: 1 * GiB });
  for (let i = 0; i < 100; i++) {
    k.addHost({ name: `h${i}`, cpus: 16, memoryBytes: 1 * GiB, nodes: 10 });
    k.addLink({ a: "a", b: `h${i}`, bandwidth: 10e9 / 8, latency: 50_000 });
  }
  k.createVm({ name: "web", host: "a", vcpus: 1, memoryBytes: 64 * MiB, initial: RANDOM });
  k.act(0, "start", { vm: "web" });
  const act = k.act(1e9, "clone", { vm: "web" }, { workers: 1000 });
  let simulated = 0;
  const secs = seconds(() => {
    k.run();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    simulated = ((k.report("bench") as any).clone.web["all-running-time"] as number) / 1e9;
  });
  if (act.state !== "done") throw new Error(`the clone fan-out ended ${act.state}: ${act.failure}`);
  return { "clone.fanout_1000_s": secs, "clone.fanout_1000_simulated_s": simulated, "clone.fanout_1000_peak_mib": peakRssMiB() };
}

const child = process.env["VMSCN_BENCH_CHILD"];
if (child === "fork") console.log(JSON.stringify(await fork1000()));
if (child === "clone") console.log(JSON.stringify(await clone1000()));

function inChild(which: string): Record<string, number> {
  const script = fileURLToPath(import.meta.url);
  const loader = fileURLToPath(new URL("../test/loader/register.mjs", import.meta.url));
  const r = spawnSync(process.execPath, ["--import", loader, script], { encoding: "utf8", env: { ...process.env, VMSCN_BENCH_CHILD: which }, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`the ${which} benchmark failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
}

export const benchmarks: Benchmark[] = [
  { name: "fork.children_per_s", unit: "/s", target: "1,000 children of a 4 GiB parent, frames shared not copied", run: () => inChild("fork") },
  { name: "clone.fanout_1000_s", unit: "s", target: "1,000 clones over 100 hosts", run: () => inChild("clone") },
];
