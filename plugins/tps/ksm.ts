// One host's transparent page sharing, after the document and Linux KSM (mm/ksm.c): the
// scanner (ksm_do_scan) visits guest pages a batch at a time; a page that is already in the
// stable tree (a shared frame with the same contents) is merged at once; otherwise its
// checksum must be unchanged since the previous full scan (else it is volatile), and it is
// looked up in the unstable tree of this scan: a match is compared in full and both pages are
// merged into one frame (a new stable node), no match inserts the page (cmp_and_merge_page).
// Merged pages are mapped copy-on-write; the kernel copies a shared page for a writer (a COW
// break) and the node loses that page.
//
// This file is the scanner and the unstable tree; the stable tree is stable.ts, the per-page
// items items.ts, the counters counters.ts, the tables' hashing table.ts.
import { PAGE_SIZE, PageState, STATE_MASK, type GuestMemory, type Host, type MachineMemory, type PluginContext, type Transfer, type World } from "../../core/api.js";
import type { KsmCounters } from "./api.js";
import { SavedSeries, ScanCounts } from "./counters.js";
import { Item, setItem, type Entry } from "./items.js";
import type { KsmSettings } from "./options.js";
import { StableTree } from "./stable.js";
import { KeyTable, checksum } from "./table.js";

/** Where a page is mapped: the host of its frame, the frame, its contents. */
interface Spot {
  host: number;
  frame: number;
  content: number;
}

/** Host CPU time the scanner spends per page (hash and lookup), modelled: its world's CPU demand. */
export const SCAN_NS_PER_PAGE = 1_000;

export class HostKsm {
  settings: KsmSettings;
  /** settings.scope is within-vm (cached: the scanner asks per page). */
  private withinVm = false;
  on = false;
  scanner: World | null = null;
  /** Why scanning stopped, if the host crashed. */
  stoppedBy: string | undefined;
  private timer: { cancel(): void } | null = null;
  private readonly machine: MachineMemory;
  // Scanned guests, in scan order, and the cursor.
  private readonly entries: Entry[] = [];
  private readonly byGuest = new Map<GuestMemory, Entry>();
  /** Entries by id (ids are small and never reused; a gone entry leaves a hole). */
  private readonly byId: (Entry | undefined)[] = [];
  private nextEntry = 1;
  private cursor = 0;
  private cursorPage = 0;
  private readonly counts = new ScanCounts();
  private readonly stable: StableTree;
  /** This scan's unshared pages by (contents, salt): KSM's unstable tree. */
  private readonly unstable = new KeyTable();
  private readonly compares = new Set<Transfer>();
  /** Reused by the unstable-tree lookup (no allocation per page). */
  private readonly spot: Spot = { host: 0, frame: 0, content: 0 };
  readonly savedSeries = new SavedSeries();

  constructor(
    private readonly k: PluginContext,
    readonly host: Host,
    settings: KsmSettings,
    /** Told when a page was re-mapped between frames of two hosts (host ids: where its frame was, where it is now). */
    private readonly remapped: (g: GuestMemory, page: number, fromHost: number, toHost: number) => void,
  ) {
    this.settings = settings;
    this.machine = k.memory.machine(host.id);
    this.stable = new StableTree(k, this.machine, this.counts.items, (id) => this.byId[id]);
  }

  // ---- on, off, worlds ---------------------------------------------------------------------

  start(settings: KsmSettings, seq: number): void {
    this.settings = settings;
    this.withinVm = settings.scope === "within-vm";
    this.stoppedBy = undefined;
    if (!this.on) {
      this.on = true;
      this.scanner = this.k.systemWorld(`ksmd.${this.host.name}#${seq}`, this.host);
      this.k.cluster.setState(this.scanner, "running");
      for (const w of this.host.worlds) this.addWorld(w);
      this.schedule(0);
    }
    this.k.cluster.setDemand(this.scanner!, Math.min(1, (settings.pagesToScan * SCAN_NS_PER_PAGE) / settings.sleepNs));
  }

  /** Scanning stops; merged pages stay merged (KSM's run = 0). */
  stop(): void {
    if (!this.on) return;
    this.on = false;
    this.timer?.cancel();
    this.timer = null;
    const s = this.scanner;
    this.scanner = null;
    if (s && this.k.cluster.hasWorld(s.name) && this.k.cluster.world(s.name) === s) this.k.cluster.destroy(s);
    this.sample(true);
  }

  /** The scanner world was killed: scanning stops as with `tps off` (its world is gone already). */
  killed(why: string): void {
    this.scanner = null;
    this.stop();
    this.stoppedBy = why;
  }

  /** The host crashed: its memory is gone, and with it every tree. */
  crashed(why: string): void {
    this.on = false;
    this.timer?.cancel();
    this.timer = null;
    this.scanner = null;
    this.stoppedBy = why;
    for (const t of [...this.compares]) t.cancel();
    this.compares.clear();
    for (const e of [...this.entries]) this.dropEntry(e);
    this.stable.clear();
    this.unstable.clear();
    this.sample(true);
  }

  /** A VM world placed on this host (created, or arrived): its pages join the scan. */
  addWorld(w: World): void {
    if (!this.on || w.kind !== "vm" || !w.memory || w.host !== this.host || this.byGuest.has(w.memory)) return;
    const g = w.memory;
    const e: Entry = { id: this.nextEntry++, world: w, guest: g, state: new Uint8Array(g.pages), sum: new Uint32Array(g.pages), node: new Int32Array(g.pages) };
    this.entries.push(e);
    this.byGuest.set(g, e);
    this.byId[e.id] = e;
  }

  /** A world left the host (or its page map was replaced): its pages leave the trees. */
  removeWorld(w: World): void {
    for (const e of this.entries) if (e.world === w) return this.dropEntry(e);
  }

  private dropEntry(e: Entry): void {
    const st = e.state;
    for (let p = 0; p < st.length; p++) {
      const s = st[p]!;
      if (s === Item.None) continue;
      if (s === Item.Stable) this.stable.remove(e, p);
      this.setState(e, p, Item.None);
    }
    const i = this.entries.indexOf(e);
    this.entries.splice(i, 1);
    if (i < this.cursor) this.cursor--;
    else if (i === this.cursor) this.cursorPage = 0;
    this.byGuest.delete(e.guest);
    this.byId[e.id] = undefined;
  }

  // ---- the scanner -------------------------------------------------------------------------

  private schedule(delay: number): void {
    this.timer = this.k.after(delay, () => {
      this.timer = null;
      this.scan(this.settings.pagesToScan);
      this.sample(false);
      this.schedule(this.settings.sleepNs);
    }, "tps scanner");
  }

  /** One batch: up to `budget` mapped pages; a batch ends early at the end of a full scan (as in KSM). */
  scan(budget: number): number {
    this.refreshEntries();
    let left = budget;
    while (left > 0 && this.entries.length > 0) {
      if (this.cursor >= this.entries.length) {
        this.endFullScan();
        break;
      }
      const e = this.entries[this.cursor]!;
      left = this.scanEntry(e, left);
      if (this.cursorPage >= e.guest.pages) {
        this.cursor++;
        this.cursorPage = 0;
        if (this.cursor >= this.entries.length) {
          this.endFullScan();
          break;
        }
      }
    }
    const done = budget - left;
    this.counts.pagesScanned += done;
    return done;
  }

  private endFullScan(): void {
    this.cursor = 0;
    this.cursorPage = 0;
    this.counts.fullScans++;
    // The unstable tree lives for one scan (its pages are not write-protected).
    this.unstable.clear();
  }

  /** Entries whose world moved, died or got another page map are dropped (and re-added if still here). */
  private refreshEntries(): void {
    for (const e of [...this.entries]) {
      const w = e.world;
      const exists = this.k.cluster.hasWorld(w.name) && this.k.cluster.world(w.name) === w;
      if (w.memory === e.guest && w.host === this.host && exists) continue;
      this.dropEntry(e);
      if (exists) this.addWorld(w);
    }
  }

  /** Scans pages of one guest from the cursor; returns the budget left. The hot loop. */
  private scanEntry(e: Entry, budget: number): number {
    const g = e.guest;
    const meta = g.meta;
    const frame = g.frame;
    const content = this.machine.content;
    const state = e.state;
    const node = e.node;
    const tree = this.stable;
    const nodeFrame = tree.frame;
    const nodeKey = tree.key;
    const nodeOpen = tree.open;
    let left = budget;
    let p = this.cursorPage;
    const end = g.pages;
    for (; p < end && left > 0; p++) {
      const m = meta[p]! & STATE_MASK;
      if (m === PageState.Present) {
        left--;
        const f = frame[p]!;
        const c = content[f]!;
        if (state[p] === Item.Stable) {
          const n = node[p]!;
          // Already merged and unchanged: nothing to do (KSM: "page already merged").
          if (nodeFrame[n] === f && nodeKey[n] === c) {
            if (nodeOpen[n] === 0) tree.rejoin(e, p, n);
            continue;
          }
          this.stable.remove(e, p);
        }
        this.visit(e, p, c, f, -1);
      } else if (m === PageState.Remote) {
        left--;
        const f = frame[p]!;
        const h = g.remoteHost![p]!;
        if (state[p] === Item.Stable) this.stable.remove(e, p);
        this.visit(e, p, this.k.memory.machine(h).content[f]!, f, h);
      } else if (state[p] !== Item.None && !(state[p] === Item.Zero && m === PageState.Unbacked)) {
        // Unmapped, or absent (restored later, fetched later): no longer a candidate.
        if (state[p] === Item.Stable) this.stable.remove(e, p);
        this.setState(e, p, Item.None);
      }
    }
    this.cursorPage = p;
    return left;
  }

  /**
   * A page that is not merged: stable tree, checksum, zero page, unstable tree. `remoteHost`
   * is the host of the page's frame when it is mapped remotely, else -1.
   */
  private visit(e: Entry, p: number, c: number, f: number, remoteHost: number): void {
    const s = this.settings;
    const st = e.state[p]!;
    if (st === Item.Pending) return;
    if (c === 0 && s.zeroPages === "keep") {
      this.setState(e, p, Item.None);
      return;
    }
    const salt = this.salt(e);
    const sum = checksum(c);
    const remote = remoteHost >= 0;
    // 1. The stable tree first, as KSM does: a page equal to a shared frame merges at once.
    if (!(c === 0 && s.zeroPages === "use-zero-pages")) {
      const n = this.stable.search(c, salt);
      if (n >= 0) {
        if (!remote) {
          this.stable.merge(n, e, p);
          return;
        }
        if (s.remotePages === "local") {
          this.compareRemote(e, p, remoteHost);
          return;
        }
      }
    }
    // 2. The page must be unchanged since the last scan (else it is volatile).
    if (st === Item.None || st === Item.Zero || e.sum[p] !== sum) {
      e.sum[p] = sum;
      this.setState(e, p, Item.Volatile);
      return;
    }
    // An unstable item of the last scan leaves it (the tree is rebuilt every scan).
    if (st === Item.Unstable) this.setState(e, p, Item.Volatile);
    // 3. The zero page.
    if (c === 0 && s.zeroPages === "use-zero-pages") {
      if (!remote) {
        this.k.memory.setAbsent(e.guest, p, PageState.Unbacked);
        this.setState(e, p, Item.Zero);
      }
      return;
    }
    // 4. The unstable tree.
    this.unstableStep(e, p, c, f, remoteHost, salt);
  }

  private unstableStep(e: Entry, p: number, c: number, f: number, remoteHost: number, salt: number): void {
    const slot = this.unstable.find(c, salt);
    if (slot < 0) {
      this.unstable.insert(c, salt, e.id, p);
      this.setState(e, p, Item.Unstable);
      return;
    }
    const te = this.entry(this.unstable.val(slot));
    const tp = this.unstable.val2(slot);
    const cand = te === undefined || te.state[tp] !== Item.Unstable ? null : this.where(te, tp, this.spot);
    // Compare in full: the candidate must still hold these contents.
    if (cand === null || cand.content !== c) {
      // A stale entry (its page changed, merged or went): this page takes its place.
      if (te !== undefined && te.state[tp] === Item.Unstable) this.setState(te, tp, Item.Volatile);
      this.unstable.set(slot, e.id, p);
      this.setState(e, p, Item.Unstable);
      return;
    }
    const remote = remoteHost >= 0;
    const candRemote = cand.host !== this.host.id;
    if (cand.frame === f && cand.host === (remote ? remoteHost : this.host.id)) {
      // Both already map one frame (a fork's pages): a local one becomes a stable node as is.
      if (remote) return;
      // (The tree entry stays: its page is in a node now, so the entry is stale.)
      this.setState(te!, tp, Item.Volatile);
      const n = this.stable.insert(f, c, salt, te!, tp);
      this.stable.append(n, te!, tp);
      this.stable.append(n, e, p);
      return;
    }
    if (!remote && !candRemote) {
      // Merge: this page maps the tree page's frame; its own frame is freed.
      this.setState(te!, tp, Item.Volatile);
      this.k.memory.share(te!.guest, tp, e.guest, p);
      const n = this.stable.insert(cand.frame, c, salt, te!, tp);
      this.stable.append(n, te!, tp);
      this.stable.append(n, e, p);
      return;
    }
    if (remote && candRemote) return; // neither is local: nothing to gain here
    if (this.settings.remotePages === "ignore") return;
    // Comparing a remote page in full means reading it over the network first.
    this.compareRemote(e, p, remote ? remoteHost : cand.host, { e: te!, p: tp, host: cand.host, frame: cand.frame });
  }

  /**
   * Reads the remote side of a candidate pair over the network (RDMA when both hosts have it),
   * then merges if nothing changed meanwhile: with the stable node for the contents, else with
   * `cand`. The page waits meanwhile (pending).
   */
  private compareRemote(e: Entry, p: number, remoteHost: number, cand?: { e: Entry; p: number; host: number; frame: number }): void {
    const from = this.k.cluster.hosts[remoteHost]!;
    const at = this.where(e, p)!;
    let tr: Transfer;
    try {
      tr = this.k.network.transfer({
        from: from.name,
        to: this.host.name,
        bytes: PAGE_SIZE,
        kind: from.rdma && this.host.rdma ? "rdma" : "tcp",
        initiator: "destination",
        label: `ksm compare ${e.guest.name} page ${p}`,
        onDone: () => this.compared(tr, e, p, at, cand),
        onFail: () => this.compared(tr, e, p, null, cand),
      });
    } catch {
      return; // no route to the remote frame's host: no comparison, no merge
    }
    this.setState(e, p, Item.Pending);
    this.compares.add(tr);
    this.counts.remoteCompares++;
  }

  private compared(tr: Transfer, e: Entry, p: number, before: { host: number; frame: number; content: number } | null, cand: { e: Entry; p: number; host: number; frame: number } | undefined): void {
    this.compares.delete(tr);
    if (this.byId[e.id] !== e || e.state[p] !== Item.Pending) return;
    this.setState(e, p, Item.Volatile);
    const at = this.where(e, p);
    // The read failed, the scanner stopped, or the page moved meanwhile: no merge.
    if (before === null || !this.on || at === null || at.host !== before.host || at.frame !== before.frame || at.content !== before.content) return;
    const c = at.content;
    const salt = this.salt(e);
    const n = this.stable.search(c, salt);
    const remote = at.host !== this.host.id;
    if (n >= 0) {
      // A node for these contents appeared meanwhile: a local page joins it; a remote one too
      // when remote pages move onto local frames.
      if (!remote) this.stable.merge(n, e, p);
      else if (this.settings.remotePages === "local") {
        this.stable.merge(n, e, p);
        this.counts.remoteMerged++;
        this.remapped(e.guest, p, at.host, this.host.id);
      }
      return;
    }
    if (cand === undefined || this.byId[cand.e.id] !== cand.e) return;
    const ct = cand.e.state[cand.p]!;
    const cat = this.where(cand.e, cand.p);
    if (ct === Item.Stable || ct === Item.Pending || cat === null || cat.host !== cand.host || cat.frame !== cand.frame || cat.content !== c) return;
    // (If the candidate is still in the unstable tree, its entry goes stale as it joins a node.)
    if (ct === Item.Unstable) this.setState(cand.e, cand.p, Item.Volatile);
    const [local, lp, far, fp] = remote ? [cand.e, cand.p, e, p] : [e, p, cand.e, cand.p];
    const farHost = remote ? at.host : cand.host;
    if (this.settings.remotePages === "local") {
      // The remotely mapped page moves onto the local frame (the document's first choice).
      this.k.memory.share(local.guest, lp, far.guest, fp);
      const node = this.stable.insert(local.guest.frame[lp]!, c, salt, local, lp);
      this.stable.append(node, local, lp);
      this.stable.append(node, far, fp);
      this.counts.remoteMerged++;
      this.remapped(far.guest, fp, farHost, this.host.id);
    } else if (this.settings.remotePages === "remote") {
      // The local page moves onto the remote frame ("alternatively the mapping for VM3 may be altered").
      this.k.memory.share(far.guest, fp, local.guest, lp);
      this.counts.mappedRemote++;
      this.remapped(local.guest, lp, this.host.id, farHost);
    }
  }

  /** Where page p of an entry's guest is mapped now (host, frame, content), or null if nowhere; fills `out` when given. */
  private where(e: Entry, p: number, out: Spot = { host: 0, frame: 0, content: 0 }): Spot | null {
    const g = e.guest;
    const m = g.meta[p]! & STATE_MASK;
    if (m === PageState.Present) {
      out.host = g.hostId;
      out.frame = g.frame[p]!;
      out.content = this.machine.content[out.frame]!;
      return out;
    }
    if (m === PageState.Remote) {
      out.host = g.remoteHost![p]!;
      out.frame = g.frame[p]!;
      out.content = this.k.memory.machine(out.host).content[out.frame]!;
      return out;
    }
    return null;
  }

  private entry(id: number): Entry | undefined {
    return this.byId[id];
  }

  private salt(e: Entry): number {
    return this.withinVm ? e.world.id + 1 : 0;
  }

  /** The kernel copied a shared page for a writer: a merged page leaves its node. */
  cowBreak(g: GuestMemory, page: number, oldFrame: number): void {
    const e = this.byGuest.get(g);
    if (e === undefined || e.state[page] !== Item.Stable || this.stable.frame[e.node[page]!] !== oldFrame) return;
    this.counts.cowBreaks++;
    this.stable.remove(e, page);
    e.sum[page] = 0;
  }

  private setState(e: Entry, p: number, s: number): void {
    setItem(this.counts.items, e, p, s);
  }

  // ---- figures -------------------------------------------------------------------------------

  counters(): KsmCounters {
    return this.counts.counters(this.stable.live);
  }

  /** Appends (now, memory saved) to the chart's series at most every so often (always when `force`). */
  sample(force: boolean): void {
    this.savedSeries.sample(this.k.scheduler.now, force, () => this.counters().memory_saved);
  }
}
