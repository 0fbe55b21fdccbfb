// The remote-shared period of one VM: some of its guest pages map frames on another host,
// read over RDMA. A read of such a page is an RDMA read (the vCPU waits for it); a write
// (or, with remote-cow on-access, any access) is a remote copy-on-write: the page is copied
// over RDMA into a local frame and re-mapped, releasing the remote frame's reference. A
// background copier may bring the pages over in batches. An RDMA responder system world on
// each source host stands for the remote end: if the host crashes while pages still map its
// frames, the VM fails with the reason; if the source becomes unreachable, the same.
import { PAGE_SIZE, PageState, STATE_MASK, VmscnError, WAIT, formatTime, type Cause, type GuestMemory, type Host, type PluginContext, type Transfer, type World } from "../../core/api.js";

export interface DependenceOptions {
  remoteCow: "on-write" | "on-access";
  background: boolean;
  /** Pages per background transfer, and a cap on its rate (bytes/s). */
  batch: number;
  maxRate: number | undefined;
}

export class Dependence {
  /** Pages mapped remotely now, per host id of their frames. */
  readonly remote = new Map<number, number>();
  private readonly responders = new Map<number, World>();
  readonly startedAt: number;
  endedAt: number | undefined;
  /** How it ended: "local" (every page copied or re-shared), or the failure. */
  end: string | undefined;
  failed = false;
  /** The most pages it mapped remotely at once. */
  peak = 0;
  reads = 0;
  readBytes = 0;
  stallNs = 0;
  cows = 0;
  cowBytes = 0;
  backgroundPages = 0;
  backgroundBytes = 0;
  /** Pages the destination's page sharing re-mapped onto a local frame, and local pages it re-mapped onto a remote frame. */
  resharedLocally = 0;
  mappedRemotely = 0;
  private readonly inflight = new Set<Transfer>();
  /** Per page: a copy is under way (1). */
  private readonly copying: Uint8Array;
  private readonly waiters = new Map<number, { vcpu: number; since: number }[]>();
  /** Per vCPU: the page whose RDMA read has arrived (the retried access reads it in place). */
  private readonly granted = new Map<number, number>();
  private copier: World | null = null;
  private copierDue = false;
  /** Set when the background copier was killed: no more batches. */
  copierKilled: string | undefined;
  private bgCursor = 0;
  /**
   * Per page: copy it home (1) — its frame on the source is no longer mapped by any VM there,
   * so the source keeps it for remote VMs only (index.ts decides when). The copier brings these
   * pages whatever `remote-background` says. Allocated on first use.
   */
  private home: Uint8Array | null = null;
  /** Pages marked for home while the copier was past them: it scans once more. */
  private rescan = false;
  /** Pages the copier brought home because the source no longer kept them for a VM of its own. */
  homePages = 0;
  /**
   * This period's own changes — its VM stopped when it fails, its helpers ended — so that its
   * handlers tell them from a crash or a kill (the signal's cause is one of these objects).
   */
  private readonly failing: Cause;
  private readonly ending: Cause;

  constructor(
    private readonly k: PluginContext,
    readonly world: World,
    readonly guest: GuestMemory,
    readonly o: DependenceOptions,
    private readonly seq: number,
    private readonly onEnd: (d: Dependence) => void,
  ) {
    this.startedAt = k.scheduler.now;
    this.copying = new Uint8Array(guest.pages);
    this.failing = k.cause("remote pages lost");
    this.ending = k.cause("period over");
  }

  get pages(): number {
    let n = 0;
    for (const c of this.remote.values()) n += c;
    return n;
  }

  get active(): boolean {
    return this.endedAt === undefined;
  }

  /** `n` more pages map frames of host `hostId`. */
  add(hostId: number, n: number): void {
    if (n <= 0 || !this.active) return;
    this.remote.set(hostId, (this.remote.get(hostId) ?? 0) + n);
    this.peak = Math.max(this.peak, this.pages);
    if (!this.responders.has(hostId)) {
      const host = this.k.cluster.hosts[hostId]!;
      const r = this.k.systemWorld(`${this.world.name}.rdma-responder.${host.name}#${this.seq}`, host, this.world);
      // RDMA needs no host CPU on the remote end: the responder stands for the NIC's work.
      this.k.cluster.setDemand(r, 0);
      this.k.cluster.setState(r, "running");
      this.responders.set(hostId, r);
    }
    // The copier runs on the VM's host once it is there (a migration adds pages before the move).
    if (this.o.background && this.copier === null && !this.copierDue && this.copierKilled === undefined) {
      this.copierDue = true;
      this.k.after(0, () => {
        this.copierDue = false;
        if (this.active && this.copier === null) this.startCopier();
      }, "remote copier");
    }
  }

  /** One page no longer maps a frame of host `hostId`. */
  drop(hostId: number): void {
    const c = this.remote.get(hostId);
    if (c === undefined || !this.active) return;
    if (c > 1) {
      this.remote.set(hostId, c - 1);
      return;
    }
    this.remote.delete(hostId);
    this.stopWorld(this.responders.get(hostId));
    this.responders.delete(hostId);
    if (this.remote.size === 0) this.finish("local", false);
  }

  /** Whether this period made the change itself. */
  did(cause: Cause): boolean {
    return cause === this.failing || cause === this.ending;
  }

  /**
   * A helper world of this period stopped without us: a responder's host crashed (cause
   * "crash") or the responder was killed ("kill") — the remote end is gone either way, the VM
   * fails; the copier was killed (background copying stops; reads and copies on demand go on).
   */
  worldStopped(w: World, cause: Cause): void {
    const at = formatTime(this.k.scheduler.now);
    if (w === this.copier) {
      this.copier = null;
      this.copierKilled = `the copier "${w.name}" was killed at ${at}`;
      return;
    }
    for (const [hostId, r] of this.responders) {
      if (r !== w) continue;
      const host = this.k.cluster.hosts[hostId]!;
      const pages = `${this.remote.get(hostId) ?? 0} of its pages`;
      if (cause.reason === "kill") this.fail("VMSCN7604", `the RDMA responder "${w.name}" on host "${host.name}" was killed at ${at} while VM "${this.world.name}" still mapped ${pages} there`);
      else this.fail("VMSCN7603", `host "${host.name}" crashed at ${at} while VM "${this.world.name}" still mapped ${pages} there (remote-shared since ${formatTime(this.startedAt)})`);
      return;
    }
  }

  // ---- faults ----------------------------------------------------------------------------

  /** A fault on a remote page: an RDMA read, or a remote copy-on-write. */
  fault(page: number, write: boolean, vcpu: number): number {
    if (!this.active) return WAIT;
    if (!write && this.o.remoteCow === "on-write") {
      if (this.granted.get(vcpu) === page) {
        this.granted.delete(vcpu);
        return 0;
      }
      this.read(page, vcpu);
      return WAIT;
    }
    this.copy(page, vcpu);
    return WAIT;
  }

  private read(page: number, vcpu: number): void {
    const host = this.hostOf(page);
    const since = this.k.scheduler.now;
    this.granted.delete(vcpu);
    this.fetch(host, PAGE_SIZE, `remote read ${this.world.name} page ${page}`, undefined, () => {
      this.reads++;
      this.readBytes += PAGE_SIZE;
      this.stallNs += this.k.scheduler.now - since;
      this.granted.set(vcpu, page);
      this.k.memory.wake(this.guest, vcpu);
    });
  }

  /** Remote COW: one copy per page, every faulting vCPU waits for it. */
  private copy(page: number, vcpu: number): void {
    let w = this.waiters.get(page);
    if (!w) this.waiters.set(page, (w = []));
    w.push({ vcpu, since: this.k.scheduler.now });
    if (this.copying[page] === 1) return;
    this.copying[page] = 1;
    const frame = this.guest.frame[page]!;
    const host = this.hostOf(page);
    this.fetch(host, PAGE_SIZE, `remote COW ${this.world.name} page ${page}`, undefined, () => {
      if (this.land(page, host, frame)) {
        this.cows++;
        this.cowBytes += PAGE_SIZE;
      }
      this.copying[page] = 0;
      this.release(page);
    });
  }

  /** The page arrived: it maps a new local frame with the remote frame's contents (if it still maps that frame). */
  private land(page: number, host: number, frame: number): boolean {
    const g = this.guest;
    if (!this.active || (g.meta[page]! & STATE_MASK) !== PageState.Remote || g.remoteHost![page] !== host || g.frame[page] !== frame) return false;
    try {
      this.k.memory.populate(g, page, this.k.memory.peek(g, page));
    } catch (err) {
      if (!(err instanceof VmscnError) || err.code !== "VMSCN5002") throw err;
      // No frame here for the copy: the VM cannot have its page (as the OOM rule kills a VM whose write finds none).
      this.fail("VMSCN5002", `VM "${this.world.name}" could not copy page ${page} from host "${this.k.cluster.hosts[host]!.name}": ${err.message}`);
      return false;
    }
    this.drop(host);
    return true;
  }

  private release(page: number): void {
    const w = this.waiters.get(page);
    if (!w) return;
    this.waiters.delete(page);
    const now = this.k.scheduler.now;
    for (const x of w) {
      this.stallNs += now - x.since;
      this.k.memory.wake(this.guest, x.vcpu);
    }
  }

  // ---- background copy -------------------------------------------------------------------

  /** Remote pages on host `hostId` whose frame no page map there maps (`local[frame]` is not 1). */
  orphans(hostId: number, local: Uint8Array): number[] {
    const g = this.guest;
    const out: number[] = [];
    if (!this.active || !this.remote.has(hostId)) return out;
    for (let p = 0; p < g.pages; p++) {
      if ((g.meta[p]! & STATE_MASK) === PageState.Remote && g.remoteHost![p] === hostId && local[g.frame[p]!] !== 1) out.push(p);
    }
    return out;
  }

  /** Copies `pages` home in the background (the copier starts if it is not running). */
  copyHome(pages: readonly number[]): void {
    if (!this.active || pages.length === 0) return;
    this.home ??= new Uint8Array(this.guest.pages);
    for (const p of pages) this.home[p] = 1;
    // A killed copier stays dead: the pages then come over on access only.
    if (this.copierKilled !== undefined || this.copierDue) return;
    if (this.copier === null) this.startCopier();
    else this.rescan = true;
  }

  private startCopier(): void {
    this.copier = this.k.systemWorld(`${this.world.name}.remote-copier#${this.seq}`, this.world.host, this.world);
    this.k.cluster.setState(this.copier, "running");
    this.bgCursor = 0;
    this.pump();
  }

  /** Pulls the next batch of pages still remote (in page order, from one host), one batch in flight. */
  private pump(): void {
    if (!this.active || this.copierKilled !== undefined) return;
    const g = this.guest;
    const pages: number[] = [];
    let host = -1;
    while (this.bgCursor < g.pages && pages.length < this.o.batch) {
      const p = this.bgCursor;
      if ((g.meta[p]! & STATE_MASK) === PageState.Remote && this.copying[p] === 0 && (this.o.background || this.home?.[p] === 1)) {
        const h = g.remoteHost![p]!;
        if (host === -1) host = h;
        if (h !== host) break;
        pages.push(p);
        this.copying[p] = 1;
      }
      this.bgCursor++;
    }
    if (pages.length === 0 && this.rescan) {
      this.rescan = false;
      this.bgCursor = 0;
      return this.pump();
    }
    if (pages.length === 0) {
      // Nothing left to pull; copies under way finish the job.
      this.stopWorld(this.copier ?? undefined);
      this.copier = null;
      return;
    }
    const frames = pages.map((p) => g.frame[p]!);
    this.fetch(host, pages.length * PAGE_SIZE, `remote copy ${this.world.name} ${pages.length} pages`, this.o.maxRate, () => {
      pages.forEach((p, i) => {
        if (this.land(p, host, frames[i]!)) {
          this.backgroundPages++;
          this.backgroundBytes += PAGE_SIZE;
          if (this.home?.[p] === 1) this.homePages++;
        }
        this.copying[p] = 0;
        this.release(p);
      });
      this.pump();
    });
  }

  // ---- transfers, the end ----------------------------------------------------------------

  private hostOf(page: number): number {
    return this.guest.remoteHost![page]!;
  }

  /**
   * An RDMA read driven by this (the destination) end: the request crosses one way, then the
   * bytes come back. A source that cannot be reached fails the VM.
   */
  private fetch(hostId: number, bytes: number, label: string, maxRate: number | undefined, done: () => void): void {
    const from = this.k.cluster.hosts[hostId]!;
    const to = this.world.host;
    const unreachable = (why: string): void => this.fail("VMSCN7604", `VM "${this.world.name}" could not read its pages on host "${from.name}" (${why}); ${this.pages} pages still mapped there`);
    if (!this.k.network.hasRoute(to.name, from.name)) {
      // Fail on an event of its own: the access that asked returns (and parks) first.
      this.k.after(0, () => unreachable(`no route from host "${to.name}"`), "remote fault");
      return;
    }
    const oneWay = this.k.network.route(to.name, from.name).latency;
    this.k.after(oneWay, () => {
      // The period ended meanwhile: failed (nothing to do), or every page is local now (the
      // access that asked finds its page local when it retries).
      if (!this.active) {
        if (!this.failed) done();
        return;
      }
      let tr: Transfer;
      try {
        tr = this.k.network.transfer({
          from: from.name,
          to: to.name,
          bytes,
          kind: kindBetween(from, to),
          initiator: "destination",
          label,
          ...(maxRate === undefined ? {} : { maxRate }),
          onDone: () => {
            this.inflight.delete(tr);
            if (!this.failed) done();
          },
          onFail: (err) => {
            this.inflight.delete(tr);
            unreachable(err.message);
          },
        });
      } catch (err) {
        unreachable((err as Error).message);
        return;
      }
      this.inflight.add(tr);
    }, "remote fault");
  }

  /** The VM fails: it is stopped, its memory released (remote references included), its waiting vCPUs woken. */
  fail(code: string, reason: string): void {
    if (!this.active) return;
    const k = this.k;
    this.world.failure = k.error(code, reason, this.world.label).describe();
    if (this.world.state !== "stopped") k.cluster.setState(this.world, "stopped", this.failing);
    if (k.memory.liveGuests().includes(this.guest)) k.memory.releaseAll(this.guest);
    this.finish(this.world.failure, true);
  }

  /** The VM stopped or was destroyed by something else (its host crashed, a stop): the period ends. */
  vmGone(why: string): void {
    this.finish(why, true);
  }

  private finish(end: string, failed: boolean): void {
    if (!this.active) return;
    this.endedAt = this.k.scheduler.now;
    this.end = end;
    this.failed = failed;
    for (const r of this.responders.values()) this.stopWorld(r);
    this.responders.clear();
    this.stopWorld(this.copier ?? undefined);
    if (failed) {
      for (const tr of [...this.inflight]) tr.cancel();
      this.inflight.clear();
      // vCPUs parked on remote faults must not wait forever (they find the VM stopped).
      this.waiters.clear();
      this.k.memory.wake(this.guest);
    }
    this.k.trace.span("remote-shared", "rdma", { host: this.world.host.name, world: this.world.name }, this.startedAt, this.endedAt, { end, peak: this.peak });
    this.onEnd(this);
  }

  private stopWorld(w: World | undefined): void {
    if (!w) return;
    if (this.k.cluster.hasWorld(w.name) && this.k.cluster.world(w.name) === w) this.k.cluster.destroy(w, this.ending);
  }

  /** Remote pages per host id now, counted from the page map (tests and invariant checks). */
  recount(): Map<number, number> {
    const out = new Map<number, number>();
    const g = this.guest;
    for (let p = 0; p < g.pages; p++) if ((g.meta[p]! & STATE_MASK) === PageState.Remote) out.set(g.remoteHost![p]!, (out.get(g.remoteHost![p]!) ?? 0) + 1);
    return out;
  }
}

function kindBetween(a: Host, b: Host): "rdma" | "tcp" {
  return a.rdma && b.rdma ? "rdma" : "tcp";
}
