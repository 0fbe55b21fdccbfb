// The compression plugin: codecs (zlib with its level, Snappy) behind one interface, offered to
// other plugins as a service (k.use("compression")): per-memory-block encoding with zero and
// untouched pages encoded up front (the lazy checkpoint's compressed files), page compression
// and XBZRLE delta encoding for migration. Its report section adds up what every user did.
import { definePlugin, type PluginContext, type World } from "../../core/api.js";
import { CODEC_NAMES, levelRange, makeCodec, type Codec } from "./codecs.js";
import type { CompressionService, SessionStats, XbzrleCache, XbzrleOptions } from "./api.js";
import { Session, Xbzrle } from "./service.js";

export const COMPRESSION_CODES = {
  VMSCN7401: "unknown compression codec",
  VMSCN7402: "invalid compression level for the codec",
  VMSCN7403: "invalid XBZRLE option (cache size, bytes a write changes)",
} as const;

export default definePlugin({
  name: "compression",
  version: "1.0.0",
  kernel: "^1",
  description: "codecs (zlib, snappy) for checkpoint files and migration: per-block compression with zero and untouched pages encoded up front, page compression, XBZRLE",
  codes: COMPRESSION_CODES,
  register(k) {
    const sessions = new Map<string, Session>();
    const caches = new Map<string, Xbzrle>();
    k.provide("compression", createService(k, sessions, caches));
    k.metric("compression", () => compressionReport(sessions, caches));
    k.table(() => ({
      title: "compression",
      columns: [{ name: "user" }, { name: "codec" }, { name: "pages" }, { name: "in", unit: "B" }, { name: "out", unit: "B" }, { name: "ratio" }, { name: "cpu time", unit: "ns" }],
      rows: [...sessions.values()].filter((s) => s.stats.pages > 0 || s.stats.decoded > 0).map((s) => {
        const st = s.stats;
        return [s.name, codecLabel(st), st.pages, st.bytesIn, st.bytesOut, ratio(st) === null ? null : Number(ratio(st)!.toFixed(3)), st.compressNs + st.decompressNs];
      }),
    }));
  },
});

function codecLabel(s: SessionStats): string {
  return s.level === null ? s.codec : `${s.codec} ${s.level}`;
}

/** Bytes of the pages (zero pages included) over the bytes stored for them; null when nothing was stored. */
function ratio(s: SessionStats): number | null {
  return s.bytesOut > 0 ? (s.pages * 4096) / s.bytesOut : null;
}

function createService(k: PluginContext, sessions: Map<string, Session>, caches: Map<string, Xbzrle>): CompressionService {
  return {
    codecNames: CODEC_NAMES,
    codec(name: string, level?: number): Codec {
      if (!(CODEC_NAMES as readonly string[]).includes(name)) throw k.error("VMSCN7401", `there is no compression codec "${name}"; the codecs are ${CODEC_NAMES.join(", ")}`);
      const [lo, hi] = levelRange(name as (typeof CODEC_NAMES)[number]);
      if (level !== undefined && !(Number.isInteger(level) && level >= lo && level <= hi)) {
        throw k.error("VMSCN7402", lo === hi ? `codec "${name}" has no levels (got ${level})` : `codec "${name}" takes a level from ${lo} to ${hi}, not ${level}`);
      }
      return makeCodec(name as (typeof CODEC_NAMES)[number], level);
    },
    session(name: string, codec: Codec) {
      // A name used again (a second save to the same file) starts afresh.
      const s = new Session(name, codec);
      sessions.set(name, s);
      return s;
    },
    xbzrle(name: string, options: XbzrleOptions): XbzrleCache {
      if (!(Number.isSafeInteger(options.cacheBytes) && options.cacheBytes >= 4096)) throw k.error("VMSCN7403", `an XBZRLE cache needs at least one page (4096 bytes), not ${options.cacheBytes}`);
      if (options.changedBytes !== undefined && !(options.changedBytes >= 1 && options.changedBytes <= 4096)) throw k.error("VMSCN7403", `the bytes a write changes must be 1..4096, not ${options.changedBytes}`);
      // Without the guest's size every slot is allocated: no more than the largest guest's pages.
      if (options.guestPages === undefined && options.cacheBytes > 2 ** 43) throw k.error("VMSCN7403", `an XBZRLE cache of ${options.cacheBytes} bytes for no guest in particular is larger than the largest guest (8 TiB); give its guest's pages`);
      const c = new Xbzrle(name, options);
      caches.set(name, c);
      return c;
    },
    timeOn(world: World, cpuNs: number): number {
      const f = k.cluster.cpuFactor(world);
      // A world that is not running gets its CPU when it runs: count the CPU time as it is.
      return Math.round(f > 0 ? cpuNs / f : cpuNs);
    },
  };
}

export function compressionReport(sessions: Map<string, Session>, caches: Map<string, Xbzrle>): Record<string, unknown> {
  // Keyed by VM names: no prototype, so a VM called `__proto__` is an entry like another.
  const out = Object.create(null) as Record<string, Record<string, unknown>>;
  for (const [name, s] of sessions) {
    const st = s.stats;
    if (st.pages === 0 && st.decoded === 0) continue;
    out[name] = {
      codec: st.codec,
      level: st.level,
      blocks: st.encoded,
      decoded: st.decoded,
      pages: st.pages,
      "zero-pages": st.zeroPages,
      "untouched-pages": st.untouchedPages,
      "bytes-in": st.bytesIn,
      "bytes-out": st.bytesOut,
      ratio: ratio(st),
      "bytes-saved": st.pages * 4096 - st.bytesOut,
      stored: st.stored,
      "cpu-time": st.compressNs + st.decompressNs,
      "compress-time": st.compressNs,
      "decompress-time": st.decompressNs,
    };
  }
  for (const [name, c] of caches) {
    if (c.stats["cache-hit"] + c.stats["cache-miss"] === 0) continue;
    out[name] = { ...(out[name] ?? {}), xbzrle: { ...c.stats } };
  }
  return out;
}
