// Opening the file, before the VM changes: the header is read (one IO), then the device state
// and the maps (two IOs at once), and all of it checked (format, version, checksums, the VM's
// size, the host's free memory); a bad file is refused and the VM is as it was. Then every
// page with contents becomes absent until restored (zero blocks become zero pages at once),
// the background threads start (step 502) and the VM resumes (step 503).
import { PAGE_SIZE, PageState, type PluginContext } from "../../../core/api.js";
import type { Codec } from "../../compression/api.js";
import { decodeMaps, type MapIndex, type Maps } from "../blocks.js";
import { FormatError, HEADER_SIZE, ZERO_BLOCK, decodeHeader, geometry, type Header } from "../format.js";
import { SETUP_NS_PER_PAGE, crcOfStore, fileCodec } from "../shared.js";
import { LOADED, type Restore } from "./restore.js";

export class Opening {
  private readonly k: PluginContext;

  constructor(private readonly r: Restore) {
    this.k = r.k;
  }

  start(): void {
    const r = this.r;
    r.readTimed(0, HEADER_SIZE, (bytes) => {
      const h = this.check(() => decodeHeader(bytes, r.file.store.size));
      if (!h) return;
      if (h.guestPages !== r.guest.pages) {
        return r.refuse("VMSCN7304", `checkpoint file "${r.where()}" holds a guest of ${h.guestPages} pages (${(h.guestPages * PAGE_SIZE) / 2 ** 20} MiB; header offset 40) and VM "${r.world.name}" has ${r.guest.pages} pages (${(r.guest.pages * PAGE_SIZE) / 2 ** 20} MiB)`);
      }
      const codec = this.check(() => ({ codec: fileCodec(r.svc, h) }));
      if (!codec) return;
      r.header = h;
      let left = 2;
      let maps: Uint8Array | null = null;
      const both = (): void => {
        if (--left > 0) return;
        // The device state is checked a piece at a time: it may be large, and nothing keeps it.
        let crc: number | null;
        try {
          crc = crcOfStore(r.file.store, h.deviceOffset, h.deviceLength);
        } catch (err) {
          return r.refuse("VMSCN7309", `reading checkpoint file "${r.where()}" at offset ${h.deviceOffset} failed: ${(err as Error).message}`);
        }
        if (crc !== h.deviceCrc) return r.refuse("VMSCN7301", `checkpoint file "${r.where()}" is corrupt at offset ${h.deviceOffset}: its device state does not match its CRC-32`);
        const m = this.check(() => decodeMaps(maps!, h));
        if (m) this.commit(h, m, codec.codec);
      };
      r.readTimed(h.deviceOffset, h.deviceLength, both, false);
      r.readTimed(h.memIoOffset, h.fileLength - h.memIoOffset, (b) => {
        maps = b;
        both();
      });
    });
  }

  private check<T>(f: () => T): T | undefined {
    try {
      return f();
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      this.r.refuse(err.code, `checkpoint file "${this.r.where()}" is refused at offset ${err.offset}: ${err.message}`);
      return undefined;
    }
  }

  /** Everything checked: the pages become absent, the threads start, the VM resumes (steps 501-503). */
  private commit(h: Header, m: Maps & MapIndex, codec: Codec | null): void {
    const { k, r } = this;
    const g = r.guest;
    if (r.world.memory !== g || (r.world.state !== "created" && r.world.state !== "suspended")) {
      return r.refuse("VMSCN5004", `VM "${r.world.name}" is ${r.world.state} now; a restore needs it created or suspended`);
    }
    const machine = k.memory.machine(g.hostId);
    let held = 0;
    for (let p = 0; p < g.pages; p++) if ((g.meta[p]! & 7) === PageState.Present) held++;
    if (machine.free + held < h.contentPages) {
      return r.refuse("VMSCN5002", `host "${r.world.host.name}" cannot hold the restored memory of "${r.world.name}": the checkpoint has ${h.contentPages} pages with contents, and ${machine.free + held} frames are free for it`);
    }
    r.maps = m;
    r.g = geometry(h.pagesPerBlock, h.blocksPerIo);
    if (codec) r.session = r.svc.session(`restore:${r.world.name}`, codec);
    const P = h.pagesPerBlock;
    r.mbState = new Uint8Array(h.memoryBlocks);
    r.ioState = new Uint8Array(h.ioBlocks);
    r.pool.open(h.ioBlocks);
    r.partOf = m.partOf;
    r.expected = new Float64Array(g.pages);
    for (let b = 0; b < h.memoryBlocks; b++) {
      const zero = m.memIo[b] === ZERO_BLOCK;
      const to = Math.min(g.pages, (b + 1) * P);
      for (let p = b * P; p < to; p++) k.memory.setAbsent(g, p, zero ? PageState.Unbacked : PageState.AbsentRestore);
      if (zero) {
        r.mbState[b] = LOADED;
        r.c.zeroBlocks++;
      } else {
        r.toLoad++;
        if (r.partOf[r.ioOf(b)] === 1) r.firstPartLeft++;
      }
    }
    if (r.verify) r.log = g.openLog("lazy-checkpoint restore");
    r.pool.fill(r.o.buffers ?? r.world.vcpus + r.o.backgroundThreads);
    r.to("active");
    r.after(g.pages * SETUP_NS_PER_PAGE, () => {
      // Step 502: the background threads start; step 503: the VM resumes.
      r.prefetch.launch();
      k.cluster.setState(r.world, "running");
      r.resumedAt = k.scheduler.now;
      k.trace.span("checkpoint time to resume", "checkpoint", { host: r.host, world: r.world.name }, r.startedAt, r.resumedAt, { file: r.file.key });
      r.prefetch.run();
      r.checkDone();
    }, "checkpoint restore setup");
  }
}
