// The memory manager: machine frames per host, guest page maps per VM, the one access path
// for guest reads and writes (with traps and fault handlers), sharing and copy-on-write.
import { formatBytes } from "../text/bytes.js";
import { injectable, inject } from "tsyringe";
import { TOKENS } from "../di/tokens.js";
import { kernelError, VmscnError } from "../errors.js";
import { PAGE_SIZE } from "../config.js";
import type { Scheduler } from "../sim/scheduler.js";
import { MachineMemory } from "./machine.js";
import { GuestMemory } from "./guest.js";
import { PageState, STATE_MASK, Trap, STATE_NAMES, type FaultKind } from "./page.js";
import { ImageRegistry } from "./content.js";

/** A handler's answer: 0 = resolved, retry now; > 0 = stall the vCPU this many ns, then retry; WAIT = stall until `wake`. */
export const WAIT = -1;

/**
 * The fault being handled. One object is reused for every fault (no allocation on the
 * access path): a handler must copy what it wants to keep.
 */
export interface Fault {
  kind: FaultKind;
  guest: GuestMemory;
  page: number;
  write: boolean;
  vcpu: number;
  /** For writes: the content about to be written. */
  content: number;
}

export type FaultHandler = (fault: Fault) => number;
export type CowListener = (guest: GuestMemory, page: number, oldFrame: number, newFrame: number) => void;

interface Registered {
  handler: FaultHandler;
  owner: string;
}

const FAULT_OF_TRAP: [number, FaultKind][] = [
  [Trap.AccessTrace, "access-trace"],
  [Trap.WriteTrace, "write-trace"],
  [Trap.WriteProtect, "write-protect"],
];

@injectable()
export class Memory {
  private readonly machines: MachineMemory[] = [];
  private readonly handlers = new Map<FaultKind, Registered[]>();
  private readonly cowListeners: CowListener[] = [];
  private readonly fault: Fault = { kind: "write-protect", guest: null as unknown as GuestMemory, page: 0, write: false, vcpu: 0, content: 0 };
  private readonly waiters = new Map<GuestMemory, Map<number, () => void>>();
  private readonly guests = new Set<GuestMemory>();
  /** Names of shared images (guest OS, applications) to content ids, for the whole run. */
  readonly images = new ImageRegistry();
  /** Stall (ns, or WAIT) of the last access that did not complete. */
  stall = 0;
  /** Content of the last completed read. */
  lastRead = 0;

  constructor(@inject(TOKENS.Scheduler) private readonly scheduler: Scheduler) {}

  addHost(hostId: number, hostName: string, capacityBytes: number): MachineMemory {
    const m = new MachineMemory(hostId, hostName, capacityBytes);
    if (this.ownersTracked) m.trackOwners();
    this.machines[hostId] = m;
    return m;
  }

  private ownersTracked = false;

  /**
   * From now on every host records which world each new frame was allocated for
   * (`MachineMemory.owner`); frames allocated before hold 0. Costs 4 bytes a frame.
   */
  trackOwners(): void {
    this.ownersTracked = true;
    for (const m of this.machines) m?.trackOwners();
  }

  machine(hostId: number): MachineMemory {
    const m = this.machines[hostId];
    if (!m) throw kernelError("VMSCN5005", `host #${hostId} has no machine memory`);
    return m;
  }

  /** A page map for `pages` guest pages backed by `hostId`; every page starts unbacked. */
  createGuest(worldId: number, name: string, pages: number, hostId: number): GuestMemory {
    if (!(pages > 0) || !Number.isInteger(pages)) throw kernelError("VMSCN5011", `guest "${name}" needs a whole, positive number of pages (got ${pages})`);
    this.machine(hostId);
    const g = new GuestMemory(worldId, name, pages, hostId);
    this.guests.add(g);
    return g;
  }

  /** Every page map not yet dropped: attached to a world or not (a migration's destination copy). */
  liveGuests(): GuestMemory[] {
    return [...this.guests];
  }

  /** Frees a page map's frames and forgets it (a destroyed VM, an aborted migration's copy). */
  dropGuest(g: GuestMemory): void {
    this.releaseAll(g);
    this.guests.delete(g);
  }

  // ---- fault handlers ------------------------------------------------------------------

  onFault(kind: FaultKind, handler: FaultHandler, owner = "kernel"): () => void {
    let list = this.handlers.get(kind);
    if (!list) this.handlers.set(kind, (list = []));
    const entry = { handler, owner };
    list.push(entry);
    return () => {
      const l = this.handlers.get(kind)!;
      l.splice(l.indexOf(entry), 1);
    };
  }

  /** Called after every copy-on-write break (counters, plugin bookkeeping). */
  onCowBreak(listener: CowListener): void {
    this.cowListeners.push(listener);
  }

  // ---- the access path ------------------------------------------------------------------

  /** A guest write. Returns 0 when done, else the stall (ns or WAIT): the write did not happen; retry after it. */
  write(g: GuestMemory, page: number, content: number, vcpu = 0): number {
    if (g.meta[page] === PageState.Present) {
      this.machines[g.hostId]!.content[g.frame[page]!] = content;
      g.writes++;
      return 0;
    }
    const s = this.slowWrite(g, page, content, vcpu);
    if (s === 0) g.writes++;
    else this.stall = s;
    return s;
  }

  /** A guest read. Returns 0 when done (content in `lastRead`), else the stall. */
  read(g: GuestMemory, page: number, vcpu = 0): number {
    const s = this.slowRead(g, page, vcpu);
    if (s === 0) g.reads++;
    else this.stall = s;
    return s;
  }

  /**
   * Writes contents[i] to pages[i] for i in [from, to). Returns the index reached: `to` when
   * all are done, else the index of the access that stalled (`stall` says for how long).
   */
  writeBatch(g: GuestMemory, pages: Int32Array, contents: Float64Array, from: number, to: number, vcpu = 0): number {
    const meta = g.meta;
    const frame = g.frame;
    const fc = this.machines[g.hostId]!.content;
    for (let i = from; i < to; i++) {
      const p = pages[i]!;
      const m = meta[p];
      if (m === PageState.Present) {
        fc[frame[p]!] = contents[i]!;
      } else if (m === (PageState.Present | Trap.Dirty)) {
        const logs = g.logs;
        for (let j = 0; j < logs.length; j++) logs[j]!.mark(p);
        meta[p] = PageState.Present;
        fc[frame[p]!] = contents[i]!;
      } else {
        const s = this.slowWrite(g, p, contents[i]!, vcpu);
        if (s !== 0) {
          g.writes += i - from;
          this.stall = s;
          return i;
        }
      }
    }
    g.writes += to - from;
    return to;
  }

  /** Reads pages[i] for i in [from, to); same contract as writeBatch. */
  readBatch(g: GuestMemory, pages: Int32Array, from: number, to: number, vcpu = 0): number {
    const meta = g.meta;
    for (let i = from; i < to; i++) {
      const m = meta[pages[i]!]!;
      // Only an access trace or a page that is not here makes a read fault.
      if ((m & Trap.AccessTrace) === 0 && ((m & STATE_MASK) === PageState.Present || (m & STATE_MASK) === PageState.Unbacked)) continue;
      const s = this.slowRead(g, pages[i]!, vcpu);
      if (s !== 0) {
        g.reads += i - from;
        this.stall = s;
        return i;
      }
    }
    g.reads += to - from;
    return to;
  }

  private checkPage(g: GuestMemory, page: number): void {
    if (!(page >= 0 && page < g.pages && Number.isInteger(page))) {
      throw kernelError("VMSCN5011", `page ${page} is outside guest "${g.name}" (${g.pages} pages)`, { time: this.scheduler.now, where: g.name });
    }
  }

  private slowWrite(g: GuestMemory, page: number, content: number, vcpu: number): number {
    this.checkPage(g, page);
    // Loop: a resolved fault may uncover the next trap on the same page.
    for (let guard = 0; ; guard++) {
      const m = g.meta[page]!;
      const state = m & STATE_MASK;
      if (state === PageState.AbsentRestore || state === PageState.AbsentFetch || state === PageState.Remote) {
        const s = this.dispatch(STATE_FAULT[state]!, g, page, true, vcpu, content);
        if (s !== 0) return s;
        this.ensureResolved(g, page, m, guard);
        continue;
      }
      for (const [bit, kind] of FAULT_OF_TRAP) {
        if (m & bit) {
          const s = this.dispatch(kind, g, page, true, vcpu, content);
          if (s !== 0) return s;
          if (g.meta[page]! & bit) {
            throw kernelError("VMSCN5008", `the "${kind}" fault handlers left page ${page} of "${g.name}" trapped and did not stall`, { time: this.scheduler.now, where: g.name });
          }
          break;
        }
      }
      if (g.meta[page] !== m) {
        if (guard > 64) this.ensureResolved(g, page, m, guard);
        continue;
      }
      // No plugin trap left: the kernel's own work.
      if (state === PageState.Unbacked) {
        const f = this.allocFrame(g.hostId, content, g);
        g.frame[page] = f;
        g.meta[page] = (m & ~STATE_MASK & ~Trap.CopyOnWrite) | PageState.Present;
      } else if (m & Trap.CopyOnWrite) {
        this.breakCow(g, page);
      }
      const m2 = g.meta[page]!;
      if (m2 & Trap.Dirty) {
        for (const log of g.logs) log.mark(page);
        g.meta[page] = m2 & ~Trap.Dirty;
      }
      this.machines[g.hostId]!.content[g.frame[page]!] = content;
      return 0;
    }
  }

  private slowRead(g: GuestMemory, page: number, vcpu: number): number {
    this.checkPage(g, page);
    for (let guard = 0; ; guard++) {
      const m = g.meta[page]!;
      const state = m & STATE_MASK;
      if (m & Trap.AccessTrace) {
        const s = this.dispatch("access-trace", g, page, false, vcpu, 0);
        if (s !== 0) return s;
        if (g.meta[page]! & Trap.AccessTrace) {
          throw kernelError("VMSCN5008", `the "access-trace" fault handlers left page ${page} of "${g.name}" trapped and did not stall`, { time: this.scheduler.now, where: g.name });
        }
        continue;
      }
      if (state === PageState.AbsentRestore || state === PageState.AbsentFetch) {
        const s = this.dispatch(STATE_FAULT[state]!, g, page, false, vcpu, 0);
        if (s !== 0) return s;
        this.ensureResolved(g, page, m, guard);
        continue;
      }
      if (state === PageState.Remote) {
        // A remote frame can be read in place (RDMA); a handler may charge time for it.
        const list = this.handlers.get("remote");
        if (list && list.length > 0) {
          const s = this.dispatch("remote", g, page, false, vcpu, 0);
          if (s !== 0) return s;
          if (g.meta[page] !== m) continue;
        }
        this.lastRead = this.machines[g.remoteHost![page]!]!.content[g.frame[page]!]!;
        return 0;
      }
      this.lastRead = state === PageState.Present ? this.machines[g.hostId]!.content[g.frame[page]!]! : 0;
      return 0;
    }
  }

  private ensureResolved(g: GuestMemory, page: number, before: number, guard: number): void {
    if (g.meta[page] === before || guard > 64) {
      const kind = STATE_FAULT[before & STATE_MASK] ?? "trap";
      throw kernelError("VMSCN5008", `the "${kind}" fault handlers did not make page ${page} of "${g.name}" accessible and did not stall`, { time: this.scheduler.now, where: g.name });
    }
  }

  private dispatch(kind: FaultKind, g: GuestMemory, page: number, write: boolean, vcpu: number, content: number): number {
    const list = this.handlers.get(kind);
    if (!list || list.length === 0) {
      throw kernelError("VMSCN5007", `a ${write ? "write" : "read"} of page ${page} of "${g.name}" faulted (${kind}, page ${STATE_NAMES[g.meta[page]! & STATE_MASK]}) and no plugin handles "${kind}" faults`, { time: this.scheduler.now, where: g.name });
    }
    g.faults++;
    const f = this.fault;
    f.kind = kind;
    f.guest = g;
    f.page = page;
    f.write = write;
    f.vcpu = vcpu;
    f.content = content;
    let total = 0;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!.handler(f);
      if (s === WAIT) total = WAIT;
      else if (total !== WAIT && s > 0) total += s;
    }
    return total;
  }

  /** A vCPU that got WAIT from an access registers how to resume; a plugin's `wake` calls it. */
  waitFor(g: GuestMemory, vcpu: number, resume: () => void): void {
    let m = this.waiters.get(g);
    if (!m) this.waiters.set(g, (m = new Map()));
    m.set(vcpu, resume);
  }

  /** Wakes the vCPUs of a guest that wait on a fault (all of them, or one). */
  wake(g: GuestMemory, vcpu?: number): void {
    const m = this.waiters.get(g);
    if (!m) return;
    const list = vcpu === undefined ? [...m.entries()] : m.has(vcpu) ? [[vcpu, m.get(vcpu)!] as const] : [];
    for (const [v, fn] of list) {
      m.delete(v);
      this.scheduler.after(0, fn);
    }
  }

  // ---- primitives for plugins ------------------------------------------------------------

  allocFrame(hostId: number, content: number, g: GuestMemory): number {
    const m = this.machines[hostId]!;
    const f = m.alloc(content, g.worldId);
    if (f < 0) {
      throw kernelError(
        "VMSCN5002",
        `host "${m.hostName}" is out of memory: no free frame for "${g.name}" (capacity ${formatBytes(m.capacity * PAGE_SIZE)}, all ${m.capacity} frames in use)`,
        { time: this.scheduler.now, where: `${g.name}@${m.hostName}` },
      );
    }
    return f;
  }

  /** Maps `page` to a new frame holding `content` on the guest's host (a page arriving or restored). */
  populate(g: GuestMemory, page: number, content: number): void {
    this.checkPage(g, page);
    const f = this.allocFrame(g.hostId, content, g);
    this.dropMapping(g, page);
    g.frame[page] = f;
    g.meta[page] = (g.meta[page]! & TRAPS_KEPT) | PageState.Present;
  }

  /**
   * Pages arriving with their contents (a migration's batch): page `pages[i]` gets
   * `contents[i]`. A zero page needs no frame (it becomes unbacked), a private present page is
   * rewritten in place, any other gets a new frame (traps kept, as `populate`). Returns the
   * number landed: fewer than `n` when the host ran out of frames, at the page that found none
   * (the ones before it landed).
   */
  land(g: GuestMemory, pages: Int32Array, contents: Float64Array, n: number): number {
    const m = this.machines[g.hostId]!;
    for (let i = 0; i < n; i++) if (!this.landOne(g, m, pages[i]!, contents[i]!)) return i;
    return n;
  }

  /** `land` for the consecutive pages `first`, `first + 1`, ... (a restored memory block). */
  landRange(g: GuestMemory, first: number, contents: ArrayLike<number>, n: number): number {
    const m = this.machines[g.hostId]!;
    for (let i = 0; i < n; i++) if (!this.landOne(g, m, first + i, contents[i]!)) return i;
    return n;
  }

  private landOne(g: GuestMemory, m: MachineMemory, p: number, c: number): boolean {
    const meta = g.meta;
    const frame = g.frame;
    const mt = meta[p]!;
    const state = mt & STATE_MASK;
    if (c === 0) {
      if (state !== PageState.Unbacked) this.setAbsent(g, p, PageState.Unbacked);
    } else if (state === PageState.Present && m.refs[frame[p]!] === 1) {
      m.content[frame[p]!] = c; // a page sent again: its private frame is rewritten
    } else if (state !== PageState.Present && state !== PageState.Remote && p >= 0 && p < g.pages) {
      // Unbacked or absent: no frame to drop, one to take.
      const f = m.alloc(c, g.worldId);
      if (f < 0) return false;
      frame[p] = f;
      meta[p] = (mt & TRAPS_KEPT) | PageState.Present;
    } else {
      if (state !== PageState.Present && m.free === 0) return false;
      this.populate(g, p, c);
    }
    return true;
  }

  /** Populates every page in one pass (initial contents, a migration's destination). */
  populateAll(g: GuestMemory, contentOf: (page: number) => number): void {
    const meta = g.meta;
    const frame = g.frame;
    for (let p = 0; p < g.pages; p++) {
      const mt = meta[p]!;
      if ((mt & STATE_MASK) !== PageState.Unbacked) {
        this.populate(g, p, contentOf(p));
        continue;
      }
      // An unbacked page (a new VM's): nothing to drop, a frame to take.
      frame[p] = this.allocFrame(g.hostId, contentOf(p), g);
      meta[p] = (mt & TRAPS_KEPT) | PageState.Present;
    }
  }

  /** Drops the page's frame and marks it absent (until restored or fetched). */
  setAbsent(g: GuestMemory, page: number, state: typeof PageState.AbsentRestore | typeof PageState.AbsentFetch | typeof PageState.Unbacked): void {
    this.checkPage(g, page);
    this.dropMapping(g, page);
    g.frame[page] = -1;
    g.meta[page] = (g.meta[page]! & TRAPS_KEPT) | state;
  }

  /**
   * Maps guest page `page` of `to` to the frame behind page `fromPage` of `from` (same host or,
   * for an RDMA remote mapping, the frame on `from`'s host). Both become copy-on-write. A
   * remote `from` page lends its remote frame: `to` maps that frame locally if it lives on
   * `to`'s host, remotely otherwise (page sharing re-mapping a page onto a remote frame).
   */
  share(from: GuestMemory, fromPage: number, to: GuestMemory, toPage: number): void {
    this.checkPage(from, fromPage);
    this.checkPage(to, toPage);
    const fs = from.meta[fromPage]! & STATE_MASK;
    if (fs !== PageState.Present && fs !== PageState.Remote) {
      throw kernelError("VMSCN5011", `cannot share page ${fromPage} of "${from.name}": it is ${STATE_NAMES[fs]}`, { time: this.scheduler.now });
    }
    const frame = from.frame[fromPage]!;
    const frameHost = fs === PageState.Present ? from.hostId : from.remoteHost![fromPage]!;
    const ts = to.meta[toPage]! & STATE_MASK;
    if (to.frame[toPage] === frame && ((ts === PageState.Present && to.hostId === frameHost) || (ts === PageState.Remote && to.remoteHost![toPage] === frameHost))) return;
    this.machines[frameHost]!.refs[frame]!++;
    this.dropMapping(to, toPage);
    to.frame[toPage] = frame;
    if (to.hostId === frameHost) {
      to.meta[toPage] = (to.meta[toPage]! & TRAPS_KEPT) | PageState.Present | Trap.CopyOnWrite;
    } else {
      if (!to.remoteHost) to.remoteHost = new Uint16Array(to.pages);
      to.remoteHost[toPage] = frameHost;
      to.meta[toPage] = (to.meta[toPage]! & TRAPS_KEPT) | PageState.Remote | Trap.CopyOnWrite;
    }
    from.meta[fromPage] = from.meta[fromPage]! | Trap.CopyOnWrite;
  }

  /** Every present page of `child` maps the parent's frame, copy-on-write (a VM fork). */
  shareAll(parent: GuestMemory, child: GuestMemory): number {
    let n = 0;
    const pages = Math.min(parent.pages, child.pages);
    if (child.hostId !== parent.hostId) {
      for (let p = 0; p < pages; p++) {
        if ((parent.meta[p]! & STATE_MASK) === PageState.Present) {
          this.share(parent, p, child, p);
          n++;
        }
      }
      return n;
    }
    // Same host (a VM fork): what share() does, page by page, in one pass over typed arrays;
    // forking a 4 GiB guest is a million pages.
    const refs = this.machines[parent.hostId]!.refs;
    const pm = parent.meta;
    const pf = parent.frame;
    const cm = child.meta;
    const cf = child.frame;
    if (pages === child.pages && isFresh(cm)) {
      // A page map that maps nothing and arms no trap (a new VM): copy the frame numbers in
      // bulk, then one pass sets the states and counts the references.
      cf.set(pages === pf.length ? pf : pf.subarray(0, pages));
      cm.fill(PRESENT_COW);
      for (let p = 0; p < pages; p++) {
        const m = pm[p]!;
        if ((m & STATE_MASK) === PageState.Present) {
          refs[pf[p]!]!++;
          // Stores only where needed: after the first fork the parent's pages are all marked.
          if ((m & Trap.CopyOnWrite) === 0) pm[p] = m | Trap.CopyOnWrite;
          n++;
        } else {
          cf[p] = -1;
          cm[p] = 0;
        }
      }
      return n;
    }
    for (let p = 0; p < pages; p++) {
      const m = pm[p]!;
      if ((m & STATE_MASK) !== PageState.Present) continue;
      n++;
      const f = pf[p]!;
      const c = cm[p]!;
      const cs = c & STATE_MASK;
      if (cs === PageState.Present && cf[p] === f) continue;
      refs[f]!++;
      if (cs === PageState.Present || cs === PageState.Remote) this.dropMapping(child, p);
      cf[p] = f;
      cm[p] = (c & TRAPS_KEPT) | PageState.Present | Trap.CopyOnWrite;
      pm[p] = m | Trap.CopyOnWrite;
    }
    return n;
  }

  /** The write side of copy-on-write: the writer gets a private frame with the same content. */
  breakCow(g: GuestMemory, page: number): void {
    const m = this.machines[g.hostId]!;
    const old = g.frame[page]!;
    if (m.refs[old] === 1) {
      // The other sharers are gone: the frame is private again, no copy needed.
      g.meta[page] = g.meta[page]! & ~Trap.CopyOnWrite;
      return;
    }
    const f = this.allocFrame(g.hostId, m.content[old]!, g);
    m.release(old);
    g.frame[page] = f;
    g.meta[page] = g.meta[page]! & ~Trap.CopyOnWrite;
    g.cowBreaks++;
    for (const l of this.cowListeners) l(g, page, old, f);
  }

  /** Releases the frame (local or remote) behind a page, if any. */
  private dropMapping(g: GuestMemory, page: number): void {
    const state = g.meta[page]! & STATE_MASK;
    const f = g.frame[page]!;
    if (state === PageState.Present && f >= 0) this.machines[g.hostId]!.release(f);
    else if (state === PageState.Remote && f >= 0) this.machines[g.remoteHost![page]!]!.release(f);
  }

  /** Frees every frame of a guest (the VM is destroyed, or its source copy is cleaned up). */
  releaseAll(g: GuestMemory): void {
    for (let p = 0; p < g.pages; p++) {
      this.dropMapping(g, p);
      g.frame[p] = -1;
      g.meta[p] = g.meta[p]! & ~STATE_MASK & ~Trap.CopyOnWrite;
    }
    for (const log of g.logs.slice()) log.close();
  }

  /** The page's content without faulting (reports, invariant checks, migration senders). */
  peek(g: GuestMemory, page: number): number {
    this.checkPage(g, page);
    const state = g.meta[page]! & STATE_MASK;
    if (state === PageState.Present) return this.machines[g.hostId]!.content[g.frame[page]!]!;
    if (state === PageState.Remote) return this.machines[g.remoteHost![page]!]!.content[g.frame[page]!]!;
    if (state === PageState.Unbacked) return 0;
    return Number.NaN;
  }

  setTraps(g: GuestMemory, page: number, bits: number): void {
    g.meta[page] = g.meta[page]! | (bits & TRAP_BITS);
  }

  clearTraps(g: GuestMemory, page: number, bits: number): void {
    g.meta[page] = g.meta[page]! & ~(bits & TRAP_BITS);
  }

  setTrapsAll(g: GuestMemory, bits: number): void {
    const meta = g.meta;
    const b = bits & TRAP_BITS;
    for (let p = 0; p < meta.length; p++) meta[p] = meta[p]! | b;
  }

  clearTrapsAll(g: GuestMemory, bits: number): void {
    const meta = g.meta;
    const keep = ~(bits & TRAP_BITS) & 0xff;
    for (let p = 0; p < meta.length; p++) meta[p] = meta[p]! & keep;
  }

  // ---- invariants ------------------------------------------------------------------------

  /**
   * Checks the memory invariants over the given guests (every live page map): each frame's
   * reference count equals the page-map entries that point to it (remote ones included); no
   * frame is both free and mapped; a shared frame is mapped copy-on-write; each host's used
   * count adds up. Throws VMSCN5014 listing the first problems.
   */
  checkInvariants(guests: Iterable<GuestMemory> = this.guests): void {
    const problems: string[] = [];
    const counts = this.machines.map((m) => (m ? new Uint32Array(m.touched) : new Uint32Array(0)));
    for (const g of guests) {
      for (let p = 0; p < g.pages; p++) {
        const m = g.meta[p]!;
        const state = m & STATE_MASK;
        const f = g.frame[p]!;
        if (state === PageState.Present || state === PageState.Remote) {
          const host = state === PageState.Present ? g.hostId : g.remoteHost![p]!;
          if (f < 0 || f >= counts[host]!.length) {
            problems.push(`page ${p} of "${g.name}" is ${STATE_NAMES[state]} but maps no valid frame (${f})`);
            continue;
          }
          counts[host]![f]!++;
        } else if (f !== -1) {
          problems.push(`page ${p} of "${g.name}" is ${STATE_NAMES[state]} but still maps frame ${f}`);
        }
      }
    }
    for (const g of guests) {
      for (let p = 0; p < g.pages; p++) {
        const state = g.meta[p]! & STATE_MASK;
        if (state === PageState.Present) {
          const refs = this.machines[g.hostId]!.refs[g.frame[p]!]!;
          if (refs > 1 && !(g.meta[p]! & Trap.CopyOnWrite)) problems.push(`page ${p} of "${g.name}" maps a shared frame (${refs} references) without copy-on-write`);
        }
      }
    }
    this.machines.forEach((m, host) => {
      if (!m) return;
      const free = m.freeSet();
      let used = 0;
      for (let f = 0; f < m.touched; f++) {
        const c = counts[host]![f]!;
        if (m.refs[f] !== c) problems.push(`frame ${f} of host "${m.hostName}" counts ${m.refs[f]} references but ${c} page-map entries point to it`);
        if (free[f] && m.refs[f]! > 0) problems.push(`frame ${f} of host "${m.hostName}" is both free and mapped`);
        if (!free[f] && m.refs[f] === 0) problems.push(`frame ${f} of host "${m.hostName}" is neither free nor mapped (leaked)`);
        if (m.refs[f]! > 0) used++;
      }
      if (used !== m.used) problems.push(`host "${m.hostName}" reports ${m.used} frames in use but ${used} are referenced`);
    });
    if (problems.length > 0) {
      const shown = problems.slice(0, 10).join("; ");
      throw new VmscnError("VMSCN5014", `memory invariants do not hold: ${shown}${problems.length > 10 ? `; and ${problems.length - 10} more` : ""}`, { time: this.scheduler.now });
    }
  }

  hosts(): MachineMemory[] {
    return this.machines.filter((m) => m !== undefined);
  }
}

const PRESENT_COW = PageState.Present | Trap.CopyOnWrite;

/** Whether every page of a page map is unbacked with no trap armed (all metadata bytes 0). */
function isFresh(meta: Uint8Array): boolean {
  const words = meta.byteOffset % 4 === 0 ? new Uint32Array(meta.buffer, meta.byteOffset, meta.length >> 2) : null;
  let i = 0;
  if (words) {
    for (let w = 0; w < words.length; w++) if (words[w] !== 0) return false;
    i = words.length << 2;
  }
  for (; i < meta.length; i++) if (meta[i] !== 0) return false;
  return true;
}

const TRAP_BITS = Trap.Dirty | Trap.WriteProtect | Trap.AccessTrace | Trap.WriteTrace | Trap.CopyOnWrite;
/** Traps a page keeps when its frame changes (copy-on-write belongs to the old frame). */
const TRAPS_KEPT = TRAP_BITS & ~Trap.CopyOnWrite;

const STATE_FAULT: (FaultKind | undefined)[] = [undefined, undefined, "absent-restore", "absent-fetch", "remote"];
