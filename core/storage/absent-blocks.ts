// Blocks of a file that are not there yet: a disk whose copy is still arriving (a migration
// that resumed the VM before every block was copied, as the document's on-demand disk
// transfer). An IO touching an absent block waits until every absent block it covers has
// arrived; the fetch hook of the plugin that marked them is told of each absent block an IO
// needs, and the plugin brings the block with `fill` (a timed write that makes it present).
import { VmscnError } from "../errors.js";
import type { IoRequest, SimFile, Storage } from "./storage.js";

/** Told of an absent block an IO needs (once per waiting IO and block; start one fetch per block). */
export type BlockFetch = (block: number) => void;

export class AbsentBlocks {
  readonly blocks: number;
  /** 1 while the block is absent. */
  private readonly absent: Uint8Array;
  /** 1 while a fill of the block is in flight (one at a time, so no fill lands over a later write). */
  private readonly filling: Uint8Array;
  private left = 0;
  /** IOs that had to wait for a block, and their total wait (ns, counted when they are released). */
  waits = 0;
  stallNs = 0;
  /** Set by `fail`: IOs that waited failed with it, later IOs on absent blocks are refused with it. */
  failed: VmscnError | null = null;
  /** @internal IOs waiting, per absent block. */
  readonly waiters = new Map<number, IoRequest[]>();

  constructor(
    readonly file: SimFile,
    readonly blockBytes: number,
    list: Int32Array | null,
    private readonly fetch: BlockFetch,
    private readonly storage: Storage,
  ) {
    this.blocks = Math.max(1, Math.ceil(file.size / blockBytes));
    this.absent = new Uint8Array(this.blocks);
    this.filling = new Uint8Array(this.blocks);
    if (list === null) {
      this.absent.fill(1);
      this.left = this.blocks;
    } else {
      for (let i = 0; i < list.length; i++) {
        const b = list[i]!;
        if (!Number.isInteger(b) || b < 0 || b >= this.blocks) throw storage.error("VMSCN5011", `block ${b} is outside file "${file.name}" (${this.blocks} blocks of ${blockBytes} bytes)`);
        if (this.absent[b] === 0) this.left++;
        this.absent[b] = 1;
      }
    }
  }

  /** Absent blocks left. */
  get count(): number {
    return this.left;
  }

  isAbsent(block: number): boolean {
    return this.absent[block] === 1;
  }

  isFilling(block: number): boolean {
    return this.filling[block] === 1;
  }

  /** The first absent block at or after `from` with no fill in flight, or -1 (a background copier's cursor). */
  nextAbsent(from: number): number {
    for (let b = Math.max(0, from); b < this.blocks; b++) if (this.absent[b] === 1 && this.filling[b] === 0) return b;
    return -1;
  }

  /** The bytes block `block` covers (the last one may be short). */
  blockLength(block: number): number {
    return Math.min(this.blockBytes, this.file.size - block * this.blockBytes);
  }

  /**
   * The block arrives: a timed write of its bytes by `host` (null: zeros, stored as a hole); it
   * does not wait for absent blocks; when it completes the block is present and the IOs that
   * waited only for it start.
   */
  fill(host: string, block: number, data: Uint8Array | null, onDone: () => void, onFail?: (err: VmscnError) => void): IoRequest {
    if (!Number.isInteger(block) || block < 0 || block >= this.blocks || this.absent[block] === 0) {
      throw this.storage.error("VMSCN5011", `block ${block} of file "${this.file.name}" is not absent: there is nothing to fill`, host);
    }
    if (this.filling[block] === 1) throw this.storage.error("VMSCN5011", `block ${block} of file "${this.file.name}" is being filled already`, host);
    if (data !== null && data.length !== this.blockLength(block)) {
      throw this.storage.error("VMSCN5011", `block ${block} of file "${this.file.name}" holds ${this.blockLength(block)} bytes; a fill of ${data.length} bytes does not fit it`, host);
    }
    const io = this.storage.issue(this.file, "write", host, block * this.blockBytes, this.blockLength(block), data?.slice(), false, () => onDone(), onFail, block);
    io.zeros = data === null;
    this.filling[block] = 1;
    return io;
  }

  /**
   * The blocks cannot come any more (their source is gone): every IO waiting for one fails
   * with `err` (on its own event), and a later IO touching an absent block is refused with it.
   */
  fail(err: VmscnError): void {
    if (this.failed !== null || this.left === 0) return;
    this.failed = err;
    const ios = new Set<IoRequest>();
    for (const list of this.waiters.values()) for (const io of list) ios.add(io);
    this.waiters.clear();
    for (const io of ios) this.storage.failIo(io, err);
  }

  /** @internal Whether an IO on `offset..offset+length` must wait. */
  touches(offset: number, length: number): boolean {
    if (this.left === 0 || length <= 0) return false;
    const last = Math.min(this.blocks - 1, Math.floor((offset + length - 1) / this.blockBytes));
    for (let b = Math.floor(offset / this.blockBytes); b <= last; b++) if (this.absent[b] === 1) return true;
    return false;
  }

  /** @internal The refusal of an IO on absent blocks after `fail`. */
  refusal(io: string, host: string): VmscnError {
    const e = this.failed!;
    return new VmscnError(e.code, `${io}: its blocks cannot arrive any more (${e.message})`, { time: this.storage.now, where: host });
  }

  /** @internal Parks `io` on the absent blocks it covers and tells the plugin of each. */
  wait(io: IoRequest): void {
    const need: number[] = [];
    const last = Math.min(this.blocks - 1, Math.floor((io.offset + io.length - 1) / this.blockBytes));
    for (let b = Math.floor(io.offset / this.blockBytes); b <= last; b++) {
      if (this.absent[b] === 0) continue;
      need.push(b);
      let list = this.waiters.get(b);
      if (list === undefined) this.waiters.set(b, (list = []));
      list.push(io);
    }
    io.state = "waiting";
    io.missing = need.length;
    io.waitSince = this.storage.now;
    this.waits++;
    for (const b of need) this.fetch(b);
  }

  /** @internal A fill completed: the block is present; IOs that have every block now start. */
  arrived(block: number, fillFailed: boolean): void {
    this.filling[block] = 0;
    if (fillFailed || this.absent[block] === 0) return;
    this.absent[block] = 0;
    this.left--;
    const list = this.waiters.get(block);
    this.waiters.delete(block);
    if (this.left === 0) this.file.absent = null;
    if (list === undefined) return;
    const now = this.storage.now;
    for (const io of list) {
      if (io.state !== "waiting" || --io.missing > 0) continue;
      this.stallNs += now - io.waitSince;
      this.storage.admit(io);
    }
  }
}
