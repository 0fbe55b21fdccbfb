// Steps 5, 6, 8-11: the VM is suspended (held so: nobody may resume it on the source, where its
// writes would be lost); the disks' IOs drain and their dirty blocks go now or stay absent; the
// pages left are sent now (stop-and-copy) or left to be paged in after resume; the non-memory
// state (devices, vCPU registers, the list of pages an extension left behind) crosses; the
// destination VM restores it at its next try (step 3A), and the VM resumes on the destination's
// page map, its disks re-mapped or on their copies, its MAC with it.
import { PageState, STATE_MASK, kernelError } from "../../core/api.js";
import { Pass } from "./batches.js";
import type { Migration } from "./migration.js";

export class SwitchOver {
  /** After the resume: whether the destination still needs the source (pages or blocks left). */
  private resumed!: (needed: boolean) => void;

  constructor(private readonly m: Migration) {}

  /** Step 5: suspend; then the rest (`left`; null with pure demand paging: every page). */
  run(reason: string, left: Int32Array | null, resumed: (needed: boolean) => void): void {
    const m = this.m;
    this.resumed = resumed;
    m.switchReason = reason;
    m.suspendAt = m.k.scheduler.now;
    m.holdSuspended();
    m.enter("switch-over");
    if (m.o.liftCapAtSwitchOver) m.net.liftCap();
    m.log?.close();
    m.log = null;
    if (m.disk === null) return this.leaveMemory(left);
    // The disks first: the guest's IOs drain, then the dirty blocks go now (stop-and-copy)
    // or stay absent on the destination until fetched after resume.
    m.disk.switchOver(m.o.stopAndCopy, () => this.leaveMemory(left));
  }

  /** The pages left at switch-over: sent now, or fetched after resume (deferred ones are left behind instead). */
  private leaveMemory(left: Int32Array | null): void {
    const m = this.m;
    const peek = (p: number): number => m.k.memory.peek(m.srcGuest, p);
    if (left === null) {
      // Pure demand paging: no page was pre-copied; every page is absent on the destination.
      m.remainingPost = m.pages - m.deferral.deferAll(null, m.pages, peek);
      return this.sendDeviceState();
    }
    if (m.o.stopAndCopy && m.postcopyBitmap === null) {
      m.enter("stop-and-copy");
      m.pass = new Pass("stop-and-copy", left, m.pages, m.precopy.deltas);
      return m.batches.send(m.pass, () => this.sendDeviceState());
    }
    // The destination's copies of these pages are stale: they must be fetched again.
    const deferred = m.deferral.deferAll(left, left.length, peek);
    for (let i = 0; i < left.length; i++) if (!m.deferral.has(left[i]!)) m.k.memory.setAbsent(m.dst, left[i]!, PageState.AbsentFetch);
    m.remainingPost = left.length - deferred;
    this.sendDeviceState();
  }

  /** Steps 6, 8, 9: the non-memory state crosses while the VM is suspended, with the list of deferred pages. */
  private sendDeviceState(): void {
    const m = this.m;
    m.enter("device-state");
    const device = m.k.vmInfo(m.world)?.deviceStateBytes ?? 0;
    m.c.deviceBytes = device;
    const d = m.deferral;
    d.listBytes = d.pages > 0 ? (m.hooks.switchOverBytes?.(d.pages) ?? 0) : 0;
    m.net.send(device + d.listBytes + m.discardBytes, "source", `migrate ${m.world.name} device state`, () => m.setup.restore(() => this.resume()));
  }

  /** Steps 10, 11: the VM runs on the destination's page map; disks are re-mapped, the MAC moves with it. */
  private resume(): void {
    const m = this.m;
    const k = m.k;
    if (m.deferral.pages > 0) this.handOverDeferred();
    if (k.config.checkInvariants) this.checkCopy();
    // Copied disks: the VM now uses the new files (their missing blocks fetched from now on).
    m.disk?.resume(m.o.background);
    // The VM's access counters carry over, so its report counts its whole life, not just the destination's part.
    m.dst.reads += m.srcGuest.reads;
    m.dst.writes += m.srcGuest.writes;
    m.dst.faults += m.srcGuest.faults;
    m.dst.cowBreaks += m.srcGuest.cowBreaks;
    m.world.memory = m.dst;
    k.cluster.move(m.world, m.dest);
    const needed = m.remainingPost > 0 || (m.disk?.pending ?? 0) > 0;
    if (needed) m.postcopy.prepare();
    m.outcome.unthrottle();
    m.releaseSuspended();
    m.resumeAt = k.scheduler.now;
    k.trace.span("downtime", "migration", { host: m.dest.name, world: m.world.name }, m.suspendAt!, m.resumeAt, { reason: m.switchReason });
    // The source stays needed while pages or blocks are left there: its sender serves them.
    k.cluster.setState(m.sender, needed ? "running" : "stopped", k.cause("switched-over"));
    this.resumed(needed);
  }

  /** The extension maps the pages left behind (remotely, say); none may stay absent. */
  private handOverDeferred(): void {
    const m = this.m;
    const list = m.deferral.list();
    m.hooks.beforeResume?.(m, list);
    for (let i = 0; i < list.length; i++) {
      if ((m.dst.meta[list[i]!]! & STATE_MASK) === PageState.AbsentFetch) {
        throw kernelError("VMSCN5014", `migration of "${m.world.name}": deferred page ${list[i]} was not mapped on "${m.dest.name}" before resume`, { time: m.k.scheduler.now, where: m.world.label });
      }
    }
  }

  /** With --check-invariants: every page the destination holds equals the source's at switch-over. */
  private checkCopy(): void {
    const m = this.m;
    const mem = m.k.memory;
    for (let p = 0; p < m.pages; p++) {
      if ((m.dst.meta[p]! & STATE_MASK) === PageState.AbsentFetch) continue;
      if (mem.peek(m.dst, p) !== mem.peek(m.srcGuest, p)) {
        throw kernelError("VMSCN5014", `migration of "${m.world.name}": page ${p} on "${m.dest.name}" differs from the source's at switch-over`, { time: m.k.scheduler.now, where: m.world.label });
      }
    }
    const bad = m.disk?.mismatch();
    if (bad) throw kernelError("VMSCN5014", `migration of "${m.world.name}": ${bad}`, { time: m.k.scheduler.now, where: m.world.label });
  }
}
