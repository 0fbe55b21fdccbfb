// How a migration ends. Completed: the last page (and disk block) has left the source, which
// frees the VM's frames. Failed before the resume: nothing moved for good, so the migration is
// aborted — transfers cancelled, the destination's copy dropped — and the VM keeps (or goes
// back to) running on the source. Failed after it: the document's destination VM "will die if
// the source machine crashes" while it still depends on it, so it is stopped; if the
// destination itself went, the VM died with it and the source's copy is freed.
import { formatTime, type Cause, type VmscnError, type World } from "../../core/api.js";
import type { Migration } from "./migration.js";

export class Outcome {
  /** The code of the failure: a transfer's (a link or host failure, memory), else a host or VM failure. */
  private code = "VMSCN5010";

  constructor(private readonly m: Migration) {}

  /** After resume: done once the last page and the last disk block have arrived. */
  maybeComplete(): void {
    const m = this.m;
    if (m.state === "postcopy" && m.remainingPost === 0 && (m.disk?.pending ?? 0) === 0) this.complete();
  }

  /** Clean-up: the last page has left the source, which frees the VM's frames. */
  complete(): void {
    const m = this.m;
    m.enter("completed");
    m.completedAt = m.k.scheduler.now;
    this.unthrottle();
    m.k.memory.dropGuest(m.srcGuest);
    this.stopWorlds();
    m.finished();
    m.call.done();
  }

  /** A transfer (pages, state, a disk block or IO) failed. */
  transferFailed(err: VmscnError): void {
    const m = this.m;
    if (m.done) return;
    this.code = err.code;
    if (m.state !== "postcopy") this.abort(`a transfer failed before switch-over (${err.message}); the VM keeps running on "${m.src.name}"`);
    else this.killDestination(`the destination could no longer fetch pages from "${m.src.name}" (${err.message})`);
  }

  /**
   * A world of this migration stopped, and not by this plugin (index.ts tells by the cause):
   * the VM (a crash, a stop, the OOM killer, another plugin), or a helper — its host crashed
   * (cause "crash") or it was killed ("kill"); either way that end of the migration is gone.
   * (The sentences say the host went down for a kill too, as they always have.)
   */
  worldStopped(w: World, cause?: Cause): void {
    const m = this.m;
    if (m.done) return;
    const at = formatTime(m.k.scheduler.now);
    const before = m.state !== "postcopy";
    if (w === m.world) {
      const why = w.failure ? ` (${w.failure})` : "";
      if (before) this.abort(`VM "${w.name}" stopped on "${m.src.name}" at ${at} before switch-over${why}`);
      else this.finishFailed(`VM "${w.name}" stopped on "${m.dest.name}" at ${at}${why}`);
    } else if (w === m.sender) this.sourceLost(at, before);
    else if ((w === m.daemon || w === m.pager) && !before && cause?.reason === "kill") this.helperKilled(w, at);
    else if (w === m.daemon || w === m.pager) this.destinationLost(at, before);
  }

  /**
   * After the resume, a helper on the destination killed while its host runs on: the VM there
   * still misses pages nobody will bring, so it is stopped (README, Failures) — it must not run
   * on with pages absent.
   */
  private helperKilled(w: World, at: string): void {
    const m = this.m;
    const blocks = m.disk?.pending ? ` and ${m.disk.describePending()}` : "";
    this.killDestination(`"${w.name}" on "${m.dest.name}" was killed at ${at} while the destination still depended on "${m.src.name}" for ${m.remainingPost} pages${blocks}`);
  }

  /** The source's end (the sender) is gone. */
  private sourceLost(at: string, before: boolean): void {
    const m = this.m;
    if (before) return this.abort(`host "${m.src.name}" went down at ${at} before switch-over`);
    const blocks = m.disk?.pending ? ` and ${m.disk.describePending()}` : "";
    this.killDestination(`host "${m.src.name}" crashed at ${at} while the destination still depended on it for ${m.remainingPost} pages${blocks}`);
  }

  /** The destination's end (the daemon, the background pager) is gone. */
  private destinationLost(at: string, before: boolean): void {
    const m = this.m;
    if (before) this.abort(`host "${m.dest.name}" went down at ${at} before switch-over; the VM keeps running on "${m.src.name}"`);
    else this.finishFailed(`host "${m.dest.name}" went down at ${at}`);
  }

  /** Before the resume: nothing is lost, the VM stays (or goes back to running) on the source. */
  private abort(reason: string): void {
    this.undo();
    this.fail(reason);
  }

  /**
   * QEMU's migrate_cancel, before the VM runs on the destination: what is on the wire is
   * cancelled, the destination's copy dropped, the throttle removed, and the VM runs on (or,
   * stopped for the switch-over, runs again) on the source. The state is `cancelled`.
   */
  cancel(): void {
    const m = this.m;
    this.undo();
    m.enter("cancelled");
    const at = (m.completedAt = m.k.scheduler.now);
    this.unthrottle();
    this.stopWorlds();
    m.k.trace.instant("migration cancelled", "migration", { world: m.world.name }, at);
    m.finished();
    m.call.done({ failed: `migration of "${m.world.name}" to "${m.dest.name}" was cancelled at ${formatTime(at)} (migrate-cancel); the VM runs on "${m.src.name}"` });
  }

  /** Everything a migration did before the resume, undone: the VM keeps its source copy. */
  private undo(): void {
    const m = this.m;
    m.net.cancel();
    m.log?.close();
    m.log = null;
    // The partial copies of the disks are removed; the VM keeps its own.
    m.disk?.abort();
    m.k.memory.dropGuest(m.dst);
    m.releaseSuspended();
  }

  /** The document: the destination VM dies if the source goes while it still depends on it. */
  private killDestination(reason: string): void {
    const m = this.m;
    const k = m.k;
    m.net.cancel();
    // What, where and when, coded as the action's failure: "VMSCN5010 at 1.2 s: migration: ...".
    m.world.failure = `${this.code} at ${formatTime(k.scheduler.now)}: migration: ${reason}`;
    if (m.world.state !== "stopped") k.cluster.setState(m.world, "stopped", k.cause("source-lost"));
    k.memory.releaseAll(m.dst);
    // vCPUs parked on network page faults must not wait forever (they see the VM stopped).
    k.memory.wake(m.dst);
    m.postcopy.waiters.clear();
    // Guest disk IOs waiting for absent blocks fail too; the blocks will not come.
    m.disk?.kill(k.error(this.code, `migration of "${m.world.name}": ${reason}`));
    this.finishFailed(reason);
  }

  /** After the resume, the destination failed: the source's copy is freed. */
  private finishFailed(reason: string): void {
    const m = this.m;
    m.net.cancel();
    m.disk?.stop();
    m.k.memory.dropGuest(m.srcGuest);
    this.fail(reason);
  }

  private fail(reason: string): void {
    const m = this.m;
    m.releaseSuspended();
    m.enter("failed");
    m.failure = reason;
    const at = (m.completedAt = m.k.scheduler.now);
    this.unthrottle();
    this.stopWorlds();
    m.k.trace.instant("migration failed", "migration", { world: m.world.name }, at, { reason });
    m.finished();
    m.call.done({ failed: `${this.code} at ${formatTime(at)}: migration of "${m.world.name}" to "${m.dest.name}" failed: ${reason}` });
  }

  /**
   * The VM runs at full speed again: when the migration ends, and already when the VM resumes
   * on the destination — QEMU throttles only the source's vCPUs (cpu_throttle_set() on the
   * source; the destination's VM is never throttled).
   */
  unthrottle(): void {
    const m = this.m;
    if (m.throttle === 0) return;
    m.throttle = 0;
    m.k.cluster.setThrottle(m.world, 0);
  }

  private stopWorlds(): void {
    const k = this.m.k;
    for (const w of [this.m.sender, this.m.daemon, this.m.pager]) {
      if (w && k.cluster.hasWorld(w.name) && k.cluster.world(w.name) === w) k.cluster.destroy(w, k.cause("ended"));
    }
  }
}
