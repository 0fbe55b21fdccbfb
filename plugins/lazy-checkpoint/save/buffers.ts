// The save's buffers and the threads that fill them. A memory block is captured into a buffer:
// one per vCPU (its save thread, steps 410-420 and 610-622: a vCPU whose access hits a trace
// copies the whole block first, and writes its buffer when full, waiting for the write) and
// one per background thread (steps 430-440 and 630-638: a helper world that starts when the
// vCPUs save too little, takes the blocks least likely to be accessed, and writes its buffer
// to the second part, or to the first in suspend mode). A full buffer is one IO block.
import { PAGE_SIZE, WAIT, type PluginContext, type World } from "../../../core/api.js";
import type { EncodedBlock } from "../../compression/api.js";
import { BACKGROUND_WRITER, IO_HEADER_SIZE, type Geometry } from "../format.js";
import { COPY_NS_PER_BYTE, RATE_WINDOW_NS } from "../shared.js";
import type { Save } from "./save.js";

/** A memory block captured into a buffer: its pages' contents at the checkpoint (and its encoding). */
export interface Captured {
  mb: number;
  /** Pages in the block (the last block of a guest may be short). */
  count: number;
  identities: Float64Array;
  zeroMask: number;
  untouchedMask: number;
  encoded: EncodedBlock | null;
}

/** A staging buffer: one IO block's worth of memory blocks. */
export class Buffer {
  readonly blocks: Captured[] = [];
  /** Bytes the compressed layout uses so far (IO block header included). */
  used = IO_HEADER_SIZE;
  /** A block that did not fit: it goes into this buffer once the buffer has been written. */
  pending: Captured | null = null;

  constructor(
    private readonly g: Geometry,
    private readonly compressed: boolean,
  ) {}

  fits(c: Captured): boolean {
    if (!this.compressed) return this.blocks.length < this.g.blocksPerIo;
    return this.used + this.g.recordBytes + c.encoded!.body.length <= this.g.ioBlockSize;
  }

  add(c: Captured): void {
    this.blocks.push(c);
    if (this.compressed) this.used += this.g.recordBytes + c.encoded!.body.length;
  }

  /** The block that did not fit goes in first, now that the buffer was written. */
  takePending(): void {
    if (!this.pending) return;
    this.add(this.pending);
    this.pending = null;
  }

  /** Full: uncompressed, M blocks; compressed, not even an empty record fits any more. */
  get full(): boolean {
    return this.compressed ? this.used + this.g.recordBytes > this.g.ioBlockSize : this.blocks.length >= this.g.blocksPerIo;
  }

  reset(): void {
    this.blocks.length = 0;
    this.used = IO_HEADER_SIZE;
  }
}

/** A background save thread: not started yet, saving blocks, or stopped (out of blocks, or the save ended). */
interface BackgroundThread {
  state: "waiting" | "running" | "stopped";
  world: World | null;
  readonly buf: Buffer;
}

function copyNs(c: Captured): number {
  return Math.round(c.count * PAGE_SIZE * COPY_NS_PER_BYTE);
}

export class SaveThreads {
  private readonly vcpuBufs: Buffer[];
  private readonly background: BackgroundThread[];
  /** vCPUs parked until their buffer's write completes, and since when. */
  private readonly waitingSince = new Map<number, number>();
  /** Pages the vCPUs saved in the current rate window, which began at `rateLast`. */
  private ratePages = 0;
  private rateLast = 0;
  private readonly k: PluginContext;

  constructor(private readonly s: Save) {
    this.k = s.k;
    const compressed = s.session !== null;
    this.vcpuBufs = Array.from({ length: s.world.vcpus }, () => new Buffer(s.g, compressed));
    this.background = Array.from({ length: s.o.backgroundThreads }, () => ({ state: "waiting", world: null, buf: new Buffer(s.g, compressed) }));
  }

  // ---- vCPU save threads (steps 410-420, 610-622) --------------------------------------------

  /** A traced page was touched by `vcpu`: its memory block goes into the vCPU's buffer first. */
  fault(page: number, vcpu: number): number {
    const s = this.s;
    const b = Math.floor(page / s.o.pagesPerBlock);
    if (s.state !== "active" || s.blockState[b] !== 0) {
      this.k.memory.clearTraps(s.guest, page, s.capture.trapBit);
      return 0;
    }
    s.c.traceFaults++;
    const cap = s.capture.block(b);
    s.c.vcpuBlocks++;
    this.ratePages += cap.count;
    const writer = vcpu % this.vcpuBufs.length;
    const buf = this.vcpuBufs[writer]!;
    const cost = copyNs(cap) + (cap.encoded?.cpuNs ?? 0);
    if (buf.fits(cap)) {
      buf.add(cap);
      if (!buf.full) {
        s.c.vcpuStallNs += cost;
        s.checkFinish();
        return cost;
      }
    } else buf.pending = cap;
    // Step 416: the buffer is full: the vCPU writes it to the next IO block of the first part, then goes on.
    s.c.vcpuWaits++;
    this.waitingSince.set(vcpu, this.k.scheduler.now);
    s.after(cost, () => {
      s.writer.flush(buf, 1, writer, () => {
        buf.takePending();
        this.wake(vcpu);
        s.checkFinish();
      });
    }, "checkpoint vCPU save");
    return WAIT;
  }

  private wake(vcpu: number): void {
    const since = this.waitingSince.get(vcpu);
    if (since === undefined) return;
    this.waitingSince.delete(vcpu);
    this.s.c.vcpuStallNs += this.k.scheduler.now - since;
    this.k.memory.wake(this.s.guest, vcpu);
  }

  /** The save failed: no vCPU waits for a write any more. */
  wakeAll(): void {
    for (const v of [...this.waitingSince.keys()]) this.wake(v);
  }

  /** The vCPUs' buffers that hold blocks, with their writers: written last, to the first part. */
  partialBuffers(): (readonly [Buffer, number])[] {
    return this.vcpuBufs.map((b, v) => [b, v] as const).filter(([b]) => b.blocks.length > 0);
  }

  /** No thread is saving, no vCPU waits, no block waits for room in a buffer. */
  settled(): boolean {
    if (this.background.some((t) => t.state === "running") || this.waitingSince.size > 0) return false;
    return !this.background.some((t) => t.buf.pending !== null) && !this.vcpuBufs.some((b) => b.pending !== null);
  }

  // ---- background save threads (steps 430-440, 630-638) --------------------------------------

  /** The VM runs again: the vCPUs' saving rate is watched from now on. */
  watch(): void {
    this.rateLast = this.k.scheduler.now;
    if (this.s.o.backgroundThreads > 0) this.s.after(RATE_WINDOW_NS, () => this.watchRate(), "checkpoint save rate");
  }

  private watchRate(): void {
    const s = this.s;
    if (s.backgroundAt !== undefined) return;
    const now = this.k.scheduler.now;
    const rate = (this.ratePages * 1e9) / Math.max(1, now - this.rateLast);
    this.ratePages = 0;
    this.rateLast = now;
    if (rate < s.o.backgroundThreshold && s.capture.remaining > 0) this.startBackground();
    else if (s.capture.remaining > 0) s.after(RATE_WINDOW_NS, () => this.watchRate(), "checkpoint save rate");
  }

  /** Step 405: the background threads start, each a helper world with one CPU while it runs. */
  startBackground(): void {
    const s = this.s;
    if (s.backgroundAt !== undefined) return;
    s.backgroundAt = this.k.scheduler.now;
    this.background.forEach((t, i) => {
      const w = this.k.systemWorld(`${s.world.name}.checkpoint-save#${s.seq}.${i}`, s.world.host, s.world);
      this.k.cluster.setState(w, "running");
      t.world = w;
      t.state = "running";
      this.round(i, 0);
    });
  }

  /** One round of a background thread: fill its buffer with the blocks least likely to be accessed, write it. */
  private round(i: number, lastIoNs: number): void {
    const s = this.s;
    // A thread started after the save ended (it failed as an earlier one stopped) does nothing.
    if (s.ended) return;
    const t = this.background[i]!;
    const buf = t.buf;
    let cpu = 0;
    buf.takePending();
    while (!buf.full) {
      const b = s.capture.nextBlock();
      if (b < 0) break;
      const cap = s.capture.block(b);
      s.c.backgroundBlocks++;
      cpu += copyNs(cap) + (cap.encoded?.cpuNs ?? 0);
      if (!buf.fits(cap)) {
        buf.pending = cap;
        break;
      }
      buf.add(cap);
    }
    if (buf.blocks.length === 0) {
      // Out of blocks: the thread ends.
      this.stop(t);
      s.checkFinish();
      return;
    }
    const part = s.o.mode === "lazy" ? 2 : 1;
    const delay = this.timeOn(t.world!, cpu);
    const wait = s.throttle.delay(s.g.ioBlockSize, lastIoNs);
    s.after(delay + wait, () => {
      const t0 = this.k.scheduler.now;
      s.writer.flush(buf, part, BACKGROUND_WRITER + i, () => this.round(i, this.k.scheduler.now - t0));
    }, "checkpoint background save");
  }

  /** CPU time on a helper world, stretched when the host's CPUs are overcommitted. */
  private timeOn(w: World, cpuNs: number): number {
    const f = this.k.cluster.cpuFactor(w);
    return Math.round(f > 0 ? cpuNs / f : cpuNs);
  }

  hasWorld(w: World): boolean {
    return this.background.some((t) => t.world === w);
  }

  private stop(t: BackgroundThread): void {
    const w = t.world;
    t.state = "stopped";
    t.world = null;
    // The signal's cause names this plugin: the save does not take it for a thread dying.
    if (w && this.k.cluster.hasWorld(w.name) && this.k.cluster.world(w.name) === w) this.k.cluster.destroy(w);
  }

  /** Step 406: every background thread stops. */
  stopWorlds(): void {
    for (const t of this.background) if (t.world) this.stop(t);
  }
}
