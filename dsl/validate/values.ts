// Quantities against the dimension a place needs: a value in the wrong dimension, or a bare
// number where a unit is needed, is a diagnostic, never a silent conversion. Every value is
// also checked against what the kernel can represent (core/units.ts LIMITS), so that a value
// `check` accepts never crashes or hangs `run`.
import { asWhole, LIMITS, unitDef, type Dimension } from "../../core/units.js";
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
  return q.unit === undefined ? "count" : (unitDef(q.unit)?.dimension ?? "count");
}

export function written(q: Quantity): string {
  return q.unit === undefined ? String(q.value) : `${q.value} ${q.unit}`;
}

/**
 * The value in base units, or undefined (with a diagnostic) when the dimension is wrong or
 * the number is too large for a double (`1e309` reads as infinity).
 */
export function inDimension(q: Quantity, dim: Dimension, what: string, out: Diagnostic[]): number | undefined {
  const got = dimensionOf(q);
  if (got !== dim) {
    const msg = q.unit === undefined ? `${what} needs ${EXAMPLES[dim]}, not the bare number ${q.value}` : `${what} needs ${EXAMPLES[dim]}, but ${written(q)} is ${DIMENSION_NAMES[got]}`;
    out.push(diag("VMSCN0210", msg, q.loc, "validate"));
    return undefined;
  }
  const v = q.unit === undefined ? q.value : q.value * unitDef(q.unit)!.factor;
  if (!Number.isFinite(v)) {
    out.push(diag("VMSCN0212", `${what} is too large: the number does not fit in a double and reads as infinity`, q.loc, "validate", "see the limits of each value in docs/language.md (Limits)"));
    return undefined;
  }
  return v;
}

/** A plain number within [min, max] (and whole, if asked). */
export function plainNumber(q: Quantity, what: string, out: Diagnostic[], opts: Bounds = {}): number | undefined {
  const v = inDimension(q, "count", what, out);
  if (v === undefined) return undefined;
  return inRange(v, q, what, out, opts, String(v));
}

export interface Bounds {
  min?: number;
  max?: number;
  /** Exactly a whole number (a count). */
  integer?: boolean;
  /**
   * A whole number of the base unit ("nanoseconds", "bytes"), within the rounding of a decimal
   * in a larger unit; the value returned is then rounded.
   */
  whole?: string;
  /** The limits as the message shows them (default: the numbers in the base unit). */
  minText?: string;
  maxText?: string;
  /** Why the maximum is what it is, as a hint. */
  maxHint?: string;
}

export function inRange(v: number, q: Quantity, what: string, out: Diagnostic[], opts: Bounds, shown = written(q)): number | undefined {
  if (!Number.isFinite(v)) {
    out.push(diag("VMSCN0212", `${what} is too large: the number does not fit in a double and reads as infinity`, q.loc, "validate", opts.maxHint));
    return undefined;
  }
  if (opts.integer && !Number.isInteger(v)) {
    out.push(diag("VMSCN0212", `${what} must be a whole number (got ${shown})`, q.loc, "validate"));
    return undefined;
  }
  if (opts.whole !== undefined) {
    const r = asWhole(v);
    if (r === undefined) {
      out.push(diag("VMSCN0212", `${what} must be a whole number of ${opts.whole} (got ${shown})`, q.loc, "validate"));
      return undefined;
    }
    v = r;
  }
  if (opts.min !== undefined && v < opts.min) {
    out.push(diag("VMSCN0212", `${what} must be at least ${opts.minText ?? opts.min} (got ${shown})`, q.loc, "validate"));
    return undefined;
  }
  if (opts.max !== undefined && v > opts.max) {
    out.push(diag("VMSCN0212", `${what} must be at most ${opts.maxText ?? opts.max} (got ${shown})`, q.loc, "validate", opts.maxHint));
    return undefined;
  }
  return v;
}

// ---- the kernel's limits, by kind of value (docs/language.md, "Limits") --------------------

const TIME_HINT = "simulated time is a whole number of nanoseconds, exact up to 2^53 - 1 ns (about 104 days)";

/** The largest time, as messages show it. */
export const MAX_TIME_TEXT = "9007199.254740991 s (2^53 - 1 ns, about 104 days)";

/** A time or duration: a whole number of ns (within rounding), from `min` (0) to the largest simulated time. */
export function timeBounds(min = 0): Bounds {
  return { min, whole: "nanoseconds", max: LIMITS.maxTimeNs, maxText: MAX_TIME_TEXT, maxHint: TIME_HINT };
}

/** A bandwidth: from 1 bit/s (a transfer must end within simulated time) to 2^53 B/s. */
export const BANDWIDTH_BOUNDS: Bounds = { min: LIMITS.minBandwidth, minText: "1 bit/s", max: LIMITS.maxBandwidth, maxText: "9007199254740991 B/s (2^53 - 1)" };

/** A size or count held as a double: whole up to 2^53 - 1. */
export const SAFE_MAX: Bounds = { max: LIMITS.maxSafe, maxText: "9007199254740991 (2^53 - 1)" };

/** Default bounds of a plugin option or argument of `dim` that declares no maximum of its own. */
export function defaultMax(dim: Dimension): Pick<Bounds, "max" | "maxText" | "maxHint" | "whole"> {
  // A time is a whole number of ns: `retry-interval 1e-320 ms` would be an interval of 0.
  if (dim === "time") return { whole: "nanoseconds", max: LIMITS.maxTimeNs, maxText: MAX_TIME_TEXT, maxHint: TIME_HINT };
  if (dim === "bytes") return { max: LIMITS.maxSafe, maxText: "9007199254740991 B (2^53 - 1)" };
  if (dim === "bandwidth") return { max: LIMITS.maxBandwidth, maxText: BANDWIDTH_BOUNDS.maxText! };
  return SAFE_MAX;
}
