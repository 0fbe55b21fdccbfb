// Byte counts as people read them: one list of binary units for the kernel's messages, the
// command's summary and the memory estimate.

export const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** Exactly, in the largest unit that divides it: `4 KiB`, `1536 KiB`, `4097 B` (for messages that must not round). */
export function formatBytes(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < BYTE_UNITS.length - 1 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  return `${v} ${BYTE_UNITS[i]}`;
}

/** Rounded to two decimals in the largest unit, from `from` up, that keeps it ≥ 1: `1.5 GiB`, `0.5 MiB` from MiB. */
export function formatBytesRounded(bytes: number, from: (typeof BYTE_UNITS)[number] = "B"): string {
  let i = BYTE_UNITS.indexOf(from);
  let v = bytes / 1024 ** i;
  while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toFixed(2))} ${BYTE_UNITS[i]}`;
}
