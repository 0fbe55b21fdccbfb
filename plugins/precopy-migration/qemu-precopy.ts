// Step 7 under `converge qemu`, as QEMU 7.2's migration thread runs it (migration/migration.c,
// migration/ram.c). There are no rounds: the sender scans the migration bitmap cyclically
// (ram-state.ts) and sends at link speed until the window's budget (the cap / 10, per 100 ms:
// qemu_file_rate_limit) is used up, then sleeps to the window's end (migration_rate_limit).
// The loop turns after each sleep, every 50 ms of sending (ram_save_iterate's MAX_WAIT) and
// whenever the bitmap runs empty; each turn:
// 1. re-estimates the bandwidth and the threshold once the window is 100 ms old
//    (migration_update_counters, rate-window.ts);
// 2. syncs the dirty bitmap if the dirty bytes left are below the threshold (ram_save_pending);
// 3. completes if nothing is left or what is left is below the threshold
//    (migration_iteration_run → migration_completion), else keeps sending.
// `dirty-sync-count` counts the sync at setup (ram_init_bitmaps), those of step 2 and the one at
// completion (ram_save_complete). A sync that closes a period of more than 1 s measures the dirty
// rate and may raise the auto-converge throttle (migration_bitmap_sync, auto-converge.ts). The
// round table has one row per sync period: what the scan sent and the guest dirtied in it.
// Batches stream (the next leaves as soon as the last left the sender); a turn happens between
// two, and the completion waits for what is on the wire to land, as a socket delivers in order.
import { PAGE_SIZE } from "../../core/api.js";
import type { Migration } from "./migration.js";
import type { PageSource } from "./batches.js";
import type { Converged, PreCopyEngine } from "./precopy.js";
import { RamState } from "./ram-state.js";
import { RateWindow } from "./rate-window.js";
import { AutoConverge } from "./auto-converge.js";

/** QEMU's MAX_WAIT: a ram_save_iterate call returns after 50 ms when the rate limit does not stop it first. */
export const MAX_WAIT_NS = 50_000_000;
/** QEMU's XFER_LIMIT_RATIO: the budget of a 100 ms window is the cap / 10. */
const XFER_LIMIT_RATIO = 10;
/** migration_bitmap_sync's period: the dirty rate and the throttle are evaluated at a sync more than 1 s after the last evaluation. */
const PERIOD_NS = 1_000_000_000;

/** The bitmap scan as the sender's page source. */
class Scan implements PageSource {
  readonly stage = "round" as const;
  bytes = 0;
  sent = 0;
  constructor(private readonly ram: RamState) {}
  get left(): number {
    return this.ram.dirty;
  }
  /** XBZRLE starts when the scan first wraps (find_dirty_block: "After the first round, enable XBZRLE"). */
  get delta(): boolean {
    return this.ram.wraps >= 1;
  }
  next(): number {
    return this.ram.next();
  }
}

export class QemuPreCopy implements PreCopyEngine {
  writesPerPage = 1;
  readonly ram: RamState;
  private readonly scan: Scan;
  private readonly ac: AutoConverge | null;
  /** rate_limit_max: bytes a window may put on the channel (Infinity: no cap). */
  private readonly budget: number;
  private win: RateWindow | null = null;
  /** The loop has not turned yet: its first turn checks before any estimate (the estimate ends a turn). */
  private first = true;
  /** migrate-start-postcopy was asked for (s->start_postcopy). */
  private postcopyRequested = false;
  private nextTurnAt = 0;
  private converged!: Converged;
  // The sync period (time_last_bitmap_sync, num_dirty_pages_period, bytes_xfer_prev).
  private periodStart = 0;
  private periodDirtied = 0;
  private periodSent0 = 0;
  /** QEMU's dirty-pages-rate (pages/s) of the last period; 0 until one closed. */
  dirtyPagesRate = 0;
  /** ram_counters.remaining: the bitmap's dirty bytes at the last sync. */
  private remainingAtSync = 0;
  // The round table's open row: since the last sync.
  private rowStart = 0;
  private rowSent = 0;
  private rowBytes = 0;
  private rowThrottle = 0;
  private writesMark = 0;

  constructor(private readonly m: Migration) {
    this.ram = new RamState(m.pages);
    this.scan = new Scan(this.ram);
    const o = m.o;
    this.budget = o.bandwidth !== undefined ? o.bandwidth / XFER_LIMIT_RATIO : Infinity;
    const pct = (f: number): number => Math.round(f * 100);
    this.ac = o.autoConverge ? new AutoConverge({ initial: pct(o.throttleInitial), increment: pct(o.throttleIncrement), max: pct(o.throttleMax), triggerThreshold: pct(o.throttleTriggerThreshold), tailslow: o.throttleTailslow }) : null;
  }

  /** The migration thread starts, before setup: the first bandwidth window opens (update_iteration_initial_status). */
  threadStarted(): void {
    const m = this.m;
    this.win = new RateWindow(m.k.scheduler.now, m.net.bytesOnWire(), pagesSent(m), m.o.downtimeLimitNs / 1e6);
    m.expectedDowntimeNs = m.o.downtimeLimitNs;
  }

  figures(): { mbps: number; pagesPerSecond: number; dirtyPagesRate: number } {
    return { mbps: this.win?.mbps ?? 0, pagesPerSecond: this.win?.pagesPerSecond ?? 0, dirtyPagesRate: this.dirtyPagesRate };
  }

  /** XBZRLE once the scan first wrapped (find_dirty_block). */
  get deltas(): boolean {
    return this.ram.wraps >= 1;
  }

  /** Dirty pages of the bitmap (QEMU's ram.remaining). */
  pending(): number {
    return this.ram.dirty;
  }

  /** After setup: the bitmap is all ones and the log started, the setup's sync counted (ram_init_bitmaps); the disks' bulk; then the loop. */
  run(converged: Converged): void {
    const m = this.m;
    this.converged = converged;
    m.log = m.srcGuest.openLog("precopy-migration");
    this.counted();
    m.protect.synced(null);
    this.periodStart = m.k.scheduler.now;
    this.periodSent0 = m.c.transferred;
    this.openRow();
    if (this.win === null) this.threadStarted();
    const loop = (): void => {
      this.nextTurnAt = m.k.scheduler.now;
      this.iterate();
    };
    if (m.disk === null) loop();
    else m.disk.bulk(loop);
  }

  /** ram_save_iterate, call after call: the scan's pages streamed; a turn when one is due or the bitmap is empty; a sleep when the budget is used up. */
  private iterate(): void {
    this.m.batches.stream(this.scan, (empty) => this.beforeBatch(empty), () => this.room());
  }

  /** Bytes the window's budget still allows before it is exceeded (the page that exceeds it still goes). */
  private room(): number {
    return this.budget === Infinity ? Infinity : Math.max(0, this.budget - this.win!.used(this.m.net.bytesOnWire()));
  }

  private beforeBatch(empty: boolean): boolean {
    const m = this.m;
    const now = m.k.scheduler.now;
    if (empty || now >= this.nextTurnAt) return this.turn();
    // qemu_file_rate_limit: the budget is exceeded — sleep to the window's end, then turn.
    if (this.budget !== Infinity && this.win!.used(m.net.bytesOnWire()) > this.budget) {
      m.k.after(Math.max(0, this.win!.end - now), () => {
        if (!m.done && !this.turn()) this.iterate();
      }, "migration rate limit");
      return true;
    }
    return false;
  }

  /** One turn of migration_thread's loop; true when it took the migration elsewhere (completion, or a disk pass it resumes from). */
  private turn(): boolean {
    const m = this.m;
    const now = m.k.scheduler.now;
    this.nextTurnAt = now + MAX_WAIT_NS;
    const win = this.win!;
    // migration_rate_limit ends each turn with the estimate: none before the first.
    if (!this.first && win.update(now, m.net.bytesOnWire(), pagesSent(m), this.remainingAtSync, this.dirtyPagesRate)) m.expectedDowntimeNs = win.expectedDowntimeMs * 1e6;
    this.first = false;
    if (this.ram.remainingBytes(PAGE_SIZE) >= win.threshold) return this.decide(false);
    // ram_save_pending: the dirty bytes left are below the threshold: sync. Copied disks
    // first send their dirty blocks (their dirty pass), as a round's end does.
    if (m.disk === null) {
      this.sync();
      return this.decide(false);
    }
    m.disk.pass(() => {
      this.sync();
      this.decide(true);
    });
    return true;
  }

  /** Complete, or go on (`resume`: the loop was left for a disk pass and is restarted). */
  private decide(resume: boolean): boolean {
    const m = this.m;
    const pending = this.ram.remainingBytes(PAGE_SIZE);
    const threshold = this.win!.threshold;
    let reason: string | null = null;
    if (pending === 0) reason = threshold > 0 ? "downtime-limit" : "all-sent";
    else if (pending < threshold) reason = "downtime-limit";
    else if (m.rounds.length >= m.o.maxRounds) reason = "max-rounds";
    if (reason !== null && m.disk !== null && !m.disk.allows(reason)) {
      reason = null;
      // Memory is done but the disks are not: their next dirty pass, then this turn again.
      if (this.ram.dirty === 0) {
        m.disk.pass(() => {
          this.sync();
          this.decide(true);
        });
        return true;
      }
    }
    // migration_iteration_run: more left than the threshold, and post-copy asked for: postcopy_start.
    if (reason === null && this.postcopyRequested && m.o.postcopyRam && (m.disk === null || m.disk.allows("postcopy"))) {
      m.batches.idle(() => {
        if (!m.done) this.postcopyStart();
      });
      return true;
    }
    if (reason !== null) {
      // What is on the wire lands first (a socket delivers in order); then the completion.
      const why = reason;
      m.batches.idle(() => {
        if (!m.done) this.complete(why);
      });
      return true;
    }
    if (resume) this.iterate();
    return false;
  }

  /** migration_completion → ram_save_complete: the final sync (the VM is stopped at this instant), then every dirty page goes. */
  private complete(reason: string): void {
    const m = this.m;
    this.sync();
    this.converged(reason, this.ram.drain());
  }

  requestPostcopy(): void {
    this.postcopyRequested = true;
  }

  /**
   * postcopy_start → ram_postcopy_send_discard_bitmap: the last sync (the VM is stopped at this
   * instant), the scan reset; the dirty pages, as runs, go to the destination as discard
   * commands with the device state; after the resume the source pushes them (postcopy-push.ts).
   */
  private postcopyStart(): void {
    const m = this.m;
    this.sync();
    const left = this.ram.list();
    m.postcopyBitmap = this.ram;
    m.discardBytes = discardBytes(left);
    this.converged("postcopy", left);
  }

  /** migration_bitmap_sync: the kernel's log into the bitmap; a period of more than 1 s measures the dirty rate and may throttle. */
  private sync(): void {
    const m = this.m;
    const now = m.k.scheduler.now;
    this.counted();
    const reported = m.log!.readAndClear();
    const added = this.ram.merge(reported) + this.requeue();
    m.protect.synced(reported);
    this.periodDirtied += added;
    this.remainingAtSync = this.ram.remainingBytes(PAGE_SIZE);
    this.closeRow(reported.length);
    if (now > this.periodStart + PERIOD_NS) {
      if (this.ac !== null) {
        const pct = this.ac.evaluate(Math.round(m.throttle * 100), m.c.transferred - this.periodSent0, this.periodDirtied * PAGE_SIZE);
        if (pct !== null) m.setThrottle(pct / 100);
      }
      // migration_update_rates: integer pages per second, over the period's whole ms; XBZRLE's
      // rates over the pages the sender wrote in the period (unchanged ones are not written).
      this.dirtyPagesRate = Math.floor((this.periodDirtied * 1000) / Math.floor((now - this.periodStart) / 1e6));
      const cache = m.coder?.coder.cache;
      if (cache) cache.closePeriod(this.scan.sent - cache.stats.unchanged);
      this.periodStart = now;
      this.periodDirtied = 0;
      this.periodSent0 = m.c.transferred;
    }
    this.openRow();
  }

  /** A sync counted; with start-postcopy-after, post-copy is asked for once enough were. */
  private counted(): void {
    const m = this.m;
    m.c.dirtySyncCount++;
    if (m.o.startPostcopyAfter > 0 && m.c.dirtySyncCount >= m.o.startPostcopyAfter) this.postcopyRequested = true;
  }

  /** Pages an extension deferred that no longer qualify join the bitmap. */
  private requeue(): number {
    const back = this.m.deferral.requeue();
    return back === null ? 0 : this.ram.merge(back);
  }

  private openRow(): void {
    const m = this.m;
    this.rowStart = m.k.scheduler.now;
    this.rowSent = this.scan.sent;
    this.rowBytes = this.scan.bytes;
    this.rowThrottle = m.throttle;
    this.writesMark = m.srcGuest.writes;
  }

  /** The sync period that just ended, as a row of the round table. */
  private closeRow(dirtied: number): void {
    const m = this.m;
    const now = m.k.scheduler.now;
    const row = { round: m.rounds.length + 1, pages: this.scan.sent - this.rowSent, dirtied, bytes: this.scan.bytes - this.rowBytes, startNs: this.rowStart, durationNs: now - this.rowStart, throttle: this.rowThrottle };
    m.rounds.push(row);
    m.k.trace.span(`pre-copy sync period ${row.round}`, "migration", { host: m.src.name, world: m.world.name }, row.startNs, now, { pages: row.pages, dirtied });
    this.writesPerPage = dirtied > 0 ? Math.max(1, Math.round((m.srcGuest.writes - this.writesMark) / dirtied)) : 1;
  }
}

/** QEMU's MAX_DISCARDS_PER_COMMAND: ranges per MIG_CMD_POSTCOPY_RAM_DISCARD. */
const MAX_DISCARDS_PER_COMMAND = 12;
/** A discard command's bytes besides its ranges: command header (1 + 2 + 2), version, name length, "pc.ram", NUL. */
const DISCARD_COMMAND_BYTES = 5 + 1 + 1 + 6 + 1;

/** The discard commands for `pages` (ascending): one 16-byte range a run, 12 ranges a command (postcopy_send_discard_bm_ram). */
export function discardBytes(pages: Int32Array): number {
  let runs = 0;
  for (let i = 0; i < pages.length; i++) if (i === 0 || pages[i]! !== pages[i - 1]! + 1) runs++;
  return runs === 0 ? 0 : Math.ceil(runs / MAX_DISCARDS_PER_COMMAND) * DISCARD_COMMAND_BYTES + 16 * runs;
}

/** ram_get_total_transferred_pages(): every page sent, whatever its encoding. */
function pagesSent(m: Migration): number {
  const c = m.c;
  return c.duplicate + c.normal + c.compressed + c.xbzrle;
}
