// QEMU's post-copy after the switch (postcopy_start, then the migration thread's loop in
// post-copy, migration/ram.c): the source pushes the pages left in the dirty bitmap, from the
// start of memory, at link speed (max-postcopy-bandwidth 0: no cap), with no more syncs. A page
// the destination's guest touches first is requested (the userfault thread's
// migrate_send_rp_req_pages): the request crosses to the source and is queued
// (ram_save_queue_pages); the next batch takes it first, and the scan goes on from the page
// after it (get_queued_page: "the guest is likely to want other pages near to the page it just
// requested"). A request for a page no longer dirty (sent, or on its way) is skipped.
import type { Migration } from "./migration.js";
import type { RamState } from "./ram-state.js";

/** What the push needs of post-copy: a page is on its way, and pages landed. */
export interface PushEnds {
  onTheWay(page: number): void;
  land(pages: Int32Array, contents: Float64Array, n: number): void;
  count(content: number, bytes: number): void;
}

export class PostcopyPush {
  private readonly queue: number[] = [];
  /** No batch is being filled or leaving the sender: a request starts one. */
  private idle = true;

  constructor(
    private readonly m: Migration,
    private readonly ram: RamState,
    private readonly ends: PushEnds,
  ) {}

  start(): void {
    this.ram.cursor = 0;
    this.pump();
  }

  /** A request reached the source (ram_save_queue_pages): queued, unless the page is no longer dirty. */
  request(page: number): void {
    if (!this.ram.isDirty(page)) return;
    this.queue.push(page);
    if (this.idle) this.pump();
  }

  /** One batch: queued requests first, then the scan from its cursor; the next when it left the sender. */
  private pump(): void {
    const m = this.m;
    if (m.state !== "postcopy") return;
    const ram = this.ram;
    const want = m.o.batch;
    const pages = new Int32Array(want);
    let n = 0;
    let requested = 0;
    while (n < want) {
      let p = -1;
      while (this.queue.length > 0 && p < 0) {
        const q = this.queue.shift()!;
        if (ram.clear(q)) {
          p = q;
          requested++;
          // The scan goes on after the requested page.
          ram.cursor = q + 1 === ram.pages ? 0 : q + 1;
        }
      }
      if (p < 0) p = ram.next();
      if (p < 0) break;
      pages[n++] = p;
      this.ends.onTheWay(p);
    }
    if (n === 0) {
      this.idle = true;
      return;
    }
    this.idle = false;
    const contents = new Float64Array(n);
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const c = m.k.memory.peek(m.srcGuest, pages[i]!);
      contents[i] = c;
      const b = m.wire.page(c);
      this.ends.count(c, b);
      bytes += b;
    }
    m.c.backgroundPages += n - requested;
    m.net.send(bytes, "source", `migrate ${m.world.name} post-copy`, () => this.ends.land(pages, contents, n), () => this.pump());
  }
}
