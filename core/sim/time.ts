// Simulated time is an integer number of nanoseconds in a JS number (exact to 2^53 ns).
export const NS = 1;
export const US = 1_000;
export const MS = 1_000_000;
export const SECOND = 1_000_000_000;
export const MINUTE = 60 * SECOND;

/** Time in ns to seconds with nine decimals: "12.000300000 s" would be noisy, so trailing zeros go. */
export function formatTime(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  return `${(ns / SECOND).toFixed(9).replace(/\.?0+$/, "")} s`;
}

/** Duration of moving `bytes` at `bytesPerSecond`, in whole ns (rounded up: data never arrives early). */
export function transferTime(bytes: number, bytesPerSecond: number): number {
  return Math.ceil((bytes * SECOND) / bytesPerSecond - 1e-6);
}
