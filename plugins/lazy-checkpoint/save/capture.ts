// The save's capture: what the checkpoint holds and when. With an access window, accessed bits
// are gathered first; then the VM is quiesced (step 402: its vCPUs stop, its pending disk IO
// finishes), the contents of every page are taken at that instant, blocks of zero or untouched
// pages are encoded up front, and in lazy mode access (or write) traces go on every other page
// before the VM resumes (steps 403-404). In suspend mode the VM stays stopped until the save
// ends. A block is captured (its contents copied out, its traces lifted) when a thread saves it.
import { PageState, STATE_MASK, Trap, kernelError, type PluginContext } from "../../../core/api.js";
import { ZERO_BLOCK } from "../format.js";
import { QUIESCE_POLL_NS, TRACE_NS_PER_PAGE } from "../shared.js";
import type { Captured } from "./buffers.js";
import type { Save } from "./save.js";

export class Capture {
  /** The trace a lazy save installs: access traces fault reads and writes, write traces writes only. */
  readonly trapBit: number;
  /** Memory blocks not yet captured. */
  remaining = 0;
  /** Accessed bits gathered in the access window (null without one). */
  private accessed: Uint8Array | null = null;
  /** Pages never written, at the checkpoint. */
  private untouched = new Uint8Array(0);
  /** The order in which background threads take blocks, and how far they got. */
  private order: Int32Array = new Int32Array(0);
  private cursor = 0;
  /** Releases the save's hold on the VM's suspension (quiesce, and a suspend-mode save's whole length). */
  private hold: ((resume?: boolean) => void) | null = null;
  private readonly k: PluginContext;

  constructor(private readonly s: Save) {
    this.k = s.k;
    this.trapBit = s.o.trace === "access" ? Trap.AccessTrace : Trap.WriteTrace;
  }

  start(): void {
    const s = this.s;
    if (s.o.accessWindow > 0) {
      // Accessed bits: a trace on every page; the first access to each sets its bit (and costs the guest nothing).
      this.accessed = new Uint8Array(s.pages);
      this.k.memory.setTrapsAll(s.guest, Trap.AccessTrace);
      s.after(s.o.accessWindow, () => {
        this.k.memory.clearTrapsAll(s.guest, Trap.AccessTrace);
        this.quiesce();
      }, "checkpoint access window");
      return;
    }
    this.quiesce();
  }

  /** A fault while accessed bits are gathered: set the bit, let the access go on. */
  sample(page: number): number {
    if (this.accessed![page] === 0) {
      this.accessed![page] = 1;
      this.s.c.sampledPages++;
    }
    this.k.memory.clearTraps(this.s.guest, page, Trap.AccessTrace);
    return 0;
  }

  /** Step 402: stop the vCPUs and let the VM's pending disk IO finish (polled, up to a timeout). */
  private quiesce(): void {
    const s = this.s;
    s.to("quiescing");
    const since = (s.quiescedAt = this.k.scheduler.now);
    // Held suspended: the `resume` verb (or another plugin) cannot let the guest write before
    // the traces are in; the release resumes it if it ran and nobody else holds it.
    this.hold = this.k.cluster.holdSuspended(s.world, `a checkpoint save to "${s.file.key}"`);
    if (s.ended) return;
    const stores = [...new Set((this.k.vmInfo(s.world)?.disks ?? []).map((d) => d.datastore.name))];
    const drain = (): void => {
      const busy = stores.some((d) => this.k.storage.datastore(d).inFlight > 0);
      if (busy && this.k.scheduler.now - since < s.o.quiesceTimeout) {
        s.after(QUIESCE_POLL_NS, drain, "checkpoint quiesce");
        return;
      }
      s.c.quiesceNs = this.k.scheduler.now - since;
      this.checkpointed();
    };
    drain();
  }

  /** The checkpoint: contents captured, zero blocks encoded up front, the file begun, traces installed. */
  private checkpointed(): void {
    const { k, s } = this;
    const g = s.guest;
    const P = s.o.pagesPerBlock;
    const snap = new Float64Array(s.pages);
    const untouched = new Uint8Array(s.pages);
    const fc = k.memory.machine(g.hostId).content;
    for (let p = 0; p < s.pages; p++) {
      const st = g.meta[p]! & STATE_MASK;
      if (st === PageState.Present) snap[p] = fc[g.frame[p]!]!;
      else if (st === PageState.Unbacked) untouched[p] = 1;
      else snap[p] = k.memory.peek(g, p);
    }
    s.snapshot = snap;
    s.file.snapshot = null;
    let trapped = 0;
    for (let b = 0; b < s.blocks; b++) {
      const from = b * P;
      const to = Math.min(s.pages, from + P);
      let zero = true;
      for (let p = from; p < to; p++) if (snap[p] !== 0) zero = false;
      if (zero) {
        s.blockState[b] = 3;
        s.memIo[b] = ZERO_BLOCK;
        s.c.zeroBlocks++;
        for (let p = from; p < to; p++) {
          s.c.zeroPages++;
          s.c.untouchedPages += untouched[p]!;
        }
        continue;
      }
      this.remaining++;
      for (let p = from; p < to; p++) {
        if (snap[p] === 0) {
          s.c.zeroPages++;
          s.c.untouchedPages += untouched[p]!;
        } else s.c.contentPages++;
      }
      if (s.o.mode === "lazy") {
        for (let p = from; p < to; p++) g.meta[p] = g.meta[p]! | this.trapBit;
        trapped += to - from;
      }
    }
    this.untouched = untouched;
    this.order = this.blockOrder();
    s.writer.begin();
    if (s.ended) return;
    if (s.o.mode === "suspend") {
      s.to("active");
      s.threads.startBackground();
      s.checkFinish();
      return;
    }
    // Step 404: the VM resumes once the traces are in.
    s.after(trapped * TRACE_NS_PER_PAGE, () => {
      s.to("active");
      this.resume();
      s.resumedAt = k.scheduler.now;
      k.trace.span("checkpoint downtime", "checkpoint", { host: s.host, world: s.world.name }, s.quiescedAt!, s.resumedAt, { file: s.file.key });
      s.threads.watch();
      s.checkFinish();
    }, "checkpoint traces");
  }

  /** The save lets go of the VM: it runs again if it ran before (and `resume` is not false). */
  resume(resume = true): void {
    this.hold?.(resume);
    this.hold = null;
  }

  /** The save failed: the traces still installed go (the save's, or the accessed-bit window's). */
  liftTraces(sampling: boolean): void {
    this.k.memory.clearTrapsAll(this.s.guest, sampling ? Trap.AccessTrace : this.trapBit);
  }

  /**
   * The order in which background threads take blocks (step 430): lazy, fewest accessed bits
   * first (least likely to be accessed); suspend, most first (the likely-accessed blocks lead
   * the file). Ties in block order.
   */
  private blockOrder(): Int32Array {
    const s = this.s;
    const P = s.o.pagesPerBlock;
    const counts = new Uint8Array(s.blocks);
    if (this.accessed) for (let p = 0; p < s.pages; p++) counts[Math.floor(p / P)]! += this.accessed[p]!;
    const byCount = new Int32Array(P + 2);
    for (let b = 0; b < s.blocks; b++) byCount[counts[b]! + 1]!++;
    for (let i = 1; i < byCount.length; i++) byCount[i]! += byCount[i - 1]!;
    const out = new Int32Array(s.blocks);
    for (let b = 0; b < s.blocks; b++) out[byCount[counts[b]!]!++] = b;
    if (s.o.mode === "suspend") {
      // most accessed first; within one count, block order
      const desc = new Int32Array(s.blocks);
      let at = 0;
      for (let c = P; c >= 0; c--) for (let i = 0; i < s.blocks; i++) if (counts[out[i]!] === c) desc[at++] = out[i]!;
      return desc;
    }
    return out;
  }

  /** The next block a background thread saves, -1 when none is left. */
  nextBlock(): number {
    while (this.cursor < this.order.length) {
      const b = this.order[this.cursor++]!;
      if (this.s.blockState[b] === 0) return b;
    }
    return -1;
  }

  /** Steps 412 / 432: copies a block's contents out of guest memory (unchanged since the checkpoint) and lifts its traces. */
  block(b: number): Captured {
    const { k, s } = this;
    const g = s.guest;
    const P = s.o.pagesPerBlock;
    const from = b * P;
    const count = Math.min(P, s.pages - from);
    const ids = new Float64Array(count);
    let untouchedMask = 0;
    const fc = k.memory.machine(g.hostId).content;
    for (let i = 0; i < count; i++) {
      const p = from + i;
      const m = g.meta[p]!;
      const st = m & STATE_MASK;
      ids[i] = st === PageState.Present ? fc[g.frame[p]!]! : st === PageState.Unbacked ? 0 : k.memory.peek(g, p);
      if (this.untouched[p]) untouchedMask |= 1 << i;
      g.meta[p] = m & ~this.trapBit;
      if (k.config.checkInvariants && ids[i] !== s.snapshot![p]) {
        throw kernelError("VMSCN5014", `checkpoint of "${s.world.name}": page ${p} changed before its memory block was saved`, { time: k.scheduler.now, where: s.world.label });
      }
    }
    s.blockState[b] = 1;
    this.remaining--;
    let zeroMask = 0;
    for (let i = 0; i < count; i++) if (ids[i] === 0) zeroMask |= 1 << i;
    const encoded = s.session ? s.session.encodeBlock(ids, 0, count, untouchedMask >>> 0) : null;
    return { mb: b, count, identities: ids, zeroMask: zeroMask >>> 0, untouchedMask: (untouchedMask & zeroMask) >>> 0, encoded };
  }
}
