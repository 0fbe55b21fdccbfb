// One VM's balloon: which guest pages it holds, how cold each page is, and what it did.
// Typed arrays only (a 64 GiB guest has 16.7 million pages): a byte per page says whether the
// balloon holds it, a 32-bit word per page when the page was last seen written.
import { PageState, STATE_MASK, Trap, type DirtyLog, type GuestMemory, type PluginContext, type World } from "vmscn";

export class VmBalloon {
  guest: GuestMemory | undefined;
  /** 1 where the balloon holds the page: the guest gave it away, the host took its frame. */
  held: Uint8Array = new Uint8Array(0);
  /** The host's scan number when each page was last seen written (0: not since tracking began). */
  lastWritten: Uint32Array = new Uint32Array(0);
  private log: DirtyLog | undefined;
  /** The candidates counted at a look, until the balloon changes. */
  private counted: { scans: number; byScan: Uint32Array } | undefined;

  /** Pages in the balloon now, and at most. */
  size = 0;
  peak = 0;
  /** Host frames the balloon gave back to the host, in all. */
  reclaimed = 0;
  /** Pages the host let the guest have back (deflation). */
  deflated = 0;
  /** Ballooned pages the guest touched, which left the balloon on the spot. */
  refaults = 0;
  /** Balloon size over time, for the chart: (time, pages) each time it changed. */
  readonly timeline: { t: number[]; size: number[] } = { t: [], size: [] };

  constructor(
    private readonly k: PluginContext,
    readonly world: World,
    /** Balloons by the page map they hold pages of, for the fault handler. */
    private readonly byGuest: Map<GuestMemory, VmBalloon>,
  ) {}

  /**
   * Starts tracking the VM's current page map: a dirty log tells which pages the guest writes.
   * A page map that changed under the balloon (the VM migrated) keeps the pages that arrived
   * empty in the balloon and lets the guest have back any that arrived with a frame.
   */
  bind(): void {
    const g = this.world.memory!;
    if (this.guest === g) return;
    this.log?.close();
    if (this.guest !== undefined) this.byGuest.delete(this.guest);
    this.byGuest.set(g, this);
    if (this.held.length !== g.pages) {
      this.held = new Uint8Array(g.pages);
      this.lastWritten = new Uint32Array(g.pages);
    } else {
      this.lastWritten.fill(0);
    }
    this.guest = g;
    this.counted = undefined;
    this.log = g.openLog("balloon");
    if (this.timeline.t.length === 0) {
      this.timeline.t.push(this.k.scheduler.now);
      this.timeline.size.push(0);
    }
    let left = 0;
    for (let p = 0; p < g.pages; p++) {
      if (this.held[p] === 0) continue;
      if ((g.meta[p]! & STATE_MASK) === PageState.Unbacked) this.k.memory.setTraps(g, p, Trap.AccessTrace);
      else {
        this.held[p] = 0;
        left++;
      }
    }
    if (left > 0) this.changed(-left, "deflated");
  }

  /** Releases everything (the VM left for a host without balloons, or was stopped). */
  unbind(): void {
    if (this.guest === undefined) return;
    this.deflate(this.size);
    this.log?.close();
    this.log = undefined;
    this.byGuest.delete(this.guest);
    this.guest = undefined;
  }

  /** Pages written since the last scan are the hottest: they get the scan's number. */
  age(scan: number): void {
    if (this.log === undefined || this.log.closed) return;
    const written = this.log.readAndClear();
    for (let i = 0; i < written.length; i++) this.lastWritten[written[i]!] = scan;
  }

  /**
   * Guest pages the balloon could take now, counted by when they were last written: present
   * pages with a private frame (taking a shared one frees nothing), not in the balloon.
   */
  private candidates(scans: number): Uint32Array {
    // One pass over the page map per look: room() counts, inflate() reuses the count.
    if (this.counted !== undefined && this.counted.scans === scans) return this.counted.byScan;
    const g = this.guest!;
    const refs = this.k.memory.machine(g.hostId).refs;
    const byScan = new Uint32Array(scans + 1);
    for (let p = 0; p < g.pages; p++) {
      if (this.held[p] === 0 && (g.meta[p]! & STATE_MASK) === PageState.Present && refs[g.frame[p]!] === 1) {
        byScan[this.lastWritten[p]!]!++;
      }
    }
    this.counted = { scans, byScan };
    return byScan;
  }

  /** How many pages the balloon could take (its cap and the candidates allow). */
  room(maxPages: number, scans: number): number {
    if (this.guest === undefined) return 0;
    const cap = Math.max(0, maxPages - this.size);
    if (cap === 0) return 0;
    let n = 0;
    for (const c of this.candidates(scans)) n += c;
    return Math.min(cap, n);
  }

  /**
   * Inflates by up to `n` pages, the coldest first (least recently written, then lowest page
   * number): the guest gives them up and the host frees their frames. Returns the pages taken.
   */
  inflate(n: number, scans: number): number {
    const g = this.guest;
    if (g === undefined || n <= 0) return 0;
    const byScan = this.candidates(scans);
    // The scan below which every candidate goes, and how many of that scan's pages go too.
    let cutoff = 0;
    let before = 0;
    while (cutoff <= scans && before + byScan[cutoff]! < n) before += byScan[cutoff++]!;
    const fromCutoff = n - before;
    const machine = this.k.memory.machine(g.hostId);
    const refs = machine.refs;
    const usedBefore = machine.used;
    let taken = 0;
    let atCutoff = 0;
    for (let p = 0; p < g.pages && taken < n; p++) {
      const m = g.meta[p]!;
      if (this.held[p] !== 0 || (m & STATE_MASK) !== PageState.Present || refs[g.frame[p]!] !== 1) continue;
      const s = this.lastWritten[p]!;
      if (s > cutoff) continue;
      if (s === cutoff) {
        if (atCutoff === fromCutoff) continue;
        atCutoff++;
      }
      this.k.memory.setAbsent(g, p, PageState.Unbacked);
      this.k.memory.setTraps(g, p, Trap.AccessTrace);
      this.held[p] = 1;
      taken++;
    }
    this.reclaimed += usedBefore - machine.used;
    this.changed(taken, "inflated");
    return taken;
  }

  /** Deflates by up to `n` pages, lowest page numbers first: they return to the guest, empty. */
  deflate(n: number): number {
    const g = this.guest;
    if (g === undefined || n <= 0) return 0;
    let given = 0;
    for (let p = 0; p < g.pages && given < n; p++) {
      if (this.held[p] === 0) continue;
      this.held[p] = 0;
      this.k.memory.clearTraps(g, p, Trap.AccessTrace);
      given++;
    }
    this.changed(-given, "deflated");
    return given;
  }

  /** The guest touched a page it had given up: it takes the page back (it reads as zeros). */
  refault(page: number): void {
    this.held[page] = 0;
    this.k.memory.clearTraps(this.guest!, page, Trap.AccessTrace);
    this.refaults++;
    this.changed(-1, "refault");
  }

  holds(page: number): boolean {
    return this.held[page] === 1;
  }

  private changed(delta: number, why: "inflated" | "deflated" | "refault"): void {
    if (delta === 0) return;
    this.counted = undefined;
    this.size += delta;
    if (why === "deflated") this.deflated -= delta;
    if (this.size > this.peak) this.peak = this.size;
    const now = this.k.scheduler.now;
    const t = this.timeline;
    // One point per instant: several changes at one time keep the last size.
    if (t.t.length > 0 && t.t[t.t.length - 1] === now) t.size[t.size.length - 1] = this.size;
    else {
      t.t.push(now);
      t.size.push(this.size);
    }
  }
}
