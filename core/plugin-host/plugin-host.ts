// Registers plugins in dependency order, gives each its context (plugin-context.ts), and keeps
// what they registered: verbs (with their option schemas), hypercalls, services.
import { injectable, inject } from "tsyringe";
import { TOKENS } from "../di/tokens.js";
import { classify, kernelError, KERNEL_CODES, type VmscnError } from "../errors.js";
import type { RunConfig } from "../config.js";
import type { Scheduler } from "../sim/scheduler.js";
import type { RandomStreams } from "../sim/random.js";
import type { Cluster } from "../world/cluster.js";
import type { Vms } from "../world/vms.js";
import type { Memory } from "../memory/memory.js";
import type { Workload } from "../workload/workload.js";
import type { Network } from "../net/network.js";
import type { Storage } from "../storage/storage.js";
import type { Metrics } from "../report/metrics.js";
import type { TraceRecorder } from "../report/trace.js";
import type { Plugin } from "./define.js";
import { orderPlugins, type PluginEntry } from "./order.js";
import type { Hooks } from "./hooks.js";
import { Context } from "./plugin-context.js";
import { optionDefaults } from "./option-defaults.js";
import type { HypercallSpec, OptionValue, RegisteredHypercall, RegisteredVerb, VerbSpec } from "./context.js";

/** A hypercall may refuse: its coded error fails the hypercall (the guest sees an error). */
const REFUSALS = { refusals: true } as const;

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
    @inject(TOKENS.Hooks) readonly hooks: Hooks,
    @inject(TOKENS.Vms) readonly vms: Vms,
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
    await this.hooks.runAsync(p.name, "register", () => p.register(k));
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

  /** Adds a hypercall (its handler wrapped by the caller); it goes to the workload, its option schema to validation. */
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
        return this.hooks.run(plugin, `hypercall(${name})`, call.world.name, () => spec.run({ ...call, options }), REFUSALS);
      } catch (err) {
        if (classify(err) !== "refusal") throw err;
        const refusal = err as VmscnError;
        rec.state = "failed";
        rec.failure = refusal.describe();
        this.trace.instant(`hypercall ${name} failed`, "hypercall", { world: call.world.name }, call.time, { reason: refusal.message });
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
