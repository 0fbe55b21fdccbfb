// Registers plugins in dependency order, gives each its context, and keeps what they
// registered: verbs (with their option schemas), fault handlers, metric groups.
import { injectable, inject } from "tsyringe";
import { TOKENS } from "../di/tokens.js";
import { kernelError, KERNEL_CODES, VmscnError } from "../errors.js";
import type { RunConfig } from "../config.js";
import type { Scheduler, EventHandle } from "../sim/scheduler.js";
import type { RandomStreams, Random } from "../sim/random.js";
import type { Cluster } from "../world/cluster.js";
import type { World } from "../world/world.js";
import type { Host } from "../world/host.js";
import { Slot } from "../world/slots.js";
import type { Memory, FaultHandler, CowListener } from "../memory/memory.js";
import type { FaultKind } from "../memory/page.js";
import type { Workload } from "../workload/workload.js";
import type { Network } from "../net/network.js";
import type { Storage } from "../storage/storage.js";
import type { Metrics } from "../report/metrics.js";
import type { TraceRecorder } from "../report/trace.js";
import type { ChartSpec, SummaryTable } from "../report/chart.js";
import { vmInfo, type VmInfo } from "../run/vm-info.js";
import type { VmSpec } from "../run/vm-spec.js";
import type { Plugin } from "./define.js";
import { orderPlugins, type PluginEntry } from "./order.js";
import { hookError } from "./hook-error.js";
import { optionDefaults } from "./option-defaults.js";
import type { HypercallSpec, KernelSignal, OptionValue, PluginContext, RegisteredHypercall, RegisteredVerb, SignalHandlers, SpanSink, VerbSpec } from "./context.js";

/** A hypercall a guest issued, for the report's `hypercalls` section. */
export interface HypercallRecord {
  time: number;
  vm: string;
  vcpu: number;
  name: string;
  options: Record<string, OptionValue>;
  state: "done" | "failed";
  failure?: string;
}

export interface LoadedPluginInfo {
  name: string;
  version: string;
  source: string;
  description: string | undefined;
  verbs: string[];
  hypercalls: string[];
  /** The plugin's declared error codes and their meanings. */
  codes: Readonly<Record<string, string>>;
}

@injectable()
export class PluginHost {
  private readonly verbs = new Map<string, RegisteredVerb>();
  private readonly hypercallSpecs = new Map<string, RegisteredHypercall>();
  /** Every hypercall guests issued, in order. */
  readonly hypercallLog: HypercallRecord[] = [];
  private readonly loaded: LoadedPluginInfo[] = [];
  /** Error code → the plugin that declared it (kernel codes are owned by "kernel"). */
  private readonly codeOwners = new Map<string, string>(Object.keys(KERNEL_CODES).map((c) => [c, "kernel"]));
  /** Services plugins provided, by plugin name. */
  readonly services = new Map<string, unknown>();
  /** Creates a VM world as a declaration does; the kernel sets it (plugins reach it by `k.createVm`). */
  vmFactory: ((spec: VmSpec) => World) | undefined;

  constructor(
    @inject(TOKENS.RunConfig) readonly config: RunConfig,
    @inject(TOKENS.Scheduler) readonly scheduler: Scheduler,
    @inject(TOKENS.RandomStreams) readonly streams: RandomStreams,
    @inject(TOKENS.Cluster) readonly cluster: Cluster,
    @inject(TOKENS.Memory) readonly memory: Memory,
    @inject(TOKENS.Workload) readonly workload: Workload,
    @inject(TOKENS.Network) readonly network: Network,
    @inject(TOKENS.Storage) readonly storage: Storage,
    @inject(TOKENS.Metrics) readonly metrics: Metrics,
    @inject(TOKENS.Trace) readonly trace: TraceRecorder,
  ) {}

  /** Registers the plugins in dependency order (VMSCN6001-6004 on a bad set). */
  async registerAll(items: readonly (Plugin | PluginEntry)[]): Promise<void> {
    const entries: PluginEntry[] = items.map((i) => ("plugin" in i ? i : { plugin: i }));
    for (const entry of orderPlugins(entries)) await this.register(entry);
  }

  private async register(entry: PluginEntry): Promise<void> {
    const p = entry.plugin;
    const info: LoadedPluginInfo = { name: p.name, version: p.version, source: entry.source ?? "built-in", description: p.description, verbs: [], hypercalls: [], codes: p.codes ?? {} };
    for (const code of Object.keys(info.codes)) {
      const owner = this.codeOwners.get(code);
      if (owner !== undefined) {
        const by = owner === "kernel" ? "the kernel" : `plugin "${owner}"`;
        throw kernelError("VMSCN6008", `plugin "${p.name}" declares error code ${code}, which ${by} already uses`, { where: p.name });
      }
      this.codeOwners.set(code, p.name);
    }
    const k = new Context(this, p.name, info, p.requires ?? []);
    try {
      await p.register(k);
    } catch (thrown) {
      throw hookError(p.name, "register", thrown, { time: this.scheduler.now });
    }
    this.loaded.push(info);
  }

  /** Adds a verb; the kernel's own verbs are registered with plugin "kernel". */
  addVerb(name: string, spec: VerbSpec, plugin: string): void {
    const existing = this.verbs.get(name);
    if (existing) {
      throw kernelError("VMSCN6008", `verb "${name}" is registered twice, by plugin "${existing.plugin}" and by plugin "${plugin}"`);
    }
    this.verbs.set(name, { ...spec, name, plugin });
  }

  verb(name: string): RegisteredVerb | undefined {
    return this.verbs.get(name);
  }

  /** Adds a hypercall; its handler goes to the workload, its option schema to validation. */
  addHypercall(name: string, spec: HypercallSpec, plugin: string): void {
    const existing = this.hypercallSpecs.get(name);
    if (existing) throw kernelError("VMSCN6008", `hypercall "${name}" is registered twice, by plugin "${existing.plugin}" and by plugin "${plugin}"`);
    const reg: RegisteredHypercall = { ...spec, name, plugin };
    this.hypercallSpecs.set(name, reg);
    const defaults = optionDefaults(spec.options);
    this.workload.onHypercall(name, (call) => {
      const options = { ...defaults, ...call.options };
      const rec: HypercallRecord = { time: call.time, vm: call.world.name, vcpu: call.vcpu, name, options, state: "done" };
      this.hypercallLog.push(rec);
      try {
        return spec.run({ ...call, options });
      } catch (err) {
        if (!(err instanceof VmscnError) || err.code === "VMSCN6006" || err.code === "VMSCN5014") throw err;
        rec.state = "failed";
        rec.failure = err.describe();
        this.trace.instant(`hypercall ${name} failed`, "hypercall", { world: call.world.name }, call.time, { reason: err.message });
        return 0;
      }
    });
  }

  hypercall(name: string): RegisteredHypercall | undefined {
    return this.hypercallSpecs.get(name);
  }

  allHypercalls(): RegisteredHypercall[] {
    return [...this.hypercallSpecs.values()];
  }

  allVerbs(): RegisteredVerb[] {
    return [...this.verbs.values()];
  }

  plugins(): readonly LoadedPluginInfo[] {
    return this.loaded;
  }

  /** Who declared an error code: "kernel", a plugin's name, or undefined. */
  codeOwner(code: string): string | undefined {
    return this.codeOwners.get(code);
  }
}

class Context implements PluginContext {
  readonly config: Readonly<RunConfig>;
  readonly scheduler: Scheduler;
  readonly cluster: Cluster;
  readonly memory: Memory;
  readonly workload: Workload;
  readonly network: Network;
  readonly storage: Storage;
  readonly trace: SpanSink;

  constructor(
    private readonly host: PluginHost,
    readonly pluginName: string,
    private readonly info: LoadedPluginInfo,
    private readonly requires: readonly string[],
  ) {
    this.config = host.config;
    this.scheduler = host.scheduler;
    this.cluster = host.cluster;
    this.memory = host.memory;
    this.workload = host.workload;
    this.network = host.network;
    this.storage = host.storage;
    this.trace = host.trace;
  }

  private fail(hook: string, thrown: unknown, world?: string): never {
    throw hookError(this.pluginName, hook, thrown, { time: this.scheduler.now, ...(world === undefined ? {} : { world }) });
  }

  verb(name: string, spec: VerbSpec): void {
    const run = spec.run;
    this.host.addVerb(
      name,
      {
        ...spec,
        run: (call) => {
          try {
            run(call);
          } catch (thrown) {
            // An impossible request (a coded error) fails that action only, as the contract
            // says; the kernel records it. Anything else is a plugin bug: VMSCN6006.
            if (thrown instanceof VmscnError && thrown.code !== "VMSCN6006") throw thrown;
            const vm = call.args["vm"];
            this.fail(`verb(${name})`, thrown, typeof vm === "string" ? vm : undefined);
          }
        },
      },
      this.pluginName,
    );
    this.info.verbs.push(name);
  }

  hypercall(name: string, spec: HypercallSpec): void {
    const run = spec.run;
    this.host.addHypercall(
      name,
      {
        ...spec,
        run: (call) => {
          try {
            return run(call);
          } catch (thrown) {
            if (thrown instanceof VmscnError && thrown.code !== "VMSCN6006") throw thrown;
            return this.fail(`hypercall(${name})`, thrown, call.world.name);
          }
        },
      },
      this.pluginName,
    );
    this.info.hypercalls.push(name);
  }

  onFault(kind: FaultKind, handler: FaultHandler): void {
    this.memory.onFault(
      kind,
      (f) => {
        try {
          return handler(f);
        } catch (thrown) {
          return this.fail(`onFault(${kind})`, thrown, f.guest.name);
        }
      },
      this.pluginName,
    );
  }

  onCowBreak(listener: CowListener): void {
    this.memory.onCowBreak((g, page, oldFrame, newFrame) => {
      try {
        listener(g, page, oldFrame, newFrame);
      } catch (thrown) {
        this.fail("onCowBreak", thrown, g.name);
      }
    });
  }

  on<S extends KernelSignal>(signal: S, handler: SignalHandlers[S]): void {
    const s = this.cluster.signals;
    const hook = `on(${signal})`;
    const guard =
      (world: World | undefined, fn: () => void): void => {
        try {
          fn();
        } catch (thrown) {
          this.fail(hook, thrown, world?.name);
        }
      };
    const h = handler as (...args: unknown[]) => void;
    switch (signal) {
      case "created":
        s.created.connect((w) => guard(w, () => h(w)));
        break;
      case "state-changed":
        s.stateChanged.connect((w, from, to) => guard(w, () => h(w, from, to)));
        break;
      case "moved":
        s.moved.connect((w, from, to) => guard(w, () => h(w, from, to)));
        break;
      case "destroyed":
        s.destroyed.connect((w) => guard(w, () => h(w)));
        break;
      case "simulation-end":
        s.simulationEnd.connect((t) => guard(undefined, () => h(t)));
        break;
      default:
        throw kernelError("VMSCN5011", `plugin "${this.pluginName}" asked for an unknown signal "${String(signal)}"; the signals are created, state-changed, moved, destroyed, simulation-end`);
    }
  }

  metric(group: string, provider: () => unknown): void {
    this.host.metrics.group(group, provider, this.pluginName);
  }

  chart(provider: () => ChartSpec | readonly ChartSpec[]): void {
    this.host.metrics.chart(provider, this.pluginName);
  }

  table(provider: () => SummaryTable | readonly SummaryTable[]): void {
    this.host.metrics.table(provider, this.pluginName);
  }

  slot<T>(name: string, init: (w: World) => T): Slot<T, World> {
    return new Slot<T, World>(`${this.pluginName}:${name}`, init);
  }

  random(stream: string): Random {
    return this.host.streams.stream(`plugin:${this.pluginName}:${stream}`);
  }

  at(time: number, fn: () => void, hook = "at"): EventHandle {
    return this.scheduler.at(time, () => {
      try {
        fn();
      } catch (thrown) {
        this.fail(hook, thrown);
      }
    });
  }

  after(delay: number, fn: () => void, hook = "after"): EventHandle {
    return this.at(this.scheduler.now + delay, fn, hook);
  }

  vmInfo(w: World): VmInfo | null {
    return vmInfo(w);
  }

  createVm(spec: VmSpec): World {
    if (!this.host.vmFactory) throw kernelError("VMSCN5011", `plugin "${this.pluginName}" cannot create VM "${spec.name}": this plugin host has no kernel`, { time: this.scheduler.now });
    return this.host.vmFactory(spec);
  }

  systemWorld(name: string, host: Host, serves?: World): World {
    return this.cluster.createWorld({ name, kind: "system", vcpus: 1, ...(serves ? { serves } : {}) }, host);
  }

  error(code: string, message: string, where?: string): VmscnError {
    const owner = this.host.codeOwner(code);
    if (owner !== "kernel" && owner !== this.pluginName) {
      const fix = owner === undefined ? `declare it in the plugin's "codes"` : `it belongs to plugin "${owner}"`;
      throw kernelError("VMSCN6008", `plugin "${this.pluginName}" raised error code ${code}, which it did not declare (${fix})`, { time: this.scheduler.now, where: this.pluginName });
    }
    return new VmscnError(code, message, { time: this.scheduler.now, ...(where === undefined ? {} : { where }) });
  }

  provide(service: unknown): void {
    if (this.host.services.has(this.pluginName)) {
      throw kernelError("VMSCN6008", `plugin "${this.pluginName}" provided its service twice`, { where: this.pluginName });
    }
    this.host.services.set(this.pluginName, service);
  }

  use<T>(plugin: string): T {
    if (!this.requires.includes(plugin)) {
      throw kernelError("VMSCN6001", `plugin "${this.pluginName}" uses plugin "${plugin}" without listing it in "requires"`, { where: this.pluginName });
    }
    if (!this.host.services.has(plugin)) {
      throw kernelError("VMSCN6001", `plugin "${this.pluginName}" uses plugin "${plugin}", which provides no service (it must call k.provide(...) in register)`, { where: this.pluginName });
    }
    return this.host.services.get(plugin) as T;
  }
}
