// QEMU's RAMState (migration/ram.c) for `converge qemu`: the migration bitmap — every page set
// at setup (ram_list_init_bitmaps), a page cleared as the scan sends it
// (migration_bitmap_clear_dirty), the kernel's dirty log ORed in at each sync
// (migration_bitmap_sync → cpu_physical_memory_sync_dirty_bitmap) — and the scan cursor, which
// walks the pages cyclically and is never reset at a sync (find_dirty_block): a page dirtied
// ahead of the cursor goes in this sweep, one behind it after the wrap.

/** The number of set bits of a 32-bit word. */
function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

export class RamState {
  readonly bmap: Uint32Array;
  /** Pages set in the bitmap (rs->migration_dirty_pages). */
  dirty: number;
  /** Where the scan goes on from (rs->last_page). */
  cursor = 0;
  /** Times the scan wrapped past the last page (XBZRLE starts at the first wrap). */
  wraps = 0;

  constructor(readonly pages: number) {
    this.bmap = new Uint32Array((pages + 31) >>> 5);
    this.bmap.fill(0xffffffff);
    const tail = pages & 31;
    if (tail !== 0) this.bmap[this.bmap.length - 1] = (1 << tail) - 1;
    this.dirty = pages;
  }

  /** Dirty bytes of the bitmap, as QEMU's ram_bytes_remaining() (4096 a page, no headers). */
  remainingBytes(pageSize: number): number {
    return this.dirty * pageSize;
  }

  /** Sets the pages the kernel's log reported; returns how many were not set already (new_dirty). */
  merge(reported: Int32Array): number {
    const bmap = this.bmap;
    let added = 0;
    for (let i = 0; i < reported.length; i++) {
      const p = reported[i]!;
      const w = p >>> 5;
      const b = 1 << (p & 31);
      if ((bmap[w]! & b) === 0) {
        bmap[w] = bmap[w]! | b;
        added++;
      }
    }
    this.dirty += added;
    return added;
  }

  /**
   * The next dirty page from the cursor on, cyclically, cleared as it is taken; -1 when the
   * bitmap is empty. The cursor stays just after it, as ram_find_and_save_block leaves it.
   */
  next(): number {
    if (this.dirty === 0) return -1;
    const bmap = this.bmap;
    const words = bmap.length;
    let p = this.cursor;
    let w = p >>> 5;
    // The rest of the cursor's word, then whole words, wrapping once.
    let v = bmap[w]! & (~0 << (p & 31));
    for (let seen = 0; v === 0; seen++) {
      w++;
      if (w === words) {
        w = 0;
        this.wraps++;
      }
      v = bmap[w]!;
      if (seen > words) return -1;
    }
    const low = v & -v;
    p = (w << 5) + 31 - Math.clz32(low);
    bmap[w] = bmap[w]! & ~low;
    this.dirty--;
    this.cursor = p + 1;
    if (this.cursor >= this.pages) {
      this.cursor = 0;
      this.wraps++;
    }
    return p;
  }

  isDirty(page: number): boolean {
    return (this.bmap[page >>> 5]! & (1 << (page & 31))) !== 0;
  }

  /** Clears one page without sending it (a page an extension defers, or the destination no longer needs). */
  clear(page: number): boolean {
    const w = page >>> 5;
    const b = 1 << (page & 31);
    if ((this.bmap[w]! & b) === 0) return false;
    this.bmap[w] = this.bmap[w]! & ~b;
    this.dirty--;
    return true;
  }

  /** The dirty pages in ascending order, the bitmap left as it is. */
  list(): Int32Array {
    const out = new Int32Array(this.dirty);
    let n = 0;
    for (let w = 0; w < this.bmap.length; w++) {
      let v = this.bmap[w]!;
      while (v !== 0) {
        const low = v & -v;
        out[n++] = (w << 5) + 31 - Math.clz32(low);
        v ^= low;
      }
    }
    return out;
  }

  /** The dirty pages in ascending order (the switch-over's list), leaving the bitmap empty. */
  drain(): Int32Array {
    const out = this.list();
    this.bmap.fill(0);
    this.dirty = 0;
    return out;
  }

  /** Count of set bits (for checks: it must equal `dirty`). */
  count(): number {
    let n = 0;
    for (let w = 0; w < this.bmap.length; w++) n += popcount(this.bmap[w]!);
    return n;
  }
}
