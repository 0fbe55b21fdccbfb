// vCPU restore threads (steps 510-522, 710-722): a vCPU touching a page not yet restored
// faults. If its memory block is already being processed (its IO block being read, or the
// block being loaded), the vCPU waits for it (step 521). Otherwise the memory-IO map gives the
// IO block (step 514); if no buffer holds it, a buffer is taken from the pool and the IO block
// read into it (step 518); then the block is loaded (step 520) and every vCPU waiting on it wakes.
import { WAIT } from "../../../core/api.js";
import { BUSY, LOADED, type Restore } from "./restore.js";

export class DemandFaults {
  constructor(private readonly r: Restore) {}

  fault(page: number, vcpu: number): number {
    const r = this.r;
    if (r.state !== "active") return 0;
    const b = Math.floor(page / r.header!.pagesPerBlock);
    const st = r.mbState[b]!;
    if (st === LOADED) return 0;
    r.c.faults++;
    let w = r.waiters.get(b);
    if (!w) r.waiters.set(b, (w = []));
    w.push(vcpu, r.k.scheduler.now);
    if (st === BUSY) {
      // Step 512/521: its block is already being processed: wait for it.
      r.c.faultWaits++;
      return WAIT;
    }
    r.mbState[b] = BUSY;
    const io = r.ioOf(b);
    const ios = r.ioState[io]!;
    if (ios === 2) {
      // Step 516: the IO block is in a buffer already: load the block from it.
      r.c.vcpuBlocks++;
      r.loader.load(r.pool.holding(io), b, null, () => {});
    } else if (ios === 1) {
      r.pool.want(io, b);
    } else {
      // Step 518: a buffer from the pool, the IO block read into it.
      r.c.ioReadsDemand++;
      r.pool.fetch(io, null, [b]);
    }
    return WAIT;
  }
}
