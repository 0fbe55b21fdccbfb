// The migration sender's page stream (step 7, and the stop-and-copy): a list of pages sent a
// batch at a time, one batch in flight, each page's content read when its batch is sent (a
// later write is caught by the dirty log); coded first when the migration compresses, the
// sender and the destination each spending the CPU time on their cores. Pages land on the
// destination's page map when their batch arrives.
import { PageState, STATE_MASK, type World } from "../../core/api.js";
import type { Migration } from "./migration.js";

/** Where the sender takes its pages from: a list (a round, the stop-and-copy) or QEMU's bitmap scan. */
export interface PageSource {
  readonly stage: "round" | "stop-and-copy";
  /** Pages still to send (0: the source is exhausted). */
  readonly left: number;
  /** Bytes the source's pages put on the wire, and the pages it sent (deferred ones are skipped). */
  bytes: number;
  sent: number;
  /** Pages sent before may go as XBZRLE deltas (after the first round, or QEMU's first wrap). */
  readonly delta: boolean;
  /** The next page to send, taken off the source; -1 when there is none. */
  next(): number;
}

/** One pass over a list of pages (null: every page): a pre-copy round, or the stop-and-copy. */
export class Pass implements PageSource {
  cursor = 0;
  readonly n: number;
  bytes = 0;
  sent = 0;

  constructor(
    readonly stage: "round" | "stop-and-copy",
    readonly list: Int32Array | null,
    pages: number,
    readonly delta = false,
  ) {
    this.n = list ? list.length : pages;
  }

  /** Pages of the list not sent yet. */
  get left(): number {
    return this.n - this.cursor;
  }

  next(): number {
    if (this.cursor >= this.n) return -1;
    const p = this.list ? this.list[this.cursor]! : this.cursor;
    this.cursor++;
    return p;
  }
}

export class Batches {
  constructor(private readonly m: Migration) {}

  /** Batches on the wire (sent, not landed yet), and who waits for none to be. */
  private inflight = 0;
  /** Page and content arrays of batches that landed, for the next ones (a stream allocates no garbage). */
  private readonly spare: { pages: Int32Array; contents: Float64Array }[] = [];
  private readonly idleWaiters: (() => void)[] = [];

  /**
   * Sends the rest of `pass`, one batch in flight at a time; `end` once it is all sent. After
   * each batch lands, `landed` may end the pass there (it returns true).
   */
  send(pass: PageSource, end: () => void, landed?: () => boolean): void {
    while (pass.left > 0) {
      const next = (): void => {
        if (landed?.() !== true) this.send(pass, end, landed);
      };
      if (this.transmit(pass, null, next)) return;
    }
    end();
  }

  /**
   * QEMU's stream (qemu-precopy.ts): the next batch goes as soon as the last one left the
   * sender, as a socket takes bytes without waiting for them to arrive. Before each batch,
   * `turn(empty)` may take over (true): it stops the stream.
   */
  stream(src: PageSource, turn: (empty: boolean) => boolean, room: () => number = () => Infinity): void {
    for (;;) {
      if (turn(src.left === 0) || src.left === 0) return;
      if (this.transmit(src, () => this.stream(src, turn, room), null, room())) return;
    }
  }

  /** `then` once no batch is on the wire (at once if none is). */
  idle(then: () => void): void {
    if (this.inflight === 0) then();
    else this.idleWaiters.push(then);
  }

  /**
   * Fills one batch from `pass` and puts it on the wire: `sent` once it left the sender,
   * `arrived` once its pages landed. False when the pages left were all deferred (nothing sent).
   * A `room` in bytes (QEMU's rate-limit budget left) ends the batch with the page that uses it
   * up, as QEMU checks its budget before each page; such a batch is not paced by the cap.
   */
  private transmit(pass: PageSource, sent: (() => void) | null, arrived: (() => void) | null, room = Infinity): boolean {
    const m = this.m;
    const want = Math.min(m.o.batch, pass.left);
    const size = m.o.batch;
    const buf = this.spare.pop() ?? { pages: new Int32Array(size), contents: new Float64Array(size) };
    const { pages, contents } = buf;
    const g = m.srcGuest;
    const meta = g.meta;
    const frame = g.frame;
    const fc = m.k.memory.machine(g.hostId).content;
    const round = pass.stage === "round";
    const log = round ? m.log : null;
    let take = 0;
    let zeros = 0;
    // Fill the batch; pages an extension defers are skipped (and remembered) without filling it.
    const wire = m.wire;
    while (take < want && zeros * wire.zero + (take - zeros) * wire.normal <= room) {
      const p = pass.next();
      if (p < 0) break;
      // Write-protected again now or earlier, as the migration's rule says (write-protect.ts).
      if (log !== null) m.protect.beforeSend(log, p);
      const state = meta[p]! & STATE_MASK;
      const c = state === PageState.Present ? fc[frame[p]!]! : m.k.memory.peek(g, p);
      if (m.deferral.skip(p, c)) continue;
      pages[take] = p;
      contents[take] = c;
      take++;
      if (c === 0 && wire.markers) zeros++;
    }
    if (take === 0) {
      this.spare.push(buf);
      return false;
    }
    let bytes = zeros * wire.zero + (take - zeros) * wire.normal;
    let normal = take - zeros;
    let sendNs = 0;
    let receiveNs = 0;
    if (m.coder !== null) {
      // XBZRLE once the source allows it: from the second round on, or after QEMU's scan first wrapped.
      const coded = m.coder.coder.batch(pages, contents, take, pass.delta, m.precopy.writesPerPage, { age: m.c.dirtySyncCount, lastStage: !round });
      ({ bytes, normal, sendNs, receiveNs } = coded);
      m.c.compressed += coded.compressed;
      m.c.xbzrle += coded.xbzrle;
    }
    m.c.duplicate += zeros;
    m.c.normal += normal;
    m.c.transferred += bytes;
    if (round) m.c.precopyBytes += bytes;
    else m.c.downtimeBytes += bytes;
    pass.bytes += bytes;
    pass.sent += take;
    this.inflight++;
    const landed = (): void => {
      this.inflight--;
      const placed = this.place(pages, contents, take);
      this.spare.push(buf);
      if (!placed) return;
      arrived?.();
      if (this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
    };
    const o = m.o;
    const put = (): void => {
      const label = `migrate ${m.world.name} ${round ? `round ${m.rounds.length + 1}` : "stop-and-copy"}`;
      m.net.send(bytes, m.hooks.initiator ?? "source", label, () => this.busy(m.daemon, o.decompressThreads, 0, receiveNs, landed), sent ?? undefined, room !== Infinity);
    };
    // The sender reads each zero page whole to find it zero (QEMU's buffer_is_zero): modelled.
    const scanNs = zeros * o.zeroPageNs;
    const coded = (): void => this.busy(m.sender, o.compressThreads, 1, sendNs, put);
    if (scanNs > 0) m.k.after(scanNs, () => {
      if (!m.done) coded();
    }, "migration zero-page scan");
    else coded();
    return true;
  }

  /** Pages arrive on the destination: each gets its content (a zero page needs no frame). False when one had nowhere to land. */
  place(pages: Int32Array, contents: Float64Array, n: number): boolean {
    const m = this.m;
    const landed = m.k.memory.land(m.dst, pages, contents, n);
    if (landed === n) return true;
    // Something else took the destination's memory meanwhile (the exhaust fault, another
    // tenant): the page has nowhere to go.
    const err = m.k.error("VMSCN5002", `host "${m.dest.name}" ran out of memory while page ${pages[landed]} of VM "${m.world.name}" arrived`);
    m.k.after(0, () => m.outcome.transferFailed(err), "migration pages");
    return false;
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
