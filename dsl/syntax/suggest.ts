// "did you mean ...?" for misspelt units and property names.
import { UNIT_NAMES } from "../tokens.js";

/** Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a substring). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = new Array<number>(n + 1);
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n]!;
}

/** The candidate nearest to `word` within a distance that grows with its length, if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= limit ? best : undefined;
}

// Spellings people bring from other tools.
const UNIT_SPELLINGS: Record<string, string> = {
  sec: "s",
  secs: "s",
  second: "s",
  seconds: "s",
  msec: "ms",
  msecs: "ms",
  usec: "us",
  usecs: "us",
  nsec: "ns",
  nsecs: "ns",
  mins: "min",
  minute: "min",
  minutes: "min",
  m: "min",
  h: "min",
  bps: "bit/s",
  kbps: "Kbit/s",
  mbps: "Mbit/s",
  gbps: "Gbit/s",
  "kb/s": "Kbit/s",
  "mb/s": "Mbit/s",
  "gb/s": "Gbit/s",
  k: "KiB",
  g: "GiB",
  kib: "KiB",
  mib: "MiB",
  gib: "GiB",
  tib: "TiB",
  bytes: "B",
  byte: "B",
  pct: "%",
  percent: "%",
};

/**
 * The unit a user probably meant by `written` (`msec` → `ms`), if there is a likely one.
 * `byPrefix` also offers the longest unit `written` starts with: right for `5sx` glued to a
 * number, wrong for a word after a number (`5 start`).
 */
export function suggestUnit(written: string, byPrefix = true): string | undefined {
  if (UNIT_NAMES.includes(written)) return undefined;
  // Case matters between `Gb/s`-like spellings, so those are looked up before lowercasing.
  const spelled = UNIT_SPELLINGS[written] ?? UNIT_SPELLINGS[written.toLowerCase()];
  if (spelled !== undefined) return spelled;
  const sameLetters = UNIT_NAMES.find((u) => u.toLowerCase() === written.toLowerCase());
  if (sameLetters !== undefined) return sameLetters;
  // `5sx` → `s`: the longest unit the word starts with.
  const prefix = !byPrefix ? undefined : [...UNIT_NAMES].sort((a, b) => b.length - a.length).find((u) => written.startsWith(u));
  if (prefix !== undefined) return prefix;
  return closest(written, UNIT_NAMES);
}
