// "did you mean ...?" for misspelt units and property names.
import { UNIT_NAMES } from "../tokens.js";
import { editDistance } from "../../core/text/edit-distance.js";

/** The candidate nearest to `word` within a distance that grows with its length, if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
  let best: string | undefined;
  let bestD = Infinity;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    // The distance is at least the difference in length: no need to compute it (a huge word is O(1)).
    if (Math.abs(c.length - word.length) > limit) continue;
    const d = editDistance(lower, c.toLowerCase());
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
  const spelled = spelling(written) ?? spelling(written.toLowerCase());
  if (spelled !== undefined) return spelled;
  const sameLetters = UNIT_NAMES.find((u) => u.toLowerCase() === written.toLowerCase());
  if (sameLetters !== undefined) return sameLetters;
  // `5sx` → `s`: the longest unit the word starts with.
  const prefix = !byPrefix ? undefined : [...UNIT_NAMES].sort((a, b) => b.length - a.length).find((u) => written.startsWith(u));
  if (prefix !== undefined) return prefix;
  // Within an edit distance of 3 of a unit (7 characters at most): a longer word is none.
  return written.length > 12 ? undefined : closest(written, UNIT_NAMES);
}

/** The unit a spelling from another tool means (`constructor` is none: an own key only). */
function spelling(word: string): string | undefined {
  return Object.hasOwn(UNIT_SPELLINGS, word) ? UNIT_SPELLINGS[word] : undefined;
}
