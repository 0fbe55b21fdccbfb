// One child container per run: every service of the run is a singleton inside it, so two runs
// in one process (a test suite, a worker pool) never share state.
import "reflect-metadata";
import { container as root, Lifecycle, type DependencyContainer } from "tsyringe";
import { TOKENS } from "../di/tokens.js";
import { defaultRunConfig, type RunConfig } from "../config.js";
import { Scheduler } from "../sim/scheduler.js";
import { RandomStreams } from "../sim/random.js";
import { Cluster } from "../world/cluster.js";
import { Memory } from "../memory/memory.js";
import { FairShare } from "../net/fair-share.js";
import { Network } from "../net/network.js";
import { Storage } from "../storage/storage.js";
import { Workload } from "../workload/workload.js";
import { Metrics } from "../report/metrics.js";
import { TraceRecorder } from "../report/trace.js";
import { PluginHost } from "../plugin-host/plugin-host.js";
import { Hooks } from "../plugin-host/hooks.js";
import { Vms } from "../world/vms.js";
import { Kernel } from "./kernel.js";

export function createRunContainer(config: Partial<RunConfig> = {}): DependencyContainer {
  const c = root.createChildContainer();
  const cfg = defaultRunConfig(config);
  c.register(TOKENS.RunConfig, { useValue: cfg });
  c.register(TOKENS.RandomStreams, { useValue: new RandomStreams(cfg.seed) });
  const singleton = { lifecycle: Lifecycle.ContainerScoped };
  c.register(TOKENS.Scheduler, { useClass: Scheduler }, singleton);
  c.register(TOKENS.Hooks, { useClass: Hooks }, singleton);
  c.register(TOKENS.Cluster, { useClass: Cluster }, singleton);
  c.register(TOKENS.Memory, { useClass: Memory }, singleton);
  c.register(TOKENS.FairShare, { useClass: FairShare }, singleton);
  c.register(TOKENS.Network, { useClass: Network }, singleton);
  c.register(TOKENS.Storage, { useClass: Storage }, singleton);
  c.register(TOKENS.Workload, { useClass: Workload }, singleton);
  c.register(TOKENS.Metrics, { useClass: Metrics }, singleton);
  c.register(TOKENS.Trace, { useClass: TraceRecorder }, singleton);
  c.register(TOKENS.Vms, { useClass: Vms }, singleton);
  c.register(TOKENS.PluginHost, { useClass: PluginHost }, singleton);
  c.register(TOKENS.Kernel, { useClass: Kernel }, singleton);
  return c;
}

/** A fresh kernel for one run. */
export function createKernel(config: Partial<RunConfig> = {}): Kernel {
  return createRunContainer(config).resolve<Kernel>(TOKENS.Kernel);
}
