// Disk step 5 after the resume (README, "Disk"): the VM uses the destination's files; blocks
// never sent or dirty since are absent there. A guest IO touching one waits while the block is
// fetched — the request crosses to the source (one way), the block is read there, sent back and
// written here — and IOs waiting on one block share its fetch; with `background` the background
// thread also pulls the absent blocks, in order, one at a time. The last one ends the copy.
import type { DiskMigration, Disk } from "./disk.js";
import { DISK_BLOCK_BYTES } from "./wire.js";

export class DiskPostCopy {
  /** Fetches under way (demand and background). */
  private fetches = 0;

  constructor(private readonly dm: DiskMigration) {}

  /** Steps 10, 11 for the disks: the VM now uses the copies; the blocks left are marked absent. */
  resume(background: boolean): void {
    const dm = this.dm;
    const info = dm.k.vmInfo(dm.world);
    for (const d of dm.disks) {
      const at = info ? info.disks.indexOf(d.source) : -1;
      if (info && at >= 0) info.disks[at] = d.target!;
    }
    const left: Int32Array[] = dm.disks.map((d) => {
      const out: number[] = [];
      for (let b = 0; b < d.blocks; b++) if (d.sent[b] === 0 || d.log?.isDirty(b) === true) out.push(b);
      return Int32Array.from(out);
    });
    dm.closeLogs();
    let any = false;
    dm.disks.forEach((d, i) => {
      if (left[i]!.length === 0) return;
      any = true;
      d.fetching = new Uint8Array(d.blocks);
      d.absent = d.target!.markAbsent(DISK_BLOCK_BYTES, left[i]!, (b) => this.demand(d, b));
    });
    if (!any) return dm.finish();
    dm.phase = "postcopy";
    if (background) dm.disks.forEach((d) => this.pumpBackground(d));
  }

  /** The kernel's fetch hook: a guest IO needs absent block `b`; one fetch per block serves every IO waiting for it. */
  private demand(d: Disk, b: number): void {
    const dm = this.dm;
    if (d.fetching![b] === 1 || dm.phase !== "postcopy") return;
    dm.c.requests++;
    // The request crosses to the source (one way), then the block comes back.
    const oneWay = dm.k.network.route(dm.dest.name, dm.src.name).latency;
    this.fetch(d, b, oneWay, () => {});
  }

  /** The background thread: pulls the disk's absent blocks in order, one at a time. */
  private pumpBackground(d: Disk): void {
    if (this.dm.phase !== "postcopy" || !d.absent) return;
    let b = d.bg;
    while (b < d.blocks && (!d.absent.isAbsent(b) || d.fetching![b] === 1)) b++;
    d.bg = b + 1;
    if (b >= d.blocks) return;
    this.dm.c.backgroundBlocks++;
    this.fetch(d, b, 0, () => this.pumpBackground(d));
  }

  /** Brings block `b` from the source: `delay` ns for the request, a read there, the transfer, the fill here. */
  private fetch(d: Disk, b: number, delay: number, then: () => void): void {
    const dm = this.dm;
    d.fetching![b] = 1;
    this.fetches++;
    const off = b * DISK_BLOCK_BYTES;
    dm.k.after(delay, () => {
      dm.io(() =>
        d.source.read(dm.src.name, off, dm.blockLength(d, b), () => {
          const bytes = dm.contents(d, b);
          const wire = dm.count(bytes === null, dm.blockLength(d, b), "postcopy");
          dm.port.send(wire, "destination", `migrate ${dm.world.name} disk ${d.source.name} block ${b}`, () => {
            dm.io(() =>
              d.absent!.fill(dm.dest.name, b, bytes, () => {
                d.fetching![b] = 0;
                this.fetches--;
                if (dm.pending === 0 && this.fetches === 0) dm.finish();
                else then();
              }, (err) => dm.later(err)),
            );
          });
        }, (err) => dm.later(err), { data: false }),
      );
    }, "disk fetch");
  }
}
