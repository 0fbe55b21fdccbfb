// One cloned VM, from the VM clone command to running: the command carries the state capsule
// to the VMM of the next host (a transfer over the network), the memory image follows all at
// once (eager) or page by page after the clone starts (on-demand: its pages are absent until
// fetched; a page fault asks the source, one fetch per page however many vCPUs wait on it;
// an optional background thread pulls the rest), and the next host's VMM loads the clone and
// puts it on its run queue.
import { PAGE_SIZE, PageState, STATE_MASK, VmscnError, WAIT, formatTime, type GuestMemory, type Host, type PluginContext, type Transfer, type World } from "../../core/api.js";
import { loadCost, pageDigest } from "./capsule.js";
import type { Capture, ImageDependent } from "./capture.js";
import type { LaunchOptions } from "./options.js";

export type CloneStatus = "capturing" | "sending" | "loading" | "fetching" | "running" | "failed";

/** Who launched a clone: the `clone` verb, or a fork placed on a next host (verb or hypercall). */
export type Origin = "clone" | "fork" | "fork-hypercall";

export interface CloneListener {
  running(c: Clone): void;
  failed(c: Clone): void;
}

/** What a clone needs of the plugin around it. */
export interface CloneHost {
  /** The time the host's VMM finishes a load of `ns` queued behind the loads before it. */
  vmmSlot(host: Host, ns: number): number;
  /** Pages that clones under way will still bring to a host. */
  reserve(host: Host, pages: number): void;
  /** Called when a clone's page map holds absent pages (its faults come to this clone). */
  track(g: GuestMemory, c: Clone | null): void;
}

export class Clone implements ImageDependent {
  status: CloneStatus = "capturing";
  readonly requestedAt: number;
  runningAt: number | undefined;
  /** When the last page arrived (eager: before it runs). */
  memoryHomeAt: number | undefined;
  failure: string | undefined;
  readonly c = { capsuleBytes: 0, pageBytes: 0, pagesSent: 0, faults: 0, requests: 0, backgroundPages: 0, stallNs: 0, pagerKilled: false };
  /** Present pages of the image: what the clone's memory needs. */
  pagesNeeded = 0;
  /** On-demand: pages still on the source. */
  remaining = 0;
  private reserved = 0;
  /** Digest of the pages as they arrived (XOR of `pageDigest`); the image's when all are home. */
  arrivedDigest = 0;
  /** On-demand: the page map holds the image's pages as absent. */
  private prepared = false;
  private usingImage = false;
  private fetching: Uint8Array | null = null;
  private readonly waiters = new Map<number, number[]>();
  private readonly inflight = new Set<Transfer>();
  private pager: World | null = null;
  private bgCursor = 0;
  readonly src: Host;

  constructor(
    private readonly k: PluginContext,
    private readonly env: CloneHost,
    readonly seq: number,
    readonly world: World,
    readonly capture: Capture,
    readonly dest: Host,
    readonly o: LaunchOptions,
    readonly origin: Origin,
    /** The worker was declared in the scenario (`into`), not created by the launch. */
    readonly declared: boolean,
    /** The parent's (or the declared worker's) cold launch: boot + init + application launch. */
    readonly coldLaunchNs: number,
    private readonly listener: CloneListener,
    /** The parent's present pages now (the image's count is known once it is sealed). */
    presentPages: number,
  ) {
    this.requestedAt = k.scheduler.now;
    this.src = capture.host;
    this.pagesNeeded = presentPages;
    // One operation on a VM's memory at a time: the worker is the clone's until its memory is
    // home (a restore or a migration into it meanwhile is refused, VMSCN5011).
    this.unclaim = k.cluster.claim(world, `a clone of "${capture.parent.name}" loading its image`);
    this.reserved = this.pagesNeeded;
    env.reserve(dest, this.reserved);
  }

  /** Ends the clone's claim on its worker (its memory is home, or the clone failed). */
  private readonly unclaim: () => void;

  get name(): string {
    return this.world.name;
  }

  get parent(): World {
    return this.capture.parent;
  }

  get finished(): boolean {
    return this.status === "running" || this.status === "failed";
  }

  /** Bytes this clone put on the network: the capsule and the pages. */
  get bytesSent(): number {
    return this.c.capsuleBytes + this.c.pageBytes;
  }

  /** Pages of the image not yet in the clone's page map. */
  get pagesLeft(): number {
    if (this.memoryHomeAt !== undefined) return 0;
    return this.prepared ? this.remaining : this.pagesNeeded;
  }

  // ---- the VM clone command ---------------------------------------------------------------

  /** The capsule is sealed: the VMM sends the VM clone command to the next host's VMM. */
  sealed(): void {
    if (this.status === "failed") return;
    this.capture.use();
    this.usingImage = true;
    this.capture.dependents.add(this);
    this.pagesNeeded = this.capture.imagePages;
    this.setReserved(this.pagesNeeded);
    this.status = "sending";
    this.send(this.capture.layout.bytes, "source", `clone ${this.parent.name} → ${this.name}: capsule`, () => {
      this.c.capsuleBytes = this.capture.layout.bytes;
      this.commandArrived();
    });
  }

  captureFailed(reason: string): void {
    this.fail(`the capture of "${this.parent.name}" failed: ${reason}`);
  }

  private commandArrived(): void {
    if (this.o.memory === "eager") {
      const bytes = this.pagesNeeded * PAGE_SIZE;
      this.send(bytes, "source", `clone ${this.parent.name} → ${this.name}: memory`, () => {
        this.c.pagesSent += this.pagesNeeded;
        this.c.pageBytes += bytes;
        this.memoryArrived();
      });
      return;
    }
    this.prepareOnDemand();
  }

  /** Eager: every page of the image lands in the clone's page map, then the VMM loads it. */
  private memoryArrived(): void {
    const k = this.k;
    const g = this.world.memory!;
    const image = this.capture.image!;
    try {
      for (let p = 0; p < g.pages; p++) {
        if ((image.meta[p]! & STATE_MASK) === PageState.Present) {
          const content = k.memory.peek(image, p);
          k.memory.populate(g, p, content);
          this.arrivedDigest ^= pageDigest(p, content);
        } else if ((g.meta[p]! & STATE_MASK) !== PageState.Unbacked) k.memory.setAbsent(g, p, PageState.Unbacked);
      }
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      this.fail(`its memory does not fit on host "${this.dest.name}": ${err.message}`);
      return;
    }
    this.memoryHomeAt = k.scheduler.now;
    this.unclaim();
    this.setReserved(0);
    this.capture.dependents.delete(this);
    this.releaseImage();
    this.load();
  }

  /** On-demand: the clone starts with every page of the image absent until fetched. */
  private prepareOnDemand(): void {
    const k = this.k;
    const g = this.world.memory!;
    const image = this.capture.image!;
    for (let p = 0; p < g.pages; p++) {
      if ((image.meta[p]! & STATE_MASK) === PageState.Present) k.memory.setAbsent(g, p, PageState.AbsentFetch);
      else if ((g.meta[p]! & STATE_MASK) !== PageState.Unbacked) k.memory.setAbsent(g, p, PageState.Unbacked);
    }
    this.remaining = this.pagesNeeded;
    this.prepared = true;
    this.fetching = new Uint8Array(g.pages);
    this.env.track(g, this);
    this.load();
  }

  private load(): void {
    this.status = "loading";
    const at = this.env.vmmSlot(this.dest, loadCost(this.world.memory!.pages, this.o));
    this.k.at(at, () => this.run(), "clone load");
  }

  /** Entered in the next host's run queue. */
  private run(): void {
    if (this.status !== "loading") return;
    // Stopped at this very instant (its host crashed): the stop's own event fails it next.
    if (this.world.state === "stopped") return;
    const k = this.k;
    k.cluster.setState(this.world, "running", k.cause("load"));
    this.runningAt = k.scheduler.now;
    k.trace.span("clone launch", "launch", { host: this.dest.name, world: this.name }, this.requestedAt, this.runningAt, { parent: this.parent.name });
    if (this.o.memory === "on-demand" && this.remaining > 0) {
      this.status = "fetching";
      if (this.o.background) {
        this.pager = k.systemWorld(`${this.name}.fetcher`, this.dest, this.world);
        k.cluster.setState(this.pager, "running");
        this.pumpBackground();
      }
    } else {
      if (this.o.memory === "on-demand") this.memoryHome();
      this.status = "running";
    }
    this.listener.running(this);
  }

  // ---- on-demand memory ------------------------------------------------------------------

  /** A page fault on an absent page: one fetch per page, every faulting vCPU waits on it. */
  fault(page: number, vcpu: number): number {
    const g = this.world.memory!;
    if ((g.meta[page]! & STATE_MASK) !== PageState.AbsentFetch || this.fetching === null) return 0;
    this.c.faults++;
    let w = this.waiters.get(page);
    if (!w) this.waiters.set(page, (w = []));
    w.push(vcpu, this.k.scheduler.now);
    if (this.fetching[page] === 1) return WAIT;
    this.fetching[page] = 1;
    this.c.requests++;
    if (!this.k.network.hasRoute(this.dest.name, this.src.name)) {
      // Answered on its own event: the fault handler must not stop the VM under the vCPU.
      this.k.after(0, () => this.sourceLost(`no route from host "${this.dest.name}" to host "${this.src.name}" for page ${page}`), "clone fetch");
      return WAIT;
    }
    // The request crosses to the source (one way), then the page comes back.
    const oneWay = this.k.network.route(this.dest.name, this.src.name).latency;
    this.k.after(oneWay, () => {
      if (this.status !== "fetching" && this.status !== "loading") return;
      this.send(PAGE_SIZE, "destination", `clone ${this.parent.name} → ${this.name}: page ${page}`, () => this.land(Int32Array.of(page), 1));
    }, "clone fetch");
    return WAIT;
  }

  /** The background thread: pulls the pages still absent, in order, a batch at a time. */
  private pumpBackground(): void {
    if (this.status !== "fetching" || this.pager === null) return;
    const meta = this.world.memory!.meta;
    const fetching = this.fetching!;
    const pages = new Int32Array(this.o.batch);
    let n = 0;
    while (this.bgCursor < meta.length && n < pages.length) {
      const p = this.bgCursor++;
      if ((meta[p]! & STATE_MASK) === PageState.AbsentFetch && fetching[p] === 0) {
        fetching[p] = 1;
        pages[n++] = p;
      }
    }
    if (n === 0) {
      this.stopPager();
      return;
    }
    this.c.backgroundPages += n;
    this.send(n * PAGE_SIZE, "destination", `clone ${this.parent.name} → ${this.name}: background`, () => {
      this.land(pages, n);
      this.pumpBackground();
    });
  }

  /** Fetched pages arrive: each gets the content the parent had at capture. */
  private land(pages: Int32Array, n: number): void {
    if (this.status !== "fetching" && this.status !== "loading") return;
    const k = this.k;
    const g = this.world.memory!;
    const image = this.capture.image!;
    const now = k.scheduler.now;
    this.c.pagesSent += n;
    this.c.pageBytes += n * PAGE_SIZE;
    for (let i = 0; i < n; i++) {
      const p = pages[i]!;
      try {
        const content = k.memory.peek(image, p);
        k.memory.populate(g, p, content);
        this.arrivedDigest ^= pageDigest(p, content);
      } catch (err) {
        if (!(err instanceof VmscnError)) throw err;
        this.sourceLost(`host "${this.dest.name}" has no free frame for page ${p}: ${err.message}`);
        return;
      }
      this.fetching![p] = 0;
      this.remaining--;
      this.setReserved(this.reserved - 1);
      const w = this.waiters.get(p);
      if (!w) continue;
      this.waiters.delete(p);
      for (let j = 0; j < w.length; j += 2) {
        this.c.stallNs += now - w[j + 1]!;
        k.memory.wake(g, w[j]!);
      }
    }
    if (this.remaining === 0 && this.status === "fetching") {
      this.memoryHome();
      this.status = "running";
    }
  }

  /** Every page is here: the clone no longer depends on the source. */
  private memoryHome(): void {
    this.memoryHomeAt = this.k.scheduler.now;
    this.unclaim();
    this.env.track(this.world.memory!, null);
    this.capture.dependents.delete(this);
    this.fetching = null;
    this.stopPager();
    this.releaseImage();
  }

  // ---- transfers and failures --------------------------------------------------------------

  private send(bytes: number, initiator: "source" | "destination", label: string, onDone: () => void): void {
    let tr: Transfer;
    try {
      tr = this.k.network.transfer({
        from: this.src.name,
        to: this.dest.name,
        bytes,
        kind: "tcp",
        initiator,
        label,
        onDone: () => {
          this.inflight.delete(tr);
          onDone();
        },
        onFail: (err) => {
          this.inflight.delete(tr);
          this.transferFailed(err.message);
        },
      });
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      // No route (a link or host down): on its own event, as a failed transfer would be.
      this.k.after(0, () => this.transferFailed(err.message), "clone transfer");
      return;
    }
    this.inflight.add(tr);
  }

  private transferFailed(reason: string): void {
    if (this.status === "fetching" || this.status === "loading") this.sourceLost(reason);
    else this.fail(reason);
  }

  /** The clone still depended on the source for pages and lost it: it dies (as a post-copy VM does). */
  sourceLost(reason: string): void {
    if (this.finished) return;
    this.fail(`it still needed ${this.pagesLeft} pages from host "${this.src.name}": ${reason}`);
  }

  /** The clone's world stopped (its host crashed, or a `stop`) before its memory was home. */
  worldStopped(): void {
    if (this.finished || this.world.state !== "stopped") return;
    const why = this.world.failure ?? `it was stopped at ${formatTime(this.k.scheduler.now)}`;
    this.fail(why);
  }

  fail(reason: string): void {
    if (this.status === "failed") return;
    const k = this.k;
    this.status = "failed";
    this.failure = reason;
    this.unclaim();
    for (const tr of [...this.inflight]) k.network.end(tr, "cancelled");
    this.inflight.clear();
    this.setReserved(0);
    const coded = k.error("VMSCN7208", `clone "${this.name}" of "${this.parent.name}" failed: ${reason}`, this.world.label).describe();
    if (this.world.state !== "stopped") {
      this.world.failure = coded;
      k.cluster.setState(this.world, "stopped", k.cause("clone-failed"));
    } else this.world.failure ??= coded;
    const g = this.world.memory!;
    k.memory.releaseAll(g);
    this.env.track(g, null);
    this.capture.dependents.delete(this);
    this.fetching = null;
    // vCPUs parked on page faults must not wait forever (they find the VM stopped).
    k.memory.wake(g);
    this.waiters.clear();
    this.stopPager();
    this.releaseImage();
    k.trace.instant("clone failed", "launch", { host: this.dest.name, world: this.name }, k.scheduler.now, { reason });
    // A launch fails only before the clone runs; one that dies later had launched.
    if (this.runningAt === undefined) this.listener.failed(this);
  }

  private stopPager(): void {
    if (!this.pager) return;
    const p = this.pager;
    this.pager = null;
    if (this.k.cluster.hasWorld(p.name)) this.k.cluster.destroy(p, this.k.cause("fetcher-done"));
  }

  private releaseImage(): void {
    if (!this.usingImage) return;
    this.usingImage = false;
    this.capture.release();
  }

  private setReserved(pages: number): void {
    this.env.reserve(this.dest, pages - this.reserved);
    this.reserved = pages;
  }

  /** The background fetcher was killed (`kill`) or its host crashed: demand fetches go on, background paging stops. */
  pagerStopped(w: World): void {
    if (this.pager !== w) return;
    this.pager = null;
    this.c.pagerKilled = true;
  }
}
