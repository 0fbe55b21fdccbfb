// Steps 1-4 and 3A: the initiator's request reaches the destination daemon (one way), which
// creates the destination VM in `create-time` — a page map on the destination host with every
// page absent until it arrives (built with the migration) — and the daemon's "ready" comes back
// (one way). From its creation on, the destination VM waits for state (step 3A): it asks its
// kernel every `retry-interval` and restores at its first try after the state arrived.
import type { Migration } from "./migration.js";

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
      m.setupEndAt = k.scheduler.now;
      m.enter("precopy");
      k.cluster.setState(m.sender, "running");
      // Disk step 1: the target files and the dirty-block logs (false: the migration failed).
      if (m.disk !== null && !m.disk.start()) return;
      then();
    }, "migration setup");
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
