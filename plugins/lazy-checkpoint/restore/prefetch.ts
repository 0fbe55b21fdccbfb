// Background restore threads (steps 502, 530-538, 730-738): each a helper world
// (`VM.checkpoint-restore#n.i`) that first loads what buffers hold, then reads the IO blocks no
// one fetched, in the part table's order (the first part first), and loads their blocks one by
// one, throttled while the guest's own disk IO is in flight. A thread that is killed is
// replaced by the others (and the vCPUs' faults).
import type { PluginContext, World } from "../../../core/api.js";
import type { Restore } from "./restore.js";

/** A background thread: working, idle until a read in flight lands, or stopped (done, failed or killed). */
export interface Thread {
  state: "running" | "idle" | "stopped";
  readonly world: World;
  /** How long its last read took (the throttle spaces the next one by it). */
  lastIoNs: number;
}

export class Prefetch {
  private readonly threads: Thread[] = [];
  /** Idle threads, in the order they went idle. */
  private readonly idle: Thread[] = [];
  /** How far in the part table the threads got. */
  private cursor = 0;
  private readonly k: PluginContext;

  constructor(private readonly r: Restore) {
    this.k = r.k;
  }

  /** Step 502: the background threads start. */
  launch(): void {
    const r = this.r;
    for (let i = 0; i < r.o.backgroundThreads; i++) {
      const w = this.k.systemWorld(`${r.world.name}.checkpoint-restore#${r.seq}.${i}`, r.world.host, r.world);
      this.k.cluster.setState(w, "running");
      this.threads.push({ state: "running", world: w, lastIoNs: 0 });
    }
  }

  /** Every thread goes to work. */
  run(): void {
    for (const t of this.threads) this.work(t);
  }

  /** Steps 530-538: load what a buffer holds, else fetch the next IO block no one fetched; none left: the thread ends. */
  work(t: Thread): void {
    const r = this.r;
    if (r.ended || t.state === "stopped") return;
    t.state = "running";
    const pending = r.pool.pending();
    if (pending) return r.pool.process(pending, t, () => this.work(t));
    const parts = r.maps!.parts;
    while (this.cursor < parts.length && r.ioState[parts[this.cursor]!] !== 0) this.cursor++;
    if (this.cursor >= parts.length) {
      // Nothing left to fetch; a read still under way may bring blocks to load.
      if (r.pool.busy()) {
        t.state = "idle";
        this.idle.push(t);
        return;
      }
      this.stop(t);
      r.checkDone();
      return;
    }
    const io = parts[this.cursor++]!;
    r.c.ioReadsBackground++;
    if (r.partOf[io] === 2 && r.backgroundSecondAt === undefined) r.backgroundSecondAt = this.k.scheduler.now;
    r.pool.fetch(io, t, []);
  }

  /** A read landed in a buffer: threads that had nothing to do look again. */
  kick(): void {
    const idle = this.idle.splice(0);
    for (const t of idle) this.work(t);
  }

  /** An IO block a thread took but did not read (it died waiting for a buffer) is fetched again. */
  putBack(io: number): void {
    this.cursor = Math.min(this.cursor, this.r.maps!.parts.indexOf(io));
  }

  /** A helper world stopped: if it was a thread's, the others (or the vCPUs' faults) load what it would have. */
  died(w: World): void {
    const t = this.threads.find((x) => x.world === w);
    if (!t || t.state === "stopped") return;
    t.state = "stopped";
    this.r.pool.unclaim();
    this.k.trace.instant("checkpoint restore thread died", "checkpoint", { world: w.name }, this.k.scheduler.now, {});
    for (const o of this.threads) if (o.state !== "stopped") this.work(o);
  }

  /** Step 504: every thread stops. */
  stopAll(): void {
    for (const t of this.threads) this.stop(t);
  }

  private stop(t: Thread): void {
    t.state = "stopped";
    const w = t.world;
    // The signal's cause names this plugin: the restore does not take it for a thread dying.
    if (this.k.cluster.hasWorld(w.name) && this.k.cluster.world(w.name) === w) this.k.cluster.destroy(w);
  }
}
