// The save's file writer (docs/checkpoint-format.md): the header (marked incomplete) and the
// device state first, then each full buffer as the next IO block (steps 416-418: the maps learn
// where its memory blocks are), then the maps, then the header again, marked complete. Every
// write is timed by the datastore; its bytes land in the file when it completes.
import { PAGE_SIZE, VmscnError, pageBytes, type IoRequest, type PluginContext } from "../../../core/api.js";
import { encodeMaps, putRecord, sealIoBlock } from "../blocks.js";
import { HEADER_SIZE, IO_HEADER_SIZE, VERSION, crcOf, encodeHeader, geometry, roundUp, type Header } from "../format.js";
import type { CheckpointOptions } from "../options.js";
import { deviceStateIdentity } from "../shared.js";
import type { Buffer } from "./buffers.js";
import type { Save } from "./save.js";

export class FileWriter {
  /** Writes in flight. */
  readonly inflight = new Set<IoRequest>();
  /** Where the IO blocks begin: after the header and the device state. */
  private readonly ioArea: number;
  private readonly deviceBytes: number;
  private readonly compressed: boolean;
  /** The next IO block's index. */
  private nextIo = 0;
  private dev: Uint8Array | null = null;
  private readonly k: PluginContext;

  constructor(private readonly s: Save) {
    this.k = s.k;
    this.compressed = s.session !== null;
    this.deviceBytes = s.k.vmInfo(s.world)?.deviceStateBytes ?? 0;
    this.ioArea = roundUp(HEADER_SIZE + this.deviceBytes, 4096);
  }

  /** IO blocks a save can need at most: full buffers for every block, plus one partial buffer per thread. */
  static maxIoBlocks(blocks: number, o: Pick<CheckpointOptions, "blocksPerIo" | "backgroundThreads">, vcpus: number): number {
    return Math.ceil(blocks / o.blocksPerIo) + vcpus + o.backgroundThreads;
  }

  /** The datastore space a save reserves: the uncompressed worst case. */
  static capacity(pages: number, deviceBytes: number, o: CheckpointOptions, vcpus: number): number {
    const g = geometry(o.pagesPerBlock, o.blocksPerIo);
    const blocks = Math.ceil(pages / o.pagesPerBlock);
    const io = FileWriter.maxIoBlocks(blocks, o, vcpus);
    return roundUp(HEADER_SIZE + deviceBytes, 4096) + io * g.ioBlockSize + blocks * 8 + io * o.blocksPerIo * 4 + io * 4;
  }

  /** The file begins: its header (incomplete until the end) and the device state, one IO. */
  begin(): void {
    // Its end may be the last thing the save waits for (every block zero or untouched, or
    // written before it): it looks whether the save can finish, as every write's end does.
    this.write(0, this.head(false, 0, 0), () => this.s.checkFinish());
  }

  /** Steps 416-418: the buffer becomes the next IO block; the maps learn where its blocks are. */
  flush(buf: Buffer, part: 1 | 2, writer: number, then: () => void): void {
    if (buf.blocks.length === 0) return then();
    const s = this.s;
    const idx = this.nextIo++;
    const offset = this.ioArea + idx * s.g.ioBlockSize;
    const bytes = this.ioBlockBytes(buf, idx, part, writer);
    const mbs = buf.blocks.map((c) => c.mb);
    buf.reset();
    (part === 1 ? s.firstPart : s.secondPart).push(idx);
    for (let j = 0; j < mbs.length; j++) s.ioMem[idx * s.o.blocksPerIo + j] = mbs[j]!;
    s.throttle.ours++;
    this.write(offset, bytes, () => {
      s.throttle.ours--;
      for (const mb of mbs) {
        s.memIo[mb] = offset;
        s.blockState[mb] = 2;
      }
      s.c.ioWrites++;
      then();
    });
  }

  private ioBlockBytes(buf: Buffer, idx: number, part: number, writer: number): Uint8Array {
    const g = this.s.g;
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
      // Each block's record carries its metadata (block id, compressed length) before its body.
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
  private write(offset: number, bytes: Uint8Array, then: () => void): void {
    const s = this.s;
    const end = offset + bytes.length;
    if (s.o.maxSize !== undefined && end > s.o.maxSize) {
      s.fail("VMSCN7307", `no space left for checkpoint file "${s.file.key}": writing ${bytes.length} bytes at offset ${offset} would make it ${end} bytes, more than the ${s.o.maxSize} bytes it may take (max-size)`);
      return;
    }
    let io: IoRequest;
    try {
      io = s.file.sim.write(s.host, offset, bytes.length, () => {
        this.inflight.delete(io);
        if (s.ended) return;
        try {
          s.file.store.write(offset, bytes);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          const full = e.code === "ENOSPC" || e.code === "EFBIG" || e.code === "EDQUOT";
          s.fail(full ? "VMSCN7307" : "VMSCN7309", `${full ? "no space left" : "an IO error"} writing checkpoint file "${s.file.key}" at offset ${offset}: ${e.message}`);
          return;
        }
        s.c.bytesWritten += bytes.length;
        then();
      }, (err) => {
        this.inflight.delete(io);
        s.fail("VMSCN7309", `writing checkpoint file "${s.file.key}" at offset ${offset} failed: ${err.message}`);
      });
    } catch (err) {
      if (!(err instanceof VmscnError)) throw err;
      const full = err.code === "VMSCN5016";
      s.fail(full ? "VMSCN7307" : "VMSCN7309", `${full ? "no space left for" : "cannot write"} checkpoint file "${s.file.key}" at offset ${offset}: ${err.message}`);
      return;
    }
    this.inflight.add(io);
  }

  /** The last writes: the maps, then the header marked complete; then the save is complete. */
  finish(): void {
    const s = this.s;
    if (s.ended) return;
    const ioBlocks = this.nextIo;
    const M = s.o.blocksPerIo;
    const parts = Uint32Array.from([...s.firstPart, ...s.secondPart]);
    const maps = encodeMaps({ memIo: s.memIo, ioMem: s.ioMem.subarray(0, ioBlocks * M), parts }, this.compressed);
    const memIoOffset = this.ioArea + ioBlocks * s.g.ioBlockSize;
    const header = this.head(true, ioBlocks, crcOf(maps));
    this.write(memIoOffset, maps, () => {
      this.write(0, header, () => s.complete(memIoOffset + maps.length));
    });
  }

  /** The save failed: the writes in flight are dropped, and no real file is left of it (the simulation still sees its header: a restore refuses it). */
  abandon(): void {
    this.s.file.store.discard(HEADER_SIZE);
    for (const io of [...this.inflight]) io.cancel();
    this.inflight.clear();
  }

  private head(complete: boolean, ioBlocks: number, mapsCrc: number): Uint8Array {
    const s = this.s;
    const dev = this.deviceState();
    const memIoOffset = this.ioArea + ioBlocks * s.g.ioBlockSize;
    const memIoLength = s.blocks * 8;
    const ioMemLength = this.compressed ? 0 : ioBlocks * s.o.blocksPerIo * 4;
    const h: Header = {
      version: VERSION,
      complete,
      compressed: this.compressed,
      pageSize: PAGE_SIZE,
      pagesPerBlock: s.o.pagesPerBlock,
      blocksPerIo: s.o.blocksPerIo,
      ioBlockSize: s.g.ioBlockSize,
      codec: s.session?.codec.id ?? 0,
      level: s.session?.codec.level ?? 0,
      guestPages: s.pages,
      memoryBlocks: s.blocks,
      ioBlocks,
      firstPart: s.firstPart.length,
      vcpus: s.world.vcpus,
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
      contentPages: s.c.contentPages,
      zeroPages: s.c.zeroPages,
      untouchedPages: s.c.untouchedPages,
      savedAt: s.quiescedAt ?? 0,
      deviceCrc: crcOf(dev),
      mapsCrc,
      vmName: s.world.name,
      hostName: s.host,
    };
    const head = encodeHeader(h);
    if (complete) return head;
    // The first write carries the device state after the header.
    const out = new Uint8Array(this.ioArea);
    out.set(head, 0);
    out.set(dev, HEADER_SIZE);
    return out;
  }

  /** The device state's bytes (deterministic: the simulator models its size, not its contents). */
  private deviceState(): Uint8Array {
    if (this.dev) return this.dev;
    const n = this.deviceBytes;
    const pages = Math.ceil(n / PAGE_SIZE);
    const b = new Uint8Array(pages * PAGE_SIZE);
    for (let i = 0; i < pages; i++) pageBytes(deviceStateIdentity(this.s.world.name, i), b, i * PAGE_SIZE);
    this.dev = b.subarray(0, n);
    return this.dev;
  }
}
