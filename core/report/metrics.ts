// The metrics registry of a run: named groups of figures computed when the report is built
// (QEMU's query-migrate, KSM's counters, ...) and time series sampled during the run.
import { injectable } from "tsyringe";
import { kernelError } from "../errors.js";
import { formatTime } from "../sim/time.js";
import { UNITS } from "../units.js";
import type { ChartSpec, SummaryTable } from "./chart.js";
import { nameTable } from "./table.js";

export interface MetricGroup {
  readonly name: string;
  /** The plugin that registered it; undefined for the kernel. */
  readonly owner: string | undefined;
  readonly provider: () => unknown;
  /**
   * Units of the group's fields that are not in base units (ns, B, B/s): path patterns below
   * the group, a `*` standing for one key (`"*.downtime": "ms"`). Expectations convert them.
   */
  readonly units?: Readonly<Record<string, string>>;
}

/** Points a time series keeps at most (two Float64Arrays: 32 KiB). */
export const SERIES_MAX_POINTS = 2048;

/**
 * Samples `(time in ns, value)` in two growable Float64Arrays: no object per sample. Bounded:
 * when `maxPoints` are kept, every other point goes and from then on one sample in twice as
 * many is kept (decimation), so a run of any length keeps between maxPoints / 2 and maxPoints
 * points, evenly spread. The newest sample is always the last point, so the end of a run
 * shows. Times never go backwards.
 */
export class TimeSeries {
  readonly name: string;
  readonly unit: string;
  readonly maxPoints: number;
  private t: Float64Array;
  private v: Float64Array;
  private n = 0;
  /** Samples appended so far, and one kept in every `stride` (a power of two). */
  private seen = 0;
  private stride = 1;
  /** The last point is the newest sample, kept until the next one, not a kept one. */
  private provisional = false;

  constructor(name: string, unit: string, initialCapacity = 64, maxPoints = SERIES_MAX_POINTS) {
    this.name = name;
    this.unit = unit;
    this.maxPoints = Math.max(2, maxPoints - (maxPoints % 2));
    const cap = Math.min(Math.max(1, initialCapacity), this.maxPoints);
    this.t = new Float64Array(cap);
    this.v = new Float64Array(cap);
  }

  get length(): number {
    return this.n;
  }

  /** Samples appended, kept or not. */
  get samples(): number {
    return this.seen;
  }

  append(timeNs: number, value: number): void {
    const n = this.n;
    if (n > 0 && timeNs < this.t[n - 1]!) {
      throw kernelError(
        "VMSCN5011",
        `time series "${this.name}": a sample at ${formatTime(timeNs)} comes before the previous one at ${formatTime(this.t[n - 1]!)}`,
        { time: timeNs },
      );
    }
    const sample = this.seen++;
    // The newest sample replaces a provisional last point; otherwise it takes a new slot.
    if (!this.provisional) {
      if (this.n === this.maxPoints) this.decimate();
      if (this.n === this.t.length) this.grow();
      this.n++;
    }
    this.t[this.n - 1] = timeNs;
    this.v[this.n - 1] = value;
    this.provisional = sample % this.stride !== 0;
  }

  /** Full: keep points 0, 2, 4, ... (samples 0, 2·stride, ...) and keep half as many from now on. */
  private decimate(): void {
    const half = this.n >> 1;
    for (let i = 1; i < half; i++) {
      this.t[i] = this.t[2 * i]!;
      this.v[i] = this.v[2 * i]!;
    }
    this.n = half;
    this.stride *= 2;
  }

  private grow(): void {
    const size = Math.min(this.t.length * 2, this.maxPoints);
    const t = new Float64Array(size);
    const v = new Float64Array(size);
    t.set(this.t);
    v.set(this.v);
    this.t = t;
    this.v = v;
  }

  timeAt(i: number): number {
    return i >= 0 && i < this.n ? this.t[i]! : Number.NaN;
  }

  valueAt(i: number): number {
    return i >= 0 && i < this.n ? this.v[i]! : Number.NaN;
  }

  /** The sample times in ns: a view, valid until the next append; do not write to it. */
  times(): Float64Array {
    return this.t.subarray(0, this.n);
  }

  /** The sample values: a view, valid until the next append; do not write to it. */
  values(): Float64Array {
    return this.v.subarray(0, this.n);
  }

  toJSON(): { unit: string; timesNs: Float64Array; values: Float64Array } {
    return { unit: this.unit, timesNs: this.times(), values: this.values() };
  }
}

@injectable()
export class Metrics {
  private readonly byName = new Map<string, MetricGroup>();
  private readonly seriesByName = new Map<string, TimeSeries>();

  /**
   * Registers a group of figures, computed by `provider` when the report is built. A second
   * group with the same name is VMSCN6008, naming both owners.
   */
  group(name: string, provider: () => unknown, owner?: string, units?: Readonly<Record<string, string>>): void {
    if (name === "units") throw kernelError("VMSCN6008", `metric group "units" would hide the report's table of units; rename the group`, { where: owner });
    const first = this.byName.get(name);
    if (first !== undefined) {
      throw kernelError(
        "VMSCN6008",
        `metric group "${name}" is registered twice: by ${ownerName(first.owner)} and by ${ownerName(owner)}`,
        { where: owner },
      );
    }
    for (const [path, unit] of Object.entries(units ?? {})) {
      if (!(unit in UNITS)) throw kernelError("VMSCN6008", `metric group "${name}" declares field "${path}" in unit "${unit}", which vmscn does not know`, { where: owner });
    }
    this.byName.set(name, { name, owner, provider, ...(units === undefined ? {} : { units }) });
  }

  /** The groups in registration order. */
  groups(): readonly MetricGroup[] {
    return [...this.byName.values()];
  }

  /**
   * Computes every group, in registration order. A plugin's provider comes wrapped by the
   * plugin host, so a throw is VMSCN6006 naming the plugin and the hook `metric(<group>)`.
   */
  collect(): Record<string, unknown> {
    const out = nameTable();
    for (const g of this.byName.values()) {
      const value = g.provider();
      // A plugin's group with nothing to say (no migration in this run) is left out.
      if (g.owner === undefined || !isEmpty(value)) out[g.name] = value;
    }
    return out;
  }

  /** The declared units of the groups in `collected` (null-prototype tables), or null when none declares any. */
  units(collected: Readonly<Record<string, unknown>>): Record<string, Record<string, string>> | null {
    let out: Record<string, Record<string, string>> | null = null;
    for (const g of this.byName.values()) {
      if (g.units === undefined || !Object.hasOwn(collected, g.name)) continue;
      out ??= Object.create(null) as Record<string, Record<string, string>>;
      out[g.name] = Object.assign(Object.create(null) as Record<string, string>, g.units);
    }
    return out;
  }

  private readonly chartProviders: { owner: string | undefined; provider: () => ChartSpec | readonly ChartSpec[] }[] = [];

  /** Charts for the HTML report, made at the end of the run (a plugin's `k.chart`). */
  chart(provider: () => ChartSpec | readonly ChartSpec[], owner?: string): void {
    this.chartProviders.push({ owner, provider });
  }

  collectCharts(): ChartSpec[] {
    return collect(this.chartProviders);
  }

  private readonly tableProviders: { owner: string | undefined; provider: () => SummaryTable | readonly SummaryTable[] }[] = [];

  /** Tables for the readable summary of `vmscn run` (a plugin's `k.table`). */
  table(provider: () => SummaryTable | readonly SummaryTable[], owner?: string): void {
    this.tableProviders.push({ owner, provider });
  }

  collectTables(): SummaryTable[] {
    return collect(this.tableProviders);
  }

  /**
   * The time series named `name`, created on first use. Asking again with the same unit
   * returns the same series; with another unit it is VMSCN6008.
   */
  series(name: string, unit: string): TimeSeries {
    const existing = this.seriesByName.get(name);
    if (existing !== undefined) {
      if (existing.unit !== unit) {
        throw kernelError(
          "VMSCN6008",
          `time series "${name}" is registered twice, in ${existing.unit} and in ${unit}`,
        );
      }
      return existing;
    }
    const s = new TimeSeries(name, unit);
    this.seriesByName.set(name, s);
    return s;
  }

  /** Every series, in creation order (for charts). */
  allSeries(): readonly TimeSeries[] {
    return [...this.seriesByName.values()];
  }
}

function ownerName(owner: string | undefined): string {
  return owner === undefined ? "the kernel" : `plugin "${owner}"`;
}

/** Calls every provider (a plugin's comes wrapped by the plugin host, as its hook). */
function collect<T>(providers: readonly { owner: string | undefined; provider: () => T | readonly T[] }[]): T[] {
  const out: T[] = [];
  for (const c of providers) {
    const r = c.provider();
    if (Array.isArray(r)) out.push(...(r as readonly T[]));
    else out.push(r as T);
  }
  return out;
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value).length === 0;
}
