// One checkpoint save, after the document's figures 2A, 4 and 6. The main thread quiesces the
// VM (its vCPUs stop, its pending disk IO finishes), encodes up front the memory blocks whose
// pages are all zero or untouched, installs access (or write) traces on every other page and
// resumes the VM (lazy mode). A vCPU that touches a traced page runs its save thread: the
// whole memory block is copied (and compressed) into that vCPU's buffer before the access
// goes on; a full buffer becomes the next IO block of the file's first part. Background
// threads, started once the vCPUs save less than a threshold, save the blocks least likely to
// be accessed (fewest accessed bits) into the second part. In suspend mode the VM stays
// stopped and background threads save every block, most accessed first, into the first part.
import { PAGE_SIZE, PageState, STATE_MASK, Trap, VmscnError, WAIT, formatTime, kernelError, pageBytes, type GuestMemory, type IoRequest, type PluginContext, type VerbCall, type World } from "../../core/api.js";
import { BACKGROUND_WRITER, HEADER_SIZE, IO_HEADER_SIZE, NO_BLOCK, VERSION, ZERO_BLOCK, crcOf, encodeHeader, encodeMaps, geometry, putRecord, roundUp, sealIoBlock, type Geometry, type Header } from "./format.js";
import type { CheckpointOptions } from "./options.js";
import { COPY_NS_PER_BYTE, QUIESCE_POLL_NS, RATE_WINDOW_NS, TRACE_NS_PER_PAGE, Throttle, deviceStateIdentity, type CheckpointFile, type CompressionSession, type EncodedBlock } from "./shared.js";

export type SaveStatus = "sampling" | "quiescing" | "active" | "finishing" | "completed" | "failed";

/** A memory block captured into a buffer: its pages' contents at the checkpoint (and its encoding). */
interface Captured {
  mb: number;
  /** Pages in the block (the last block of a guest may be short). */
  count: number;
  identities: Float64Array;
  zeroMask: number;
  untouchedMask: number;
  encoded: EncodedBlock | null;
}

/** A staging buffer: one IO block's worth of memory blocks. */
class Buffer {
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

  /** Full: uncompressed, M blocks; compressed, not even an empty record fits any more. */
  get full(): boolean {
    return this.compressed ? this.used + this.g.recordBytes > this.g.ioBlockSize : this.blocks.length >= this.g.blocksPerIo;
  }

  reset(): void {
    this.blocks.length = 0;
    this.used = IO_HEADER_SIZE;
  }
}

export class Save {
  status: SaveStatus = "sampling";
  failure: string | undefined;
  failureCode: string | undefined;
  readonly startedAt: number;
  quiescedAt: number | undefined;
  resumedAt: number | undefined;
  completedAt: number | undefined;
  backgroundAt: number | undefined;
  readonly g: Geometry;
  readonly pages: number;
  readonly blocks: number;
  readonly guest: GuestMemory;
  readonly host: string;
  /** Contents of every page at the checkpoint. */
  snapshot: Float64Array | null = null;
  readonly memIo: Float64Array;
  readonly ioMem: Uint32Array;
  readonly firstPart: number[] = [];
  readonly secondPart: number[] = [];
  /** 0 waiting, 1 captured (in a buffer or being written), 2 in the file, 3 encoded up front. */
  readonly blockState: Uint8Array;
  /** Figures for the report. */
  readonly c = { traceFaults: 0, vcpuBlocks: 0, backgroundBlocks: 0, zeroBlocks: 0, zeroPages: 0, untouchedPages: 0, contentPages: 0, vcpuStallNs: 0, vcpuWaits: 0, ioWrites: 0, bytesWritten: 0, sampledPages: 0, quiesceNs: 0 };
  fileLength = 0;
  private readonly trapBit: number;
  private readonly compressed: boolean;
  private readonly deviceBytes: number;
  private readonly ioArea: number;
  private readonly maxIo: number;
  private nextIo = 0;
  private remaining = 0;
  private accessed: Uint8Array | null = null;
  private order: Int32Array = new Int32Array(0);
  private cursor = 0;
  private readonly vcpuBufs: Buffer[];
  private readonly bgBufs: Buffer[];
  private readonly bgWorlds: (World | null)[];
  private bgRunning = 0;
  private readonly inflight = new Set<IoRequest>();
  /** Releases the save's hold on the VM's suspension (quiesce, and a suspend-mode save's whole length). */
  private release: ((resume?: boolean) => void) | null = null;
  private closing = false;
  private ratePages = 0;
  private rateLast = 0;
  readonly throttle: Throttle;
  private readonly waitingSince = new Map<number, number>();

  constructor(
    private readonly k: PluginContext,
    readonly world: World,
    readonly o: CheckpointOptions,
    readonly file: CheckpointFile,
    private readonly session: CompressionSession | null,
    private readonly call: VerbCall,
    private readonly seq: number,
    private readonly onEnd: (s: Save) => void,
  ) {
    this.startedAt = k.scheduler.now;
    this.guest = world.memory!;
    this.host = world.host.name;
    this.pages = this.guest.pages;
    this.g = geometry(o.pagesPerBlock, o.blocksPerIo);
    this.blocks = Math.ceil(this.pages / o.pagesPerBlock);
    this.compressed = session !== null;
    this.trapBit = o.trace === "access" ? Trap.AccessTrace : Trap.WriteTrace;
    this.deviceBytes = k.vmInfo(world)?.deviceStateBytes ?? 0;
    this.ioArea = roundUp(HEADER_SIZE + this.deviceBytes, 4096);
    this.maxIo = Save.maxIoBlocks(this.blocks, o, world.vcpus);
    this.memIo = new Float64Array(this.blocks);
    this.ioMem = new Uint32Array(this.maxIo * o.blocksPerIo).fill(NO_BLOCK);
    this.blockState = new Uint8Array(this.blocks);
    this.vcpuBufs = Array.from({ length: world.vcpus }, () => new Buffer(this.g, this.compressed));
    this.bgBufs = Array.from({ length: o.backgroundThreads }, () => new Buffer(this.g, this.compressed));
    this.bgWorlds = Array.from({ length: o.backgroundThreads }, () => null);
    this.throttle = new Throttle(k, file.datastore, o.throttle, Math.max(1, o.backgroundThreads));
  }

  /** IO blocks a save can need at most: full buffers for every block, plus one partial buffer per thread. */
  static maxIoBlocks(blocks: number, o: Pick<CheckpointOptions, "blocksPerIo" | "backgroundThreads">, vcpus: number): number {
    return Math.ceil(blocks / o.blocksPerIo) + vcpus + o.backgroundThreads;
  }

  /** The datastore space the save reserves: the uncompressed worst case. */
  static capacity(pages: number, deviceBytes: number, o: CheckpointOptions, vcpus: number): number {
    const g = geometry(o.pagesPerBlock, o.blocksPerIo);
    const blocks = Math.ceil(pages / o.pagesPerBlock);
    const io = Save.maxIoBlocks(blocks, o, vcpus);
    return roundUp(HEADER_SIZE + deviceBytes, 4096) + io * g.ioBlockSize + blocks * 8 + io * o.blocksPerIo * 4 + io * 4;
  }

  get done(): boolean {
    return this.status === "completed" || this.status === "failed";
  }

  // ---- main thread: accessed bits, quiesce, traces, resume ----------------------------------

  start(): void {
    if (this.o.accessWindow > 0) {
      // Accessed bits: a trace on every page; the first access to each sets its bit (and costs the guest nothing).
      this.accessed = new Uint8Array(this.pages);
      this.k.memory.setTrapsAll(this.guest, Trap.AccessTrace);
      this.k.after(this.o.accessWindow, () => {
        if (this.done) return;
        this.k.memory.clearTrapsAll(this.guest, Trap.AccessTrace);
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
      this.c.sampledPages++;
    }
    this.k.memory.clearTraps(this.guest, page, Trap.AccessTrace);
    return 0;
  }

  /** Step 402: stop the vCPUs and let the VM's pending disk IO finish (polled, up to a timeout). */
  private quiesce(): void {
    this.status = "quiescing";
    this.quiescedAt = this.k.scheduler.now;
    // Held suspended: the `resume` verb (or another plugin) cannot let the guest write before
    // the traces are in; the release resumes it if it ran and nobody else holds it.
    this.closing = true;
    this.release = this.k.cluster.holdSuspended(this.world, `a checkpoint save to "${this.file.key}"`);
    this.closing = false;
    const stores = [...new Set((this.k.vmInfo(this.world)?.disks ?? []).map((d) => d.datastore.name))];
    const drain = (): void => {
      if (this.done) return;
      const busy = stores.some((s) => this.k.storage.datastore(s).inFlight > 0);
      if (busy && this.k.scheduler.now - this.quiescedAt! < this.o.quiesceTimeout) {
        this.k.after(QUIESCE_POLL_NS, drain, "checkpoint quiesce");
        return;
      }
      this.c.quiesceNs = this.k.scheduler.now - this.quiescedAt!;
      this.checkpointed();
    };
    drain();
  }

  /** The checkpoint: contents captured, zero blocks encoded up front, the file begun, traces installed. */
  private checkpointed(): void {
    const k = this.k;
    const g = this.guest;
    const P = this.o.pagesPerBlock;
    const snap = new Float64Array(this.pages);
    const untouched = new Uint8Array(this.pages);
    const fc = k.memory.machine(g.hostId).content;
    for (let p = 0; p < this.pages; p++) {
      const st = g.meta[p]! & STATE_MASK;
      if (st === PageState.Present) snap[p] = fc[g.frame[p]!]!;
      else if (st === PageState.Unbacked) untouched[p] = 1;
      else snap[p] = k.memory.peek(g, p);
    }
    this.snapshot = snap;
    this.file.snapshot = null;
    let trapped = 0;
    for (let b = 0; b < this.blocks; b++) {
      const from = b * P;
      const to = Math.min(this.pages, from + P);
      let zero = true;
      for (let p = from; p < to; p++) if (snap[p] !== 0) zero = false;
      if (zero) {
        this.blockState[b] = 3;
        this.memIo[b] = ZERO_BLOCK;
        this.c.zeroBlocks++;
        for (let p = from; p < to; p++) {
          this.c.zeroPages++;
          this.c.untouchedPages += untouched[p]!;
        }
        continue;
      }
      this.remaining++;
      for (let p = from; p < to; p++) {
        if (snap[p] === 0) {
          this.c.zeroPages++;
          this.c.untouchedPages += untouched[p]!;
        } else this.c.contentPages++;
      }
      if (this.o.mode === "lazy") {
        for (let p = from; p < to; p++) g.meta[p] = g.meta[p]! | this.trapBit;
        trapped += to - from;
      }
    }
    this.untouched = untouched;
    this.order = this.blockOrder();
    // The file begins: its header (incomplete until the end) and the device state.
    this.writeRaw(0, this.headBytes(false, 0, 0), () => {});
    if (this.done) return;
    if (this.o.mode === "suspend") {
      this.status = "active";
      this.startBackground();
      this.checkFinish();
      return;
    }
    // Step 404: the VM resumes once the traces are in.
    k.after(trapped * TRACE_NS_PER_PAGE, () => {
      if (this.done) return;
      this.status = "active";
      this.resumeVm();
      this.resumedAt = k.scheduler.now;
      k.trace.span("checkpoint downtime", "checkpoint", { host: this.host, world: this.world.name }, this.quiescedAt!, this.resumedAt, { file: this.file.key });
      this.rateLast = k.scheduler.now;
      if (this.o.backgroundThreads > 0) k.after(RATE_WINDOW_NS, () => this.watchRate(), "checkpoint save rate");
      this.checkFinish();
    }, "checkpoint traces");
  }

  private untouched: Uint8Array = new Uint8Array(0);

  private resumeVm(resume = true): void {
    this.closing = true;
    this.release?.(resume);
    this.closing = false;
    this.release = null;
  }

  /**
   * The order in which background threads take blocks: lazy, fewest accessed bits first (least
   * likely to be accessed); suspend, most first (the likely-accessed blocks lead the file). Ties
   * in block order.
   */
  private blockOrder(): Int32Array {
    const P = this.o.pagesPerBlock;
    const counts = new Uint8Array(this.blocks);
    if (this.accessed) for (let p = 0; p < this.pages; p++) counts[Math.floor(p / P)]! += this.accessed[p]!;
    const byCount = new Int32Array(P + 2);
    for (let b = 0; b < this.blocks; b++) byCount[counts[b]! + 1]!++;
    for (let i = 1; i < byCount.length; i++) byCount[i]! += byCount[i - 1]!;
    const out = new Int32Array(this.blocks);
    for (let b = 0; b < this.blocks; b++) out[byCount[counts[b]!]!++] = b;
    if (this.o.mode === "suspend") {
      // most accessed first; within one count, block order
      const desc = new Int32Array(this.blocks);
      let at = 0;
      for (let c = P; c >= 0; c--) for (let i = 0; i < this.blocks; i++) if (counts[out[i]!] === c) desc[at++] = out[i]!;
      return desc;
    }
    return out;
  }

  // ---- vCPU save threads (steps 410-420, 610-622) --------------------------------------------

  /** A traced page was touched by `vcpu`: its memory block goes into the vCPU's buffer first. */
  fault(page: number, vcpu: number): number {
    const b = Math.floor(page / this.o.pagesPerBlock);
    if (this.status !== "active" || this.blockState[b] !== 0) {
      this.k.memory.clearTraps(this.guest, page, this.trapBit);
      return 0;
    }
    this.c.traceFaults++;
    const cap = this.capture(b);
    this.c.vcpuBlocks++;
    this.ratePages += cap.count;
    const buf = this.vcpuBufs[vcpu % this.vcpuBufs.length]!;
    const cost = this.copyNs(cap) + (cap.encoded?.cpuNs ?? 0);
    if (buf.fits(cap)) {
      buf.add(cap);
      if (!buf.full) {
        this.c.vcpuStallNs += cost;
        this.checkFinish();
        return cost;
      }
    } else buf.pending = cap;
    // The buffer is full: the vCPU writes it to the next IO block of the first part, then goes on.
    this.c.vcpuWaits++;
    this.waitingSince.set(vcpu, this.k.scheduler.now);
    this.k.after(cost, () => {
      if (this.done) return;
      this.flush(buf, 1, vcpu % this.vcpuBufs.length, () => {
        if (buf.pending) {
          buf.add(buf.pending);
          buf.pending = null;
        }
        this.wakeVcpu(vcpu);
        this.checkFinish();
      });
    }, "checkpoint vCPU save");
    return WAIT;
  }

  private wakeVcpu(vcpu: number): void {
    const since = this.waitingSince.get(vcpu);
    if (since === undefined) return;
    this.waitingSince.delete(vcpu);
    this.c.vcpuStallNs += this.k.scheduler.now - since;
    this.k.memory.wake(this.guest, vcpu);
  }

  /** Copies a block's contents out of guest memory (they have not changed since the checkpoint) and lifts its traces. */
  private capture(b: number): Captured {
    const k = this.k;
    const g = this.guest;
    const P = this.o.pagesPerBlock;
    const from = b * P;
    const count = Math.min(P, this.pages - from);
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
      if (k.config.checkInvariants && ids[i] !== this.snapshot![p]) {
        throw kernelError("VMSCN5014", `checkpoint of "${this.world.name}": page ${p} changed before its memory block was saved`, { time: k.scheduler.now, where: this.world.label });
      }
    }
    this.blockState[b] = 1;
    this.remaining--;
    let zeroMask = 0;
    for (let i = 0; i < count; i++) if (ids[i] === 0) zeroMask |= 1 << i;
    const encoded = this.session ? this.session.encodeBlock(ids, 0, count, untouchedMask >>> 0) : null;
    return { mb: b, count, identities: ids, zeroMask: zeroMask >>> 0, untouchedMask: (untouchedMask & zeroMask) >>> 0, encoded };
  }

  private copyNs(c: Captured): number {
    return Math.round(c.count * PAGE_SIZE * COPY_NS_PER_BYTE);
  }

  // ---- background save threads (steps 430-440, 630-638) --------------------------------------

  private watchRate(): void {
    if (this.done || this.backgroundAt !== undefined) return;
    const now = this.k.scheduler.now;
    const rate = (this.ratePages * 1e9) / Math.max(1, now - this.rateLast);
    this.ratePages = 0;
    this.rateLast = now;
    if (rate < this.o.backgroundThreshold && this.remaining > 0) this.startBackground();
    else if (this.remaining > 0) this.k.after(RATE_WINDOW_NS, () => this.watchRate(), "checkpoint save rate");
  }

  private startBackground(): void {
    if (this.backgroundAt !== undefined) return;
    this.backgroundAt = this.k.scheduler.now;
    for (let i = 0; i < this.o.backgroundThreads; i++) {
      const w = this.k.systemWorld(`${this.world.name}.checkpoint-save#${this.seq}.${i}`, this.world.host, this.world);
      this.k.cluster.setState(w, "running");
      this.bgWorlds[i] = w;
      this.bgRunning++;
      this.background(i, 0);
    }
  }

  private nextBlock(): number {
    while (this.cursor < this.order.length) {
      const b = this.order[this.cursor++]!;
      if (this.blockState[b] === 0) return b;
    }
    return -1;
  }

  /** One round of a background thread: fill its buffer with the blocks least likely to be accessed, write it. */
  private background(i: number, lastIoNs: number): void {
    if (this.done) return;
    const buf = this.bgBufs[i]!;
    const w = this.bgWorlds[i]!;
    let cpu = 0;
    if (buf.pending) {
      buf.add(buf.pending);
      buf.pending = null;
    }
    while (!buf.full) {
      const b = this.nextBlock();
      if (b < 0) break;
      const cap = this.capture(b);
      this.c.backgroundBlocks++;
      cpu += this.copyNs(cap) + (cap.encoded?.cpuNs ?? 0);
      if (!buf.fits(cap)) {
        buf.pending = cap;
        break;
      }
      buf.add(cap);
    }
    if (buf.blocks.length === 0) {
      this.bgRunning--;
      this.stopWorld(w);
      this.bgWorlds[i] = null;
      this.checkFinish();
      return;
    }
    const part = this.o.mode === "lazy" ? 2 : 1;
    const delay = this.timeOn(w, cpu);
    const wait = this.throttle.delay(this.g.ioBlockSize, lastIoNs);
    this.k.after(delay + wait, () => {
      if (this.done) return;
      const t0 = this.k.scheduler.now;
      this.flush(buf, part, BACKGROUND_WRITER + i, () => this.background(i, this.k.scheduler.now - t0));
    }, "checkpoint background save");
  }

  private timeOn(w: World, cpuNs: number): number {
    const f = this.k.cluster.cpuFactor(w);
    return Math.round(f > 0 ? cpuNs / f : cpuNs);
  }

  // ---- writing IO blocks ---------------------------------------------------------------------

  /** Steps 416-418: the buffer becomes the next IO block; the maps learn where its blocks are. */
  private flush(buf: Buffer, part: 1 | 2, writer: number, then: () => void): void {
    if (buf.blocks.length === 0) return then();
    const idx = this.nextIo++;
    const offset = this.ioArea + idx * this.g.ioBlockSize;
    const bytes = this.ioBlockBytes(buf, idx, part, writer);
    const mbs = buf.blocks.map((c) => c.mb);
    buf.reset();
    (part === 1 ? this.firstPart : this.secondPart).push(idx);
    for (let j = 0; j < mbs.length; j++) this.ioMem[idx * this.o.blocksPerIo + j] = mbs[j]!;
    this.throttle.ours++;
    this.writeRaw(offset, bytes, () => {
      this.throttle.ours--;
      for (const mb of mbs) {
        this.memIo[mb] = offset;
        this.blockState[mb] = 2;
      }
      this.c.ioWrites++;
      then();
    });
  }

  private ioBlockBytes(buf: Buffer, idx: number, part: number, writer: number): Uint8Array {
    const g = this.g;
    const b = new Uint8Array(g.ioBlockSize);
    let used: number;
    if (!this.compressed) {
      buf.blocks.forEach((c, i) => {
        putRecord(b, IO_HEADER_SIZE + i * g.recordBytes, g, c.mb, true, g.pagesPerBlock * PAGE_SIZE, c.zeroMask, c.untouchedMask, c.identities, 0, c.count);
        const data = g.dataOffset + i * g.pagesPerBlock * PAGE_SIZE;
        for (let p = 0; p < c.count; p++) if (c.identities[p] !== 0) pageBytes(c.identities[p]!, b, data + p * PAGE_SIZE);
      });
      used = g.dataOffset + buf.blocks.length * g.pagesPerBlock * PAGE_SIZE;
    } else {
      let at = IO_HEADER_SIZE;
      for (const c of buf.blocks) {
        const e = c.encoded!;
        putRecord(b, at, g, c.mb, e.raw, e.body.length, e.zeroMask, e.untouchedMask, c.identities, 0, c.count);
        b.set(e.body, at + g.recordBytes);
        at += g.recordBytes + e.body.length;
      }
      used = at;
    }
    sealIoBlock(b, idx, part, writer, buf.blocks.length, used);
    return b;
  }

  /** A timed write of real bytes: the datastore times it; the bytes land in the file when it completes. */
  private writeRaw(offset: number, bytes: Uint8Array, then: () => void): void {
    const end = offset + bytes.length;
    if (this.o.maxSize !== undefined && end > this.o.maxSize) {
      this.fail("VMSCN7307", `no space left for checkpoint file "${this.file.key}": writing ${bytes.length} bytes at offset ${offset} would make it ${end} bytes, more than the ${this.o.maxSize} bytes it may take (max-size)`);
      return;
    }
    let io: IoRequest;
    try {
      io = this.file.sim.write(this.host, offset, bytes.length, () => {
        this.inflight.delete(io);
        if (this.done) return;
        try {
          this.file.store.write(offset, bytes);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          const full = e.code === "ENOSPC" || e.code === "EFBIG" || e.code === "EDQUOT";
          this.fail(full ? "VMSCN7307" : "VMSCN7309", `${full ? "no space left" : "an IO error"} writing checkpoint file "${this.file.key}" at offset ${offset}: ${e.message}`);
          return;
        }
        this.c.bytesWritten += bytes.length;
        then();
      }, (err) => {
        this.inflight.delete(io);
        this.fail("VMSCN7309", `writing checkpoint file "${this.file.key}" at offset ${offset} failed: ${err.message}`);
      });
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      const full = err.code === "VMSCN5016";
      this.fail(full ? "VMSCN7307" : "VMSCN7309", `${full ? "no space left for" : "cannot write"} checkpoint file "${this.file.key}" at offset ${offset}: ${err.message}`);
      return;
    }
    this.inflight.add(io);
  }

  // ---- the end --------------------------------------------------------------------------------

  /** When every block is captured and written: flush the vCPUs' partial buffers, then the maps, then the header. */
  private checkFinish(): void {
    if (this.status !== "active" || this.remaining > 0 || this.bgRunning > 0 || this.inflight.size > 0 || this.waitingSince.size > 0) return;
    if (this.bgBufs.some((b) => b.pending !== null) || this.vcpuBufs.some((b) => b.pending !== null)) return;
    this.status = "finishing";
    const partial = this.vcpuBufs.map((b, v) => [b, v] as const).filter(([b]) => b.blocks.length > 0);
    let left = partial.length;
    const next = (): void => {
      if (--left === 0) this.writeMaps();
    };
    left++;
    for (const [b, v] of partial) this.flush(b, 1, v, next);
    next();
  }

  private writeMaps(): void {
    if (this.done) return;
    const ioBlocks = this.nextIo;
    const M = this.o.blocksPerIo;
    const parts = Uint32Array.from([...this.firstPart, ...this.secondPart]);
    const maps = encodeMaps({ memIo: this.memIo, ioMem: this.ioMem.subarray(0, ioBlocks * M), parts }, this.compressed);
    const memIoOffset = this.ioArea + ioBlocks * this.g.ioBlockSize;
    const header = this.headBytes(true, ioBlocks, crcOf(maps));
    this.writeRaw(memIoOffset, maps, () => {
      this.writeRaw(0, header, () => this.complete(memIoOffset + maps.length));
    });
  }

  private headBytes(complete: boolean, ioBlocks: number, mapsCrc: number): Uint8Array {
    const dev = this.deviceState();
    const memIoOffset = this.ioArea + ioBlocks * this.g.ioBlockSize;
    const memIoLength = this.blocks * 8;
    const ioMemLength = this.compressed ? 0 : ioBlocks * this.o.blocksPerIo * 4;
    const h: Header = {
      version: VERSION,
      complete,
      compressed: this.compressed,
      pageSize: PAGE_SIZE,
      pagesPerBlock: this.o.pagesPerBlock,
      blocksPerIo: this.o.blocksPerIo,
      ioBlockSize: this.g.ioBlockSize,
      codec: this.session?.codec.id ?? 0,
      level: this.session?.codec.level ?? 0,
      guestPages: this.pages,
      memoryBlocks: this.blocks,
      ioBlocks,
      firstPart: this.firstPart.length,
      vcpus: this.world.vcpus,
      deviceOffset: HEADER_SIZE,
      deviceLength: this.deviceBytes,
      ioAreaOffset: this.ioArea,
      memIoOffset,
      memIoLength,
      ioMemOffset: memIoOffset + memIoLength,
      ioMemLength,
      partOffset: memIoOffset + memIoLength + ioMemLength,
      partLength: ioBlocks * 4,
      fileLength: memIoOffset + memIoLength + ioMemLength + ioBlocks * 4,
      contentPages: this.c.contentPages,
      zeroPages: this.c.zeroPages,
      untouchedPages: this.c.untouchedPages,
      savedAt: this.quiescedAt ?? 0,
      deviceCrc: crcOf(dev),
      mapsCrc,
      vmName: this.world.name,
      hostName: this.host,
    };
    const head = encodeHeader(h);
    if (complete) return head;
    // The first write carries the device state after the header.
    const out = new Uint8Array(this.ioArea);
    out.set(head, 0);
    out.set(dev, HEADER_SIZE);
    return out;
  }

  private dev: Uint8Array | null = null;
  /** The device state's bytes (deterministic: the simulator models its size, not its contents). */
  private deviceState(): Uint8Array {
    if (this.dev) return this.dev;
    const n = this.deviceBytes;
    const pages = Math.ceil(n / PAGE_SIZE);
    const b = new Uint8Array(pages * PAGE_SIZE);
    for (let i = 0; i < pages; i++) pageBytes(deviceStateIdentity(this.world.name, i), b, i * PAGE_SIZE);
    this.dev = b.subarray(0, n);
    return this.dev;
  }

  private complete(fileLength: number): void {
    try {
      // The real file takes its final name only now: it never looks complete before it is.
      this.file.store.commit();
    } catch (err) {
      this.fail("VMSCN7309", `checkpoint file "${this.file.key}" could not take its final name: ${(err as Error).message}`);
      return;
    }
    this.status = "completed";
    this.completedAt = this.k.scheduler.now;
    this.fileLength = fileLength;
    this.file.busy = false;
    this.file.snapshot = this.snapshot;
    this.stopWorlds();
    if (this.o.mode === "suspend") {
      this.resumeVm(this.o.after === "running");
      this.resumedAt = this.k.scheduler.now;
      this.k.trace.span("checkpoint downtime", "checkpoint", { host: this.host, world: this.world.name }, this.quiescedAt!, this.resumedAt, { file: this.file.key });
    }
    this.k.trace.span("checkpoint save", "checkpoint", { host: this.host, world: this.world.name }, this.startedAt, this.completedAt, { file: this.file.key, bytes: fileLength });
    this.onEnd(this);
  }

  /** The VM stopped, moved, or a helper world died: the save cannot finish. */
  worldChanged(w: World, why: "stopped" | "moved"): void {
    if (this.done || this.closing) return;
    const at = formatTime(this.k.scheduler.now);
    if (w === this.world) this.fail("VMSCN7309", `the save of "${this.world.name}" to "${this.file.key}" stopped: the VM ${why === "moved" ? "moved to another host" : "stopped"} at ${at}${w.failure ? ` (${w.failure})` : ""}`);
    else if (this.bgWorlds.includes(w)) this.fail("VMSCN7309", `the save of "${this.world.name}" to "${this.file.key}" stopped: its background thread "${w.name}" died at ${at}${w.failure ? ` (${w.failure})` : ""}, losing the blocks in its buffer`);
  }

  /** Everything stops; the VM goes on as it was (its traces lifted); the file stays incomplete. */
  fail(code: string, message: string): void {
    if (this.done) return;
    const was = this.status;
    this.status = "failed";
    this.failureCode = code;
    this.failure = message;
    this.completedAt = this.k.scheduler.now;
    this.file.busy = false;
    this.file.failed = true;
    // No real file is left of it; the simulation still sees its header (a restore refuses it).
    this.file.store.discard(HEADER_SIZE);
    for (const io of [...this.inflight]) io.cancel();
    this.inflight.clear();
    const g = this.guest;
    if (this.world.memory === g) {
      // Lift the traces still installed: the save's, or the accessed-bit window's.
      this.k.memory.clearTrapsAll(g, was === "sampling" ? Trap.AccessTrace : this.trapBit);
    }
    // Wherever the VM is now (it may have moved): vCPUs parked on a trace fault wait no more,
    // and the save's hold on its suspension ends.
    for (const v of [...this.waitingSince.keys()]) this.wakeVcpu(v);
    if (this.world.state !== "stopped") this.resumeVm();
    this.stopWorlds();
    this.k.trace.instant("checkpoint save failed", "checkpoint", { world: this.world.name }, this.completedAt, { reason: message });
    this.onEnd(this);
  }

  private stopWorld(w: World | null): void {
    if (!w || !this.k.cluster.hasWorld(w.name) || this.k.cluster.world(w.name) !== w) return;
    this.closing = true;
    this.k.cluster.destroy(w);
    this.closing = false;
  }

  private stopWorlds(): void {
    for (let i = 0; i < this.bgWorlds.length; i++) {
      this.stopWorld(this.bgWorlds[i]!);
      this.bgWorlds[i] = null;
    }
  }

  /** The action that asked for this save. */
}
