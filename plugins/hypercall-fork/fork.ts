// One VM fork (option 1 of the expedited-launch document), from the hypercall (or the verb)
// to every worker running. The VMM captures the parent's runtime image (plugin clone-api's
// capture), then loads each child VM on a free node of the parent's host: the child's page
// map shares every frame of the parent copy-on-write (no new frame at fork: the first write
// by either side to a shared page copies it, a COW break), the VMM bootstraps its memory
// mapping and restores CPU and device state, and puts it on the run queue. Workers placed on
// next hosts are clones, launched through clone-api's VM clone command from the same capture.
import { PAGE_SIZE, PageState, STATE_MASK, formatTime, type Host, type PluginContext, type World } from "../../core/api.js";
import type { Capture, Clone, CloneApi, LaunchOptions, Origin as LaunchOrigin } from "../clone-api/api.js";
import { CHILD_CODES } from "./check.js";
import type { Placement } from "./options.js";

/** How a fork was asked for: the verb, or a guest's hypercall. */
export type Origin = Exclude<LaunchOrigin, "clone">;

export type ChildStatus = "capturing" | "loading" | "running" | "failed";

export interface ForkRequest {
  parent: World;
  children: number;
  placement: Placement;
  host: Host | undefined;
  worker: World | undefined;
  o: LaunchOptions;
  origin: Origin;
}

/** A child VM on the parent's host. */
export class Child {
  status: ChildStatus = "capturing";
  readonly requestedAt: number;
  runningAt: number | undefined;
  failure: string | undefined;
  /** Frames the child shared with its parent when it was loaded. */
  framesShared = 0;
  loadNs = 0;

  constructor(
    readonly fork: Fork,
    readonly world: World,
    readonly declared: boolean,
    readonly coldLaunchNs: number,
  ) {
    this.requestedAt = fork.requestedAt;
  }

  get name(): string {
    return this.world.name;
  }
}

export class Fork {
  readonly requestedAt: number;
  readonly children: Child[] = [];
  readonly clones: Clone[] = [];
  running = 0;
  failed = 0;
  allRunningAt: number | undefined;
  settledAt: number | undefined;
  capture!: Capture;
  /** Worker i's time to running, ns from the request (for the chart). */
  readonly runningTimes: number[] = [];

  constructor(
    private readonly k: PluginContext,
    private readonly api: CloneApi,
    readonly seq: number,
    readonly req: ForkRequest,
    private readonly onSettled: (f: Fork) => void,
  ) {
    this.requestedAt = k.scheduler.now;
  }

  get parent(): World {
    return this.req.parent;
  }

  get workers(): number {
    return this.children.length + this.clones.length;
  }

  /**
   * Places every worker, or refuses the whole request with a coded error and changes nothing;
   * then captures the image and creates the workers' VMs.
   */
  begin(): void {
    const { k, api, req } = this;
    const parent = req.parent;
    api.checkCapturable(parent);
    const { children, cloneHosts, cloneWorker } = this.place();
    const capture = api.capture(parent, req.o, cloneHosts.length > 0);
    this.capture = capture;
    for (let i = 0; i < children; i++) {
      const w = req.worker && req.worker.host === parent.host ? req.worker : api.newWorker(parent, "child", parent.host, req.o);
      this.children.push(new Child(this, w, w === req.worker, api.coldLaunchNs(w)));
    }
    if (cloneHosts.length > 0) {
      this.clones.push(...api.startClones(capture, cloneHosts, cloneWorker, req.o, req.origin, { running: (c) => this.ran(c.runningAt!), failed: () => this.lost() }));
    }
    capture.listeners.push({ sealed: () => this.sealed(), failed: (_c, reason) => this.captureFailed(reason) });
    capture.start();
    k.trace.instant("fork", "launch", { host: parent.host.name, world: parent.name }, this.requestedAt, { children, clones: cloneHosts.length });
  }

  private place(): { children: number; cloneHosts: Host[]; cloneWorker: World | undefined } {
    const { k, api, req } = this;
    const parent = req.parent;
    const n = req.children;
    if (req.worker) {
      const w = req.worker;
      if (n !== 1) throw k.error("VMSCN5011", `a declared worker VM receives one image; children is ${n}`, w.label);
      if (w === parent) throw k.error("VMSCN7105", `VM "${w.name}" cannot receive its own runtime image`, w.label);
      if (w.kind !== "vm" || w.state !== "created") throw k.error("VMSCN7105", `VM "${w.name}" cannot receive a runtime image: it is ${w.kind === "vm" ? w.state : "a system world"} (a worker must be declared and never started)`, w.label);
      if (req.host && req.host !== w.host) throw k.error("VMSCN5011", `VM "${w.name}" is on host "${w.host.name}", not "${req.host.name}"`, w.label);
      if (w.host !== parent.host) return { children: 0, cloneHosts: api.placeClones(parent, 1, w.host, w), cloneWorker: w };
      this.presume(parent.host, w);
      return { children: 1, cloneHosts: [], cloneWorker: undefined };
    }
    if (req.host && req.host !== parent.host) return { children: 0, cloneHosts: api.placeClones(parent, n, req.host, undefined), cloneWorker: undefined };
    const placement: Placement = req.host ? "same-host" : req.placement;
    if (placement === "next-host") return { children: 0, cloneHosts: api.placeClones(parent, n, undefined, undefined), cloneWorker: undefined };
    const free = api.freeNodes(parent.host);
    if (placement === "same-host") {
      this.presume(parent.host, undefined);
      if (free < n) throw k.error("VMSCN7101", `host "${parent.host.name}" has ${free} free node${free === 1 ? "" : "s"} (of ${parent.host.nodes}) for ${n} child VM${n === 1 ? "" : "s"} of "${parent.name}"`, parent.label);
      return { children: n, cloneHosts: [], cloneWorker: undefined };
    }
    // auto: children while the parent's host has free nodes (and its cluster presumptions
    // hold), clones on the next hosts for the rest.
    const here = api.violation(parent, parent.host) ? 0 : Math.min(n, free);
    return { children: here, cloneHosts: n > here ? api.placeClones(parent, n - here, undefined, undefined) : [], cloneWorker: undefined };
  }

  private presume(host: Host, worker: World | undefined): void {
    const v = this.api.violation(this.req.parent, host, worker);
    if (v) throw this.k.error(CHILD_CODES[v.presumption] ?? "VMSCN7102", v.message, this.req.parent.label);
  }

  /** The capsule is sealed and the parent still paused: every child maps the parent's frames. */
  private sealed(): void {
    const { k, api } = this;
    const g = this.parent.memory!;
    for (const c of this.children) {
      if (c.status !== "capturing") continue;
      const cg = c.world.memory!;
      // A declared worker gives up whatever it held: it becomes the image.
      if (c.declared && cg.census().unbacked !== cg.pages) k.memory.releaseAll(cg);
      c.framesShared = k.memory.shareAll(g, cg);
      c.status = "loading";
      c.loadNs = api.loadCost(cg.pages, this.req.o);
      const at = api.vmmSlot(this.parent.host, c.loadNs);
      k.at(at, () => this.load(c), "fork load");
    }
  }

  /** The VMM puts the child on the run queue. */
  private load(c: Child): void {
    if (c.status !== "loading") return;
    // Stopped at this very instant (its host crashed): the stop's own event fails it next.
    if (c.world.state === "stopped") return;
    this.k.cluster.setState(c.world, "running", this.k.cause("load"));
    c.status = "running";
    c.runningAt = this.k.scheduler.now;
    this.k.trace.span("child launch", "launch", { host: c.world.host.name, world: c.name }, this.requestedAt, c.runningAt, { parent: this.parent.name });
    this.ran(c.runningAt);
  }

  private captureFailed(reason: string): void {
    for (const c of this.children) this.failChild(c, `the capture of "${this.parent.name}" failed: ${reason}`);
  }

  /** The child's world stopped (its host crashed, or a `stop`) before it ran. */
  childStopped(c: Child): void {
    if (c.status === "running" || c.status === "failed") return;
    this.failChild(c, c.world.failure ?? `it was stopped at ${formatTime(this.k.scheduler.now)}`);
  }

  private failChild(c: Child, reason: string): void {
    if (c.status === "running" || c.status === "failed") return;
    const k = this.k;
    c.status = "failed";
    c.failure = reason;
    if (c.world.state !== "stopped") {
      c.world.failure = k.error("VMSCN7106", `child VM "${c.name}" of "${this.parent.name}" failed before it ran: ${reason}`, c.world.label).describe();
      k.cluster.setState(c.world, "stopped", k.cause("child-failed"));
    }
    // A child that never ran gives its mappings back (the shared frames stay the parent's).
    k.memory.releaseAll(c.world.memory!);
    k.trace.instant("child failed", "launch", { host: c.world.host.name, world: c.name }, k.scheduler.now, { reason });
    this.lost();
  }

  private ran(at: number): void {
    this.running++;
    this.runningTimes.push(at - this.requestedAt);
    if (this.running === this.workers) this.allRunningAt = at;
    this.check();
  }

  private lost(): void {
    this.failed++;
    this.check();
  }

  private check(): void {
    if (this.settledAt === undefined && this.running + this.failed === this.workers) {
      this.settledAt = this.k.scheduler.now;
      this.onSettled(this);
    }
  }
}

/** Pages of the child whose frame it allocated itself (COW breaks, first writes), and pages still shared. */
export function childFrames(k: PluginContext, c: Child): { newFrames: number; sharedNow: number } {
  const g = c.world.memory!;
  const m = k.memory.machine(g.hostId);
  let newFrames = 0;
  let sharedNow = 0;
  const id = c.world.id;
  for (let p = 0; p < g.pages; p++) {
    if ((g.meta[p]! & STATE_MASK) !== PageState.Present) continue;
    const f = g.frame[p]!;
    if (m.owner !== null && m.owner[f] === id) newFrames++;
    if (m.refs[f]! > 1) sharedNow++;
  }
  return { newFrames, sharedNow };
}

/**
 * What sharing saves the parent and its children on the parent's host: pages they map less
 * the frames behind them, in bytes (a frame mapped by n of them saves n − 1 frames).
 */
export function forkMemorySaved(k: PluginContext, f: Fork): number {
  const host = f.capture.host;
  const members = [f.parent, ...f.children.map((c) => c.world)].filter((w) => w.host === host && w.memory);
  const m = k.memory.machine(host.id);
  const seen = new Uint8Array(m.touched);
  let mapped = 0;
  let distinct = 0;
  for (const w of members) {
    const g = w.memory!;
    for (let p = 0; p < g.pages; p++) {
      if ((g.meta[p]! & STATE_MASK) !== PageState.Present) continue;
      mapped++;
      const fr = g.frame[p]!;
      if (seen[fr] === 0) {
        seen[fr] = 1;
        distinct++;
      }
    }
  }
  return (mapped - distinct) * PAGE_SIZE;
}
