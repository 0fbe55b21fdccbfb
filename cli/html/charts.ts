// Chart specs for the HTML report: what to draw, independent of how. The kernel's own charts
// (memory per host, bandwidth per link) come from its time series; plugins add their own specs
// (for example "pages left per pre-copy round") in the same shape.
import type { TimeSeries } from "../../core/report/metrics.js";

export type { ChartAxis, ChartPoint, ChartSeries, ChartSpec } from "../../core/report/chart.js";
import type { ChartAxis, ChartSpec } from "../../core/report/chart.js";

/** A unit to show values in: divide by `factor`, label with `name`. */
export interface DisplayUnit {
  readonly name: string;
  readonly factor: number;
}

const TIME_UNITS: DisplayUnit[] = [
  { name: "min", factor: 60e9 },
  { name: "s", factor: 1e9 },
  { name: "ms", factor: 1e6 },
  { name: "us", factor: 1e3 },
  { name: "ns", factor: 1 },
];
const BYTE_UNITS: DisplayUnit[] = [
  { name: "TiB", factor: 1024 ** 4 },
  { name: "GiB", factor: 1024 ** 3 },
  { name: "MiB", factor: 1024 ** 2 },
  { name: "KiB", factor: 1024 },
  { name: "B", factor: 1 },
];
// Links are sold in bits per second, so rates are shown that way (B/s × 8).
const RATE_UNITS: DisplayUnit[] = [
  { name: "Tbit/s", factor: 1e12 / 8 },
  { name: "Gbit/s", factor: 1e9 / 8 },
  { name: "Mbit/s", factor: 1e6 / 8 },
  { name: "Kbit/s", factor: 1e3 / 8 },
  { name: "bit/s", factor: 1 / 8 },
];

/**
 * The unit to show data of `unit` in, given the largest magnitude in it: the largest unit the
 * maximum reaches (minutes only from 10 min on, so short runs read in seconds). Units other
 * than ns, B and B/s are kept as they are.
 */
export function displayUnit(unit: string | undefined, max: number): DisplayUnit {
  const m = Number.isFinite(max) ? Math.abs(max) : 0;
  const pick = (units: DisplayUnit[], fallback: string): DisplayUnit =>
    m === 0 ? units.find((u) => u.name === fallback)! : (units.find((u) => m >= u.factor * (u.name === "min" ? 10 : 1)) ?? units[units.length - 1]!);
  switch (unit) {
    case "ns":
      return pick(TIME_UNITS, "s");
    case "B":
      return pick(BYTE_UNITS, "B");
    case "B/s":
      return pick(RATE_UNITS, "Mbit/s");
    default:
      return { name: unit ?? "", factor: 1 };
  }
}

/** "memory used (GiB)", or the label alone when there is no unit. */
export function axisTitle(label: string, unit: DisplayUnit): string {
  return unit.name === "" ? label : `${label} (${unit.name})`;
}

/**
 * At most about `2 * buckets` points of (x, y), keeping each bucket's first, lowest and highest
 * samples in time order, so peaks and dips survive and a long run still draws quickly.
 */
export function downsample(x: ArrayLike<number>, y: ArrayLike<number>, buckets = 500): { x: number[]; y: number[] } {
  const n = Math.min(x.length, y.length);
  if (n <= buckets * 2) return { x: Array.from({ length: n }, (_, i) => x[i]!), y: Array.from({ length: n }, (_, i) => y[i]!) };
  const ox: number[] = [];
  const oy: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets);
    const hi = Math.floor(((b + 1) * n) / buckets);
    let iMin = lo;
    let iMax = lo;
    for (let i = lo + 1; i < hi; i++) {
      if (y[i]! < y[iMin]!) iMin = i;
      if (y[i]! > y[iMax]!) iMax = i;
    }
    // The bucket's last sample keeps the line ending where the data ends.
    const keep = [...new Set([lo, iMin, iMax, hi - 1])].sort((a, c) => a - c);
    for (const i of keep) {
      ox.push(x[i]!);
      oy.push(y[i]!);
    }
  }
  return { x: ox, y: oy };
}

/** Series to draw at most: more lines than this are unreadable, so the largest peaks win. */
export const MAX_SERIES = 12;

function peak(s: TimeSeries): number {
  let m = 0;
  for (const v of s.values()) if (v > m) m = v;
  return m;
}

/** The `max` series with the highest peaks (ties by name), then in name order. */
function largest(list: { name: string; s: TimeSeries }[], max: number): { name: string; s: TimeSeries }[] {
  const byName = [...list].sort((a, b) => (a.name < b.name ? -1 : 1)); // names are unique
  if (byName.length <= max) return byName;
  const keep = new Set([...byName].sort((a, b) => peak(b.s) - peak(a.s)).slice(0, max));
  return byName.filter((e) => keep.has(e));
}

function fromSeries(
  all: readonly TimeSeries[],
  pattern: RegExp,
  what: { title: string; y: ChartAxis; legend: string; plural: string; description: string },
): ChartSpec | undefined {
  const matched: { name: string; s: TimeSeries }[] = [];
  for (const s of all) {
    const m = pattern.exec(s.name);
    if (m && s.length > 0) matched.push({ name: m[1]!, s });
  }
  if (matched.length === 0) return undefined;
  const shown = largest(matched, MAX_SERIES);
  const note = shown.length < matched.length ? ` Showing the ${shown.length} of ${matched.length} ${what.plural} with the highest peaks.` : "";
  return {
    title: what.title,
    description: what.description + note,
    mark: "line",
    x: { label: "simulated time", unit: "ns" },
    y: what.y,
    legend: what.legend,
    data: { series: shown.map(({ name, s }) => ({ name, x: s.times(), y: s.values() })) },
  };
}

/**
 * The kernel's charts from a run's time series: machine memory used per host
 * (`host.<name>.memory.used`, bytes) and traffic per link (`link.<name>.rate`, bytes/s, both
 * directions together). A chart with no data is left out.
 */
export function kernelCharts(series: readonly TimeSeries[]): ChartSpec[] {
  const out: ChartSpec[] = [];
  const memory = fromSeries(series, /^host\.(.+)\.memory\.used$/, {
    title: "Memory used per host",
    y: { label: "memory used", unit: "B" },
    legend: "host",
    plural: "hosts",
    description: "Machine memory in use on each host, sampled over simulated time.",
  });
  if (memory) out.push(memory);
  const links = fromSeries(series, /^link\.(.+)\.rate$/, {
    title: "Bandwidth per link",
    y: { label: "bandwidth", unit: "B/s" },
    legend: "link",
    plural: "links",
    description: "Data moving over each link, both directions added, sampled over simulated time.",
  });
  if (links) out.push(links);
  return out;
}
