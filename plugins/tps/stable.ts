// KSM's stable tree: the shared frames. A stable node per (contents, salt) holds its frame, how
// many pages map it, and one of them (its rep) through which new pages are merged; KSM's
// stable_tree_search, stable_tree_insert, stable_tree_append and remove_rmap_item_from_tree.
// KSM orders its nodes in a red-black tree by memcmp; a hash table keyed by the contents
// (table.ts) answers the same question. Nodes live in typed arrays; freed ids are reused.
import { PageState, STATE_MASK, type MachineMemory, type PluginContext } from "../../core/api.js";
import { Item, setItem, type Entry, type ItemCounts } from "./items.js";
import { KeyTable } from "./table.js";

export class StableTree {
  // Per node (read by the scanner's hot loop, hence not private; grown by doubling).
  frame = new Int32Array(64);
  key = new Float64Array(64);
  /** The node takes new pages (its rep still maps its frame). */
  open = new Uint8Array(64);
  private salt = new Int32Array(64);
  private mappers = new Int32Array(64);
  private repEntry = new Int32Array(64);
  private repPage = new Int32Array(64);
  private high = 0;
  private readonly freed: number[] = [];
  /** Nodes with at least one page (KSM's pages_shared). */
  live = 0;
  /** Open nodes by (contents, salt). */
  private readonly table = new KeyTable();
  /** The rep entry of the node `search` last returned. */
  private rep: Entry | null = null;

  constructor(
    private readonly k: PluginContext,
    private readonly machine: MachineMemory,
    private readonly counts: ItemCounts,
    /** A scanned guest by its entry id (undefined once gone). */
    private readonly entry: (id: number) => Entry | undefined,
  ) {}

  /** The open node for (content, salt) whose rep still maps its frame, or -1 (a stale node is closed). */
  search(c: number, salt: number): number {
    if (this.table.size === 0) return -1;
    const slot = this.table.find(c, salt);
    if (slot < 0) return -1;
    const n = this.table.val(slot);
    const re = this.entry(this.repEntry[n]!);
    const rp = this.repPage[n]!;
    const f = this.frame[n]!;
    if (re !== undefined && re.state[rp] === Item.Stable && re.node[rp] === n && (re.guest.meta[rp]! & STATE_MASK) === PageState.Present && re.guest.frame[rp] === f && this.machine.content[f] === c) {
      this.rep = re;
      return n;
    }
    this.close(n);
    return -1;
  }

  /** A new open node for `frame`, whose rep is page `repPage` of `rep` (no page joined yet). */
  insert(frame: number, key: number, salt: number, rep: Entry, repPage: number): number {
    let n = this.freed.pop();
    if (n === undefined) {
      n = this.high++;
      if (n >= this.frame.length) this.grow();
    }
    this.frame[n] = frame;
    this.key[n] = key;
    this.salt[n] = salt;
    this.mappers[n] = 0;
    this.repEntry[n] = rep.id;
    this.repPage[n] = repPage;
    this.open[n] = 1;
    this.table.insert(key, salt, n);
    this.live++;
    return n;
  }

  private grow(): void {
    const cap = this.frame.length * 2;
    const grow = <T extends Int32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a as never);
      return b;
    };
    this.frame = grow(this.frame, (n) => new Int32Array(n));
    this.key = grow(this.key, (n) => new Float64Array(n));
    this.salt = grow(this.salt, (n) => new Int32Array(n));
    this.mappers = grow(this.mappers, (n) => new Int32Array(n));
    this.repEntry = grow(this.repEntry, (n) => new Int32Array(n));
    this.repPage = grow(this.repPage, (n) => new Int32Array(n));
    this.open = grow(this.open, (n) => new Uint8Array(n));
  }

  /** Page p maps the node's frame (through the node's rep mapping, just validated by `search`) and joins the node. */
  merge(n: number, e: Entry, p: number): void {
    this.k.memory.share(this.rep!.guest, this.repPage[n]!, e.guest, p);
    this.append(n, e, p);
  }

  /** Page p (already mapping the node's frame) joins the node. */
  append(n: number, e: Entry, p: number): void {
    e.node[p] = n;
    setItem(this.counts, e, p, Item.Stable);
    this.mappers[n]!++;
  }

  /** Page p leaves its node (volatile again); a node left without pages is freed. */
  remove(e: Entry, p: number): void {
    const n = e.node[p]!;
    setItem(this.counts, e, p, Item.Volatile);
    if (this.repEntry[n] === e.id && this.repPage[n] === p) this.close(n);
    if (--this.mappers[n]! === 0) {
      this.close(n);
      this.live--;
      this.freed.push(n);
    }
  }

  /** The node can take no new pages until one of its pages is scanned again (its rep is gone). */
  private close(n: number): void {
    if (this.open[n] === 0) return;
    this.open[n] = 0;
    const key = this.key[n]!;
    const slot = this.table.find(key, this.salt[n]!);
    this.table.removeAt(slot);
  }

  /** A merged page of a closed node: it moves to the open node for its contents, or reopens its own. */
  rejoin(e: Entry, p: number, n: number): void {
    const key = this.key[n]!;
    const salt = this.salt[n]!;
    const m = this.search(key, salt);
    if (m >= 0) {
      this.remove(e, p);
      this.merge(m, e, p);
      return;
    }
    this.repEntry[n] = e.id;
    this.repPage[n] = p;
    this.open[n] = 1;
    this.table.insert(key, salt, n);
  }

  /** Forgets every open node (the host crashed: its pages have left their nodes already). */
  clear(): void {
    this.table.clear();
  }
}
