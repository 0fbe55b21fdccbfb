// The report section of one migration, in QEMU `query-migrate` terms with QEMU's units —
// total-time, setup-time, downtime and expected-downtime in integer milliseconds, as
// populate_time_info() gives them (the exact values under the same names with -ns); sizes in
// bytes — plus what the document asks for: rounds, network page faults, and how long the VM
// depended on the source (vmscn's own names, times in ns).
import { PAGE_SIZE } from "../../core/api.js";
import { RATE_BUCKET_NS } from "./connection.js";
import type { Migration } from "./migration.js";

/**
 * The migration's bytes on the wire (pages, device state, disk blocks) per 10 ms, as B/s:
 * x is each bucket's start (ns), every bucket from the first to the last one with traffic.
 */
export function rateSeries(m: Migration): { x: number[]; y: number[] } {
  const keys = [...m.net.rateBuckets.keys()];
  if (keys.length === 0) return { x: [], y: [] };
  const first = Math.min(...keys);
  const last = Math.max(...keys);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = first; i <= last; i++) {
    x.push(i * RATE_BUCKET_NS);
    y.push(((m.net.rateBuckets.get(i) ?? 0) * 1e9) / RATE_BUCKET_NS);
  }
  return { x, y };
}

/** The report's fields in QEMU's milliseconds (the rest are in base units: ns, B). */
export const REPORT_UNITS = { "*.total-time": "ms", "*.setup-time": "ms", "*.downtime": "ms", "*.expected-downtime": "ms" } as const;

/** QEMU's integer milliseconds of a time in ns (null stays null). */
function ms(ns: number | null): number | null {
  return ns === null ? null : Math.round(ns / 1e6);
}

export function migrationReport(m: Migration, now: number): Record<string, unknown> {
  const end = m.completedAt ?? now;
  const total = end - m.startedAt;
  const c = m.c;
  const pagesSent = c.duplicate + c.normal + c.compressed + c.xbzrle;
  const last = m.rounds[m.rounds.length - 1];
  const setup = m.setupEndAt === undefined || m.threadStartAt === undefined ? null : m.setupEndAt - m.threadStartAt;
  const downtime = m.suspendAt !== undefined && m.resumeAt !== undefined ? m.resumeAt - m.suspendAt : null;
  // QEMU shows expected-downtime only while the migration runs (populate_time_info).
  const expected = !m.done && Number.isFinite(m.expectedDowntimeNs) ? m.expectedDowntimeNs : null;
  const live = m.precopy.figures();
  // At completion QEMU's mbps is every byte of the channel over the time after setup (migration_calculate_complete).
  const transferNs = total - (setup ?? 0);
  const mbps = m.state === "completed" || live === null ? (transferNs > 0 ? (m.net.bytesOnWire() * 8 * 1e3) / transferNs : 0) : live.mbps;
  const rounds = Object.create(null) as Record<string, unknown>;
  for (const r of m.rounds) rounds[`r${r.round}`] = { pages: r.pages, dirtied: r.dirtied, bytes: r.bytes, start: r.startNs, duration: r.durationNs, ...(m.o.autoConverge ? { throttle: r.throttle } : {}) };
  return {
    status: m.status,
    ...(m.failure ? { failure: m.failure } : {}),
    mode: m.o.mode,
    converge: m.o.converge,
    "switch-reason": m.switchReason ?? null,
    source: m.src.name,
    destination: m.dest.name,
    "start-time": m.startedAt,
    "total-time": ms(total),
    "total-time-ns": total,
    "setup-time": ms(setup),
    "setup-time-ns": setup,
    // Step 3A (only with retry-interval, so other reports are unchanged): the destination VM's tries that found no state.
    ...(m.o.retryIntervalNs > 0 ? { "destination-retries": m.retries } : {}),
    downtime: ms(downtime),
    "downtime-ns": downtime,
    "expected-downtime": ms(expected),
    "expected-downtime-ns": expected,
    ram: {
      transferred: c.transferred,
      remaining: m.remainingPages() * PAGE_SIZE,
      total: m.srcGuest.pages * PAGE_SIZE,
      duplicate: c.duplicate,
      normal: c.normal,
      "normal-bytes": c.normal * PAGE_SIZE,
      "dirty-sync-count": c.dirtySyncCount,
      "dirty-pages-rate": live !== null ? live.dirtyPagesRate : last && last.durationNs > 0 ? Math.round((last.dirtied * 1e9) / last.durationNs) : 0,
      mbps,
      "pages-per-second": live !== null ? Math.round(live.pagesPerSecond) : total > 0 ? Math.round((pagesSent * 1e9) / total) : 0,
      "postcopy-requests": c.postcopyRequests,
      "precopy-bytes": c.precopyBytes,
      "downtime-bytes": c.downtimeBytes,
      "postcopy-bytes": c.postcopyBytes,
      // QEMU's target page size (populate_ram_info: ram.page-size), in bytes.
      "page-size": PAGE_SIZE,
    },
    // QEMU's `compression` and `xbzrle-cache` sections (only when on, so other reports are unchanged).
    ...(m.coder?.coder.figures ? { compression: { ...m.coder.coder.figures } } : {}),
    ...(m.coder?.coder.cache ? { "xbzrle-cache": { ...m.coder.coder.cache.stats } } : {}),
    "device-state-bytes": c.deviceBytes,
    "round-count": m.rounds.length,
    // Auto-converge (only when on, so other reports are unchanged): QEMU's cpu-throttle-percentage
    // as a fraction — the throttle on the VM now (0 once the migration ended) — and the highest it reached.
    ...(m.o.autoConverge ? { "auto-converge": true, "cpu-throttle": m.throttle, "cpu-throttle-percentage": Math.round(m.throttle * 100), "max-throttle": m.maxThrottle } : {}),
    rounds,
    "demand-paging": { faults: c.faults, requests: c.postcopyRequests, "stall-time": c.stallNs, "background-pages": c.backgroundPages, "pages-left": m.remainingPost },
    // How long the running VM needed pages from the source after it resumed on the destination.
    "source-dependency-time": m.resumeAt === undefined ? 0 : end - m.resumeAt,
    "depends-on-source": m.status === "postcopy-active",
    disks: m.disk === null ? "re-mapped (shared storage)" : `copied: ${m.disk.names.join(", ")}`,
    // Disk copy (only when a disk is copied, so other reports are unchanged): see README, "Disk".
    ...(m.disk === null ? {} : { disk: m.disk.report(end) }),
    mac: null as string | null,
  };
}
