// One lazy restore, after the document's figures 2B, 5 and 7. The header, the device state and
// the maps are read and checked before anything changes (a bad file is refused and the VM is
// left as it was); then every page with contents becomes absent until restored, the
// background threads start, and the VM resumes before its memory is loaded. A vCPU touching a
// page not yet loaded faults: if its memory block is already being processed it waits;
// otherwise the memory-IO map gives the IO block, which is read into a buffer from the pool
// unless a buffer already holds it, and the block is loaded (decompressed first if the file is
// compressed). Background threads read the IO blocks not yet fetched, the first part first,
// throttled while the guest's own disk IO is in flight, and load what the buffers hold.
import { PAGE_SIZE, PageState, VmscnError, WAIT, formatTime, kernelError, pageBytes, type DirtyLog, type GuestMemory, type IoRequest, type PluginContext, type VerbCall, type World } from "../../core/api.js";
import { FormatError, HEADER_SIZE, ZERO_BLOCK, crcOf, decodeHeader, decodeMaps, geometry, parseIoBlock, type BlockRecord, type Geometry, type Header, type IoBlockView, type Maps } from "./format.js";
import type { RestoreOptions } from "./options.js";
import { CODEC_BY_ID, COPY_NS_PER_BYTE, SETUP_NS_PER_PAGE, Throttle, type CheckpointFile, type CompressionService, type CompressionSession } from "./shared.js";

export type RestoreStatus = "reading" | "active" | "completed" | "failed";

/** A buffer of the pool: free, being filled by a read, or holding an IO block's memory blocks. */
interface Buf {
  id: number;
  state: "free" | "reading" | "full";
  io: number;
  view: IoBlockView | null;
  records: Map<number, BlockRecord>;
  /** Memory blocks in it not yet loaded. */
  unloaded: number;
  /** A thread is going through it. */
  busy: boolean;
}

interface Thread {
  i: number;
  world: World;
  alive: boolean;
  lastIoNs: number;
}

/** Memory block states. */
const ABSENT = 0;
const BUSY = 1;
const LOADED = 2;

export class Restore {
  status: RestoreStatus = "reading";
  failure: string | undefined;
  failureCode: string | undefined;
  readonly startedAt: number;
  resumedAt: number | undefined;
  completedAt: number | undefined;
  header: Header | null = null;
  private maps: Maps | null = null;
  private g: Geometry | null = null;
  readonly guest: GuestMemory;
  readonly host: string;
  private mbState = new Uint8Array(0);
  private ioState = new Uint8Array(0);
  private bufOf = new Int32Array(0);
  private partOf = new Uint8Array(0);
  private readonly wanted = new Map<number, number[]>();
  private readonly waiters = new Map<number, number[]>();
  private buffers: Buf[] = [];
  private readonly queue: ((b: Buf) => void)[] = [];
  private threads: Thread[] = [];
  /** Background threads with nothing to do until a read in progress lands. */
  private readonly idle: Thread[] = [];
  private cursor = 0;
  private toLoad = 0;
  private firstPartLeft = 0;
  private readonly inflight = new Set<IoRequest>();
  private wasRunning = false;
  private closing = false;
  private expected: Float64Array | null = null;
  private log: DirtyLog | null = null;
  private readonly verify: boolean;
  readonly throttle: Throttle;
  readonly c = { faults: 0, faultWaits: 0, waitNs: 0, ioReads: 0, ioReadsDemand: 0, ioReadsBackground: 0, vcpuBlocks: 0, backgroundBlocks: 0, zeroBlocks: 0, bufferWaits: 0, evictions: 0, bytesRead: 0, verifiedPages: 0, decompressNs: 0 };
  firstPartDoneAt: number | undefined;
  secondPartStartAt: number | undefined;
  /** When a background thread first fetched an IO block of the second part. */
  backgroundSecondAt: number | undefined;
  private session: CompressionSession | null = null;

  constructor(
    private readonly k: PluginContext,
    readonly world: World,
    readonly o: RestoreOptions,
    readonly file: CheckpointFile,
    private readonly svc: CompressionService,
    private readonly call: VerbCall,
    private readonly seq: number,
    private readonly onEnd: (r: Restore) => void,
  ) {
    this.startedAt = k.scheduler.now;
    this.guest = world.memory!;
    this.host = world.host.name;
    this.verify = o.verify || k.config.checkInvariants;
    this.throttle = new Throttle(k, file.datastore, o.throttle, Math.max(1, o.backgroundThreads));
  }

  get done(): boolean {
    return this.status === "completed" || this.status === "failed";
  }

  private where(): string {
    return this.file.store.path ?? this.file.key;
  }

  // ---- before the VM resumes: read and check the header, device state and maps -------------

  start(): void {
    this.readTimed(0, HEADER_SIZE, (bytes) => {
      const h = this.check(() => decodeHeader(bytes, this.file.store.size));
      if (!h) return;
      if (h.guestPages !== this.guest.pages) {
        return this.refuse("VMSCN7304", `checkpoint file "${this.where()}" holds a guest of ${h.guestPages} pages (${(h.guestPages * PAGE_SIZE) / 2 ** 20} MiB; header offset 40) and VM "${this.world.name}" has ${this.guest.pages} pages (${(this.guest.pages * PAGE_SIZE) / 2 ** 20} MiB)`);
      }
      if (h.compressed && CODEC_BY_ID[h.codec] === undefined) return this.refuse("VMSCN7303", `checkpoint file "${this.where()}" uses codec ${h.codec} (header offset 36), which this vmscn does not know`);
      this.header = h;
      let left = 2;
      let device: Uint8Array | null = null;
      let maps: Uint8Array | null = null;
      const both = (): void => {
        if (--left > 0) return;
        if (crcOf(device!) !== h.deviceCrc) return this.refuse("VMSCN7301", `checkpoint file "${this.where()}" is corrupt at offset ${h.deviceOffset}: its device state does not match its CRC-32`);
        const m = this.check(() => decodeMaps(maps!, h));
        if (m) this.commit(h, m);
      };
      this.readTimed(h.deviceOffset, h.deviceLength, (b) => {
        device = b;
        both();
      });
      this.readTimed(h.memIoOffset, h.fileLength - h.memIoOffset, (b) => {
        maps = b;
        both();
      });
    });
  }

  private check<T>(f: () => T): T | undefined {
    try {
      return f();
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      this.refuse(err.code, `checkpoint file "${this.where()}" is refused at offset ${err.offset}: ${err.message}`);
      return undefined;
    }
  }

  /** A timed read; the bytes come from the file when it completes. */
  private readTimed(offset: number, length: number, then: (bytes: Uint8Array) => void): void {
    if (this.done) return;
    let io: IoRequest;
    try {
      io = this.file.sim.read(this.host, offset, Math.min(length, Math.max(0, this.file.sim.size - offset)), () => {
        this.inflight.delete(io);
        if (this.done) return;
        const bytes = this.file.store.read(offset, length);
        this.c.bytesRead += length;
        then(bytes);
      }, (err) => {
        this.inflight.delete(io);
        this.ioFailed(`reading checkpoint file "${this.where()}" at offset ${offset} failed: ${err.message}`);
      }, { data: false });
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      this.ioFailed(`cannot read checkpoint file "${this.where()}" at offset ${offset}: ${err.message}`);
      return;
    }
    this.inflight.add(io);
  }

  private ioFailed(message: string): void {
    if (this.status === "reading") this.refuse("VMSCN7309", message);
    else this.fail("VMSCN7309", message);
  }

  /** Before the VM changed: the action fails and the VM is as it was. */
  private refuse(code: string, message: string): void {
    if (this.done) return;
    this.status = "failed";
    this.failureCode = code;
    this.failure = message;
    this.completedAt = this.k.scheduler.now;
    for (const io of [...this.inflight]) io.cancel();
    this.inflight.clear();
    this.onEnd(this);
  }

  /** Everything checked: the pages become absent, the threads start, the VM resumes (steps 501-503). */
  private commit(h: Header, m: Maps): void {
    const k = this.k;
    const g = this.guest;
    if (this.world.memory !== g || (this.world.state !== "created" && this.world.state !== "suspended")) {
      return this.refuse("VMSCN5004", `VM "${this.world.name}" is ${this.world.state} now; a restore needs it created or suspended`);
    }
    const machine = k.memory.machine(g.hostId);
    let held = 0;
    for (let p = 0; p < g.pages; p++) if ((g.meta[p]! & 7) === PageState.Present) held++;
    if (machine.free + held < h.contentPages) {
      return this.refuse("VMSCN5002", `host "${this.world.host.name}" cannot hold the restored memory of "${this.world.name}": the checkpoint has ${h.contentPages} pages with contents, and ${machine.free + held} frames are free for it`);
    }
    this.maps = m;
    this.g = geometry(h.pagesPerBlock, h.blocksPerIo);
    if (h.compressed) this.session = this.svc.session(`restore:${this.world.name}`, this.svc.codec(CODEC_BY_ID[h.codec]!, h.codec === 1 ? h.level : undefined));
    const P = h.pagesPerBlock;
    this.mbState = new Uint8Array(h.memoryBlocks);
    this.ioState = new Uint8Array(h.ioBlocks);
    this.bufOf = new Int32Array(h.ioBlocks).fill(-1);
    this.partOf = new Uint8Array(h.ioBlocks).fill(2);
    for (let i = 0; i < h.firstPart; i++) this.partOf[m.parts[i]!] = 1;
    this.expected = new Float64Array(g.pages);
    for (let b = 0; b < h.memoryBlocks; b++) {
      const zero = m.memIo[b] === ZERO_BLOCK;
      const to = Math.min(g.pages, (b + 1) * P);
      for (let p = b * P; p < to; p++) k.memory.setAbsent(g, p, zero ? PageState.Unbacked : PageState.AbsentRestore);
      if (zero) {
        this.mbState[b] = LOADED;
        this.c.zeroBlocks++;
      } else {
        this.toLoad++;
        if (this.partOf[this.ioOf(b)] === 1) this.firstPartLeft++;
      }
    }
    if (this.verify) this.log = g.openLog("lazy-checkpoint restore");
    const n = this.o.buffers ?? this.world.vcpus + this.o.backgroundThreads;
    this.buffers = Array.from({ length: n }, (_, id) => ({ id, state: "free", io: -1, view: null, records: new Map(), unloaded: 0, busy: false }));
    this.status = "active";
    this.wasRunning = false;
    k.after(g.pages * SETUP_NS_PER_PAGE, () => {
      if (this.done) return;
      // Step 502: the background threads start; step 503: the VM resumes.
      for (let i = 0; i < this.o.backgroundThreads; i++) {
        const w = k.systemWorld(`${this.world.name}.checkpoint-restore#${this.seq}.${i}`, this.world.host, this.world);
        k.cluster.setState(w, "running");
        this.threads.push({ i, world: w, alive: true, lastIoNs: 0 });
      }
      this.closing = true;
      k.cluster.setState(this.world, "running");
      this.closing = false;
      this.resumedAt = k.scheduler.now;
      k.trace.span("checkpoint time to resume", "checkpoint", { host: this.host, world: this.world.name }, this.startedAt, this.resumedAt, { file: this.file.key });
      for (const t of this.threads) this.background(t);
      this.checkDone();
    }, "checkpoint restore setup");
  }

  private ioOf(mb: number): number {
    return (this.maps!.memIo[mb]! - this.header!.ioAreaOffset) / this.header!.ioBlockSize;
  }

  // ---- vCPU restore threads (steps 510-522, 710-722) ---------------------------------------

  /** A vCPU touched a page not yet restored. */
  fault(page: number, vcpu: number): number {
    if (this.status !== "active") return 0;
    const b = Math.floor(page / this.header!.pagesPerBlock);
    const st = this.mbState[b]!;
    if (st === LOADED) return 0;
    this.c.faults++;
    let w = this.waiters.get(b);
    if (!w) this.waiters.set(b, (w = []));
    w.push(vcpu, this.k.scheduler.now);
    if (st === BUSY) {
      // Step 512/521: its block is already being processed: wait for it.
      this.c.faultWaits++;
      return WAIT;
    }
    this.mbState[b] = BUSY;
    const io = this.ioOf(b);
    const ios = this.ioState[io]!;
    if (ios === 2) {
      // Step 516: the IO block is in a buffer already: load the block from it.
      this.c.vcpuBlocks++;
      this.load(this.buffers[this.bufOf[io]!]!, b, null, () => {});
    } else if (ios === 1) {
      this.wanted.get(io)!.push(b);
    } else {
      // Step 518: a buffer from the pool, the IO block read into it.
      this.c.ioReadsDemand++;
      this.fetch(io, null, [b]);
    }
    return WAIT;
  }

  private fetch(io: number, t: Thread | null, wanted: number[]): void {
    this.ioState[io] = 1;
    this.wanted.set(io, wanted);
    this.acquire(t, (buf) => {
      if (t && !t.alive) {
        // The thread died waiting: the IO block goes back to the pool of blocks to fetch.
        this.ioState[io] = 0;
        for (const mb of this.wanted.get(io) ?? []) this.mbState[mb] = ABSENT;
        this.wanted.delete(io);
        this.cursor = Math.min(this.cursor, this.maps!.parts.indexOf(io));
        this.release(buf);
        return;
      }
      const delay = t ? this.throttle.delay(this.header!.ioBlockSize, t.lastIoNs) : 0;
      this.k.after(delay, () => this.read(io, buf, t), "checkpoint restore read");
    });
  }

  private read(io: number, buf: Buf, t: Thread | null): void {
    if (this.done) return;
    const h = this.header!;
    buf.state = "reading";
    buf.io = io;
    this.bufOf[io] = buf.id;
    const offset = h.ioAreaOffset + io * h.ioBlockSize;
    this.c.ioReads++;
    this.throttle.ours++;
    const t0 = this.k.scheduler.now;
    this.readTimed(offset, h.ioBlockSize, (bytes) => {
      this.throttle.ours--;
      if (t) t.lastIoNs = this.k.scheduler.now - t0;
      let view: IoBlockView;
      try {
        view = parseIoBlock(bytes, offset, h, io);
        if (!h.compressed) {
          // Uncompressed: the IO-memory map orders the block's memory blocks (step 534).
          view.records.forEach((r, j) => {
            if (this.maps!.ioMem[io * h.blocksPerIo + j] !== r.mb) throw new FormatError("VMSCN7301", `IO block ${io}'s record ${j} is memory block ${r.mb}, and the IO-memory map says ${this.maps!.ioMem[io * h.blocksPerIo + j]}`, offset + r.at);
          });
        }
        for (const r of view.records) {
          if (this.maps!.memIo[r.mb] !== offset) throw new FormatError("VMSCN7301", `IO block ${io} holds memory block ${r.mb}, which the memory-IO map places elsewhere`, offset + r.at);
        }
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        this.fail(err.code, `checkpoint file "${this.where()}" is corrupt at offset ${err.offset}: ${err.message}`);
        return;
      }
      buf.view = view;
      buf.records = new Map(view.records.map((r) => [r.mb, r]));
      buf.unloaded = view.records.length;
      buf.state = "full";
      this.ioState[io] = 2;
      const wanted = this.wanted.get(io) ?? [];
      this.wanted.delete(io);
      for (const mb of wanted) {
        this.c.vcpuBlocks++;
        this.load(buf, mb, null, () => {});
      }
      if (t && t.alive) this.process(buf, t, () => this.background(t));
      this.kick();
      this.serveQueue();
    });
  }

  /** Loads memory block `mb` from a buffer: decode (decompress), copy into guest memory, wake who waits. */
  private load(buf: Buf, mb: number, t: Thread | null, then: () => void): void {
    const h = this.header!;
    const rec = buf.records.get(mb)!;
    const P = h.pagesPerBlock;
    const from = mb * P;
    const count = Math.min(P, this.guest.pages - from);
    const offset = h.ioAreaOffset + buf.io * h.ioBlockSize;
    let bytes: Uint8Array;
    let cpu = count * PAGE_SIZE * COPY_NS_PER_BYTE;
    try {
      if (this.session) {
        let d: { bytes: Uint8Array; cpuNs: number };
        try {
          d = this.session.decodeBlock(rec.zeroMask, count, rec.raw, rec.body);
        } catch (err) {
          throw new FormatError("VMSCN7301", `memory block ${mb}'s body does not decompress (${(err as Error).message})`, offset + rec.bodyAt);
        }
        bytes = d.bytes;
        cpu += d.cpuNs;
        this.c.decompressNs += d.cpuNs;
      } else bytes = rec.body;
      if (this.verify) this.checkBytes(rec, bytes, count, offset, mb);
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      this.fail(err.code, `checkpoint file "${this.where()}" is corrupt at offset ${err.offset}: ${err.message}`);
      return;
    }
    // A background thread's CPU time stretches when the host's CPUs are overcommitted.
    const f = t ? this.k.cluster.cpuFactor(t.world) : 1;
    const delay = Math.round(f > 0 ? cpu / f : cpu);
    this.k.after(delay, () => {
      if (this.done) return;
      this.install(mb, rec, count);
      if (this.done) return;
      buf.unloaded--;
      if (buf.unloaded === 0) this.release(buf);
      then();
      this.checkDone();
    }, "checkpoint restore load");
  }

  /** Each page's bytes are its content's bytes (zero pages: zeros), and its content is the checkpoint's. */
  private checkBytes(rec: BlockRecord, bytes: Uint8Array, count: number, offset: number, mb: number): void {
    const compressed = this.header!.compressed;
    const ref = new Uint8Array(PAGE_SIZE);
    let n = 0;
    for (let i = 0; i < count; i++) {
      const c = rec.identities[i]!;
      const zero = (rec.zeroMask & (1 << i)) !== 0;
      if (zero !== (c === 0)) throw new FormatError("VMSCN7301", `memory block ${mb}'s page ${i} is ${zero ? "marked zero but has contents" : "not marked zero but has none"}`, offset + rec.at + 12);
      const snap = this.file.snapshot;
      if (snap && snap[mb * this.header!.pagesPerBlock + i] !== c) {
        throw kernelError("VMSCN5014", `restore of "${this.world.name}": page ${mb * this.header!.pagesPerBlock + i} differs from the page at save time`, { time: this.k.scheduler.now, where: this.world.label });
      }
      const at = compressed ? n * PAGE_SIZE : i * PAGE_SIZE;
      if (compressed && zero) continue;
      if (c !== 0) pageBytes(c, ref, 0);
      else ref.fill(0);
      const page = bytes.subarray(at, at + PAGE_SIZE);
      for (let j = 0; j < PAGE_SIZE; j++) {
        if (page[j] !== ref[j]) {
          throw new FormatError("VMSCN7301", `memory block ${mb}'s page ${i} does not hold its content's bytes`, compressed ? offset + rec.bodyAt : offset + rec.bodyAt + at + j);
        }
      }
      if (!zero) n++;
      this.c.verifiedPages++;
    }
  }

  private install(mb: number, rec: BlockRecord, count: number): void {
    const k = this.k;
    const g = this.guest;
    const from = mb * this.header!.pagesPerBlock;
    try {
      for (let i = 0; i < count; i++) {
        const c = rec.identities[i]!;
        if (c === 0) k.memory.setAbsent(g, from + i, PageState.Unbacked);
        else k.memory.populate(g, from + i, c);
        this.expected![from + i] = c;
      }
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      this.fail(err.code, `restoring "${this.world.name}" from "${this.where()}" failed: ${err.message}`);
      return;
    }
    this.mbState[mb] = LOADED;
    this.toLoad--;
    const part = this.partOf[this.ioOf(mb)];
    if (part === 1 && --this.firstPartLeft === 0) this.firstPartDoneAt = k.scheduler.now;
    if (part === 2 && this.secondPartStartAt === undefined) this.secondPartStartAt = k.scheduler.now;
    const w = this.waiters.get(mb);
    if (w) {
      this.waiters.delete(mb);
      const now = k.scheduler.now;
      for (let j = 0; j < w.length; j += 2) {
        this.c.waitNs += now - w[j + 1]!;
        k.memory.wake(g, w[j]!);
      }
    }
  }

  // ---- the buffer pool ------------------------------------------------------------------------

  /**
   * A free buffer for `t` (a background thread, or null for a vCPU). None free: a buffer no one
   * is going through is finished by the requester (its blocks loaded) and taken; else wait.
   */
  private acquire(t: Thread | null, then: (b: Buf) => void): void {
    const free = this.buffers.find((b) => b.state === "free");
    if (free) {
      free.state = "reading";
      return then(free);
    }
    const idle = this.buffers.find((b) => this.loadable(b));
    if (idle) {
      this.c.evictions++;
      this.process(idle, t, () => this.acquire(t, then));
      return;
    }
    this.c.bufferWaits++;
    this.queue.push(then);
  }

  /** Someone waits for a buffer and one is full with no one going through it: the waiter finishes it and takes it. */
  private serveQueue(): void {
    const idle = this.queue.length > 0 ? this.buffers.find((b) => this.loadable(b)) : undefined;
    if (!idle) return;
    const then = this.queue.shift()!;
    this.c.evictions++;
    this.process(idle, null, () => this.acquire(null, then));
  }

  /** A full buffer no one goes through that still has blocks to load. */
  private loadable(b: Buf): boolean {
    return b.state === "full" && !b.busy && b.view!.records.some((r) => this.mbState[r.mb] === ABSENT);
  }

  private release(buf: Buf): void {
    if (buf.state === "free") return;
    if (buf.io >= 0) {
      this.ioState[buf.io] = buf.view ? 3 : this.ioState[buf.io]!;
      this.bufOf[buf.io] = -1;
    }
    buf.state = "free";
    buf.io = -1;
    buf.view = null;
    buf.records = new Map();
    buf.busy = false;
    const next = this.queue.shift();
    if (next) {
      buf.state = "reading";
      next(buf);
    }
  }

  /** Goes through a buffer's memory blocks not yet taken, one by one, in their order in the IO block (step 536). */
  private process(buf: Buf, t: Thread | null, then: () => void): void {
    buf.busy = true;
    const records = buf.view!.records;
    let j = 0;
    const next = (): void => {
      if (this.done) return;
      if (t && !t.alive) {
        buf.busy = false;
        return;
      }
      while (j < records.length && this.mbState[records[j]!.mb] !== ABSENT) j++;
      if (j >= records.length) {
        buf.busy = false;
        then();
        this.serveQueue();
        return;
      }
      const mb = records[j++]!.mb;
      this.mbState[mb] = BUSY;
      if (t) this.c.backgroundBlocks++;
      else this.c.vcpuBlocks++;
      this.load(buf, mb, t, next);
    };
    next();
  }

  // ---- background restore threads (steps 530-538, 730-738) ----------------------------------

  private background(t: Thread): void {
    if (this.done || !t.alive) return;
    const pending = this.buffers.find((b) => this.loadable(b));
    if (pending) return this.process(pending, t, () => this.background(t));
    const parts = this.maps!.parts;
    while (this.cursor < parts.length && this.ioState[parts[this.cursor]!] !== 0) this.cursor++;
    if (this.cursor >= parts.length) {
      // Nothing left to fetch; a read still under way may bring blocks to load.
      if (this.buffers.some((b) => b.state === "reading" || (b.state === "full" && b.busy))) {
        this.idle.push(t);
        return;
      }
      t.alive = false;
      this.stopWorld(t.world);
      this.checkDone();
      return;
    }
    const io = parts[this.cursor++]!;
    this.c.ioReadsBackground++;
    if (this.partOf[io] === 2 && this.backgroundSecondAt === undefined) this.backgroundSecondAt = this.k.scheduler.now;
    this.fetch(io, t, []);
  }

  /** A read landed in a buffer: threads that had nothing to do look again. */
  private kick(): void {
    const idle = this.idle.splice(0);
    for (const t of idle) this.background(t);
  }

  // ---- the end --------------------------------------------------------------------------------

  private checkDone(): void {
    if (this.status !== "active" || this.toLoad > 0 || this.resumedAt === undefined) return;
    this.status = "completed";
    this.completedAt = this.k.scheduler.now;
    for (const t of this.threads) {
      t.alive = false;
      this.stopWorld(t.world);
    }
    if (this.log) this.finalCheck();
    this.k.trace.span("checkpoint restore", "checkpoint", { host: this.host, world: this.world.name }, this.startedAt, this.completedAt, { file: this.file.key });
    this.onEnd(this);
  }

  /** Every page the guest has not written since it resumed holds what the checkpoint holds. */
  private finalCheck(): void {
    const dirty = new Uint8Array(this.guest.pages);
    const pages = this.log!.readAndClear();
    for (let i = 0; i < pages.length; i++) dirty[pages[i]!] = 1;
    this.log!.close();
    this.log = null;
    const snap = this.file.snapshot;
    for (let p = 0; p < this.guest.pages; p++) {
      if (dirty[p]) continue;
      const c = this.k.memory.peek(this.guest, p);
      if (c !== this.expected![p] || (snap && c !== snap[p])) {
        throw kernelError("VMSCN5014", `restore of "${this.world.name}": page ${p} holds ${c}, not the checkpoint's ${snap ? snap[p] : this.expected![p]}`, { time: this.k.scheduler.now, where: this.world.label });
      }
    }
  }

  /** After resume the VM cannot run without its memory: it stops, its frames are freed. */
  fail(code: string, message: string): void {
    if (this.done) return;
    if (this.status === "reading") return this.refuse(code, message);
    this.status = "failed";
    this.failureCode = code;
    this.failure = message;
    this.completedAt = this.k.scheduler.now;
    for (const io of [...this.inflight]) io.cancel();
    this.inflight.clear();
    for (const t of this.threads) {
      t.alive = false;
      this.stopWorld(t.world);
    }
    this.log?.close();
    this.log = null;
    const w = this.world;
    if (w.memory === this.guest) {
      w.failure = this.k.error(code, `checkpoint restore: ${message}`, w.label).describe();
      this.closing = true;
      if (w.state !== "stopped") this.k.cluster.setState(w, "stopped");
      this.closing = false;
      this.k.memory.releaseAll(this.guest);
      this.k.memory.wake(this.guest);
    }
    this.waiters.clear();
    this.k.trace.instant("checkpoint restore failed", "checkpoint", { world: w.name }, this.completedAt, { reason: message });
    this.onEnd(this);
  }

  worldChanged(w: World, why: "stopped" | "moved"): void {
    if (this.done || this.closing) return;
    const at = formatTime(this.k.scheduler.now);
    if (w === this.world) {
      const m = `the restore of "${w.name}" from "${this.where()}" stopped: the VM ${why === "moved" ? "moved" : "stopped"} at ${at}${w.failure ? ` (${w.failure})` : ""}`;
      if (this.status === "reading") this.refuse("VMSCN7309", m);
      else this.fail("VMSCN7309", m);
      return;
    }
    const t = this.threads.find((x) => x.world === w);
    if (t && t.alive) {
      // A background thread died: the others (or the vCPUs' faults) load what it would have.
      t.alive = false;
      for (const b of this.buffers) if (b.busy && b.state === "full") b.busy = false;
      this.k.trace.instant("checkpoint restore thread died", "checkpoint", { world: w.name }, this.k.scheduler.now, {});
      for (const o of this.threads) if (o.alive) this.background(o);
    }
  }

  private stopWorld(w: World): void {
    if (!this.k.cluster.hasWorld(w.name) || this.k.cluster.world(w.name) !== w) return;
    this.closing = true;
    this.k.cluster.destroy(w);
    this.closing = false;
  }

}
