// A guest's page map: guest page number → frame, with per-page state and trap bits.
// Typed arrays only: a 64 GiB guest has 16.7 million pages.
import { DirtyLog } from "./dirty-log.js";
import { PageState, STATE_MASK, Trap } from "./page.js";

export class GuestMemory {
  /** Frame index on `hostId` (or on `remoteHost[p]` for remote pages); -1 for none. */
  readonly frame: Int32Array;
  /** State (low 3 bits) and trap bits of each page: see page.ts. */
  readonly meta: Uint8Array;
  /** Host id of each remote page's frame; allocated on first remote mapping. */
  remoteHost: Uint16Array | null = null;
  readonly logs: DirtyLog[] = [];
  /** Counters of the access path. */
  reads = 0;
  writes = 0;
  faults = 0;
  cowBreaks = 0;

  constructor(
    /** World id of the guest's world. */
    readonly worldId: number,
    readonly name: string,
    readonly pages: number,
    /** Host whose frames back present pages. */
    public hostId: number,
  ) {
    this.frame = new Int32Array(pages);
    // -1 in every entry, as one byte fill (a memset; Int32Array.fill goes entry by entry).
    new Uint8Array(this.frame.buffer).fill(0xff);
    this.meta = new Uint8Array(pages);
  }

  state(page: number): number {
    return this.meta[page]! & STATE_MASK;
  }

  /** Opens a dirty log: every page is armed so its next write is recorded. */
  openLog(client: string): DirtyLog {
    const log = new DirtyLog(this, client);
    this.logs.push(log);
    const meta = this.meta;
    for (let p = 0; p < meta.length; p++) meta[p] = meta[p]! | Trap.Dirty;
    return log;
  }

  /** @internal */
  closeLog(log: DirtyLog): void {
    const i = this.logs.indexOf(log);
    if (i >= 0) this.logs.splice(i, 1);
    if (this.logs.length === 0) {
      const meta = this.meta;
      const keep = ~Trap.Dirty & 0xff;
      for (let p = 0; p < meta.length; p++) meta[p] = meta[p]! & keep;
    }
  }

  /** Pages in each state, for reports. */
  census(): { unbacked: number; present: number; absentRestore: number; absentFetch: number; remote: number } {
    const c = [0, 0, 0, 0, 0];
    const meta = this.meta;
    for (let p = 0; p < meta.length; p++) c[meta[p]! & STATE_MASK]!++;
    return { unbacked: c[PageState.Unbacked]!, present: c[PageState.Present]!, absentRestore: c[PageState.AbsentRestore]!, absentFetch: c[PageState.AbsentFetch]!, remote: c[PageState.Remote]! };
  }
}
