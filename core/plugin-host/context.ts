// The plugin context: everything a plugin may touch, handed to `register(k)`. Every callback
// a plugin hands the kernel, here or to network and storage, runs through one funnel
// (hooks.ts), so a throw is reported with the plugin, the hook, the world and the simulated
// time (VMSCN6006), and a coded error thrown by a verb or hypercall fails that action only.
import type { Dimension } from "../units.js";
import type { Scheduler, EventHandle } from "../sim/scheduler.js";
import type { Random } from "../sim/random.js";
import type { Cluster } from "../world/cluster.js";
import type { World, WorldState } from "../world/world.js";
import type { Host } from "../world/host.js";
import type { HostState } from "../world/cluster.js";
import type { Cause } from "../world/cause.js";
import type { LinkState } from "../net/network.js";
import type { ServiceOf } from "./services.js";
import type { Slot } from "../world/slots.js";
import type { Memory, FaultHandler, CowListener } from "../memory/memory.js";
import type { FaultKind } from "../memory/page.js";
import type { Workload } from "../workload/workload.js";
import type { RunConfig } from "../config.js";
import type { ChartSpec, SummaryTable } from "../report/chart.js";
import type { VmInfo } from "../world/vm-info.js";
import type { VmSpec } from "../world/vm-spec.js";
import type { VmscnError } from "../errors.js";
import type { HypercallCall } from "../workload/workload.js";

/** A value the scenario gives an option or argument, already in base units. */
export type OptionValue = number | string | boolean | string[];

export type OptionSpec = { description: string; required?: boolean } & (
  | { type: "quantity"; dimension: Dimension; default?: number; min?: number; max?: number }
  | { type: "integer"; default?: number; min?: number; max?: number }
  | { type: "boolean"; default?: boolean }
  | { type: "enum"; values: readonly string[]; default?: string }
  /** Several words from a fixed set, e.g. `after demand-paging, background`. */
  | { type: "list"; values: readonly string[]; default?: string[] }
  | { type: "string"; default?: string }
);

/** A positional argument: `migrate <vm> to <host>` has args vm (kind vm) and `to` host. */
export interface ArgSpec {
  name: string;
  /** A word that introduces the argument (`to`, `with`); none for the first. */
  keyword?: string;
  kind: "vm" | "host" | "link" | "datastore" | "world" | "word" | "quantity";
  /** For kind "word": the words allowed. */
  values?: readonly string[];
  /** For kind "quantity". */
  dimension?: Dimension;
  optional?: boolean;
  description: string;
}

export interface VerbCall {
  verb: string;
  /** Simulated time the action started. */
  time: number;
  args: Record<string, OptionValue>;
  options: Record<string, OptionValue>;
  /** Marks the action finished (a migration that completed, failed or was refused). */
  done(outcome?: { failed?: string }): void;
}

export interface VerbSpec {
  description: string;
  args: ArgSpec[];
  options: Record<string, OptionSpec>;
  /** Set when the action finishes later than it starts; it must then call `call.done()`. */
  async?: boolean;
  run(call: VerbCall): void;
  /**
   * Optional checks at validation time, against the scenario as declared: what can be known
   * before the run (a destination too small, a disk it cannot reach) becomes a diagnostic at
   * the argument or option concerned instead of a failed action. A check that throws is a
   * VMSCN6006 diagnostic at the action, naming the plugin and `check(<verb>)`.
   */
  check?(call: { args: Record<string, OptionValue>; options: Record<string, OptionValue> }, scenario: ScenarioView): VerbProblem[];
}

/** A problem a verb's `check` finds; `at` names the argument or option to point at. */
export interface VerbProblem {
  message: string;
  at?: string;
  hint?: string;
}

/** The scenario as declared (before anything runs), for verbs' static checks. */
export interface ScenarioView {
  /** `nodes` (default: cpus), `vmm` and `hypercalls` (default "default") as declared. */
  hosts: ReadonlyMap<string, { cpus: number; memoryBytes: number; rdma: boolean; datastores: readonly string[]; nodes?: number; vmm?: string; hypercalls?: string }>;
  /** `guest` and `usage` as declared (absent when not). */
  vms: ReadonlyMap<string, { host: string; vcpus: number; memoryBytes: number; disks: readonly string[]; guest?: string; usage?: string }>;
  datastores: ReadonlyMap<string, { hosts: readonly string[] }>;
}

/** A hypercall a guest can issue (`at 5 s: web hypercall fork { children 2 }`). */
export interface HypercallSpec {
  description: string;
  options: Record<string, OptionSpec>;
  /**
   * Runs on the guest's vCPU; options arrive in base units with defaults applied. Answers
   * 0 (the vCPU goes on), a stall in ns, or WAIT (then call `k.memory.wake(guest, vcpu)`).
   * A coded error thrown here fails the hypercall (the guest sees an error; the run goes on).
   */
  run(call: HypercallCall): number;
}

export interface RegisteredHypercall extends HypercallSpec {
  name: string;
  plugin: string;
}

export interface RegisteredVerb extends VerbSpec {
  name: string;
  plugin: string;
}

/**
 * The kernel's signals, fired after the change (SimGrid's `on_state_change`), in connection
 * order. A change carries its cause: who made it (`"kernel"` or a plugin's name) and why.
 */
export interface SignalHandlers {
  created: (w: World) => void;
  "state-changed": (w: World, from: WorldState, to: WorldState, cause: Cause) => void;
  moved: (w: World, from: Host, to: Host, cause: Cause) => void;
  destroyed: (w: World, cause: Cause) => void;
  /** A host crashed (`down`, after its worlds stopped and its transfers and IOs failed) or recovered (`up`). */
  "host-state-changed": (h: Host, from: HostState, to: HostState, cause: Cause) => void;
  /** A link went down (after the transfers on it failed) or came back. */
  "link-state-changed": (link: string, from: LinkState, to: LinkState, cause: Cause) => void;
  "simulation-end": (time: number) => void;
}

export type KernelSignal = keyof SignalHandlers;

/** The kernel signals' names, in the order docs/plugins.md lists them. */
export const KERNEL_SIGNALS: readonly KernelSignal[] = ["created", "state-changed", "moved", "destroyed", "host-state-changed", "link-state-changed", "simulation-end"];

export interface SpanSink {
  span(name: string, cat: string, who: { host?: string; world?: string }, startNs: number, endNs: number, args?: Record<string, unknown>): void;
  instant(name: string, cat: string, who: { host?: string; world?: string }, timeNs: number, args?: Record<string, unknown>): void;
}

export interface PluginContext {
  readonly pluginName: string;
  readonly config: Readonly<RunConfig>;
  readonly scheduler: Scheduler;
  readonly cluster: Cluster;
  readonly memory: Memory;
  readonly workload: Workload;
  /** The network and storage (typed in the kernel; see core/net and core/storage). */
  readonly network: import("../net/network.js").Network;
  readonly storage: import("../storage/storage.js").Storage;
  readonly trace: SpanSink;

  /** A verb the scenario language accepts (`at T: <verb> ...`), with its typed options. */
  verb(name: string, spec: VerbSpec): void;
  /** A hypercall guests can issue as a scripted action (`at T: <vm> hypercall <name> { ... }`). */
  hypercall(name: string, spec: HypercallSpec): void;
  onFault(kind: FaultKind, handler: FaultHandler): void;
  onCowBreak(listener: CowListener): void;
  on<S extends KernelSignal>(signal: S, handler: SignalHandlers[S]): void;
  /**
   * A group of figures in the report, computed at the end of the run. Figures are in base units
   * (ns, B, B/s) unless `units` says otherwise for a path below the group (`{ "*.downtime": "ms" }`,
   * `*` one key): the report lists them, and expectations convert them.
   */
  metric(group: string, provider: () => unknown, options?: { units?: Readonly<Record<string, string>> }): void;
  /** Charts for `--html` (for example pages left per pre-copy round), made at the end of the run. */
  chart(provider: () => ChartSpec | readonly ChartSpec[]): void;
  /** Tables for the readable summary `vmscn run` prints (one row per migration, say), made at the end. */
  table(provider: () => SummaryTable | readonly SummaryTable[]): void;
  /** A per-world state slot owned by this plugin. */
  slot<T>(name: string, init: (w: World) => T): Slot<T, World>;
  /** A random stream private to this plugin: `random("scanner")` is the same every run with the same seed. */
  random(stream: string): Random;
  /** Events whose callbacks are reported as this plugin's hooks if they throw (so are `k.scheduler.at`'s). */
  at(time: number, fn: () => void, hook?: string): EventHandle;
  after(delay: number, fn: () => void, hook?: string): EventHandle;
  /** What the scenario declared of a VM: device-state size, disks, MAC, cold-launch time; null for system worlds. */
  vmInfo(w: World): VmInfo | null;
  /**
   * A new VM world as the scenario would declare it (its page map, MAC address, workload and
   * VM info), in state created: a forked child, a cloned VM. Fails as the declaration would.
   */
  createVm(spec: VmSpec): World;
  /** A system world (a helper thread such as a migration sender) on a host. */
  systemWorld(name: string, host: Host, serves?: World): World;
  /**
   * A coded error stamped with the simulated time: throw it from a verb to fail that action
   * with its sentence. `code` is one of the plugin's declared `codes` or a kernel code.
   */
  error(code: string, message: string, where?: string): VmscnError;
  /**
   * The cause of a state change this plugin makes: `k.cluster.setState(w, "stopped",
   * k.cause("switch-over"))`. Without one, a change is this plugin's with reason "request".
   */
  cause(reason: string): Cause;
  /**
   * Offers this plugin's service to plugins that list it in `requires` (once per plugin):
   * `k.provide("tps", service)`, typed by the `Services` entry its api.ts declares.
   * The older one-argument form `k.provide(service)` is untyped.
   */
  provide<N extends string>(name: N, service: ServiceOf<N>): void;
  provide(service: object): void;
  /** The service a required plugin provided (`requires: ["tps"]`), typed by its `Services` entry. */
  use<N extends string>(plugin: N): ServiceOf<N>;
}
