// Scripted guest work under the vCPU throttle. An access, a hypercall or a trace record whose
// time falls in one of the throttle's sleeps (core/world/throttle.ts) happens when the sleep
// ends, or when the throttle changes or goes. Rate activities do not pass here: they take the
// throttle as its average, (1 − p) of their rate.
import type { EventHandle, Scheduler } from "../sim/scheduler.js";
import type { Cluster } from "../world/cluster.js";
import type { World } from "../world/world.js";
import type { ScriptedAccess } from "./spec.js";

/** Holds one VM's scripted work while its vCPUs sleep, and lets it through in arrival order. */
export class SleepGate {
  private held: { since: number; go: (heldNs: number) => void }[] = [];
  private timer: EventHandle | null = null;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly cluster: Cluster,
    private readonly world: World,
  ) {}

  /** Runs `go` now if the vCPUs run now, else once they wake; `go` is told how long it waited. */
  pass(go: (heldNs: number) => void): void {
    const now = this.scheduler.now;
    if (this.held.length === 0) {
      const wake = this.cluster.throttleWake(this.world, now);
      if (wake === now) return go(0);
      this.arm(wake);
    }
    this.held.push({ since: now, go });
  }

  /** A sleep ended or the throttle changed: what waits goes if the vCPUs run now. */
  release(): void {
    this.timer?.cancel();
    this.timer = null;
    if (this.held.length === 0) return;
    const now = this.scheduler.now;
    const wake = this.cluster.throttleWake(this.world, now);
    if (wake > now) return this.arm(wake);
    const go = this.held;
    this.held = [];
    for (const h of go) h.go(now - h.since);
  }

  private arm(wake: number): void {
    // Under a throttle of 1 the vCPUs wake only when the throttle changes (release()).
    if (wake !== Infinity) this.timer = this.scheduler.at(wake, () => this.release());
  }
}

/**
 * A trace replays one guest program in order. A record the throttle holds delays the records
 * after it by as long, as the program's own progress would be: the recorded spacing after a
 * held record is kept. Records arrive at their recorded times (so an unthrottled replay runs
 * exactly as scripted accesses do) and wait in `pending` while an earlier one is delayed.
 */
export class TraceReplay {
  private readonly pending: ScriptedAccess[] = [];
  /** How long the throttle has held the trace's records so far, in ns. */
  private delay = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly gate: SleepGate,
    records: readonly ScriptedAccess[],
    private readonly issue: (acc: ScriptedAccess) => void,
  ) {
    for (const r of records) {
      scheduler.at(r.at, () => {
        this.pending.push(r);
        if (this.pending.length === 1) this.next();
      });
    }
  }

  private next(): void {
    // A loop, not a recursion: many records may be due at one instant.
    while (this.pending.length > 0) {
      const r = this.pending[0]!;
      const due = r.at + this.delay;
      if (due > this.scheduler.now) {
        this.scheduler.at(due, () => this.next());
        return;
      }
      let inline = true;
      let passed = false;
      this.gate.pass((held) => {
        this.delay += held;
        this.pending.shift();
        this.issue(r);
        passed = true;
        if (!inline) this.next();
      });
      inline = false;
      if (!passed) return; // held: the gate calls back when the vCPUs wake
    }
  }
}
