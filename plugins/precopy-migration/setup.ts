// Steps 1-4 and 3A: the initiator's request reaches the destination daemon (one way), which
// creates the destination VM in `create-time` — a page map on the destination host with every
// page absent until it arrives (built with the migration) — and the daemon's "ready" comes back
// (one way). Then the migration thread starts and sets up (`setup-time`: QEMU's
// qemu_savevm_state_setup — bitmaps, dirty logging started, the first sync — the time QEMU
// reports as setup-time; the connection before it counts in total-time only). From its
// creation on, the destination VM waits for state (step 3A): it asks its kernel every
// `retry-interval` and restores at its first try after the state arrived.
import { PAGE_SIZE } from "../../core/api.js";
import type { Migration } from "./migration.js";

/**
 * QEMU's setup-time, modelled: 9 ms + 225 ms per GiB of guest memory, the line through our
 * measurements of QEMU 7.2 under TCG with a halted guest, whose vCPU does not contend with the
 * migration thread for the host's cores (docs/research/qemu-7.2-reference: 65 ms at 256 MiB, the
 * median of the 6 idle and fill runs; 234 ms at 1 GiB, the mean of 3). QEMU sets no such cost;
 * KVM's setup is far shorter, so a scenario about KVM should give `setup-time`.
 */
export function qemuSetupNs(pages: number): number {
  return Math.round(9e6 + (225e6 * pages * PAGE_SIZE) / 2 ** 30);
}

export class Setup {
  /** Step 3A: when the destination VM began waiting for state. */
  private waitingSince = 0;

  constructor(private readonly m: Migration) {}

  /** Steps 1-4; then the sender starts, the disks' target files and logs are made, and `then` runs. */
  run(then: () => void): void {
    const m = this.m;
    const k = m.k;
    const oneWay = k.network.route(m.src.name, m.dest.name).latency;
    this.waitingSince = k.scheduler.now + oneWay + m.o.createTimeNs;
    k.after(2 * oneWay + m.o.createTimeNs, () => {
      if (m.done) return;
      m.threadStartAt = k.scheduler.now;
      m.precopy.threadStarted();
      const setupNs = m.o.setupTimeNs ?? (m.o.converge === "qemu" ? qemuSetupNs(m.pages) : 0);
      if (setupNs === 0) return this.active(then);
      k.after(setupNs, () => {
        if (!m.done) this.active(then);
      }, "migration setup");
    }, "migration setup");
  }

  /** Setup is over: the state is active and the sender runs. */
  private active(then: () => void): void {
    const m = this.m;
    const k = m.k;
    m.setupEndAt = k.scheduler.now;
    m.enter("precopy");
    k.cluster.setState(m.sender, "running");
    // Disk step 1: the target files and the dirty-block logs (false: the migration failed).
    if (m.disk !== null && !m.disk.start()) return;
    then();
  }

  /** Step 3A, once the state has arrived: the destination VM restores at its next try. */
  restore(then: () => void): void {
    const m = this.m;
    const k = m.k;
    const every = m.o.retryIntervalNs;
    if (every === 0) return then();
    const tries = Math.max(1, Math.ceil((k.scheduler.now - this.waitingSince) / every));
    m.retries = tries - 1;
    k.after(this.waitingSince + tries * every - k.scheduler.now, () => {
      if (!m.done) then();
    }, "migration restore retry");
  }
}
