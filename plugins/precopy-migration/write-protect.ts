// When a page the sender is about to send is write-protected again, which decides whether a
// write between a sync and the page's send makes it go once or twice. The kernel's dirty log
// is read and cleared at each sync (every reported page write-protected again); then:
// - at-sync: nothing more — TCG's rule (cpu_physical_memory_sync_dirty_bitmap clears QEMU's
//   bits at the sync) and Xen's (XEN_DOMCTL_SHADOW_OP_CLEAN each iteration): a page written
//   after the sync but before its send goes now and again after the next sync;
// - per-chunk: KVM with manual dirty-log protect (QEMU's default): a page reported at the sync
//   stays writable until the scan is about to send the first page of its chunk
//   (2^clear-bitmap-shift pages, 1 GiB by default), when the chunk's reported pages are
//   cleared and protected (migration_clear_memory_region_dirty_bitmap → KVM_CLEAR_DIRTY_LOG):
//   a write to one before that is not recorded, and the page goes once;
// - per-page: the document's rule ("the PPN ... is write-protected ... and the thread writes the
//   page over"): each page is protected just before it is sent, so a write before its send is
//   in what is sent, and not recorded.
// Emulated over the at-sync log: the writes a later protection would not have seen are forgotten.
import type { DirtyLog } from "../../core/api.js";

export type WriteProtectMode = "at-sync" | "per-chunk" | "per-page";

export class WriteProtect {
  /** per-chunk: the pages the last sync reported, not yet cleared (KVM's bitmap from its last GET). */
  private reported: Uint32Array | null = null;
  /** per-chunk: chunks whose clear is pending since the last sync (QEMU's clear_bmap). */
  private pending: Uint8Array | null = null;
  private readonly chunkPages: number;

  constructor(
    readonly mode: WriteProtectMode,
    private readonly pages: number,
    clearBitmapShift: number,
  ) {
    this.chunkPages = 2 ** clearBitmapShift;
  }

  /** A sync read `list` from the log (null: every page, the setup's sync with the log initially set). */
  synced(list: Int32Array | null): void {
    if (this.mode !== "per-chunk") return;
    const words = (this.pages + 31) >>> 5;
    this.reported ??= new Uint32Array(words);
    if (list === null) this.reported.fill(0xffffffff);
    else for (let i = 0; i < list.length; i++) this.reported[list[i]! >>> 5] = this.reported[list[i]! >>> 5]! | (1 << (list[i]! & 31));
    this.pending ??= new Uint8Array(Math.ceil(this.pages / this.chunkPages));
    this.pending.fill(1);
  }

  /** The sender is about to send `page`: forget the writes this mode's protection would not have seen. */
  beforeSend(log: DirtyLog, page: number): void {
    if (this.mode === "at-sync") return;
    if (this.mode === "per-page") {
      log.clearPage(page);
      return;
    }
    const chunk = Math.floor(page / this.chunkPages);
    if (this.pending === null || this.pending[chunk] === 0) return;
    this.pending[chunk] = 0;
    const from = chunk * this.chunkPages;
    const to = Math.min(this.pages, from + this.chunkPages);
    const reported = this.reported!;
    for (let w = from >>> 5; w < (to + 31) >>> 5; w++) {
      let v = reported[w]!;
      if (v === 0) continue;
      reported[w] = 0;
      while (v !== 0) {
        const low = v & -v;
        const p = (w << 5) + 31 - Math.clz32(low);
        if (p < to) log.clearPage(p);
        v ^= low;
      }
    }
  }
}
