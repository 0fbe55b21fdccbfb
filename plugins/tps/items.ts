// What the scanner knows of each page it visits: KSM's rmap_item, here one byte of state, a
// checksum and a stable node id per page of a scanned guest (KSM's mm_slot and its items).
import type { GuestMemory, World } from "../../core/api.js";

/** What the scanner knows of a page (Linux's rmap_item and its flags). */
export const Item = {
  /** Never scanned (or not a candidate: a zero page kept as it is). */
  None: 0,
  /** Scanned, in no tree: new, or changed since the last scan. */
  Volatile: 1,
  /** In this scan's unstable tree. */
  Unstable: 2,
  /** Merged into a stable node. */
  Stable: 3,
  /** Merged with the zero page (use-zero-pages): unmapped, reading as zeros. */
  Zero: 4,
  /** Waiting for an RDMA read that compares it with a remote page in full. */
  Pending: 5,
} as const;

/** A scanned guest (KSM's mm_slot) and its pages' items. */
export interface Entry {
  id: number;
  world: World;
  guest: GuestMemory;
  state: Uint8Array;
  sum: Uint32Array;
  node: Int32Array;
}

/** Items in each state (indexed by `Item`): KSM's counters are read from these. */
export type ItemCounts = Int32Array;

export function newItemCounts(): ItemCounts {
  return new Int32Array(6);
}

/** Page p's item goes to state `s`, and the counts follow. */
export function setItem(counts: ItemCounts, e: Entry, p: number, s: number): void {
  const old = e.state[p]!;
  if (old === s) return;
  if (old !== Item.None) counts[old]!--;
  if (s !== Item.None) counts[s]!++;
  e.state[p] = s;
}
