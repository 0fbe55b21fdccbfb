// Steps 12, 13: the VM runs on the destination while pages are still on the source. A vCPU
// touching one takes a network page fault: the request crosses to the source (one way) and the
// page comes back, the vCPU parked meanwhile; vCPUs faulting on one page share its fetch. With
// `background`, a background paging thread (a system world on the destination) also pulls the
// pages left, in order, a batch at a time. The sender on the source serves both. A request
// that finds no route to the source (a link went down) fails the migration as a transfer would:
// the destination VM is stopped.
import { PageState, STATE_MASK, VmscnError, WAIT } from "../../core/api.js";
import type { Migration } from "./migration.js";
import { PostcopyPush } from "./postcopy-push.js";

export class PostCopy {
  /** Per page: a fetch is under way (1), one fetch serving every vCPU that faults on the page. */
  private fetching: Uint8Array | null = null;
  /** vCPUs parked per page, with when each faulted: vcpu, time, vcpu, time, ... */
  readonly waiters = new Map<number, number[]>();
  private bgCursor = 0;
  /** QEMU's post-copy (postcopy-ram): the source's push of the bitmap; null otherwise. */
  private push: PostcopyPush | null = null;

  constructor(private readonly m: Migration) {}

  /**
   * Entered before the VM resumes on the destination (QEMU is postcopy-active before the
   * destination runs): a vCPU whose first access after the resume touches a page still on the
   * source (a write queued during the downtime) takes a network page fault, not a crash.
   */
  prepare(): void {
    this.m.enter("postcopy");
    this.fetching = new Uint8Array(this.m.pages);
  }

  /** The source serves the pages left (its sender idle, no CPU demand); the background thread starts, or QEMU's push. */
  run(): void {
    const m = this.m;
    const k = m.k;
    k.cluster.setDemand(m.sender, 0);
    if (m.postcopyBitmap !== null) {
      this.push = new PostcopyPush(m, m.postcopyBitmap, {
        onTheWay: (p) => (this.fetching![p] = 1),
        land: (pages, contents, n) => this.land(pages, contents, n),
        count: (c, bytes) => this.count(c, bytes),
      });
      this.push.start();
      return;
    }
    if (!m.o.background) return;
    m.pager = k.systemWorld(`${m.world.name}.background-pager#${m.seq}`, m.dest, m.world);
    k.cluster.setState(m.pager, "running");
    this.pumpBackground();
  }

  /** A network page fault on the destination: one fetch per page, every faulting vCPU waits on it. */
  fault(page: number, vcpu: number): number {
    const m = this.m;
    if ((m.dst.meta[page]! & STATE_MASK) !== PageState.AbsentFetch || m.state !== "postcopy") return 0;
    m.c.faults++;
    let w = this.waiters.get(page);
    if (!w) this.waiters.set(page, (w = []));
    w.push(vcpu, m.k.scheduler.now);
    if (m.postcopyBitmap !== null) return this.request(page);
    if (this.fetching![page] === 1) return WAIT;
    // The request crosses to the source (one way), then the page comes back.
    const oneWay = this.requestLatency();
    if (oneWay === undefined) return WAIT;
    this.fetching![page] = 1;
    m.c.postcopyRequests++;
    m.k.after(oneWay, () => {
      if (m.state !== "postcopy") return;
      const c = m.k.memory.peek(m.srcGuest, page);
      const bytes = m.wire.page(c);
      this.count(c, bytes);
      m.net.send(bytes, "destination", `migrate ${m.world.name} page ${page}`, () => this.land(Int32Array.of(page), Float64Array.of(c), 1));
    }, "demand paging");
    return WAIT;
  }

  /**
   * QEMU's post-copy: every fault sends a request (migrate_send_rp_req_pages), each counted as
   * postcopy-requests (ram_save_queue_pages), even for a page already on its way; it reaches the
   * source one way later, before the push's start if the resume raced it.
   */
  private request(page: number): number {
    const m = this.m;
    const oneWay = this.requestLatency();
    if (oneWay === undefined) return WAIT;
    m.c.postcopyRequests++;
    m.k.after(oneWay, () => {
      if (m.state === "postcopy") this.push?.request(page);
    }, "post-copy request");
    return WAIT;
  }

  /**
   * How long a page request takes to reach the source; undefined when no route is left (a link
   * went down): the migration then fails as a transfer that cannot start does — on an event of
   * its own, so the faulting access parks first — and the destination VM is stopped, which
   * wakes its vCPUs (README, Failures).
   */
  private requestLatency(): number | undefined {
    const m = this.m;
    try {
      return m.k.network.route(m.dest.name, m.src.name).latency;
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      m.k.after(0, () => m.outcome.transferFailed(err), "demand paging");
      return undefined;
    }
  }

  /** The background paging thread: pulls the pages still absent, in order, a batch at a time. */
  private pumpBackground(): void {
    const m = this.m;
    if (m.state !== "postcopy") return;
    const meta = m.dst.meta;
    const fetching = this.fetching!;
    const pages = new Int32Array(m.o.batch);
    let n = 0;
    while (this.bgCursor < m.pages && n < pages.length) {
      const p = this.bgCursor++;
      if ((meta[p]! & STATE_MASK) === PageState.AbsentFetch && fetching[p] === 0) {
        fetching[p] = 1;
        pages[n++] = p;
      }
    }
    // Nothing left to pull; demand fetches under way finish the job.
    if (n === 0) return m.k.cluster.setState(m.pager!, "stopped", m.k.cause("paged-in"));
    const contents = new Float64Array(n);
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const c = m.k.memory.peek(m.srcGuest, pages[i]!);
      contents[i] = c;
      const b = m.wire.page(c);
      this.count(c, b);
      bytes += b;
    }
    m.c.backgroundPages += n;
    m.net.send(bytes, "destination", `migrate ${m.world.name} background`, () => {
      this.land(pages, contents, n);
      this.pumpBackground();
    });
  }

  /** Pages moved after resume go whole (QEMU's compression and XBZRLE do not work in post-copy). */
  private count(c: number, bytes: number): void {
    const m = this.m;
    if (c === 0 && m.wire.markers) m.c.duplicate++;
    else m.c.normal++;
    m.c.transferred += bytes;
    m.c.postcopyBytes += bytes;
  }

  /** Fetched pages land; the vCPUs waiting on them go on; the last one completes the migration. */
  private land(pages: Int32Array, contents: Float64Array, n: number): void {
    const m = this.m;
    if (m.state !== "postcopy") return;
    const now = m.k.scheduler.now;
    if (!m.batches.place(pages, contents, n)) return;
    for (let i = 0; i < n; i++) {
      const p = pages[i]!;
      this.fetching![p] = 0;
      m.remainingPost--;
      const w = this.waiters.get(p);
      if (!w) continue;
      this.waiters.delete(p);
      for (let j = 0; j < w.length; j += 2) {
        m.c.stallNs += now - w[j + 1]!;
        m.k.memory.wake(m.dst, w[j]!);
      }
    }
    m.outcome.maybeComplete();
  }
}
