// Guest activity. Each vCPU of a running VM issues its share of the VM's reads and writes in
// batches, one batch per tick (1 ms by default), so the event count stays small. A fault
// that stalls a vCPU delays that vCPU only; the time it spends stalled issues no accesses.
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
import { ContentSampler } from "../memory/content.js";
import { makeSampler, type PageSampler } from "./patterns.js";
import { parseTrace } from "./trace-file.js";
import type { ScriptedAccess, WorkloadSpec } from "./spec.js";

interface Job {
  write: boolean;
  pages: Int32Array;
  contents: Float64Array;
  n: number;
}

interface ActivityState {
  write: boolean;
  /** Pages per ns for one vCPU. */
  perNs: number;
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
    const elapsed = Math.min(e.config.tickNs, now - this.lastTick || e.config.tickNs);
    this.lastTick = now;
    const factor = e.cluster.cpuFactor(world);
    for (const a of this.activities) {
      a.carry += a.perNs * elapsed * factor;
      const n = Math.floor(a.carry);
      a.carry -= n;
      if (n === 0) continue;
      const job = a.job;
      if (job.pages.length < n) {
        job.pages = new Int32Array(n * 2);
        if (a.write) job.contents = new Float64Array(n * 2);
      }
      a.sampler.fill(job.pages, n);
      if (a.write) this.vm.content.fill(job.pages, job.contents, n);
      job.n = n;
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
      const before = this.index;
      const reached = job.write ? e.memory.writeBatch(g, job.pages, job.contents, this.index, job.n, this.id) : e.memory.readBatch(g, job.pages, this.index, job.n, this.id);
      if (job.write) stats.writes += reached - before;
      else stats.reads += reached - before;
      this.index = reached;
      if (reached < job.n) {
        const stall = e.memory.stall;
        stats.stalls++;
        const since = e.scheduler.now;
        if (stall === WAIT) {
          this.waiting = true;
          e.scheduler.wait(this.label, `waits for page ${job.pages[reached]} of "${g.name}"`);
          e.memory.waitFor(g, this.id, () => {
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
        return;
      }
      this.job = null;
    }
    if (!this.tick) this.scheduleTick(Math.max(e.scheduler.now, this.lastTick + e.config.tickNs));
  }
}

class VmWorkload {
  readonly vcpus: Vcpu[] = [];
  readonly stats: WorkloadStats = { reads: 0, writes: 0, stallNs: 0, stalls: 0, scripted: 0 };
  readonly content: ContentSampler;

  constructor(
    readonly engine: Workload,
    readonly world: World,
    readonly spec: WorkloadSpec,
  ) {
    const streams = engine.streams;
    const g = world.memory!;
    this.content = new ContentSampler(spec.mix, engine.memory.images, world.id, streams.stream(`vm:${world.name}:content`));
    for (let v = 0; v < world.vcpus; v++) {
      const vcpu = new Vcpu(this, v);
      spec.activities.forEach((a, i) => {
        const rng = streams.stream(`vm:${world.name}:activity${i}:vcpu${v}`);
        vcpu.activities.push({
          write: a.op === "write",
          perNs: a.rate / world.vcpus / 1e9,
          sampler: makeSampler(a.pattern, g.pages, rng),
          carry: 0,
          job: { write: a.op === "write", pages: new Int32Array(64), contents: new Float64Array(a.op === "write" ? 64 : 0), n: 0 },
        });
      });
      this.vcpus.push(vcpu);
    }
  }

  /** Queues a scripted access (a page range) on a vCPU at time `at`. */
  script(acc: ScriptedAccess): void {
    const e = this.engine;
    const g = this.world.memory!;
    if (acc.first < 0 || acc.count < 1 || acc.first + acc.count > g.pages) {
      throw kernelError("VMSCN5011", `scripted access to pages ${acc.first}..${acc.first + acc.count - 1} is outside "${this.world.name}" (${g.pages} pages)`);
    }
    const vcpu = this.vcpus[(acc.vcpu ?? 0) % this.vcpus.length]!;
    e.scheduler.at(acc.at, () => {
      const pages = new Int32Array(acc.count);
      for (let i = 0; i < acc.count; i++) pages[i] = acc.first + i;
      const contents = new Float64Array(acc.op === "write" ? acc.count : 0);
      if (acc.op === "write") this.content.fill(pages, contents, acc.count);
      this.stats.scripted += acc.count;
      vcpu.enqueue({ write: acc.op === "write", pages, contents, n: acc.count });
    });
  }
}

const WORKLOAD = new Slot<VmWorkload | null, World>("workload", () => null);

@injectable()
export class Workload {
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
      }
    });
  }

  /** Gives a VM world its workload; it runs whenever the world is running. */
  attach(world: World, spec: WorkloadSpec): void {
    if (!world.memory) throw kernelError("VMSCN5011", `world "${world.name}" has no guest memory, so it cannot run a workload`);
    const wl = new VmWorkload(this, world, spec);
    world.setExt(WORKLOAD, wl);
    for (const s of spec.scripted) wl.script(s);
    if (spec.trace) {
      let text: string;
      try {
        text = readFileSync(spec.trace, "utf8");
      } catch (err) {
        throw kernelError("VMSCN5013", `cannot read the trace file ${spec.trace} of "${world.name}": ${(err as Error).message}`, { cause: err });
      }
      for (const s of parseTrace(text, spec.trace, world.memory.pages)) wl.script(s);
    }
    if (world.state === "running") for (const v of wl.vcpus) v.start(this.scheduler.now);
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
