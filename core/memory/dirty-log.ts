// A dirty log: a bitmap of the guest pages written since it was last read. Any number of
// clients (migration, checkpoint, fault tolerance) can hold one on the same guest at once.
import type { GuestMemory } from "./guest.js";
import { Trap } from "./page.js";

export class DirtyLog {
  readonly bits: Uint32Array;
  /** Pages currently marked. */
  count = 0;
  closed = false;

  constructor(
    readonly guest: GuestMemory,
    readonly client: string,
  ) {
    this.bits = new Uint32Array((guest.pages + 31) >>> 5);
  }

  isDirty(page: number): boolean {
    return (this.bits[page >>> 5]! & (1 << (page & 31))) !== 0;
  }

  /** @internal called by the access path on a write to an armed page. */
  mark(page: number): void {
    const w = page >>> 5;
    const b = 1 << (page & 31);
    const v = this.bits[w]!;
    if ((v & b) === 0) {
      this.bits[w] = v | b;
      this.count++;
    }
  }

  /** Marks every page dirty (a migration's first round sends everything). */
  markAll(): void {
    this.bits.fill(0xffffffff);
    const tail = this.guest.pages & 31;
    if (tail !== 0) this.bits[this.bits.length - 1] = (1 << tail) - 1;
    this.count = this.guest.pages;
  }

  /**
   * Returns the marked pages in ascending order and clears them; writes to them trap again
   * (as KVM's GET_DIRTY_LOG re-protects the pages it reports).
   */
  readAndClear(): Int32Array {
    const out = new Int32Array(this.count);
    const bits = this.bits;
    const meta = this.guest.meta;
    let n = 0;
    for (let w = 0; w < bits.length; w++) {
      let v = bits[w]!;
      if (v === 0) continue;
      bits[w] = 0;
      const base = w << 5;
      while (v !== 0) {
        const low = v & -v;
        const page = base + 31 - Math.clz32(low);
        out[n++] = page;
        meta[page] = meta[page]! | Trap.Dirty;
        v ^= low;
      }
    }
    this.count = 0;
    return out;
  }

  /**
   * Forgets one page's mark and write-protects it again (KVM_CLEAR_DIRTY_LOG on one page): a
   * write since the last read that the sender is about to send anyway. False if unmarked.
   */
  clearPage(page: number): boolean {
    const w = page >>> 5;
    const b = 1 << (page & 31);
    const v = this.bits[w]!;
    if ((v & b) === 0) return false;
    this.bits[w] = v & ~b;
    this.count--;
    this.guest.meta[page] = this.guest.meta[page]! | Trap.Dirty;
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.guest.closeLog(this);
  }
}
