// A dirty-block log of a file, as QEMU's dirty bitmap for block migration: one bit per block
// of `blockBytes`, set when a write to the block completes. Several clients may each open
// their own; reading one clears it.

export class DiskDirtyLog {
  readonly blocks: number;
  private readonly bits: Uint8Array;
  private dirty = 0;
  closed = false;

  constructor(
    readonly fileSize: number,
    readonly blockBytes: number,
    private readonly onClose: (log: DiskDirtyLog) => void,
  ) {
    this.blocks = Math.max(1, Math.ceil(fileSize / blockBytes));
    this.bits = new Uint8Array(this.blocks);
  }

  /** Blocks written since the log was opened or last read. */
  get count(): number {
    return this.dirty;
  }

  isDirty(block: number): boolean {
    return this.bits[block] === 1;
  }

  /** @internal A completed write of `length` bytes at `offset`. */
  mark(offset: number, length: number): void {
    if (length <= 0) return;
    const last = Math.min(this.blocks - 1, Math.floor((offset + length - 1) / this.blockBytes));
    for (let b = Math.floor(offset / this.blockBytes); b <= last; b++) {
      if (this.bits[b] === 0) {
        this.bits[b] = 1;
        this.dirty++;
      }
    }
  }

  /** Forgets a block's writes: a copier about to read it (a write completing after that marks it again). */
  clear(block: number): void {
    if (this.bits[block] === 1) {
      this.bits[block] = 0;
      this.dirty--;
    }
  }

  /** The first dirty block at or after `from`, or -1 (a copier walking the log, as QEMU's dirty phase). */
  nextDirty(from: number): number {
    if (this.dirty === 0) return -1;
    for (let b = Math.max(0, from); b < this.blocks; b++) if (this.bits[b] === 1) return b;
    return -1;
  }

  /** Marks every block (a copy that must send them all starts this way). */
  markAll(): void {
    this.bits.fill(1);
    this.dirty = this.blocks;
  }

  /** The dirty blocks in order, and clears them. */
  readAndClear(): Int32Array {
    const out = new Int32Array(this.dirty);
    let n = 0;
    for (let b = 0; b < this.blocks && n < out.length; b++) {
      if (this.bits[b] === 1) {
        out[n++] = b;
        this.bits[b] = 0;
      }
    }
    this.dirty = 0;
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
  }
}
