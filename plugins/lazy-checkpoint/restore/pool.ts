// The restore's buffer pool (steps 516-518, 532-534): an IO block is read into a free buffer,
// checked (its CRC-32, its records against the maps), and its memory blocks loaded from there.
// A buffer is free again once all its blocks are loaded. When none is free, the requester
// finishes loading a buffer no one is going through and takes it (an eviction), or waits.
import type { PluginContext } from "../../../core/api.js";
import { parseIoBlock, type BlockRecord, type IoBlockView } from "../blocks.js";
import { FormatError } from "../format.js";
import type { Thread } from "./prefetch.js";
import { ABSENT, BUSY, type Restore } from "./restore.js";

/** A buffer: free, being filled by a read, holding an IO block's memory blocks, or being gone through by a thread (loading). */
export interface Buf {
  id: number;
  state: "free" | "reading" | "full" | "loading";
  io: number;
  view: IoBlockView | null;
  records: Map<number, BlockRecord>;
  /** Memory blocks in it not yet loaded. */
  unloaded: number;
  /** Its bytes: one IO block, allocated when the pool is filled and read into again and again. */
  bytes: Uint8Array;
}

export class BufferPool {
  private buffers: Buf[] = [];
  /** Who waits for a free buffer, in order. */
  private readonly queue: ((b: Buf) => void)[] = [];
  /** The buffer each IO block is in (-1: none). */
  private bufOf = new Int32Array(0);
  /** Memory blocks vCPUs asked for while their IO block is being read. */
  private readonly wanted = new Map<number, number[]>();
  private readonly k: PluginContext;

  constructor(private readonly r: Restore) {
    this.k = r.k;
  }

  /** The file is open: it has `ioBlocks` IO blocks. */
  open(ioBlocks: number): void {
    this.bufOf = new Int32Array(ioBlocks).fill(-1);
  }

  /** The pool's `n` buffers, all free. */
  fill(n: number): void {
    const size = this.r.header!.ioBlockSize;
    this.buffers = Array.from({ length: n }, (_, id) => ({ id, state: "free", io: -1, view: null, records: new Map(), unloaded: 0, bytes: new Uint8Array(size) }));
  }

  /** The buffer that holds IO block `io` (its state is 2). */
  holding(io: number): Buf {
    return this.buffers[this.bufOf[io]!]!;
  }

  /** A vCPU wants memory block `mb` of IO block `io`, which is being read. */
  want(io: number, mb: number): void {
    this.wanted.get(io)!.push(mb);
  }

  /** IO block `io` read into a buffer for a background thread `t` (or a vCPU: null), then the blocks `wanted` loaded. */
  fetch(io: number, t: Thread | null, wanted: number[]): void {
    const r = this.r;
    r.ioState[io] = 1;
    this.wanted.set(io, wanted);
    this.acquire(t, (buf) => {
      if (t && t.state === "stopped") {
        // The thread died waiting: the IO block goes back to the pool of blocks to fetch.
        r.ioState[io] = 0;
        for (const mb of this.wanted.get(io) ?? []) r.mbState[mb] = ABSENT;
        this.wanted.delete(io);
        r.prefetch.putBack(io);
        this.release(buf);
        return;
      }
      const delay = t ? r.throttle.delay(r.header!.ioBlockSize, t.lastIoNs) : 0;
      r.after(delay, () => this.read(io, buf, t), "checkpoint restore read");
    });
  }

  private read(io: number, buf: Buf, t: Thread | null): void {
    const r = this.r;
    const h = r.header!;
    buf.state = "reading";
    buf.io = io;
    this.bufOf[io] = buf.id;
    const offset = h.ioAreaOffset + io * h.ioBlockSize;
    r.c.ioReads++;
    r.throttle.ours++;
    const t0 = this.k.scheduler.now;
    r.readTimed(offset, h.ioBlockSize, (bytes) => {
      r.throttle.ours--;
      if (t) t.lastIoNs = this.k.scheduler.now - t0;
      let view: IoBlockView;
      try {
        // Checked against the maps: exactly the memory blocks they place here (uncompressed: in
        // the IO-memory map's order, step 534), so every block waited for is in it.
        view = parseIoBlock(bytes, offset, h, io, r.maps!);
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        r.fail(err.code, `checkpoint file "${r.where()}" is corrupt at offset ${err.offset}: ${err.message}`);
        return;
      }
      buf.view = view;
      buf.records = new Map(view.records.map((rec) => [rec.mb, rec]));
      buf.unloaded = view.records.length;
      buf.state = "full";
      r.ioState[io] = 2;
      const wanted = this.wanted.get(io) ?? [];
      this.wanted.delete(io);
      for (const mb of wanted) {
        r.c.vcpuBlocks++;
        r.loader.load(buf, mb, null, () => {});
      }
      if (t && t.state !== "stopped") this.process(buf, t, () => r.prefetch.work(t));
      r.prefetch.kick();
      this.serveQueue();
    }, true, buf.bytes);
  }

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
      this.r.c.evictions++;
      this.process(idle, t, () => this.acquire(t, then));
      return;
    }
    this.r.c.bufferWaits++;
    this.queue.push(then);
  }

  /** Someone waits for a buffer and one is full with no one going through it: the waiter finishes it and takes it. */
  private serveQueue(): void {
    const idle = this.queue.length > 0 ? this.buffers.find((b) => this.loadable(b)) : undefined;
    if (!idle) return;
    const then = this.queue.shift()!;
    this.r.c.evictions++;
    this.process(idle, null, () => this.acquire(null, then));
  }

  /** A full buffer no one goes through that still has blocks to load. */
  private loadable(b: Buf): boolean {
    return b.state === "full" && b.view!.records.some((rec) => this.r.mbState[rec.mb] === ABSENT);
  }

  /** A buffer with blocks left to load that no thread is going through, if any. */
  pending(): Buf | undefined {
    return this.buffers.find((b) => this.loadable(b));
  }

  /** A read in flight or a buffer being gone through may still bring blocks to load. */
  busy(): boolean {
    return this.buffers.some((b) => b.state === "reading" || b.state === "loading");
  }

  /** A thread died: the buffers it (or anyone) was going through are open to the others. */
  unclaim(): void {
    for (const b of this.buffers) if (b.state === "loading") b.state = "full";
  }

  /** One of the buffer's blocks is loaded; with the last, the buffer is free. */
  loaded(buf: Buf): void {
    buf.unloaded--;
    if (buf.unloaded === 0) this.release(buf);
  }

  private release(buf: Buf): void {
    if (buf.state === "free") return;
    if (buf.io >= 0) {
      this.r.ioState[buf.io] = buf.view ? 3 : this.r.ioState[buf.io]!;
      this.bufOf[buf.io] = -1;
    }
    buf.state = "free";
    buf.io = -1;
    buf.view = null;
    buf.records = new Map();
    const next = this.queue.shift();
    if (next) {
      buf.state = "reading";
      next(buf);
    }
  }

  /** Goes through a buffer's memory blocks not yet taken, one by one, in their order in the IO block (step 536). */
  process(buf: Buf, t: Thread | null, then: () => void): void {
    const r = this.r;
    buf.state = "loading";
    const records = buf.view!.records;
    let j = 0;
    const leave = (): void => {
      if (buf.state === "loading") buf.state = "full";
    };
    const next = (): void => {
      if (r.ended) return;
      if (t && t.state === "stopped") return leave();
      while (j < records.length && r.mbState[records[j]!.mb] !== ABSENT) j++;
      if (j >= records.length) {
        leave();
        then();
        this.serveQueue();
        return;
      }
      const mb = records[j++]!.mb;
      r.mbState[mb] = BUSY;
      if (t) r.c.backgroundBlocks++;
      else r.c.vcpuBlocks++;
      r.loader.load(buf, mb, t, next);
    };
    next();
  }
}
