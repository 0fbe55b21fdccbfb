// Guest activity. Each vCPU of a running VM issues its share of the VM's reads and writes in
// batches, one batch per tick (1 ms by default), so the event count stays small. A fault
// that stalls a vCPU delays that vCPU only; the accesses of the time it could not run (stalled,
// suspended, starved of CPU, throttled) are dropped by a paced activity and issued by a
// catch-up one when it runs again.
import { readFileSync } from "node:fs";
import { injectable, inject } from "tsyringe";
import { TOKENS } from "../di/tokens.js";
import { kernelError } from "../errors.js";
import type { RunConfig } from "../config.js";
import type { Scheduler, EventHandle } from "../sim/scheduler.js";
import type { RandomStreams } from "../sim/random.js";
import type { Cluster } from "../world/cluster.js";
import type { World } from "../world/world.js";
import { Slot } from "../world/slots.js";
import { WAIT, type Memory } from "../memory/memory.js";
import { ContentSampler, WORKLOAD_COUNTER_START } from "../memory/content.js";
import { makeSampler, type PageSampler } from "./patterns.js";
import { parseTrace } from "./trace-file.js";
import type { SimFile } from "../storage/storage.js";
import { DiskIo } from "./disk-io.js";
import { SleepGate, TraceReplay } from "./sleep-gate.js";
import { VmscnError } from "../errors.js";
import { kernelCause } from "../world/cause.js";

/** The host's OOM killer stopping a VM whose write found no free frame. */
const OOM_KILL = kernelCause("oom");
import type { ScriptedAccess, ScriptedHypercall, WorkloadSpec } from "./spec.js";

interface Job {
  write: boolean;
  pages: Int32Array;
  contents: Float64Array;
  n: number;
  /** Set for a scripted hypercall (pages unused). */
  hypercall?: ScriptedHypercall;
  /** An activity's job queued or under way: a tick meanwhile leaves it alone (its accesses wait in `carry`). */
  pending?: boolean;
}

/** What a hypercall handler gets: the guest issuing it, from which vCPU, with its options. */
export interface HypercallCall {
  world: World;
  vcpu: number;
  name: string;
  time: number;
  options: ScriptedHypercall["options"];
}

/**
 * A hypercall handler answers as a fault handler does: 0 (the vCPU goes on), a stall in ns,
 * or WAIT (the vCPU waits until the plugin calls memory.wake(guest, vcpu)).
 */
export type HypercallHandler = (call: HypercallCall) => number;

interface ActivityState {
  write: boolean;
  /** Pages per ns for one vCPU. */
  perNs: number;
  /** Issues the accesses of time the vCPU could not run once it runs (Pace "catch-up"). */
  catchUp: boolean;
  sampler: PageSampler;
  /** Fractional accesses carried to the next tick, so counts are exact over time. */
  carry: number;
  job: Job;
}

/** Per-VM workload figures for the report. */
export interface WorkloadStats {
  reads: number;
  writes: number;
  stallNs: number;
  stalls: number;
  scripted: number;
  /** Hypercalls the guest issued. */
  hypercalls: number;
  /** Guest disk IO: completed IOs and bytes, IOs that failed or could not be issued. */
  diskReads: number;
  diskWrites: number;
  diskBytesRead: number;
  diskBytesWritten: number;
  diskErrors: number;
}

class Vcpu {
  readonly activities: ActivityState[] = [];
  private readonly queue: Job[] = [];
  private job: Job | null = null;
  private index = 0;
  private busy: EventHandle | null = null;
  private waiting = false;
  private tick: EventHandle | null = null;
  private lastTick = 0;
  /** Whether the vCPU has ticked: a catch-up activity counts its time from its first tick. */
  private started = false;

  constructor(
    private readonly vm: VmWorkload,
    readonly id: number,
  ) {}

  get label(): string {
    return `${this.vm.world.name}/vcpu${this.id}`;
  }

  start(now: number): void {
    if (this.tick || this.vm.world.state !== "running") return;
    this.scheduleTick(now);
  }

  stop(): void {
    this.tick?.cancel();
    this.tick = null;
  }

  /** The VM stopped for good: forget the stall or wait in progress and the jobs queued. */
  abandon(): void {
    this.busy?.cancel();
    this.busy = null;
    if (this.waiting) this.vm.engine.scheduler.wake(this.label);
    this.waiting = false;
    for (const j of this.queue) j.pending = false;
    if (this.job) this.job.pending = false;
    this.queue.length = 0;
    this.job = null;
  }

  enqueue(job: Job): void {
    this.queue.push(job);
    if (!this.job && !this.busy && !this.waiting && this.vm.world.state === "running") this.pump();
  }

  private scheduleTick(at: number): void {
    const e = this.vm.engine;
    this.tick = e.scheduler.at(at, () => {
      this.tick = null;
      this.onTick();
    });
  }

  private onTick(): void {
    const e = this.vm.engine;
    const world = this.vm.world;
    if (world.state !== "running") return;
    const now = e.scheduler.now;
    // A tick issues the tick ahead; a paced activity counts at most one tick since the last,
    // at its CPU share, a catch-up one the whole time since (first tick: one tick).
    const elapsed = Math.min(e.config.tickNs, now - this.lastTick || e.config.tickNs);
    const since = this.started ? now - this.lastTick : e.config.tickNs;
    this.started = true;
    this.lastTick = now;
    const factor = e.cluster.cpuFactor(world);
    for (const a of this.activities) {
      if (!a.catchUp) a.carry += a.perNs * elapsed * factor;
      else {
        // Accesses cost no CPU in the model, so any CPU at all works the backlog off; none
        // (a throttle of 1) keeps it for later.
        a.carry += a.perNs * since;
        if (factor === 0) continue;
      }
      const job = a.job;
      // Its last job is still queued or stalled (a resume ticks a vCPU that waits on a fault):
      // the accesses stay owed, issued by the first tick after it finished.
      if (job.pending) continue;
      const n = Math.floor(a.carry);
      a.carry -= n;
      if (n === 0) continue;
      if (job.pages.length < n) {
        job.pages = new Int32Array(n * 2);
        if (a.write) job.contents = new Float64Array(n * 2);
      }
      a.sampler.fill(job.pages, n);
      if (a.write) this.vm.content.fill(job.pages, job.contents, n);
      job.n = n;
      job.pending = true;
      this.queue.push(job);
    }
    this.pump();
  }

  /** Runs queued jobs until done or stalled; then plans the next tick. */
  pump(): void {
    if (this.busy || this.waiting) return;
    const e = this.vm.engine;
    const g = this.vm.world.memory!;
    const stats = this.vm.stats;
    for (;;) {
      if (this.vm.world.state !== "running") return;
      if (!this.job) {
        const next = this.queue.shift();
        if (!next) break;
        this.job = next;
        this.index = 0;
      }
      const job = this.job;
      if (job.hypercall) {
        this.job = null;
        stats.hypercalls++;
        const stall = e.issueHypercall(this.vm.world, this.id, job.hypercall);
        if (stall !== 0) return this.stallFor(stall, `waits for hypercall "${job.hypercall.name}" of "${g.name}"`);
        continue;
      }
      const before = this.index;
      let reached: number;
      try {
        reached = job.write ? e.memory.writeBatch(g, job.pages, job.contents, this.index, job.n, this.id) : e.memory.readBatch(g, job.pages, this.index, job.n, this.id);
      } catch (err) {
        // The host has no free frame for the guest's write: as a host's OOM killer would,
        // the VM is killed (with the reason) rather than the whole simulation.
        if (!(err instanceof VmscnError) || err.code !== "VMSCN5002") throw err;
        const world = this.vm.world;
        world.failure = `killed: ${err.describe()}`;
        e.cluster.setState(world, "stopped", OOM_KILL);
        // The killer frees the victim's memory, so the host's other VMs can go on.
        if (world.memory !== undefined) e.memory.releaseAll(world.memory);
        return;
      }
      if (job.write) stats.writes += reached - before;
      else stats.reads += reached - before;
      this.index = reached;
      if (reached < job.n) return this.stallFor(e.memory.stall, `waits for page ${job.pages[reached]} of "${g.name}"`);
      job.pending = false;
      this.job = null;
    }
    if (!this.tick) this.scheduleTick(Math.max(e.scheduler.now, this.lastTick + e.config.tickNs));
  }

  /** The vCPU stalls `stall` ns, or waits (WAIT) until a plugin wakes it; then pumps on. */
  private stallFor(stall: number, why: string): void {
    const e = this.vm.engine;
    const g = this.vm.world.memory!;
    const stats = this.vm.stats;
    stats.stalls++;
    const since = e.scheduler.now;
    if (stall === WAIT) {
      this.waiting = true;
      e.scheduler.wait(this.label, why);
      e.memory.waitFor(g, this.id, () => {
        if (!this.waiting) return; // abandoned: the VM stopped meanwhile
        this.waiting = false;
        e.scheduler.wake(this.label);
        stats.stallNs += e.scheduler.now - since;
        this.pump();
      });
    } else {
      stats.stallNs += stall;
      this.busy = e.scheduler.after(stall, () => {
        this.busy = null;
        this.pump();
      });
    }
  }
}

class VmWorkload {
  readonly vcpus: Vcpu[] = [];
  readonly stats: WorkloadStats = { reads: 0, writes: 0, stallNs: 0, stalls: 0, scripted: 0, hypercalls: 0, diskReads: 0, diskWrites: 0, diskBytesRead: 0, diskBytesWritten: 0, diskErrors: 0 };
  readonly disk: DiskIo | null;
  readonly content: ContentSampler;
  /** Holds scripted work that falls in a throttle sleep. */
  readonly gate: SleepGate;

  constructor(
    readonly engine: Workload,
    readonly world: World,
    readonly spec: WorkloadSpec,
    disks: () => readonly SimFile[],
  ) {
    const streams = engine.streams;
    this.disk = spec.disk && spec.disk.length > 0 ? new DiskIo(this, spec.disk, disks) : null;
    this.gate = new SleepGate(engine.scheduler, engine.cluster, world);
    const g = world.memory!;
    this.content = new ContentSampler(spec.mix, engine.memory.images, world.id, streams.stream(`vm:${world.name}:content`), WORKLOAD_COUNTER_START);
    for (let v = 0; v < world.vcpus; v++) {
      const vcpu = new Vcpu(this, v);
      spec.activities.forEach((a, i) => {
        const rng = streams.stream(`vm:${world.name}:activity${i}:vcpu${v}`);
        vcpu.activities.push({
          write: a.op === "write",
          perNs: a.rate / world.vcpus / 1e9,
          catchUp: a.pace === "catch-up",
          sampler: makeSampler(a.pattern, g.pages, rng),
          carry: 0,
          job: { write: a.op === "write", pages: new Int32Array(64), contents: new Float64Array(a.op === "write" ? 64 : 0), n: 0 },
        });
      });
      this.vcpus.push(vcpu);
    }
  }

  /** Queues a scripted access (a page range) on a vCPU at time `at` (or when a throttle sleep it falls in ends). */
  script(acc: ScriptedAccess): void {
    this.checkRange(acc);
    this.engine.scheduler.at(acc.at, () => this.gate.pass(() => this.issue(acc)));
  }

  /** Replays a trace's records in order (sleep-gate.ts: a held record delays the later ones). */
  replay(records: readonly ScriptedAccess[]): void {
    for (const r of records) this.checkRange(r);
    new TraceReplay(this.engine.scheduler, this.gate, records, (r) => this.issue(r));
  }

  private checkRange(acc: ScriptedAccess): void {
    const g = this.world.memory!;
    if (acc.first < 0 || acc.count < 1 || acc.first + acc.count > g.pages) {
      throw kernelError("VMSCN5011", `scripted access to pages ${acc.first}..${acc.first + acc.count - 1} is outside "${this.world.name}" (${g.pages} pages)`);
    }
  }

  private issue(acc: ScriptedAccess): void {
    const vcpu = this.vcpus[(acc.vcpu ?? 0) % this.vcpus.length]!;
    const pages = new Int32Array(acc.count);
    for (let i = 0; i < acc.count; i++) pages[i] = acc.first + i;
    const contents = new Float64Array(acc.op === "write" ? acc.count : 0);
    if (acc.op === "write") this.content.fill(pages, contents, acc.count);
    this.stats.scripted += acc.count;
    vcpu.enqueue({ write: acc.op === "write", pages, contents, n: acc.count });
  }

  /** Queues a scripted hypercall on a vCPU at time `h.at` (or when a throttle sleep it falls in ends). */
  hypercall(h: ScriptedHypercall): void {
    const vcpu = this.vcpus[(h.vcpu ?? 0) % this.vcpus.length]!;
    this.engine.scheduler.at(h.at, () => this.gate.pass(() => vcpu.enqueue({ write: false, pages: EMPTY_PAGES, contents: EMPTY_CONTENTS, n: 0, hypercall: h })));
  }
}

const EMPTY_PAGES = new Int32Array(0);
const EMPTY_CONTENTS = new Float64Array(0);


const WORKLOAD = new Slot<VmWorkload | null, World>("workload", () => null);

@injectable()
export class Workload {
  /**
   * How a trace file is read when the VM is created. The pipeline replaces it with a reader that
   * applies the scenario's read policy to the very bytes it reads (docs/security.md), so a
   * file swapped after `check` is refused too; the default reads the path as given.
   */
  readTrace: (path: string) => string = (path) => readFileSync(path, "utf8");

  constructor(
    @inject(TOKENS.Scheduler) readonly scheduler: Scheduler,
    @inject(TOKENS.Cluster) readonly cluster: Cluster,
    @inject(TOKENS.Memory) readonly memory: Memory,
    @inject(TOKENS.RandomStreams) readonly streams: RandomStreams,
    @inject(TOKENS.RunConfig) readonly config: RunConfig,
  ) {
    cluster.signals.stateChanged.connect((w, _from, to) => {
      const wl = w.hasExt(WORKLOAD) ? w.ext(WORKLOAD) : null;
      if (!wl) return;
      for (const v of wl.vcpus) {
        if (to === "running") {
          v.start(this.scheduler.now);
          v.pump();
        } else v.stop();
        // A stopped VM's vCPU waits for nothing any more (it never runs again): a page that
        // will never come, say, because the VM died with its host, is not a deadlock.
        if (to === "stopped") v.abandon();
      }
      if (to === "running") wl.disk?.start(this.scheduler.now);
      else wl.disk?.stop();
    });
    cluster.signals.throttled.connect((w) => {
      if (w.hasExt(WORKLOAD)) w.ext(WORKLOAD)?.gate.release();
    });
  }

  private readonly hypercallHandlers = new Map<string, HypercallHandler>();

  /** Registers the handler of a hypercall (one per name; a plugin's `k.hypercall`). */
  onHypercall(name: string, handler: HypercallHandler): void {
    if (this.hypercallHandlers.has(name)) throw kernelError("VMSCN6008", `hypercall "${name}" has two handlers`);
    this.hypercallHandlers.set(name, handler);
  }

  /** @internal A vCPU issues a hypercall: the handler's answer (0, a stall in ns, or WAIT). */
  issueHypercall(world: World, vcpu: number, h: ScriptedHypercall): number {
    const handler = this.hypercallHandlers.get(h.name);
    if (!handler) {
      const known = [...this.hypercallHandlers.keys()];
      throw kernelError("VMSCN5015", `guest "${world.name}" issued hypercall "${h.name}" and no plugin handles it${known.length ? ` (handled: ${known.join(", ")})` : ""}`, { time: this.scheduler.now, where: `${world.name}/vcpu${vcpu}` });
    }
    return handler({ world, vcpu, name: h.name, time: this.scheduler.now, options: h.options });
  }

  /** Gives a VM world its workload; it runs whenever the world is running. */
  attach(world: World, spec: WorkloadSpec, disks: () => readonly SimFile[] = () => []): void {
    if (!world.memory) throw kernelError("VMSCN5011", `world "${world.name}" has no guest memory, so it cannot run a workload`);
    const wl = new VmWorkload(this, world, spec, disks);
    world.setExt(WORKLOAD, wl);
    for (const s of spec.scripted) wl.script(s);
    for (const h of spec.hypercalls ?? []) wl.hypercall(h);
    if (spec.trace) {
      let text: string;
      try {
        text = this.readTrace(spec.trace);
      } catch (err) {
        if (err instanceof VmscnError) throw err;
        throw kernelError("VMSCN5013", `cannot read the trace file ${spec.trace} of "${world.name}": ${(err as Error).message}`, { cause: err });
      }
      wl.replay(parseTrace(text, spec.trace, world.memory.pages, world.vcpus));
    }
    if (world.state === "running") {
      for (const v of wl.vcpus) v.start(this.scheduler.now);
      wl.disk?.start(this.scheduler.now);
    }
  }

  /** Adds a scripted hypercall to a VM that already has a workload. */
  hypercall(world: World, h: ScriptedHypercall): void {
    this.of(world).hypercall(h);
  }

  /** Adds a scripted access to a VM that already has a workload. */
  script(world: World, acc: ScriptedAccess): void {
    this.of(world).script(acc);
  }

  stats(world: World): WorkloadStats | undefined {
    return world.hasExt(WORKLOAD) ? world.ext(WORKLOAD)?.stats : undefined;
  }

  private of(world: World): VmWorkload {
    const wl = world.hasExt(WORKLOAD) ? world.ext(WORKLOAD) : null;
    if (!wl) throw kernelError("VMSCN5011", `world "${world.name}" has no workload`);
    return wl;
  }
}
