// The kernel smoke run: a small cluster built in code (until the scenario language lands),
// two VMs with real workloads, a suspend and resume, a link failure. Prints its report.
import { createKernel } from "../core/run/container.js";
import { GiB, MiB, Gbit } from "./quantities.js";
import { MS, SECOND, US } from "../core/sim/time.js";
import type { Kernel } from "../core/run/kernel.js";
import { vmInfo } from "../core/world/vm-info.js";

export function buildSmoke(seed: number): Kernel {
  const k = createKernel({ seed, checkInvariants: true });
  k.addHost({ name: "a", cpus: 8, memoryBytes: 8 * GiB, nicBandwidth: 10 * Gbit, rdma: true });
  k.addHost({ name: "b", cpus: 8, memoryBytes: 8 * GiB, nicBandwidth: 10 * Gbit, rdma: true });
  k.addLink({ a: "a", b: "b", bandwidth: 10 * Gbit, latency: 50 * US });
  k.addDatastore({ name: "san", hosts: ["a", "b"], bandwidth: 1e9, latency: 200 * US });
  const mix = { zero: 0.2, images: [{ name: "debian-12", fraction: 0.3 }], random: 0.4, compressible: [{ level: 8, fraction: 0.1 }] };
  k.createVm({
    name: "web",
    host: "a",
    vcpus: 4,
    memoryBytes: 1 * GiB,
    initial: mix,
    disks: [{ datastore: "san", sizeBytes: 40 * GiB }],
    workload: {
      activities: [
        { op: "write", rate: 20_000, pattern: { kind: "zipf", skew: 0.9, over: 0.25 } },
        { op: "read", rate: 80_000, pattern: { kind: "uniform" } },
      ],
      mix,
      scripted: [{ at: 2 * SECOND, op: "write", first: 0, count: 1024 }],
    },
  });
  k.createVm({
    name: "db",
    host: "b",
    vcpus: 2,
    memoryBytes: 512 * MiB,
    initial: mix,
    workload: { activities: [{ op: "write", rate: 5_000, pattern: { kind: "sequential" } }], mix, scripted: [] },
  });
  k.act(0, "start", { vm: "web" });
  k.act(0, "start", { vm: "db" });
  k.act(1 * SECOND, "suspend", { vm: "db" });
  k.act(1 * SECOND + 500 * MS, "resume", { vm: "db" });
  // Traffic that is not yet a plugin's: an image copy over TCP, a backup cut by the link
  // failure at 3 s, and a disk write on the shared datastore.
  k.scheduler.at(500 * MS, () => void k.network.transfer({ from: "a", to: "b", bytes: 512 * MiB, kind: "tcp", label: "image copy" }));
  k.scheduler.at(2900 * MS, () => void k.network.transfer({ from: "b", to: "a", bytes: 1 * GiB, kind: "rdma", label: "backup", onFail: () => {} }));
  k.scheduler.at(1 * SECOND, () => void vmInfo(k.vm("web"))!.disks[0]!.write("a", 0, 64 * MiB, () => {}));
  k.act(3 * SECOND, "link", { link: "a<->b", state: "down" });
  k.act(4 * SECOND, "link", { link: "a<->b", state: "up" });
  return k;
}
