// The lookup structures of the scanner: a page checksum and an open-addressing hash table
// keyed by (content identity, salt), both on typed arrays — no object per page or entry.
// Linux KSM keeps red-black trees ordered by memcmp of the pages; a hash table keyed by the
// content gives the same answer ("is there a page with these bytes?") in O(1).

/**
 * The page checksum (KSM: xxhash of the 4096 bytes). Pages are content identities here, so
 * the checksum hashes the identity (its two 32-bit halves, murmur3's finalizer): equal bytes
 * give equal checksums, and a changed page (a new identity) almost surely a new one.
 */
export function checksum(identity: number): number {
  const lo = identity >>> 0;
  const hi = ((identity - lo) / 4294967296) | 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const EMPTY = -1;

/**
 * Map (identity, salt) → (value, value2) with linear probing and backward-shift deletion.
 * `salt` keeps VMs apart when sharing is per VM (ESXi's salting); it is 0 across VMs.
 */
export class KeyTable {
  keys: Float64Array;
  salts: Int32Array;
  vals: Int32Array;
  vals2: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.keys = new Float64Array(cap);
    this.salts = new Int32Array(cap);
    this.vals = new Int32Array(cap).fill(EMPTY);
    this.vals2 = new Int32Array(cap);
    this.mask = cap - 1;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  private home(sum: number, salt: number): number {
    return ((sum ^ Math.imul(salt, 0x9e3779b1)) >>> 0) & this.mask;
  }

  /** The slot holding (key, salt), or -1. `sum` is checksum(key). */
  find(key: number, salt: number, sum: number): number {
    const vals = this.vals;
    const keys = this.keys;
    const salts = this.salts;
    const mask = this.mask;
    for (let i = this.home(sum, salt); ; i = (i + 1) & mask) {
      if (vals[i] === EMPTY) return -1;
      if (keys[i] === key && salts[i] === salt) return i;
    }
  }

  /** Adds (key, salt) → (val, val2); the key must not be present. Returns the slot. */
  insert(key: number, salt: number, sum: number, val: number, val2 = 0): number {
    if ((this.size + 1) * 2 > this.capacity) this.grow();
    const mask = this.mask;
    let i = this.home(sum, salt);
    while (this.vals[i] !== EMPTY) i = (i + 1) & mask;
    this.keys[i] = key;
    this.salts[i] = salt;
    this.vals[i] = val;
    this.vals2[i] = val2;
    this.size++;
    return i;
  }

  /** Empties slot i, shifting back the entries that probed past it. */
  removeAt(i: number): void {
    const vals = this.vals;
    const mask = this.mask;
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (vals[j] === EMPTY) break;
      const h = this.home(checksum(this.keys[j]!), this.salts[j]!);
      // Entry j may move into the hole when its home is not cyclically in (hole, j].
      const between = hole <= j ? h > hole && h <= j : h > hole || h <= j;
      if (between) continue;
      this.keys[hole] = this.keys[j]!;
      this.salts[hole] = this.salts[j]!;
      vals[hole] = vals[j]!;
      this.vals2[hole] = this.vals2[j]!;
      hole = j;
    }
    vals[hole] = EMPTY;
    this.size--;
  }

  clear(): void {
    if (this.size === 0) return;
    this.vals.fill(EMPTY);
    this.size = 0;
  }

  private grow(): void {
    const { keys, salts, vals, vals2 } = this;
    const cap = this.capacity * 2;
    this.keys = new Float64Array(cap);
    this.salts = new Int32Array(cap);
    this.vals = new Int32Array(cap).fill(EMPTY);
    this.vals2 = new Int32Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < vals.length; i++) if (vals[i] !== EMPTY) this.insert(keys[i]!, salts[i]!, checksum(keys[i]!), vals[i]!, vals2[i]!);
  }
}
