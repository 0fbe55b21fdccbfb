// The readable summary printed after a run: one table per kind of thing, with units.
import type { Report } from "../core/report/json.js";
import { formatTime } from "../core/sim/time.js";
import { formatBytesRounded } from "../core/text/bytes.js";
import type { SummaryTable } from "../core/report/chart.js";

/** `v` in the largest of `units` (each `step` times the one before) that keeps it ≥ 1. */
function scaled(v: number, units: readonly string[], step: number): string {
  let i = 0;
  while (Math.abs(v) >= step && i < units.length - 1) {
    v /= step;
    i++;
  }
  return `${Number(v.toFixed(2))} ${units[i]}`;
}

/** Bytes rounded to two decimals in binary units: `1.5 GiB` (one argument, safe as a callback). */
export function formatBytes(b: number): string {
  return formatBytesRounded(b);
}

/** Disks are quoted in bytes per second (1 GB/s), links in bits (see formatRate). */
export function formatByteRate(bytesPerSecond: number): string {
  return scaled(bytesPerSecond, ["B/s", "KB/s", "MB/s", "GB/s", "TB/s"], 1000);
}

/** A duration in the largest unit that keeps it ≥ 1: 50 us, 1.5 ms, 2 s. */
export function formatDuration(ns: number): string {
  if (ns === 0) return "0 s";
  const units: [string, number][] = [["s", 1e9], ["ms", 1e6], ["us", 1e3], ["ns", 1]];
  for (const [u, f] of units) if (Math.abs(ns) >= f) return `${Number((ns / f).toFixed(3))} ${u}`;
  return `${ns} ns`;
}

/** Bytes/s as bit/s, the way links are sold. */
export function formatRate(bytesPerSecond: number): string {
  return scaled(bytesPerSecond * 8, ["bit/s", "Kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"], 1000);
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

interface HostSection {
  up: boolean;
  cpus: number;
  memory: { capacity: number; used: number; peak: number };
  worlds: string[];
}
interface VmSection {
  host: string;
  state: string;
  memory: number;
  pages: { present: number };
  accesses: { reads: number; writes: number; faults: number; cowBreaks: number };
  workload: { stallNs: number } | null;
}

/** A value in its column's unit, readable: ns → 12.5 ms, B → 4 GiB, B/s → 1 Gbit/s. */
function cell(v: string | number | null, unit: string | undefined): string {
  if (v === null) return "-";
  if (typeof v === "string") return v;
  if (unit === "ns") return formatDuration(v);
  if (unit === "B") return formatBytes(v);
  if (unit === "B/s") return formatRate(v);
  const n = Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  return unit ? `${n} ${unit}` : n;
}

export function summarize(report: Report, tables: readonly SummaryTable[] = []): string {
  const out: string[] = [];
  out.push(`scenario ${report.scenario} · seed ${report.seed} · simulated ${formatTime(report.simulatedTimeNs)}`);
  const hosts = report["hosts"] as Record<string, HostSection>;
  out.push("", "hosts");
  out.push(table(["host", "up", "cpus", "memory", "used", "peak", "worlds"], Object.entries(hosts).map(([n, h]) => [n, h.up ? "yes" : "no", h.cpus, formatBytes(h.memory.capacity), formatBytes(h.memory.used), formatBytes(h.memory.peak), h.worlds.join(" ")])));
  const vms = report["vms"] as Record<string, VmSection>;
  out.push("", "vms");
  out.push(table(["vm", "host", "state", "memory", "resident", "reads", "writes", "faults", "cow breaks", "stalled"], Object.entries(vms).map(([n, v]) => [n, v.host, v.state, formatBytes(v.memory), formatBytes(v.pages.present * 4096), v.accesses.reads, v.accesses.writes, v.accesses.faults, v.accesses.cowBreaks, formatDuration(v.workload?.stallNs ?? 0)])));
  const links = report["links"] as Record<string, { a: string; b: string; bandwidth: number; latency: number; up: boolean; bytesAB: number; bytesBA: number }>;
  if (Object.keys(links).length > 0) {
    out.push("", "links");
    out.push(table(["link", "up", "bandwidth", "latency", "a→b", "b→a"], Object.entries(links).map(([n, l]) => [n, l.up ? "yes" : "no", formatRate(l.bandwidth), formatDuration(l.latency), formatBytes(l.bytesAB), formatBytes(l.bytesBA)])));
  }
  for (const tb of tables) {
    if (tb.rows.length === 0) continue;
    out.push("", tb.title);
    out.push(table(tb.columns.map((c) => c.name), tb.rows.map((r) => r.map((v, i) => cell(v, tb.columns[i]?.unit)))));
  }
  const actions = report["actions"] as { time: number; verb: string; args: Record<string, unknown>; state: string; failure?: string }[];
  if (actions.length > 0) {
    out.push("", "actions");
    out.push(table(["time", "action", "state"], actions.map((a) => [formatTime(a.time), `${a.verb} ${Object.values(a.args).join(" ")}`, a.failure ? `${a.state}: ${a.failure}` : a.state])));
  }
  return out.join("\n");
}
