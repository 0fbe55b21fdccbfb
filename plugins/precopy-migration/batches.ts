// The migration sender's page stream (step 7, and the stop-and-copy): a list of pages sent a
// batch at a time, one batch in flight, each page's content read when its batch is sent (a
// later write is caught by the dirty log); coded first when the migration compresses, the
// sender and the destination each spending the CPU time on their cores. Pages land on the
// destination's page map when their batch arrives.
import { PageState, STATE_MASK, type World } from "../../core/api.js";
import { NORMAL_PAGE_BYTES, ZERO_PAGE_BYTES } from "./wire.js";
import type { Migration } from "./migration.js";

/** One pass over a list of pages (null: every page): a pre-copy round, or the stop-and-copy. */
export class Pass {
  cursor = 0;
  readonly n: number;
  /** Bytes the pass put on the wire, and the pages it sent (deferred ones are skipped). */
  bytes = 0;
  sent = 0;

  constructor(readonly stage: "round" | "stop-and-copy", readonly list: Int32Array | null, pages: number) {
    this.n = list ? list.length : pages;
  }

  /** Pages of the list not sent yet. */
  get left(): number {
    return this.n - this.cursor;
  }
}

export class Batches {
  constructor(private readonly m: Migration) {}

  /**
   * Sends the rest of `pass`, one batch in flight at a time; `end` once it is all sent. After
   * each batch lands, `landed` may end the pass there (it returns true).
   */
  send(pass: Pass, end: () => void, landed?: () => boolean): void {
    const m = this.m;
    if (pass.cursor >= pass.n) return end();
    const want = Math.min(m.o.batch, pass.n - pass.cursor);
    const pages = new Int32Array(want);
    const contents = new Float64Array(want);
    const g = m.srcGuest;
    const meta = g.meta;
    const frame = g.frame;
    const fc = m.k.memory.machine(g.hostId).content;
    const list = pass.list;
    let take = 0;
    let zeros = 0;
    // Fill the batch; pages an extension defers are skipped (and remembered) without filling it.
    while (take < want && pass.cursor < pass.n) {
      const p = list ? list[pass.cursor]! : pass.cursor;
      pass.cursor++;
      const state = meta[p]! & STATE_MASK;
      const c = state === PageState.Present ? fc[frame[p]!]! : m.k.memory.peek(g, p);
      if (m.deferral.skip(p, c)) continue;
      pages[take] = p;
      contents[take] = c;
      take++;
      if (c === 0) zeros++;
    }
    // Every page left in the list was deferred.
    if (take === 0) return this.send(pass, end, landed);
    let bytes = zeros * ZERO_PAGE_BYTES + (take - zeros) * NORMAL_PAGE_BYTES;
    let normal = take - zeros;
    let sendNs = 0;
    let receiveNs = 0;
    if (m.coder !== null) {
      // XBZRLE starts once the first bitmap sync is over: from the second round on.
      const coded = m.coder.coder.batch(pages, contents, take, m.rounds.length >= 1, m.precopy.writesPerPage);
      ({ bytes, normal, sendNs, receiveNs } = coded);
      m.c.compressed += coded.compressed;
      m.c.xbzrle += coded.xbzrle;
    }
    const round = pass.stage === "round";
    m.c.duplicate += zeros;
    m.c.normal += normal;
    m.c.transferred += bytes;
    if (round) m.c.precopyBytes += bytes;
    else m.c.downtimeBytes += bytes;
    pass.bytes += bytes;
    pass.sent += take;
    const arrived = (): void => {
      if (!this.place(pages, contents, take)) return;
      if (landed?.() === true) return;
      this.send(pass, end, landed);
    };
    const o = m.o;
    this.busy(m.sender, o.compressThreads, 1, sendNs, () => {
      const label = `migrate ${m.world.name} ${round ? `round ${m.rounds.length + 1}` : "stop-and-copy"}`;
      m.net.send(bytes, m.hooks.initiator ?? "source", label, () => this.busy(m.daemon, o.decompressThreads, 0, receiveNs, arrived));
    });
  }

  /** Pages arrive on the destination: each gets its content (a zero page needs no frame). False when one had nowhere to land. */
  place(pages: Int32Array, contents: Float64Array, n: number): boolean {
    const m = this.m;
    const mem = m.k.memory;
    const g = m.dst;
    const machine = mem.machine(g.hostId);
    for (let i = 0; i < n; i++) {
      const p = pages[i]!;
      const c = contents[i]!;
      const state = g.meta[p]! & STATE_MASK;
      if (c !== 0 && state !== PageState.Present && machine.free === 0) {
        // Something else took the destination's memory meanwhile (the exhaust fault, another
        // tenant): the page has nowhere to go.
        const err = m.k.error("VMSCN5002", `host "${m.dest.name}" ran out of memory while page ${p} of VM "${m.world.name}" arrived`);
        m.k.after(0, () => m.outcome.transferFailed(err), "migration pages");
        return false;
      }
      if (c === 0) {
        if (state !== PageState.Unbacked) mem.setAbsent(g, p, PageState.Unbacked);
      } else if (state === PageState.Present && machine.refs[g.frame[p]!] === 1) {
        machine.content[g.frame[p]!] = c; // a page sent again: its private frame is rewritten
      } else mem.populate(g, p, c);
    }
    return true;
  }

  /**
   * `cpuNs` of CPU work on `world` spread over `threads` cores: the world demands that many
   * cores meanwhile (the host's other worlds feel it) and the work takes as long as its share
   * of the host's CPUs allows; then its demand goes back to `idle` cores.
   */
  private busy(world: World, threads: number, idle: number, cpuNs: number, then: () => void): void {
    if (cpuNs <= 0) return then();
    const k = this.m.k;
    k.cluster.setDemand(world, threads);
    k.after(this.m.coder!.port.timeOn(world, cpuNs / threads), () => {
      if (this.m.done) return;
      k.cluster.setDemand(world, idle);
      then();
    }, "migration coding");
  }
}
