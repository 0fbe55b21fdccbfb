// Loading a memory block from a buffer into guest memory (steps 520, 536, 719-720, 733-736):
// its record found through the IO-memory map (uncompressed) or the records' metadata
// (compressed), decompressed, copied into guest memory (0.1 ns per byte plus the codec's CPU
// time, stretched on a background thread's world when the host is overcommitted), and every
// vCPU waiting on it woken. With verify every page's bytes are checked against its contents.
import { PAGE_SIZE, VmscnError, kernelError, pageBytes } from "../../../core/api.js";
import type { BlockRecord } from "../blocks.js";
import { FormatError } from "../format.js";
import { COPY_NS_PER_BYTE } from "../shared.js";
import type { Buf } from "./pool.js";
import type { Thread } from "./prefetch.js";
import { LOADED, type Restore } from "./restore.js";

export class Loader {
  constructor(private readonly r: Restore) {}

  /** Loads memory block `mb` from a buffer: decode (decompress), copy into guest memory, wake who waits. */
  load(buf: Buf, mb: number, t: Thread | null, then: () => void): void {
    const r = this.r;
    const h = r.header!;
    const rec = buf.records.get(mb)!;
    const P = h.pagesPerBlock;
    const from = mb * P;
    const count = Math.min(P, r.guest.pages - from);
    const offset = h.ioAreaOffset + buf.io * h.ioBlockSize;
    let bytes: Uint8Array;
    let cpu = count * PAGE_SIZE * COPY_NS_PER_BYTE;
    try {
      if (r.session) {
        let d: { bytes: Uint8Array; cpuNs: number };
        try {
          d = r.session.decodeBlock(rec.zeroMask, count, rec.raw, rec.body);
        } catch (err) {
          throw new FormatError("VMSCN7301", `memory block ${mb}'s body does not decompress (${(err as Error).message})`, offset + rec.bodyAt);
        }
        bytes = d.bytes;
        cpu += d.cpuNs;
        r.c.decompressNs += d.cpuNs;
      } else bytes = rec.body;
      if (r.verify) this.checkBytes(rec, bytes, count, offset, mb);
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      r.fail(err.code, `checkpoint file "${r.where()}" is corrupt at offset ${err.offset}: ${err.message}`);
      return;
    }
    // A background thread's CPU time stretches when the host's CPUs are overcommitted.
    const f = t ? r.k.cluster.cpuFactor(t.world) : 1;
    const delay = Math.round(f > 0 ? cpu / f : cpu);
    r.after(delay, () => {
      this.install(mb, rec, count);
      if (r.ended) return;
      r.pool.loaded(buf);
      then();
      r.checkDone();
    }, "checkpoint restore load");
  }

  /** Each page's bytes are its content's bytes (zero pages: zeros), and its content is the checkpoint's. */
  private checkBytes(rec: BlockRecord, bytes: Uint8Array, count: number, offset: number, mb: number): void {
    const r = this.r;
    const compressed = r.header!.compressed;
    const ref = new Uint8Array(PAGE_SIZE);
    let n = 0;
    for (let i = 0; i < count; i++) {
      const c = rec.identities[i]!;
      // The zero mask agrees with the identities (parseIoBlock checked it).
      const zero = c === 0;
      const snap = r.file.snapshot;
      if (snap && snap[mb * r.header!.pagesPerBlock + i] !== c) {
        throw kernelError("VMSCN5014", `restore of "${r.world.name}": page ${mb * r.header!.pagesPerBlock + i} differs from the page at save time`, { time: r.k.scheduler.now, where: r.world.label });
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
      r.c.verifiedPages++;
    }
  }

  private install(mb: number, rec: BlockRecord, count: number): void {
    const r = this.r;
    const k = r.k;
    const g = r.guest;
    const from = mb * r.header!.pagesPerBlock;
    try {
      const landed = k.memory.landRange(g, from, rec.identities, count);
      // Out of frames: the page that found none throws the kernel's own error (VMSCN5002).
      if (landed < count) k.memory.populate(g, from + landed, rec.identities[landed]!);
      r.expected!.set(rec.identities.subarray(0, count), from);
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      r.fail(err.code, `restoring "${r.world.name}" from "${r.where()}" failed: ${err.message}`);
      return;
    }
    r.mbState[mb] = LOADED;
    r.toLoad--;
    const part = r.partOf[r.ioOf(mb)];
    if (part === 1 && --r.firstPartLeft === 0) r.firstPartDoneAt = k.scheduler.now;
    if (part === 2 && r.secondPartStartAt === undefined) r.secondPartStartAt = k.scheduler.now;
    const w = r.waiters.get(mb);
    if (w) {
      r.waiters.delete(mb);
      const now = k.scheduler.now;
      for (let j = 0; j < w.length; j += 2) {
        r.c.waitNs += now - w[j + 1]!;
        k.memory.wake(g, w[j]!);
      }
    }
  }
}
