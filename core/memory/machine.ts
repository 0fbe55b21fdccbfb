// A host's machine memory: frames with a content identity and a reference count, 12 bytes a
// frame (16 once owners are tracked). The arrays are sized for the host's capacity up front: the OS commits their pages
// only when touched, so an idle 64 GiB host costs next to nothing. Freed frames form a list
// threaded through their content slots (a free frame has no content), reused last-freed first.
import { PAGE_SIZE } from "../config.js";

export class MachineMemory {
  readonly capacity: number;
  /** Content identity of each frame (53-bit integer; 0 is the zero page); a free frame's holds the next free one. */
  readonly content: Float64Array;
  /** Page-map references to each frame (local and remote); 0 means free. */
  readonly refs: Uint32Array;
  /**
   * World id of the world each frame was allocated for, kept only once someone asks
   * (`Memory.trackOwners`, the fork plugin's `new-frames`): 4 bytes a frame otherwise spared.
   * Frames allocated before hold 0.
   */
  owner: Int32Array | null = null;
  /** The last freed frame, head of the free list (-1: none). */
  private freeHead = -1;
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
  }

  get free(): number {
    return this.capacity - this.used;
  }

  /** A new frame with one reference, or -1 when the host is full. */
  alloc(content: number, owner = 0): number {
    let f = this.freeHead;
    if (f >= 0) this.freeHead = this.content[f]!;
    else if (this.highWater < this.capacity) f = this.highWater++;
    else return -1;
    this.content[f] = content;
    this.refs[f] = 1;
    if (this.owner !== null) this.owner[f] = owner;
    if (++this.used > this.peak) this.peak = this.used;
    return f;
  }

  /** Drops one reference; the frame returns to the free list at zero. */
  release(f: number): void {
    if (--this.refs[f]! === 0) {
      this.content[f] = this.freeHead;
      this.freeHead = f;
      this.used--;
    }
  }

  /** Starts recording each new frame's owner. */
  trackOwners(): Int32Array {
    this.owner ??= new Int32Array(this.capacity);
    return this.owner;
  }

  /** Frames ever handed out (for invariant checks: all others are untouched). */
  get touched(): number {
    return this.highWater;
  }

  /** Which frames are on the free list (O(free list); invariant checks only). */
  freeSet(): Uint8Array {
    const s = new Uint8Array(this.highWater);
    for (let f = this.freeHead, n = 0; f >= 0 && n <= this.highWater; f = this.content[f]!, n++) s[f] = 1;
    return s;
  }
}
