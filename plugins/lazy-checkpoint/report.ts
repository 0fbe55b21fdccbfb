// The report's `checkpoint.<vm>` section: the last save and the last restore of each VM (times
// in ns, sizes in bytes). See README.md for every field.
import { PAGE_SIZE } from "../../core/api.js";
import { ZERO_BLOCK } from "./format.js";
import type { Restore } from "./restore/restore.js";
import type { Save } from "./save/save.js";

/** How many entries of the maps the report shows (`vmscn checkpoint inspect` lists them all). */
export const MAP_SAMPLE = 16;

export function checkpointReport(s: Save, now: number): Record<string, unknown> {
  const end = s.completedAt ?? now;
  const c = s.c;
  const sampleMem = Object.create(null) as Record<string, string | number>;
  for (let b = 0; b < Math.min(MAP_SAMPLE, s.blocks); b++) {
    const off = s.memIo[b]!;
    sampleMem[`mb${b}`] = off === ZERO_BLOCK ? "zero" : off === 0 ? "unsaved" : off;
  }
  const sampleIo = Object.create(null) as Record<string, string>;
  const ios = s.firstPart.length + s.secondPart.length;
  for (let i = 0; i < Math.min(MAP_SAMPLE, ios); i++) {
    const ids: number[] = [];
    for (let j = 0; j < s.o.blocksPerIo; j++) {
      const mb = s.ioMem[i * s.o.blocksPerIo + j]!;
      if (mb !== 0xffffffff) ids.push(mb);
    }
    sampleIo[`io${i}`] = ids.join(",");
  }
  const pagesBytes = s.pages * PAGE_SIZE;
  return {
    status: s.state,
    ...(s.failure ? { failure: s.failure, "failure-code": s.failureCode } : {}),
    file: s.file.key,
    path: s.file.store.path,
    mode: s.o.mode,
    trace: s.o.mode === "lazy" ? s.o.trace : null,
    "start-time": s.startedAt,
    "checkpoint-time": s.quiescedAt ?? null,
    // The time the VM was stopped: quiesce and traces (lazy), or the whole save (suspend).
    downtime: s.quiescedAt !== undefined && s.resumedAt !== undefined ? s.resumedAt - s.quiescedAt : null,
    "quiesce-time": c.quiesceNs,
    "total-time": end - s.startedAt,
    "file-size": s.fileLength,
    "memory-blocks": s.blocks,
    "io-blocks": s.firstPart.length + s.secondPart.length,
    "io-blocks-first-part": s.firstPart.length,
    "io-blocks-second-part": s.secondPart.length,
    "io-block-size": s.g.ioBlockSize,
    "blocks-vcpu": c.vcpuBlocks,
    "blocks-background": c.backgroundBlocks,
    "blocks-zero": c.zeroBlocks,
    "pages-zero": c.zeroPages,
    "pages-untouched": c.untouchedPages,
    "pages-content": c.contentPages,
    "trace-faults": c.traceFaults,
    "vcpu-stall-time": c.vcpuStallNs,
    "background-start": s.backgroundAt === undefined ? null : s.backgroundAt - s.startedAt,
    "accessed-pages": c.sampledPages,
    "bytes-written": c.bytesWritten,
    "throttle-waits": s.throttle.waits,
    "throttle-time": s.throttle.waitNs,
    "memory-io-map": sampleMem,
    "io-memory-map": sampleIo,
    compression: s.o.compression !== "none" ? { codec: s.o.compression, ratio: s.fileLength > 0 ? pagesBytes / s.fileLength : null, "bytes-saved": s.fileLength > 0 ? pagesBytes - s.fileLength : null } : null,
  };
}

export function restoreReport(r: Restore, now: number): Record<string, unknown> {
  const c = r.c;
  const h = r.header;
  return {
    status: r.state,
    ...(r.failure ? { failure: r.failure, "failure-code": r.failureCode } : {}),
    file: r.file.key,
    path: r.file.store.path,
    "start-time": r.startedAt,
    "time-to-resume": r.resumedAt === undefined ? null : r.resumedAt - r.startedAt,
    "total-time": r.completedAt === undefined || r.state === "failed" ? null : r.completedAt - r.startedAt,
    "elapsed": (r.completedAt ?? now) - r.startedAt,
    faults: c.faults,
    "fault-waits": c.faultWaits,
    "wait-time": c.waitNs,
    "io-blocks": h?.ioBlocks ?? null,
    "io-reads": c.ioReads,
    "io-reads-demand": c.ioReadsDemand,
    "io-reads-background": c.ioReadsBackground,
    "blocks-vcpu": c.vcpuBlocks,
    "blocks-background": c.backgroundBlocks,
    "blocks-zero": c.zeroBlocks,
    "buffer-waits": c.bufferWaits,
    "buffer-evictions": c.evictions,
    "bytes-read": c.bytesRead,
    "first-part-loaded": r.firstPartDoneAt === undefined ? null : r.firstPartDoneAt - r.startedAt,
    "second-part-first-load": r.secondPartStartAt === undefined ? null : r.secondPartStartAt - r.startedAt,
    "background-second-part-start": r.backgroundSecondAt === undefined ? null : r.backgroundSecondAt - r.startedAt,
    "throttle-waits": r.throttle.waits,
    "throttle-time": r.throttle.waitNs,
    "verified-pages": c.verifiedPages,
    compressed: h?.compressed ?? null,
    "decompress-time": c.decompressNs,
  };
}
