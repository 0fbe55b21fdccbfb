// Units of the scenario language and of plugin option schemas. A quantity is stored in its
// dimension's base unit: bytes, ns, bytes/s, events/s, a fraction (for %), or pages.
import { PAGE_SIZE } from "./config.js";

export type Dimension = "bytes" | "time" | "bandwidth" | "rate" | "percent" | "count";

export interface UnitDef {
  dimension: Dimension;
  /** Multiply a value in this unit by `factor` to get the base unit. */
  factor: number;
}

export const UNITS: Record<string, UnitDef> = {
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
};

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
  const u = UNITS[unit];
  return u ? { value: value * u.factor, dimension: u.dimension } : undefined;
}
