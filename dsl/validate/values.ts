// Quantities against the dimension a place needs: a value in the wrong dimension, or a bare
// number where a unit is needed, is a diagnostic, never a silent conversion.
import { UNITS, type Dimension } from "../../core/units.js";
import type { Quantity } from "../ast.js";
import { diag, type Diagnostic } from "../diagnostics.js";

const EXAMPLES: Record<Dimension, string> = {
  bytes: "a size (B, KiB, MiB, GiB, TiB, KB, MB, GB, pages), such as 4 GiB",
  time: "a time (ns, us, ms, s, min), such as 300 ms",
  bandwidth: "a bandwidth (bit/s, Kbit/s, Mbit/s, Gbit/s, B/s, KB/s, MB/s, GB/s, MiB/s, GiB/s), such as 10 Gbit/s",
  rate: "a rate (pages/s), such as 20000 pages/s",
  percent: "a percentage, such as 25%",
  count: "a plain number, such as 16",
};

export const DIMENSION_NAMES: Record<Dimension, string> = {
  bytes: "a size",
  time: "a time",
  bandwidth: "a bandwidth",
  rate: "a rate",
  percent: "a percentage",
  count: "a plain number",
};

export function describeDimension(d: Dimension): string {
  return EXAMPLES[d];
}

export function dimensionOf(q: Quantity): Dimension {
  return q.unit === undefined ? "count" : (UNITS[q.unit]?.dimension ?? "count");
}

export function written(q: Quantity): string {
  return q.unit === undefined ? String(q.value) : `${q.value} ${q.unit}`;
}

/** The value in base units, or undefined (with a diagnostic) when the dimension is wrong. */
export function inDimension(q: Quantity, dim: Dimension, what: string, out: Diagnostic[]): number | undefined {
  const got = dimensionOf(q);
  if (got !== dim) {
    const msg = q.unit === undefined ? `${what} needs ${EXAMPLES[dim]}, not the bare number ${q.value}` : `${what} needs ${EXAMPLES[dim]}, but ${written(q)} is ${DIMENSION_NAMES[got]}`;
    out.push(diag("VMSCN0210", msg, q.loc, "validate"));
    return undefined;
  }
  return q.unit === undefined ? q.value : q.value * UNITS[q.unit]!.factor;
}

/** A plain number within [min, max] (and whole, if asked). */
export function plainNumber(q: Quantity, what: string, out: Diagnostic[], opts: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
  const v = inDimension(q, "count", what, out);
  if (v === undefined) return undefined;
  return inRange(v, q, what, out, opts, String(v));
}

export function inRange(v: number, q: Quantity, what: string, out: Diagnostic[], opts: { min?: number; max?: number; integer?: boolean }, shown = written(q)): number | undefined {
  if (opts.integer && !Number.isInteger(v)) {
    out.push(diag("VMSCN0212", `${what} must be a whole number (got ${shown})`, q.loc, "validate"));
    return undefined;
  }
  if (opts.min !== undefined && v < opts.min) {
    out.push(diag("VMSCN0212", `${what} must be at least ${opts.min} (got ${shown})`, q.loc, "validate"));
    return undefined;
  }
  if (opts.max !== undefined && v > opts.max) {
    out.push(diag("VMSCN0212", `${what} must be at most ${opts.max} (got ${shown})`, q.loc, "validate"));
    return undefined;
  }
  return v;
}
