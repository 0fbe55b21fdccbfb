// Step 7: iterative pre-copy while the VM runs. With copied disks, the bulk phase first (every
// block once, disk.ts); then round 1 sends every page, each later round the pages the kernel's
// dirty log reports (the write-protection + modified-page bitmap, read and cleared at the start
// of each round); each round ends with the disk's dirty pass, then the convergence rule decides:
// another round, or the switch-over with the pages left. Auto-converge throttles a guest that
// dirties pages as fast as the rounds send them.
import type { Migration, RoundStat } from "./migration.js";
import { Pass } from "./batches.js";
import { XEN_MAX_ITERATIONS, afterRound, expectedDowntimeNs, nextThrottle, type ConvergeParams } from "./convergence.js";

/** Pre-copy is over: why (the rule that fired), and the pages left for the switch-over. */
export type Converged = (reason: string, left: Int32Array) => void;

/** Step 7's engine: rounds (this file: the threshold and xen rules) or QEMU's loop (qemu-precopy.ts). */
export interface PreCopyEngine {
  /** The guest's writes per dirtied page lately (XBZRLE's model of a delta). */
  readonly writesPerPage: number;
  /** Runs pre-copy until a rule fires; then `converged`. */
  run(converged: Converged): void;
  /** Pages still to send as pre-copy stands now. */
  pending(): number;
  /** A page sent before may now go as an XBZRLE delta (the stop-and-copy's too). */
  readonly deltas: boolean;
  /** The migration thread starts (before setup). */
  threadStarted(): void;
  /** migrate-start-postcopy: post-copy as soon as QEMU's loop allows (only the qemu engine has it). */
  requestPostcopy?(): void;
  /** QEMU's figures of the last 100 ms window and sync period (mbps, pages-per-second, dirty-pages-rate); null when the engine has no windows. */
  figures(): { mbps: number; pagesPerSecond: number; dirtyPagesRate: number } | null;
}

export class PreCopy implements PreCopyEngine {
  /** The last round's guest writes per dirtied page (XBZRLE's model of a delta). */
  writesPerPage = 1;
  private readonly conv: ConvergeParams;
  private converged!: Converged;
  // The current round: when it began, its disk pass's bytes, its throttle, the guest's writes then.
  private roundStart = 0;
  private diskRoundBytes = 0;
  private roundThrottle = 0;
  private writesMark = 0;

  constructor(private readonly m: Migration) {
    const o = m.o;
    this.conv = { rule: o.converge, threshold: o.threshold, maxRounds: o.maxRounds, downtimeLimitNs: o.downtimeLimitNs, pageBytes: m.wire.normal };
  }

  threadStarted(): void {}

  /** XBZRLE from the second round on, once the first bitmap sync is over. */
  get deltas(): boolean {
    return this.m.rounds.length >= 1;
  }

  figures(): null {
    return null;
  }

  /** The round's pages not sent yet and those dirtied since it began. */
  pending(): number {
    return this.m.pass.left + (this.m.log?.count ?? 0);
  }

  /** The disks' bulk phase, then rounds until a rule fires; then `converged`. */
  run(converged: Converged): void {
    const m = this.m;
    this.converged = converged;
    const rounds = (): void => {
      m.log = m.srcGuest.openLog("precopy-migration");
      m.protect.synced(null);
      this.startRound(null);
    };
    if (m.disk === null) rounds();
    else m.disk.bulk(rounds);
  }

  /** A round sends `list` (null: every page). */
  private startRound(list: Int32Array | null): void {
    const m = this.m;
    m.c.dirtySyncCount++;
    const pass = (m.pass = new Pass("round", list, m.pages, this.deltas));
    this.roundStart = m.k.scheduler.now;
    this.diskRoundBytes = 0;
    this.roundThrottle = m.throttle;
    this.writesMark = m.srcGuest.writes;
    m.batches.send(pass, () => this.roundDone());
  }

  /** The round's bytes over its time so far: its pages, and its disk pass once that ran. */
  private bandwidthNow(): number {
    const dt = this.m.k.scheduler.now - this.roundStart;
    return dt > 0 ? ((this.m.pass.bytes + this.diskRoundBytes) / dt) * 1e9 : 0;
  }

  /** The round's pages are sent: the disk's dirty pass ends it (disk.ts), then the convergence check. */
  private roundDone(): void {
    const disk = this.m.disk;
    if (disk === null) return this.endRound();
    disk.pass((bytes) => {
      this.diskRoundBytes = bytes;
      this.endRound();
    });
  }

  /** A round ends: another round, or switch over. */
  private endRound(): void {
    const m = this.m;
    const o = m.o;
    const now = m.k.scheduler.now;
    const log = m.log!;
    const pass = m.pass;
    const sent = pass.sent;
    const stat: RoundStat = { round: m.rounds.length + 1, pages: sent, dirtied: log.count, bytes: pass.bytes, startNs: this.roundStart, durationNs: now - this.roundStart, throttle: this.roundThrottle };
    m.rounds.push(stat);
    m.k.trace.span(`pre-copy round ${stat.round}`, "migration", { host: m.src.name, world: m.world.name }, stat.startNs, now, { pages: stat.pages, dirtied: stat.dirtied });
    const bw = this.bandwidthNow();
    const totalSent = m.rounds.reduce((s, r) => s + r.pages, 0);
    // Auto-converge: the guest dirtied pages at least as fast as the round sent them (the
    // dirty log counts distinct pages, so a guest outpacing the link shows as dirtied ≥ sent).
    const canThrottle = o.autoConverge && m.throttle < o.throttleMax;
    this.writesPerPage = log.count > 0 ? Math.max(1, Math.round((m.srcGuest.writes - this.writesMark) / log.count)) : 1;
    let reason = afterRound(this.conv, { round: stat.round, sent, dirty: log.count, totalSent, pages: m.pages, bandwidth: bw, throttling: canThrottle, deferred: m.deferral.pages > 0 });
    // Memory's rule alone does not end pre-copy while more disk blocks are dirty than
    // `disk-threshold`; the round limits still do (the rule that fired hid them).
    if (reason && m.disk !== null && !m.disk.allows(reason)) {
      reason = stat.round >= o.maxRounds ? "max-rounds" : o.converge === "xen" && stat.round >= XEN_MAX_ITERATIONS ? "max-iterations" : null;
    }
    if (!reason && canThrottle && sent > 0 && log.count >= sent) m.setThrottle(nextThrottle(m.throttle, o.throttleInitial, o.throttleIncrement, o.throttleMax));
    m.c.dirtySyncCount++;
    const dirty = log.readAndClear();
    m.protect.synced(dirty);
    const next = pass.left > 0 || m.deferral.pages > 0 ? union(pass.list, pass.cursor, pass.n, dirty, m.pages, m.deferral.requeue()) : dirty;
    m.expectedDowntimeNs = expectedDowntimeNs(next.length, m.wire.normal, bw);
    if (reason) return this.converged(reason, next);
    m.c.dirtySyncCount--; // the sync above is the next round's
    this.startRound(next);
  }
}

/** The pages of `list[from..to)` (or of the range when list is null) together with `dirty` (and `extra`), ascending. */
function union(list: Int32Array | null, from: number, to: number, dirty: Int32Array, pages: number, extra: Int32Array | null = null): Int32Array {
  const mark = new Uint8Array(pages);
  for (let i = from; i < to; i++) mark[list ? list[i]! : i] = 1;
  for (let i = 0; i < dirty.length; i++) mark[dirty[i]!] = 1;
  if (extra) for (let i = 0; i < extra.length; i++) mark[extra[i]!] = 1;
  let n = 0;
  for (let p = 0; p < pages; p++) n += mark[p]!;
  const out = new Int32Array(n);
  let j = 0;
  for (let p = 0; p < pages; p++) if (mark[p]) out[j++] = p;
  return out;
}
