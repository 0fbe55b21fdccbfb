// The report of launches: one entry per cloned VM (launch latency beside the cold launch,
// the capsule, the bytes sent, on-demand faults), and one per parent that a `clone` command
// fanned out from (time until all its workers ran). Times in ns, sizes in bytes.
import { PAGE_SIZE, type World } from "../../core/api.js";
import { digestHex, loadCost } from "./capsule.js";
import type { Clone } from "./clone.js";

/** The figures this plugin models rather than computes (README, "Capture and load costs"). */
export const MODELLED = ["capsule-bytes", "capture-time", "load-time"];

/** One request that launches workers: they all start from one capture. */
export class FanOut {
  readonly requestedAt: number;
  running = 0;
  failed = 0;
  allRunningAt: number | undefined;
  settledAt: number | undefined;

  constructor(
    now: number,
    readonly parent: World,
    readonly workers: number,
    private readonly onSettled: (f: FanOut) => void,
  ) {
    this.requestedAt = now;
  }

  ran(now: number): void {
    this.running++;
    if (this.running === this.workers) this.allRunningAt = now;
    this.check(now);
  }

  lost(now: number): void {
    this.failed++;
    this.check(now);
  }

  private check(now: number): void {
    if (this.settledAt === undefined && this.running + this.failed === this.workers) {
      this.settledAt = now;
      this.onSettled(this);
    }
  }

  report(): Record<string, unknown> {
    return {
      workers: this.workers,
      "requested-at": this.requestedAt,
      running: this.running,
      failed: this.failed,
      "all-running-time": this.allRunningAt === undefined ? null : this.allRunningAt - this.requestedAt,
    };
  }
}

export function cloneReport(c: Clone): Record<string, unknown> {
  const cap = c.capture;
  const latency = c.runningAt === undefined ? null : c.runningAt - c.requestedAt;
  const g = c.world.memory!;
  return {
    role: "clone",
    parent: c.parent.name,
    origin: c.origin,
    declared: c.declared,
    from: c.src.name,
    to: c.dest.name,
    status: c.status,
    ...(c.failure ? { failure: c.failure } : {}),
    state: c.world.state,
    "host-model": c.o.hostModel,
    memory: c.o.memory,
    background: c.o.background,
    "requested-at": c.requestedAt,
    "launch-latency": latency,
    "cold-launch": c.coldLaunchNs,
    speedup: latency !== null && latency > 0 && c.coldLaunchNs > 0 ? round3(c.coldLaunchNs / latency) : null,
    "capture-time": cap.cost.total,
    capture: { exit: cap.cost.exit, sync: cap.cost.sync, seal: cap.cost.seal, copy: cap.cost.copy },
    "load-time": loadCost(g.pages, c.o),
    "capsule-bytes": cap.layout.bytes,
    capsule: { "cpu-state": cap.layout.cpuState, "device-state": cap.layout.deviceState, "memory-bootstrap": cap.layout.memoryBootstrap },
    "bytes-sent": c.bytesSent,
    "pages-needed": c.pagesNeeded,
    "image-digest": c.capture.status === "sealed" ? digestHex(c.capture.digest) : null,
    "arrived-digest": digestHex(c.arrivedDigest),
    "pages-sent": c.c.pagesSent,
    "memory-home-time": c.memoryHomeAt === undefined ? null : c.memoryHomeAt - c.requestedAt,
    "depends-on-source": c.status === "fetching",
    ...(c.o.memory === "on-demand"
      ? { "on-demand": { faults: c.c.faults, requests: c.c.requests, "stall-time": c.c.stallNs, "background-pages": c.c.backgroundPages, "pages-left": c.pagesLeft } }
      : {}),
    frames: g.census().present,
    "memory-bytes": g.census().present * PAGE_SIZE,
    "cow-breaks": g.cowBreaks,
    // A clone holds its own copy of every page: nothing is shared with its parent.
    "frames-shared": 0,
    "memory-saved": 0,
    modelled: MODELLED,
  };
}

/** A VM's entry: its parent entry, or its clone entry with the parent's under `as-parent`. */
export function withParentRole(clone: Record<string, unknown> | undefined, parent: Record<string, unknown>): Record<string, unknown> {
  if (clone === undefined) return parent;
  const { role: _role, ...asParent } = parent;
  return { ...clone, "as-parent": asParent };
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
