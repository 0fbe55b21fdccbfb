// A small semver checker for plugin versions and the kernel ranges they declare (`kernel: "^1"`).
// It follows node-semver's range grammar (exact, ^, ~, comparators, x/* wildcards, partial
// versions, hyphen ranges, AND by spaces, OR by ||) but keeps prereleases simple: they are
// ordered before their release and are not otherwise special, so "1.1.0-dev" satisfies "^1".

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Dot-separated prerelease identifiers ("rc.1" → ["rc", "1"]); empty for a release. */
  readonly prerelease: readonly string[];
}

type Op = "<" | "<=" | ">" | ">=" | "=";

interface Comparator {
  readonly op: Op;
  readonly version: SemVer;
}

/** OR of AND-sets of comparators; an empty AND-set matches every version. */
export type Range = readonly (readonly Comparator[])[];

const NUM = "0|[1-9]\\d*";
const IDENT = "(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)";
const PRE = `${IDENT}(?:\\.${IDENT})*`;
const BUILD = "[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*";
const VERSION_RE = new RegExp(`^(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE}))?(?:\\+${BUILD})?$`);
// A partial version in a range: "1", "1.2", "1.x", "*", "1.2.3-rc.1".
const XR = `${NUM}|[xX*]`;
const PARTIAL_RE = new RegExp(`^(${XR})(?:\\.(${XR})(?:\\.(${XR})(?:-(${PRE}))?(?:\\+${BUILD})?)?)?$`);
const COMPARATOR_RE = /^(<=|>=|<|>|=|\^|~)?(.*)$/;

function num(text: string): number | undefined {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses "MAJOR.MINOR.PATCH[-prerelease][+build]"; anything else (including "v1.0.0", "1.0") is undefined. */
export function parseVersion(text: string): SemVer | undefined {
  if (typeof text !== "string") return undefined;
  const m = VERSION_RE.exec(text.trim());
  if (!m) return undefined;
  const major = num(m[1]!);
  const minor = num(m[2]!);
  const patch = num(m[3]!);
  if (major === undefined || minor === undefined || patch === undefined) return undefined;
  return { major, minor, patch, prerelease: m[4] === undefined ? [] : m[4].split(".") };
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an) return -1; // numeric identifiers sort before alphanumeric ones
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** -1, 0 or 1; a prerelease sorts before its release ("1.0.0-rc.1" < "1.0.0"). */
export function compareVersions(a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1;
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1;
  const ap = a.prerelease;
  const bp = b.prerelease;
  if (ap.length === 0 || bp.length === 0) return ap.length === bp.length ? 0 : ap.length === 0 ? 1 : -1;
  for (let i = 0; i < ap.length && i < bp.length; i++) {
    const c = compareIdentifiers(ap[i]!, bp[i]!);
    if (c !== 0) return c;
  }
  return Math.sign(ap.length - bp.length);
}

function v(major: number, minor: number, patch: number, prerelease: readonly string[] = []): SemVer {
  return { major, minor, patch, prerelease };
}

/** The lowest version with this major.minor.patch: "<2.0.0-0" excludes 2.0.0's prereleases too. */
function floor(major: number, minor: number, patch: number): SemVer {
  return v(major, minor, patch, ["0"]);
}

interface PartialVersion {
  /** Number of numeric parts given before any wildcard: 0 for "*", 1 for "1" or "1.x", 3 for "1.2.3". */
  readonly parts: 0 | 1 | 2 | 3;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly prerelease: readonly string[];
}

function parsePartial(text: string): PartialVersion | undefined {
  const m = PARTIAL_RE.exec(text);
  if (!m) return undefined;
  const fields = [m[1], m[2], m[3]];
  const values: number[] = [];
  for (const f of fields) {
    if (f === undefined || f === "x" || f === "X" || f === "*") break;
    const n = num(f);
    if (n === undefined) return undefined;
    values.push(n);
  }
  // "1.x.3" is not a range: a number after a wildcard makes no sense.
  for (let i = values.length; i < 3; i++) {
    const f = fields[i];
    if (f !== undefined && f !== "x" && f !== "X" && f !== "*") return undefined;
  }
  const parts = values.length as 0 | 1 | 2 | 3;
  return {
    parts,
    major: values[0] ?? 0,
    minor: values[1] ?? 0,
    patch: values[2] ?? 0,
    prerelease: m[4] === undefined ? [] : m[4].split("."),
  };
}

const NOTHING: Comparator[] = [{ op: "<", version: floor(0, 0, 0) }];

/** Desugars one comparator ("^1.2", ">=1", "1.x", "~0.2.3") into primitive comparators. */
function desugar(op: string, p: PartialVersion): Comparator[] {
  const { parts, major, minor, patch } = p;
  const low = v(major, minor, patch, p.prerelease);
  // The first version above the partial: "1" → 2.0.0, "1.2" → 1.3.0.
  const next = parts === 1 ? floor(major + 1, 0, 0) : floor(major, minor + 1, 0);
  switch (op) {
    case "":
    case "=":
      if (parts === 0) return [];
      if (parts === 3) return [{ op: "=", version: low }];
      return [{ op: ">=", version: low }, { op: "<", version: next }];
    case "^": {
      if (parts === 0) return [];
      let upper: SemVer;
      if (major > 0 || parts === 1) upper = floor(major + 1, 0, 0);
      else if (minor > 0 || parts === 2) upper = floor(0, minor + 1, 0);
      else upper = floor(0, 0, patch + 1);
      return [{ op: ">=", version: low }, { op: "<", version: upper }];
    }
    case "~": {
      if (parts === 0) return [];
      return [{ op: ">=", version: low }, { op: "<", version: next }];
    }
    case ">":
      if (parts === 0) return NOTHING;
      if (parts === 3) return [{ op: ">", version: low }];
      return [{ op: ">=", version: v(next.major, next.minor, 0) }];
    case ">=":
      return parts === 0 ? [] : [{ op: ">=", version: low }];
    case "<":
      if (parts === 0) return NOTHING;
      return [{ op: "<", version: parts === 3 ? low : floor(major, minor, 0) }];
    default: // "<="
      if (parts === 0) return [];
      if (parts === 3) return [{ op: "<=", version: low }];
      return [{ op: "<", version: next }];
  }
}

function parseAndSet(text: string): Comparator[] | undefined {
  // Allow a space between an operator and its version: ">= 1.2.3".
  const words = text.replace(/(<=|>=|<|>|=|\^|~)\s+/g, "$1").split(/\s+/).filter((w) => w !== "");
  const hyphen = words.indexOf("-");
  if (hyphen >= 0) {
    // "1.2 - 2.3" means ">=1.2.0 <2.4.0-0".
    if (words.length !== 3 || hyphen !== 1) return undefined;
    const from = parsePartial(words[0]!);
    const to = parsePartial(words[2]!);
    if (!from || !to) return undefined;
    return [...desugar(">=", from), ...desugar("<=", to)];
  }
  const set: Comparator[] = [];
  for (const word of words) {
    const m = COMPARATOR_RE.exec(word)!;
    const p = parsePartial(m[2]!);
    if (!p) return undefined;
    set.push(...desugar(m[1] ?? "", p));
  }
  return set;
}

/** Parses a range ("^1", ">=1.2 <2 || 3.x"); undefined when it is not one. */
export function parseRange(text: string): Range | undefined {
  if (typeof text !== "string") return undefined;
  const range: Comparator[][] = [];
  for (const part of text.split("||")) {
    const set = parseAndSet(part.trim());
    if (!set) return undefined;
    range.push(set);
  }
  return range;
}

function test(c: Comparator, version: SemVer): boolean {
  const r = compareVersions(version, c.version);
  switch (c.op) {
    case "<":
      return r < 0;
    case "<=":
      return r <= 0;
    case ">":
      return r > 0;
    case ">=":
      return r >= 0;
    default:
      return r === 0;
  }
}

/** Whether `version` lies in `range`; false when either does not parse. */
export function satisfies(version: string | SemVer, range: string | Range): boolean {
  const ver = typeof version === "string" ? parseVersion(version) : version;
  const r = typeof range === "string" ? parseRange(range) : range;
  if (!ver || !r) return false;
  return r.some((set) => set.every((c) => test(c, ver)));
}
