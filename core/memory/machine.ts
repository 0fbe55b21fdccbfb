// A host's machine memory: frames with a content identity, a reference count and an owner.
// The arrays are sized for the host's capacity up front: the OS commits their pages only
// when touched, so an idle 64 GiB host costs next to nothing.
import { PAGE_SIZE } from "../config.js";

export class MachineMemory {
  readonly capacity: number;
  /** Content identity of each frame (53-bit integer; 0 is the zero page). */
  readonly content: Float64Array;
  /** Page-map references to each frame (local and remote); 0 means free. */
  readonly refs: Uint32Array;
  /** World id of the world the frame was allocated for. */
  readonly owner: Int32Array;
  private readonly freeStack: Int32Array;
  private freeTop = 0;
  /** Frames below this index have been handed out at least once. */
  private highWater = 0;
  /** Frames in use. */
  used = 0;
  /** Most frames ever in use at once. */
  peak = 0;

  constructor(
    readonly hostId: number,
    readonly hostName: string,
    capacityBytes: number,
  ) {
    this.capacity = Math.floor(capacityBytes / PAGE_SIZE);
    this.content = new Float64Array(this.capacity);
    this.refs = new Uint32Array(this.capacity);
    this.owner = new Int32Array(this.capacity);
    this.freeStack = new Int32Array(this.capacity);
  }

  get free(): number {
    return this.capacity - this.used;
  }

  /** A new frame with one reference, or -1 when the host is full. */
  alloc(content: number, owner: number): number {
    let f: number;
    if (this.freeTop > 0) f = this.freeStack[--this.freeTop]!;
    else if (this.highWater < this.capacity) f = this.highWater++;
    else return -1;
    this.content[f] = content;
    this.refs[f] = 1;
    this.owner[f] = owner;
    if (++this.used > this.peak) this.peak = this.used;
    return f;
  }

  /** Drops one reference; the frame returns to the free list at zero. */
  release(f: number): void {
    if (--this.refs[f]! === 0) {
      this.freeStack[this.freeTop++] = f;
      this.used--;
    }
  }

  /** Frames ever handed out (for invariant checks: all others are untouched). */
  get touched(): number {
    return this.highWater;
  }

  /** Whether frame f is on the free list (O(free list); invariant checks only). */
  freeSet(): Uint8Array {
    const s = new Uint8Array(this.highWater);
    for (let i = 0; i < this.freeTop; i++) s[this.freeStack[i]!] = 1;
    return s;
  }
}
