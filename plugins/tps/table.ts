// The lookup structures of the scanner: a page checksum and an open-addressing hash table
// keyed by (content identity, salt), both on typed arrays — no object per page or entry.
// Linux KSM keeps red-black trees ordered by memcmp of the pages; a hash table keyed by the
// content gives the same answer ("is there a page with these bytes?") in O(1).

/** A scratch double and its bits as two 32-bit words (little-endian: [0] is the low word). */
const BITS = new Float64Array(1);
const WORDS = new Int32Array(BITS.buffer);
/** The halves of the last identity `split` was given. */
let LO = 0;
let HI = 0;

/**
 * Splits an identity (an integer, 0 ≤ identity < 2^53) into its low and high 32 bits, from
 * its IEEE bits with integer operations only: V8 truncates a double beyond 32 bits
 * (`identity >>> 0`) through a slow conversion that costs several times the whole hash.
 */
function split(identity: number): void {
  BITS[0] = identity;
  const w1 = WORDS[1]!;
  const e = (w1 >>> 20) - 1023;
  if (e < 0) {
    LO = 0;
    HI = 0;
    return;
  }
  const m = (w1 & 0xfffff) | 0x100000; // the mantissa's top 21 bits, the hidden bit included
  const shift = 52 - e;
  if (shift >= 32) {
    LO = m >>> (shift - 32);
    HI = 0;
  } else if (shift === 0) {
    LO = WORDS[0]!;
    HI = m;
  } else {
    LO = (WORDS[0]! >>> shift) | (m << (32 - shift));
    HI = m >>> shift;
  }
}

/**
 * The page checksum (KSM: xxhash of the 4096 bytes). Pages are content identities here, so
 * the checksum hashes the identity (its two 32-bit halves, murmur3's finalizer): equal bytes
 * give equal checksums, and a changed page (a new identity) almost surely a new one.
 */
export function checksum(identity: number): number {
  split(identity);
  let h = Math.imul(LO ^ Math.imul(HI, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A free slot: values are stored plus one, so a fresh (zeroed) array is all free. */
const EMPTY = 0;
/** Consecutive identities that share a run of slots: 16 slots, 256 bytes, four cache lines. */
const GROUP_BITS = 4;
const GROUP_MASK = (1 << GROUP_BITS) - 1;

/**
 * Map (identity, salt) → (value, value2) with linear probing and backward-shift deletion.
 * `salt` keeps VMs apart when sharing is per VM (ESXi's salting); it is 0 across VMs. A slot
 * is 16 bytes in one Int32Array — the identity's two words, the salt, the value — so a probe
 * costs one cache line, not one per field; value2 (read only on a hit) lives beside it.
 */
export class KeyTable {
  /** Slot i: [4i] the identity's low word, [4i+1] its high word, [4i+2] salt, [4i+3] value + 1 (0: free). */
  private slots: Int32Array;
  private vals2: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.slots = new Int32Array(cap * 4);
    this.vals2 = new Int32Array(cap);
    this.mask = cap - 1;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /**
   * The first slot to probe. Identities come in runs (an image's pages, a VM's private pages
   * in write order) and a scan walks a guest in page order: four consecutive identities share
   * a cache line (16-byte slots), and the runs' groups of four are spread by a mix of the rest
   * (so probe runs stay short). A lookup then mostly finds its line already loaded.
   */
  /** The home slot of (key, salt) (tests look at probe chains). */
  homeOf(key: number, salt: number): number {
    split(key);
    return this.home(LO, HI, salt);
  }

  private home(lo: number, hi: number, salt: number): number {
    let h = Math.imul((lo >>> GROUP_BITS) ^ Math.imul(hi, 0x9e3779b1) ^ Math.imul(salt, 0x27d4eb2f), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return ((h << GROUP_BITS) | (lo & GROUP_MASK)) & this.mask;
  }

  /** The slot holding (key, salt), or -1. */
  find(key: number, salt: number): number {
    const s = this.slots;
    const mask = this.mask;
    split(key);
    const lo = LO;
    const hi = HI;
    for (let i = this.home(lo, hi, salt); ; i = (i + 1) & mask) {
      const b = i << 2;
      if (s[b + 3] === EMPTY) return -1;
      if (s[b] === lo && s[b + 1] === hi && s[b + 2] === salt) return i;
    }
  }

  val(i: number): number {
    return this.slots[(i << 2) + 3]! - 1;
  }

  val2(i: number): number {
    return this.vals2[i]!;
  }

  key(i: number): number {
    const b = i << 2;
    return this.slots[b + 1]! * 4294967296 + (this.slots[b]! >>> 0);
  }

  /** Replaces the values of slot i (its key stays). */
  set(i: number, val: number, val2 = 0): void {
    this.slots[(i << 2) + 3] = val + 1;
    this.vals2[i] = val2;
  }

  /** Adds (key, salt) → (val, val2); the key must not be present. Returns the slot. */
  insert(key: number, salt: number, val: number, val2 = 0): number {
    if ((this.size + 1) * 2 > this.capacity) this.grow(this.capacity * 2);
    split(key);
    return this.place(LO, HI, salt, val + 1, val2);
  }

  /** Puts an entry given as the identity's two words (and its stored value) into its first free slot (room is there). */
  private place(lo: number, hi: number, salt: number, val: number, val2: number): number {
    const s = this.slots;
    const mask = this.mask;
    let i = this.home(lo, hi, salt);
    while (s[(i << 2) + 3] !== EMPTY) i = (i + 1) & mask;
    const b = i << 2;
    s[b] = lo;
    s[b + 1] = hi;
    s[b + 2] = salt;
    s[b + 3] = val;
    this.vals2[i] = val2;
    this.size++;
    return i;
  }

  /** Empties slot i, shifting back the entries that probed past it. */
  removeAt(i: number): void {
    const s = this.slots;
    const mask = this.mask;
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (s[(j << 2) + 3] === EMPTY) break;
      const h = this.home(s[j << 2]!, s[(j << 2) + 1]!, s[(j << 2) + 2]!);
      // Entry j may move into the hole when its home is not cyclically in (hole, j].
      const between = hole <= j ? h > hole && h <= j : h > hole || h <= j;
      if (between) continue;
      s.copyWithin(hole << 2, j << 2, (j << 2) + 4);
      this.vals2[hole] = this.vals2[j]!;
      hole = j;
    }
    s[(hole << 2) + 3] = EMPTY;
    this.size--;
  }

  /** Makes room for `n` entries without growing on the way (rehashes once if needed). */
  reserve(n: number): void {
    if (n * 2 > this.capacity) this.grow(n * 2);
  }

  clear(): void {
    if (this.size === 0) return;
    this.slots.fill(0);
    this.size = 0;
  }

  private grow(atLeast: number): void {
    const old = this.slots;
    const vals2 = this.vals2;
    const oldCap = this.capacity;
    let cap = oldCap * 2;
    while (cap < atLeast) cap *= 2;
    this.slots = new Int32Array(cap * 4);
    this.vals2 = new Int32Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < oldCap; i++) {
      const b = i << 2;
      if (old[b + 3] === EMPTY) continue;
      this.place(old[b]!, old[b + 1]!, old[b + 2]!, old[b + 3]!, vals2[i]!);
    }
  }
}
