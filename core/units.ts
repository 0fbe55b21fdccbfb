// Units of the scenario language and of plugin option schemas. A quantity is stored in its
// dimension's base unit: bytes, ns, bytes/s, events/s, a fraction (for %), or pages.
import { PAGE_SIZE } from "./config.js";

export type Dimension = "bytes" | "time" | "bandwidth" | "rate" | "percent" | "count";

export interface UnitDef {
  dimension: Dimension;
  /** Multiply a value in this unit by `factor` to get the base unit. */
  factor: number;
}

// Null prototype: a unit is user text, and `4constructor` must not find Object's constructor.
export const UNITS: Readonly<Record<string, UnitDef>> = Object.assign(Object.create(null) as Record<string, UnitDef>, {
  B: { dimension: "bytes", factor: 1 },
  KiB: { dimension: "bytes", factor: 1024 },
  MiB: { dimension: "bytes", factor: 1024 ** 2 },
  GiB: { dimension: "bytes", factor: 1024 ** 3 },
  TiB: { dimension: "bytes", factor: 1024 ** 4 },
  KB: { dimension: "bytes", factor: 1e3 },
  MB: { dimension: "bytes", factor: 1e6 },
  GB: { dimension: "bytes", factor: 1e9 },
  pages: { dimension: "bytes", factor: PAGE_SIZE },
  page: { dimension: "bytes", factor: PAGE_SIZE },
  "bit/s": { dimension: "bandwidth", factor: 1 / 8 },
  "Kbit/s": { dimension: "bandwidth", factor: 1e3 / 8 },
  "Mbit/s": { dimension: "bandwidth", factor: 1e6 / 8 },
  "Gbit/s": { dimension: "bandwidth", factor: 1e9 / 8 },
  "B/s": { dimension: "bandwidth", factor: 1 },
  "KB/s": { dimension: "bandwidth", factor: 1e3 },
  "MB/s": { dimension: "bandwidth", factor: 1e6 },
  "GB/s": { dimension: "bandwidth", factor: 1e9 },
  "MiB/s": { dimension: "bandwidth", factor: 1024 ** 2 },
  "GiB/s": { dimension: "bandwidth", factor: 1024 ** 3 },
  "pages/s": { dimension: "rate", factor: 1 },
  "/s": { dimension: "rate", factor: 1 },
  ns: { dimension: "time", factor: 1 },
  us: { dimension: "time", factor: 1e3 },
  ms: { dimension: "time", factor: 1e6 },
  s: { dimension: "time", factor: 1e9 },
  min: { dimension: "time", factor: 60e9 },
  "%": { dimension: "percent", factor: 0.01 },
} satisfies Record<string, UnitDef>);

/** The unit named `unit`, or undefined (never an inherited property of Object). */
export function unitDef(unit: string): UnitDef | undefined {
  return Object.hasOwn(UNITS, unit) ? UNITS[unit] : undefined;
}

/** The base unit a dimension is stored in, for messages and reports. */
export const BASE_UNIT: Record<Dimension, string> = {
  bytes: "B",
  time: "ns",
  bandwidth: "B/s",
  rate: "/s",
  percent: "fraction",
  count: "",
};

/** Converts `value unit` to the base unit, or undefined for an unknown unit. */
export function toBase(value: number, unit: string): { value: number; dimension: Dimension } | undefined {
  const u = unitDef(unit);
  return u ? { value: value * u.factor, dimension: u.dimension } : undefined;
}

/**
 * What the kernel can represent, so that validation refuses a value that would crash or hang a
 * run (docs/language.md, "Limits"). Each is a fact of core/, not a policy.
 */
export const LIMITS = {
  /** Simulated time is a whole number of ns in a double: exact up to 2^53 - 1 (about 104 days). */
  maxTimeNs: Number.MAX_SAFE_INTEGER,
  /** Frame and guest page numbers are Int32Array entries (memory/guest.ts, memory/machine.ts): 2^31 pages, 8 TiB. */
  maxPages: 2 ** 31,
  /** Bytes, counts and rates are doubles; beyond 2^53 they stop being whole. */
  maxSafe: Number.MAX_SAFE_INTEGER,
  /** A disk's dirty-block log and absent-block map are byte arrays of one entry per 1 MiB block (at most 2^30 of them). */
  maxDiskBytes: 2 ** 50,
  /** A checkpoint holds the device state in one buffer, read and written whole. */
  maxDeviceStateBytes: 2 ** 30,
  /** Each vCPU is an object with its own queues; KVM's KVM_MAX_VCPUS is 4096. */
  maxVcpus: 4096,
  /** One tick's accesses of an activity are one batch of typed arrays (workload/workload.ts). */
  maxAccessesPerTick: 2 ** 20,
  /** Below 1 bit/s, moving the largest memory would take longer than simulated time can count. */
  minBandwidth: 1 / 8,
  maxBandwidth: Number.MAX_SAFE_INTEGER,
} as const;

/**
 * `v` as a whole number, or undefined. A decimal value in a larger unit is seldom
 * exact in binary (1.1 ms is 1100000.0000000002 ns): that much off still counts as whole.
 */
export function asWhole(v: number): number | undefined {
  const r = Math.round(v);
  return Math.abs(v - r) <= Math.max(1e-6, Math.abs(v) * 2 ** -50) ? r : undefined;
}
