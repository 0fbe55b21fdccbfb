// The cluster: hosts, worlds, their lifecycle, placement and CPU shares, and the kernel signals.
import { injectable, inject } from "tsyringe";
import { TOKENS } from "../di/tokens.js";
import { kernelError } from "../errors.js";
import type { Scheduler } from "../sim/scheduler.js";
import { formatTime } from "../sim/time.js";
import { Host, type HostSpec } from "./host.js";
import { Signal } from "./signal.js";
import { TRANSITIONS, World, type WorldSpec, type WorldState } from "./world.js";
import type { Cause } from "./cause.js";
import type { Hooks } from "../plugin-host/hooks.js";
import { editDistance } from "../text/edit-distance.js";

/** CPU load on a host that belongs to no world (the network's TCP copies), in cores. */
export interface OffWorldLoad {
  cpuLoad(host: string): number;
}

const NO_LOAD: OffWorldLoad = { cpuLoad: () => 0 };

/** A host is up or down. */
export type HostState = "up" | "down";

@injectable()
export class Cluster {
  readonly hosts: Host[] = [];
  readonly worlds: World[] = [];
  private readonly hostByName = new Map<string, Host>();
  private readonly worldByName = new Map<string, World>();
  private nextWorldId = 0;

  /** Fired after the change; state changes, moves, removals and host changes say why. */
  readonly signals = {
    created: new Signal<[World]>(),
    stateChanged: new Signal<[World, WorldState, WorldState, Cause]>(),
    moved: new Signal<[World, Host, Host, Cause]>(),
    destroyed: new Signal<[World, Cause]>(),
    hostStateChanged: new Signal<[Host, HostState, HostState, Cause]>(),
    /** A world's throttle changed (from, to): its vCPUs' sleeps start, change or end. */
    throttled: new Signal<[World, number, number, Cause]>(),
    simulationEnd: new Signal<[number]>(),
  };

  constructor(
    @inject(TOKENS.Scheduler) private readonly scheduler: Scheduler,
    @inject(TOKENS.Hooks) private readonly hooks: Hooks,
    /** CPU load that belongs to no world (TCP copies) counts in every host's share. */
    @inject(TOKENS.Network) private readonly network: OffWorldLoad = NO_LOAD,
  ) {}

  /**
   * The cause of a change a caller did not explain: made by the plugin whose code runs now
   * (or the kernel). The kernel's own changes always name their cause.
   */
  private requested(cause: Cause | undefined): Cause {
    return cause ?? { by: this.hooks.current ?? "kernel", reason: "request" };
  }

  addHost(spec: HostSpec): Host {
    if (this.hostByName.has(spec.name)) throw kernelError("VMSCN5006", `host "${spec.name}" is defined twice`);
    if (!(spec.cpus > 0) || !(spec.memoryBytes > 0)) {
      throw kernelError("VMSCN5011", `host "${spec.name}" needs at least one CPU and some memory`);
    }
    if (spec.nodes !== undefined && !(Number.isInteger(spec.nodes) && spec.nodes >= 1)) {
      throw kernelError("VMSCN5011", `host "${spec.name}" needs a whole number of nodes, at least 1 (got ${spec.nodes})`);
    }
    const host = new Host(this.hosts.length, spec);
    this.hosts.push(host);
    this.hostByName.set(spec.name, host);
    return host;
  }

  host(name: string): Host {
    const h = this.hostByName.get(name);
    if (!h) throw kernelError("VMSCN5005", `there is no host "${name}"${hint(name, this.hostByName.keys())}`, { time: this.scheduler.now });
    return h;
  }

  hasHost(name: string): boolean {
    return this.hostByName.has(name);
  }

  world(name: string): World {
    const w = this.worldByName.get(name);
    if (!w) throw kernelError("VMSCN5005", `there is no world "${name}"${hint(name, this.worldByName.keys())}`, { time: this.scheduler.now });
    return w;
  }

  hasWorld(name: string): boolean {
    return this.worldByName.has(name);
  }

  /** VM worlds in creation order. */
  vms(): World[] {
    return this.worlds.filter((w) => w.kind === "vm");
  }

  /** `init` runs before the `created` signal, so handlers see a complete world (its memory, its slots). */
  createWorld(spec: WorldSpec, host: Host, init?: (w: World) => void): World {
    if (this.worldByName.has(spec.name)) {
      throw kernelError("VMSCN5006", `a world named "${spec.name}" already exists`, { time: this.scheduler.now });
    }
    if (!host.up) throw kernelError("VMSCN5011", `cannot place world "${spec.name}" on host "${host.name}": the host is down`, { time: this.scheduler.now });
    const w = new World(this.nextWorldId++, spec, host);
    this.worlds.push(w);
    this.worldByName.set(w.name, w);
    host.worlds.push(w);
    init?.(w);
    this.signals.created.emit(w);
    return w;
  }

  setState(w: World, to: WorldState, cause?: Cause): void {
    const from = w.state;
    if (from === to) return;
    if (!TRANSITIONS[from].includes(to)) {
      throw kernelError("VMSCN5004", `world "${w.name}" cannot go from ${from} to ${to}`, { time: this.scheduler.now, where: w.label });
    }
    if (from === "running") w.host.demand -= w.demand;
    if (to === "running") w.host.demand += w.demand;
    w.state = to;
    this.signals.stateChanged.emit(w, from, to, this.requested(cause));
  }

  setDemand(w: World, cores: number): void {
    if (w.state === "running") w.host.demand += cores - w.demand;
    w.demand = cores;
  }

  /**
   * Throttles the world's vCPUs as QEMU's cpu-throttle does (core/world/throttle.ts): each
   * period they sleep, then run 10 ms. On average the world gets (1 − fraction) of its CPU
   * share; its demand on the host is unchanged. 0 removes the throttle and ends a sleep at once.
   */
  setThrottle(w: World, fraction: number): void {
    if (!(fraction >= 0 && fraction <= 1)) throw kernelError("VMSCN5011", `throttle of world "${w.name}" must be between 0 and 1, not ${fraction}`, { time: this.scheduler.now, where: w.label });
    const from = w.throttle;
    if (from === fraction) return;
    w.throttle = fraction;
    w.sleeps.set(this.scheduler.now, fraction);
    this.signals.throttled.emit(w, from, fraction, this.requested(undefined));
  }

  /** When the world's vCPUs next run at or after `t` (≥ now): `t`, or the end of the throttle's sleep `t` falls in (Infinity under a throttle of 1). */
  throttleWake(w: World, t: number): number {
    return w.sleeps.wake(t);
  }

  /**
   * Claims a VM for an operation that moves or replaces its memory (a migration, a lazy
   * restore): one at a time, since neither can follow the other's changes. Throws VMSCN5011
   * naming the operation under way; returns the release (idempotent).
   */
  claim(w: World, what: string): () => void {
    const now = this.scheduler.now;
    const cur = w.operation;
    if (cur !== undefined) throw kernelError("VMSCN5011", `VM "${w.name}" is busy: ${cur.what} since ${formatTime(cur.since)}; ${what} must wait until it ends`, { time: now, where: w.label });
    const op = { what, since: now };
    w.operation = op;
    return () => {
      if (w.operation === op) w.operation = undefined;
    };
  }

  /**
   * Holds the world suspended for `who` (suspending it if it runs) until the returned release
   * (idempotent) is called. Holds nest: a world is resumed only by the last release, and only
   * if it was running when the first hold came (and `resume` is not false: a holder that
   * means to leave it suspended says so); meanwhile the `resume` verb refuses.
   */
  holdSuspended(w: World, who: string): (resume?: boolean) => void {
    if (w.suspendHolds.length === 0) w.resumeAfterHolds = w.state === "running";
    if (w.state === "running") this.setState(w, "suspended");
    w.suspendHolds.push(who);
    let held = true;
    return (resume = true) => {
      if (!held) return;
      held = false;
      w.suspendHolds.splice(w.suspendHolds.indexOf(who), 1);
      if (!resume) w.resumeAfterHolds = false;
      if (w.suspendHolds.length > 0 || !w.resumeAfterHolds) return;
      w.resumeAfterHolds = false;
      if (w.state === "suspended" && w.host.up) this.setState(w, "running");
    };
  }

  /** Places the world on another host (the plugins move memory; this moves the world). */
  move(w: World, to: Host, cause?: Cause): void {
    const from = w.host;
    if (from === to) return;
    if (!to.up) throw kernelError("VMSCN5011", `cannot move world "${w.name}" to host "${to.name}": the host is down`, { time: this.scheduler.now });
    removeFrom(from.worlds, w);
    to.worlds.push(w);
    if (w.state === "running") {
      from.demand -= w.demand;
      to.demand += w.demand;
    }
    w.host = to;
    this.signals.moved.emit(w, from, to, this.requested(cause));
  }

  /** Stops (if needed) and removes a world. */
  destroy(w: World, cause?: Cause): void {
    const why = this.requested(cause);
    if (w.state !== "stopped") this.setState(w, "stopped", why);
    removeFrom(w.host.worlds, w);
    removeFrom(this.worlds, w);
    this.worldByName.delete(w.name);
    this.signals.destroyed.emit(w, why);
  }

  setHostUp(h: Host, up: boolean, cause: Cause): void {
    if (h.up === up) return;
    h.up = up;
    this.signals.hostStateChanged.emit(h, up ? "down" : "up", up ? "up" : "down", cause);
  }

  /**
   * The share of its demand a running world gets: 1 while the host's CPUs cover the demand,
   * otherwise CPUs / demand for everyone (fair share, progress slows in proportion); times
   * (1 − throttle) for a throttled world.
   */
  cpuFactor(w: World): number {
    if (w.state !== "running") return 0;
    const h = w.host;
    const demand = h.demand + this.network.cpuLoad(h.name);
    const share = demand <= h.cpus ? 1 : h.cpus / demand;
    return w.throttle === 0 ? share : share * (1 - w.throttle);
  }
}

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

/** ` (did you mean "b"?)` when a known name is one edit or so away. */
export function hint(name: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(name.length / 3)) ? ` (did you mean "${best}"?)` : "";
}
