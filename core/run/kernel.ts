// The kernel of one run: the facade the scenario compiler, the CLI and tests drive. It builds
// the cluster (hosts with their memory, NICs and datastores; links; VMs with their guest
// memory, disks and workloads), schedules timed actions (verbs), runs, and reports.
import { injectable, inject } from "tsyringe";
import { TOKENS } from "../di/tokens.js";
import { classify, kernelError, type VmscnError } from "../errors.js";
import { PAGE_SIZE, type RunConfig } from "../config.js";
import { formatTime } from "../sim/time.js";
import { Priority, type Scheduler } from "../sim/scheduler.js";
import type { RandomStreams } from "../sim/random.js";
import type { Cluster } from "../world/cluster.js";
import type { World } from "../world/world.js";
import type { Host } from "../world/host.js";
import type { MacPool } from "../world/mac.js";
import type { Vms } from "../world/vms.js";
import { kernelCause } from "../world/cause.js";
import type { Memory } from "../memory/memory.js";
import { privatePage } from "../memory/content.js";
import type { Workload } from "../workload/workload.js";
import type { Network } from "../net/network.js";
import type { Storage } from "../storage/storage.js";
import type { Metrics } from "../report/metrics.js";
import type { TraceRecorder } from "../report/trace.js";
import { buildReport, type Report } from "../report/json.js";
import type { PluginHost } from "../plugin-host/plugin-host.js";
import type { Hooks } from "../plugin-host/hooks.js";
import type { OptionValue, RegisteredVerb } from "../plugin-host/context.js";
import type { VmSpec } from "../world/vm-spec.js";
import { registerKernelVerbs } from "./kernel-verbs.js";
import { kernelSections } from "./sections.js";

export interface HostDecl {
  name: string;
  cpus: number;
  memoryBytes: number;
  /** NIC bandwidth in bytes/s (default 10 Gbit/s). */
  nicBandwidth?: number;
  rdma?: boolean;
  /** Nodes for guests (default: one per CPU), the VMM API and hypercall interface (default "default"). */
  nodes?: number;
  vmm?: string;
  hypercalls?: string;
}

export interface LinkDecl {
  a: string;
  b: string;
  bandwidth: number;
  latency: number;
  name?: string;
}

export interface DatastoreDecl {
  name: string;
  hosts: string[];
  bandwidth: number;
  latency: number;
  iops?: number;
}

/** A timed action: a verb with its arguments and options, as the scenario gives it. */
export interface ActionRecord {
  id: number;
  time: number;
  verb: string;
  args: Record<string, OptionValue>;
  options: Record<string, OptionValue>;
  state: "scheduled" | "running" | "done" | "failed";
  finishedAt?: number;
  failure?: string;
}

export interface RunSummary {
  /** Why the run ended: "horizon" when `run until done` gave up on actions still running. */
  reason: "until" | "actions-done" | "empty" | "horizon";
  simulatedTimeNs: number;
  events: number;
}

const DEFAULT_NIC = 10e9 / 8;

/** A verb may refuse: its coded error fails its action. */
const REFUSALS = { refusals: true } as const;

@injectable()
export class Kernel {
  private readonly actions: ActionRecord[] = [];
  private openActions = 0;
  private stopWhenActionsDone = false;
  private sampler = false;

  constructor(
    @inject(TOKENS.RunConfig) readonly config: RunConfig,
    @inject(TOKENS.Scheduler) readonly scheduler: Scheduler,
    @inject(TOKENS.RandomStreams) readonly streams: RandomStreams,
    @inject(TOKENS.Cluster) readonly cluster: Cluster,
    @inject(TOKENS.Memory) readonly memory: Memory,
    @inject(TOKENS.Network) readonly network: Network,
    @inject(TOKENS.Storage) readonly storage: Storage,
    @inject(TOKENS.Workload) readonly workload: Workload,
    @inject(TOKENS.Metrics) readonly metrics: Metrics,
    @inject(TOKENS.Trace) readonly trace: TraceRecorder,
    @inject(TOKENS.PluginHost) readonly plugins: PluginHost,
    @inject(TOKENS.Vms) readonly vms: Vms,
    @inject(TOKENS.Hooks) private readonly hooks: Hooks,
  ) {
    registerKernelVerbs(this);
    this.traceWorldsAndFlows();
  }

  get macs(): MacPool {
    return this.vms.macs;
  }

  // ---- the platform ----------------------------------------------------------------------

  addHost(d: HostDecl): Host {
    const host = this.cluster.addHost({ name: d.name, cpus: d.cpus, memoryBytes: d.memoryBytes, nicBandwidth: d.nicBandwidth ?? DEFAULT_NIC, rdma: d.rdma ?? false, ...(d.nodes !== undefined ? { nodes: d.nodes } : {}), ...(d.vmm !== undefined ? { vmm: d.vmm } : {}), ...(d.hypercalls !== undefined ? { hypercalls: d.hypercalls } : {}) });
    this.memory.addHost(host.id, host.name, host.memoryBytes);
    this.network.addHost(host.name, { nicBandwidth: host.nicBandwidth, rdma: host.rdma });
    return host;
  }

  addLink(d: LinkDecl): string {
    return this.network.addLink(d.a, d.b, { bandwidth: d.bandwidth, latency: d.latency, ...(d.name ? { name: d.name } : {}) });
  }

  addDatastore(d: DatastoreDecl): void {
    for (const h of d.hosts) this.cluster.host(h);
    this.storage.addDatastore(d.name, { hosts: d.hosts, bandwidth: d.bandwidth, latency: d.latency, iops: d.iops ?? 10_000 });
    for (const h of d.hosts) this.cluster.host(h).datastores.push(d.name);
  }

  /** Creates a VM world with its guest memory, initial contents, disks, MAC and workload. */
  createVm(spec: VmSpec): World {
    return this.vms.create(spec);
  }

  vm(name: string): World {
    const w = this.cluster.world(name);
    if (w.kind !== "vm") throw kernelError("VMSCN5005", `"${name}" is a system world, not a VM`);
    return w;
  }

  /** Stops a world and gives back its frames and its MAC address. */
  destroyVm(w: World): void {
    this.vms.destroy(w);
  }

  /** A host crash: its VMs fail (their memory is gone), its flows and IOs fail. */
  crashHost(name: string): void {
    const host = this.cluster.host(name);
    if (!host.up) return;
    const crash = kernelCause("crash");
    for (const w of host.worlds.slice()) {
      if (w.state !== "stopped") this.cluster.setState(w, "stopped", crash);
      w.failure = `host "${name}" crashed at ${formatTime(this.scheduler.now)}`;
      if (w.memory) this.memory.releaseAll(w.memory);
    }
    this.network.failHost(name);
    this.storage.failHost(name);
    this.cluster.setHostUp(host, false, crash);
    this.trace.instant("host crashed", "fault", { host: name }, this.scheduler.now);
  }

  recoverHost(name: string): void {
    const host = this.cluster.host(name);
    if (host.up) return;
    this.network.restoreHost(name);
    this.storage.restoreHost(name);
    this.cluster.setHostUp(host, true, kernelCause("recover"));
  }

  // ---- faults ----------------------------------------------------------------------------

  /** Memory held by the `exhaust` fault, per host: a system world whose page map pins frames. */
  private readonly hogs = new Map<string, World>();

  /**
   * The `exhaust` fault: takes the host's free machine memory down to `leaveBytes`, as another
   * tenant would, so later allocations (a migration's destination, a fork's COW) find none.
   */
  exhaustMemory(hostName: string, leaveBytes = 0): number {
    const host = this.cluster.host(hostName);
    if (!host.up) throw kernelError("VMSCN5009", `cannot exhaust the memory of host "${hostName}": it is down`, { time: this.scheduler.now, where: hostName });
    // A second exhaust replaces the first: the host ends with `leaveBytes` free either way.
    const prev = this.hogs.get(hostName);
    if (prev) {
      this.hogs.delete(hostName);
      this.releaseHog(prev);
    }
    const m = this.memory.machine(host.id);
    const pages = m.free - Math.ceil(leaveBytes / PAGE_SIZE);
    if (pages <= 0) return 0;
    const name = `memory-hog@${hostName}#${this.hogs.size + 1}`;
    const w = this.cluster.createWorld({ name, kind: "system", vcpus: 1 }, host, (w) => {
      w.memory = this.memory.createGuest(w.id, w.name, pages, host.id);
    });
    // Distinct private contents, so nothing could share them away.
    this.memory.populateAll(w.memory!, (p) => privatePage(0, w.id, p + 1));
    this.hogs.set(hostName, w);
    this.trace.instant("memory exhausted", "fault", { host: hostName }, this.scheduler.now, { pages });
    return pages;
  }

  /** Ends the `exhaust` fault on a host: its frames return. */
  relieveMemory(hostName: string): void {
    this.cluster.host(hostName);
    const w = this.hogs.get(hostName);
    if (!w) return;
    this.hogs.delete(hostName);
    this.releaseHog(w);
  }

  private releaseHog(w: World): void {
    if (w.memory) this.memory.dropGuest(w.memory);
    this.cluster.destroy(w, kernelCause("relieve"));
  }

  /** The `kill` fault: a helper (system) world dies; the plugin that owns it sees `destroyed`. */
  killWorld(name: string): void {
    const w = this.cluster.world(name);
    if (w.kind === "vm") throw kernelError("VMSCN5011", `"${name}" is a VM: kill is for helper worlds (stop or crash a VM instead)`, { time: this.scheduler.now, where: w.label });
    w.failure = `killed at ${formatTime(this.scheduler.now)}`;
    this.trace.instant("world killed", "fault", { host: w.host.name, world: name }, this.scheduler.now);
    if (w.memory) this.memory.dropGuest(w.memory);
    this.cluster.destroy(w, kernelCause("kill"));
  }

  // ---- actions ---------------------------------------------------------------------------

  /** Schedules `verb` at `time`; options missing from `options` take the schema's defaults. */
  act(time: number, verbName: string, args: Record<string, OptionValue>, options: Record<string, OptionValue> = {}): ActionRecord {
    const verb = this.plugins.verb(verbName);
    if (!verb) {
      const known = this.plugins.allVerbs().map((v) => v.name).join(", ");
      throw kernelError("VMSCN5005", `there is no verb "${verbName}" (verbs: ${known})`);
    }
    const rec: ActionRecord = { id: this.actions.length, time, verb: verbName, args, options: withDefaults(verb, options), state: "scheduled" };
    this.actions.push(rec);
    this.openActions++;
    this.scheduler.at(time, () => this.runAction(verb, rec));
    return rec;
  }

  private runAction(verb: RegisteredVerb, rec: ActionRecord): void {
    rec.state = "running";
    let finished = false;
    const done = (outcome?: { failed?: string }): void => {
      if (finished) return;
      finished = true;
      rec.state = outcome?.failed ? "failed" : "done";
      if (outcome?.failed) rec.failure = outcome.failed;
      rec.finishedAt = this.scheduler.now;
      this.openActions--;
      if (this.stopWhenActionsDone && this.openActions === 0) this.scheduler.stop();
    };
    const vm = rec.args["vm"];
    try {
      this.hooks.run(verb.plugin, `verb(${rec.verb})`, typeof vm === "string" ? vm : undefined, () => verb.run({ verb: rec.verb, time: this.scheduler.now, args: rec.args, options: rec.options, done }), REFUSALS);
    } catch (err) {
      // An impossible request (migrate to a full host, resume a running VM) fails the action
      // with its sentence and leaves the world as it was; a plugin bug stops the run.
      if (classify(err) !== "refusal") throw err;
      const refusal = err as VmscnError;
      done({ failed: refusal.describe() });
      this.trace.instant(`${rec.verb} failed`, "action", {}, this.scheduler.now, { reason: refusal.message });
      return;
    }
    if (!verb.async) done();
  }

  actionLog(): readonly ActionRecord[] {
    return this.actions;
  }

  // ---- running ---------------------------------------------------------------------------

  /**
   * Runs to `until` (ns), or without it until every scheduled action has finished. Ends with
   * the simulation-end signal and, when configured, an invariant check.
   */
  run(until?: number): RunSummary {
    this.startSampler();
    let reason: RunSummary["reason"];
    if (until === undefined) {
      // Guest workloads tick forever, so an action that never finishes (a VM left depending
      // on demand paging) would never end the run: stop at a horizon after the last action.
      const last = this.actions.reduce((m, a) => Math.max(m, a.time), this.scheduler.now);
      this.stopWhenActionsDone = true;
      const r = this.openActions === 0 ? { reason: "empty" as const } : this.scheduler.run(last + this.config.doneHorizonNs);
      reason = r.reason === "stopped" ? "actions-done" : r.reason === "until" ? "horizon" : "empty";
      this.stopWhenActionsDone = false;
    } else {
      const r = this.scheduler.run(until);
      reason = r.reason === "until" ? "until" : "empty";
    }
    this.sample();
    this.cluster.signals.simulationEnd.emit(this.scheduler.now);
    if (this.config.checkInvariants) this.checkInvariants();
    return { reason, simulatedTimeNs: this.scheduler.now, events: this.scheduler.executed };
  }

  /**
   * The world is consistent: memory (frame accounting, reference counts with remote ones, COW
   * marks), no flow on a down link or host, every world on exactly one host and not running on
   * a down one, and no event scheduled in the past.
   */
  checkInvariants(): void {
    this.memory.checkInvariants();
    const net = this.network.invariantProblems();
    if (net.length > 0) throw kernelError("VMSCN5014", `the network is inconsistent: ${net.join("; ")}`, { time: this.scheduler.now });
    for (const w of this.cluster.worlds) {
      if (w.state === "running" && !w.host.up) throw kernelError("VMSCN5014", `world "${w.name}" is running on host "${w.host.name}", which is down`, { time: this.scheduler.now });
      if (!w.host.worlds.includes(w)) throw kernelError("VMSCN5014", `world "${w.name}" is not among the worlds of its host "${w.host.name}"`, { time: this.scheduler.now });
    }
    for (const h of this.cluster.hosts) {
      for (const w of h.worlds) if (w.host !== h) throw kernelError("VMSCN5014", `world "${w.name}" is listed on host "${h.name}" but placed on "${w.host.name}"`, { time: this.scheduler.now });
    }
    const next = this.scheduler.peekTime();
    if (next < this.scheduler.now) throw kernelError("VMSCN5014", `an event is scheduled at ${formatTime(next)}, in the past`, { time: this.scheduler.now });
  }


  private startSampler(): void {
    if (this.sampler || this.config.sampleIntervalNs <= 0) return;
    this.sampler = true;
    const tick = (): void => {
      this.sample();
      // Only while something else is scheduled: a sampler alone must not hide a deadlock.
      if (this.scheduler.pending > 0) this.scheduler.after(this.config.sampleIntervalNs, tick, Priority.Last);
      else this.sampler = false;
    };
    this.scheduler.after(0, tick, Priority.Last);
  }

  private lastSample = -1;
  private sample(): void {
    const now = this.scheduler.now;
    if (now === this.lastSample) return;
    this.lastSample = now;
    for (const m of this.memory.hosts()) this.metrics.series(`host.${m.hostName}.memory.used`, "B").append(now, m.used * PAGE_SIZE);
    for (const l of this.network.linkRates()) this.metrics.series(`link.${l.name}.rate`, "B/s").append(now, l.rate);
  }

  /** Spans in the trace: each world's running periods (worlds are threads), and every transfer. */
  private traceWorldsAndFlows(): void {
    const since = new Map<World, number>();
    const close = (w: World, host: string): void => {
      const start = since.get(w);
      if (start === undefined) return;
      since.delete(w);
      this.trace.span(w.kind === "vm" ? "running" : w.name, "world", { host, world: w.name }, start, this.scheduler.now);
    };
    this.cluster.signals.stateChanged.connect((w, from, to) => {
      if (!this.trace.enabled) return;
      if (from === "running") close(w, w.host.name);
      if (to === "running") since.set(w, this.scheduler.now);
    });
    this.cluster.signals.moved.connect((w, from) => {
      if (!this.trace.enabled || !since.has(w)) return;
      close(w, from.name);
      since.set(w, this.scheduler.now);
    });
    this.cluster.signals.simulationEnd.connect(() => {
      for (const w of [...since.keys()]) {
        close(w, w.host.name);
        since.set(w, this.scheduler.now);
      }
    });
    this.network.signals.settled.connect((tr) => {
      if (!this.trace.enabled) return;
      this.trace.span(tr.label, "flow", { host: tr.from }, tr.startedAt, tr.finishedAt ?? this.scheduler.now, { to: tr.to, bytes: tr.bytes, kind: tr.kind, state: tr.state });
    });
  }

  // ---- report ----------------------------------------------------------------------------

  /** The kernel's sections, the plugins' groups, and the units of the figures not in base units. */
  private sections(): Record<string, unknown> {
    const groups = this.metrics.collect();
    const units = this.metrics.units(groups);
    return { ...kernelSections(this), ...groups, ...(units === null ? {} : { units }) };
  }

  report(scenario: string): Report {
    const now = this.scheduler.now;
    return buildReport({
      scenario,
      seed: this.config.seed,
      simulatedTimeNs: now,
      sections: this.sections(),
    });
  }
}

function withDefaults(verb: RegisteredVerb, options: Record<string, OptionValue>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const [name, spec] of Object.entries(verb.options)) {
    if (Object.hasOwn(options, name)) out[name] = options[name]!;
    else if (spec.default !== undefined) out[name] = spec.default as OptionValue;
    else if (spec.required) throw kernelError("VMSCN5011", `verb "${verb.name}" needs option "${name}" (${spec.description})`);
  }
  for (const name of Object.keys(options)) {
    // Own keys only: an option a scenario names `constructor` is not one the verb has.
    if (!Object.hasOwn(verb.options, name)) throw kernelError("VMSCN5011", `verb "${verb.name}" has no option "${name}"; its options are ${Object.keys(verb.options).join(", ") || "none"}`);
  }
  return out;
}
