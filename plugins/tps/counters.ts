// KSM's counters (its sysfs names, /sys/kernel/mm/ksm/*) put together from what the scanner
// counts as it goes, and the memory-saved series the chart draws.
import { PAGE_SIZE } from "../../core/api.js";
import type { KsmCounters } from "./api.js";
import { Item, newItemCounts } from "./items.js";

/** What a host's scanner counts. */
export class ScanCounts {
  /** Items in each state (items.ts `setItem` keeps them). */
  readonly items = newItemCounts();
  fullScans = 0;
  pagesScanned = 0;
  cowBreaks = 0;
  remoteMerged = 0;
  mappedRemote = 0;
  remoteCompares = 0;

  /** KSM's counters now, given the stable nodes with at least one page. */
  counters(liveNodes: number): KsmCounters {
    const c = this.items;
    const sharing = c[Item.Stable]! - liveNodes;
    return {
      pages_shared: liveNodes,
      pages_sharing: sharing,
      pages_unshared: c[Item.Unstable]!,
      pages_volatile: c[Item.Volatile]! + c[Item.Pending]!,
      full_scans: this.fullScans,
      ksm_zero_pages: c[Item.Zero]!,
      pages_scanned: this.pagesScanned,
      cow_breaks: this.cowBreaks,
      memory_saved: (sharing + c[Item.Zero]!) * PAGE_SIZE,
      remote_pages_merged: this.remoteMerged,
      pages_mapped_remote: this.mappedRemote,
      remote_compares: this.remoteCompares,
      remote_compare_bytes: this.remoteCompares * PAGE_SIZE,
    };
  }
}

/** Memory saved over time (ns, bytes), for the chart; thinned to stay small. */
export class SavedSeries {
  readonly x: number[] = [];
  readonly y: number[] = [];
  private every = 100_000_000;
  private next = 0;

  /** Appends (now, saved()) at most every `every` ns (always when `force`; a second point at one instant replaces the first). */
  sample(now: number, force: boolean, saved: () => number): void {
    if (!force && now < this.next) return;
    const { x, y } = this;
    if (x.length > 0 && x[x.length - 1] === now) {
      y[y.length - 1] = saved();
      return;
    }
    x.push(now);
    y.push(saved());
    this.next = now + this.every;
    if (x.length > 2000) {
      // Thin out: keep every other point and sample half as often.
      x.splice(0, x.length, ...x.filter((_, i) => i % 2 === 0));
      y.splice(0, y.length, ...y.filter((_, i) => i % 2 === 0));
      this.every *= 2;
    }
  }
}
