// The context one plugin gets in `register(k)`. Everything the plugin hands the kernel here is
// routed through the funnel (hooks.ts) under the plugin's name; nothing here catches on its own.
import { kernelError, VmscnError } from "../errors.js";
import type { RunConfig } from "../config.js";
import type { Scheduler, EventHandle, EventFn } from "../sim/scheduler.js";
import type { Random } from "../sim/random.js";
import type { Cluster } from "../world/cluster.js";
import type { World } from "../world/world.js";
import type { Host } from "../world/host.js";
import type { Cause } from "../world/cause.js";
import { Slot } from "../world/slots.js";
import type { Memory, FaultHandler, CowListener } from "../memory/memory.js";
import type { FaultKind } from "../memory/page.js";
import type { Workload } from "../workload/workload.js";
import type { Network } from "../net/network.js";
import type { Storage } from "../storage/storage.js";
import type { ChartSpec, SummaryTable } from "../report/chart.js";
import { vmInfo, type VmInfo } from "../world/vm-info.js";
import type { VmSpec } from "../world/vm-spec.js";
import type { Hooks } from "./hooks.js";
import type { LoadedPluginInfo, PluginHost } from "./plugin-host.js";
import { KERNEL_SIGNALS, type HypercallSpec, type KernelSignal, type PluginContext, type SignalHandlers, type SpanSink, type VerbSpec } from "./context.js";
import type { ServiceOf } from "./services.js";

/** The world a signal's handler runs for (named in a hook error): its first argument, if a world. */
function worldArg(first: unknown): string | undefined {
  return typeof first === "object" && first !== null && "kind" in first && "name" in first ? String((first as World).name) : undefined;
}

export class Context implements PluginContext {
  readonly config: Readonly<RunConfig>;
  readonly scheduler: Scheduler;
  readonly cluster: Cluster;
  readonly memory: Memory;
  readonly workload: Workload;
  readonly network: Network;
  readonly storage: Storage;
  readonly trace: SpanSink;
  private readonly hooks: Hooks;

  constructor(
    private readonly host: PluginHost,
    readonly pluginName: string,
    private readonly info: LoadedPluginInfo,
    private readonly requires: readonly string[],
  ) {
    this.config = host.config;
    this.scheduler = scopedScheduler(host.scheduler, host.hooks, pluginName);
    this.cluster = host.cluster;
    this.memory = host.memory;
    this.workload = host.workload;
    this.network = host.network;
    this.storage = host.storage;
    this.trace = host.trace;
    this.hooks = host.hooks;
  }

  verb(name: string, spec: VerbSpec): void {
    // `run` goes through the funnel where the kernel runs the action (it may refuse); the
    // check runs at validation, where a throw becomes a positioned diagnostic.
    const check = spec.check;
    const wrapped = check === undefined ? spec : { ...spec, check: this.hooks.wrap(this.pluginName, `check(${name})`, check) };
    this.host.addVerb(name, wrapped, this.pluginName);
    this.info.verbs.push(name);
  }

  hypercall(name: string, spec: HypercallSpec): void {
    this.host.addHypercall(name, spec, this.pluginName);
    this.info.hypercalls.push(name);
  }

  onFault(kind: FaultKind, handler: FaultHandler): void {
    this.memory.onFault(kind, this.hooks.wrap(this.pluginName, `onFault(${kind})`, handler, (f) => f.guest.name), this.pluginName);
  }

  onCowBreak(listener: CowListener): void {
    this.memory.onCowBreak(this.hooks.wrap(this.pluginName, "onCowBreak", listener, (g) => g.name));
  }

  on<S extends KernelSignal>(signal: S, handler: SignalHandlers[S]): void {
    if (!KERNEL_SIGNALS.includes(signal)) {
      throw kernelError("VMSCN5011", `plugin "${this.pluginName}" asked for an unknown signal "${String(signal)}"; the signals are ${KERNEL_SIGNALS.join(", ")}`);
    }
    const h = this.hooks.wrap(this.pluginName, `on(${signal})`, handler as (...args: unknown[]) => void, worldArg);
    const s = this.cluster.signals;
    switch (signal as KernelSignal) {
      case "created":
        s.created.connect(h);
        break;
      case "state-changed":
        s.stateChanged.connect(h);
        break;
      case "moved":
        s.moved.connect(h);
        break;
      case "destroyed":
        s.destroyed.connect(h);
        break;
      case "host-state-changed":
        s.hostStateChanged.connect(h);
        break;
      case "link-state-changed":
        this.network.signals.linkStateChanged.connect(h);
        break;
      case "simulation-end":
        s.simulationEnd.connect(h);
        break;
    }
  }

  metric(group: string, provider: () => unknown, options?: { units?: Readonly<Record<string, string>> }): void {
    this.host.metrics.group(group, this.hooks.wrap(this.pluginName, `metric(${group})`, provider), this.pluginName, options?.units);
  }

  chart(provider: () => ChartSpec | readonly ChartSpec[]): void {
    this.host.metrics.chart(this.hooks.wrap(this.pluginName, "chart", provider), this.pluginName);
  }

  table(provider: () => SummaryTable | readonly SummaryTable[]): void {
    this.host.metrics.table(this.hooks.wrap(this.pluginName, "table", provider), this.pluginName);
  }

  slot<T>(name: string, init: (w: World) => T): Slot<T, World> {
    return new Slot<T, World>(`${this.pluginName}:${name}`, init);
  }

  random(stream: string): Random {
    return this.host.streams.stream(`plugin:${this.pluginName}:${stream}`);
  }

  at(time: number, fn: () => void, hook = "at"): EventHandle {
    return this.host.scheduler.at(time, this.hooks.wrap(this.pluginName, hook, fn));
  }

  after(delay: number, fn: () => void, hook = "after"): EventHandle {
    return this.at(this.host.scheduler.now + delay, fn, hook);
  }

  vmInfo(w: World): VmInfo | null {
    return vmInfo(w);
  }

  createVm(spec: VmSpec): World {
    return this.host.vms.create(spec);
  }

  systemWorld(name: string, host: Host, serves?: World): World {
    return this.cluster.createWorld({ name, kind: "system", vcpus: 1, ...(serves ? { serves } : {}) }, host);
  }

  error(code: string, message: string, where?: string): VmscnError {
    const owner = this.host.codeOwner(code);
    if (owner !== "kernel" && owner !== this.pluginName) {
      const fix = owner === undefined ? `declare it in the plugin's "codes"` : `it belongs to plugin "${owner}"`;
      throw kernelError("VMSCN6008", `plugin "${this.pluginName}" raised error code ${code}, which it did not declare (${fix})`, { time: this.host.scheduler.now, where: this.pluginName });
    }
    return new VmscnError(code, message, { time: this.host.scheduler.now, ...(where === undefined ? {} : { where }) });
  }

  cause(reason: string): Cause {
    return { by: this.pluginName, reason };
  }

  provide<N extends string>(name: N, service: ServiceOf<N>): void;
  provide(service: object): void;
  provide(...args: unknown[]): void {
    const [name, service] = args.length >= 2 ? args : [this.pluginName, args[0]];
    if (name !== this.pluginName) {
      throw kernelError("VMSCN6008", `plugin "${this.pluginName}" provided a service named "${String(name)}"; a plugin provides its service under its own name`, { where: this.pluginName });
    }
    if (this.host.services.has(this.pluginName)) {
      throw kernelError("VMSCN6008", `plugin "${this.pluginName}" provided its service twice`, { where: this.pluginName });
    }
    this.host.services.set(this.pluginName, service);
  }

  use<N extends string>(plugin: N): ServiceOf<N> {
    if (!this.requires.includes(plugin)) {
      throw kernelError("VMSCN6001", `plugin "${this.pluginName}" uses plugin "${plugin}" without listing it in "requires"`, { where: this.pluginName });
    }
    if (!this.host.services.has(plugin)) {
      throw kernelError("VMSCN6001", `plugin "${this.pluginName}" uses plugin "${plugin}", which provides no service (it must call k.provide("${plugin}", ...) in register)`, { where: this.pluginName });
    }
    return this.host.services.get(plugin) as ServiceOf<N>;
  }
}

/**
 * The scheduler as one plugin sees it: the same clock and queue, but the callbacks it schedules
 * run as its hooks. A view whose prototype is the kernel's scheduler, so every other member
 * reads through to it.
 */
function scopedScheduler(s: Scheduler, hooks: Hooks, plugin: string): Scheduler {
  const view = Object.create(s) as Scheduler;
  view.at = (time: number, fn: EventFn, priority?: number) => s.at(time, hooks.wrap(plugin, "scheduler.at", fn), priority);
  view.after = (delay: number, fn: EventFn, priority?: number) => s.after(delay, hooks.wrap(plugin, "scheduler.after", fn), priority);
  return view;
}
