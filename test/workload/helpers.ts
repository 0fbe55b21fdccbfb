import "reflect-metadata";
import { Scheduler } from "../../core/sim/scheduler.js";
import { RandomStreams } from "../../core/sim/random.js";
import { Memory } from "../../core/memory/memory.js";
import { Cluster } from "../../core/world/cluster.js";
import { Hooks } from "../../core/plugin-host/hooks.js";
import { Workload } from "../../core/workload/workload.js";
import { defaultRunConfig, PAGE_SIZE, type RunConfig } from "../../core/config.js";

/** One host "a" with 4 CPUs, a kernel-less workload engine, and a helper to make VMs. */
export function setup(config: Partial<RunConfig> = {}, cpus = 4) {
  const scheduler = new Scheduler();
  const cfg = defaultRunConfig(config);
  const memory = new Memory(scheduler);
  const cluster = new Cluster(scheduler, new Hooks(scheduler));
  const host = cluster.addHost({ name: "a", cpus, memoryBytes: 1 << 30, nicBandwidth: 1e9, rdma: false });
  memory.addHost(host.id, host.name, host.memoryBytes);
  const workload = new Workload(scheduler, cluster, memory, new RandomStreams(cfg.seed), cfg);
  const vm = (name: string, pages: number, vcpus = 1) => {
    const w = cluster.createWorld({ name, kind: "vm", vcpus }, host);
    w.memory = memory.createGuest(w.id, name, pages, host.id);
    return w;
  };
  return { scheduler, memory, cluster, workload, vm, host, PAGE_SIZE };
}
