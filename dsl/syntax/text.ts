// What the lexer will not read: text that is not a scenario's at all (UTF-16, binary, or
// mostly characters no token starts with) and lines too long for its patterns. Such a file
// gets one diagnostic (VMSCN0004) instead of one "unexpected character" per byte, and its
// text is never quoted: it may be anything, a key or a core dump.

/** A longer line is not lexed: the patterns' backtracking (V8's irregexp) has a bounded stack. */
export const MAX_LINE = 1 << 20;

/** The first 8,000 characters decide whether a file is text, as git and grep do. */
const SAMPLE = 8000;

/** More characters than this that no token can start with: not a scenario (lexing them one by one is slow). */
export const MAX_UNEXPECTED = 4096;

export interface Unreadable {
  message: string;
  hint: string;
}

const UTF8_HINT = "a scenario is UTF-8 text: save the file as UTF-8 (with or without a byte-order mark)";

/** Why `text` is not scenario text (an encoding, binary data, junk), or undefined. */
export function unreadable(text: string): Unreadable | undefined {
  // UTF-16's byte-order mark read as UTF-8 is two invalid bytes, each U+FFFD.
  if (text.startsWith("\uFFFD\uFFFD")) return { message: "the file looks like UTF-16 text (it starts with a UTF-16 byte-order mark)", hint: UTF8_HINT };
  const sample = text.length > SAMPLE ? text.slice(0, SAMPLE) : text;
  if (sample.includes("\0")) {
    const order = utf16Order(sample.replace(/^\uFEFF/, ""));
    if (order !== undefined) return { message: `the file looks like UTF-16 text (${order}, without a byte-order mark)`, hint: UTF8_HINT };
    return { message: "the file is not text: it has NUL characters (binary data, or UTF-32?)", hint: UTF8_HINT };
  }
  let odd = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c === 0xfffd || (c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 11 && c !== 12) || c === 127) odd++;
  }
  // Latin-1 accents in a comment are a few invalid UTF-8 bytes; binary data is full of them.
  if (odd >= 8 && odd * 10 >= sample.length) {
    return { message: `the file is not UTF-8 text: ${odd} of its first ${sample.length} characters are invalid UTF-8 or control characters`, hint: UTF8_HINT };
  }
  const junk = unexpectedCharacters(text);
  if (junk > MAX_UNEXPECTED) {
    return { message: `the file does not look like a scenario: ${junk} characters outside strings and comments cannot start a word, number or symbol of the language`, hint: "is it the right file? names are ASCII letters, digits, _ and -" };
  }
  return undefined;
}

/** "little-endian" or "big-endian" when every other character of ASCII-like text is NUL. */
function utf16Order(s: string): string | undefined {
  let le = 0;
  let be = 0;
  const pairs = Math.floor(s.length / 2);
  for (let i = 0; i + 1 < s.length; i += 2) {
    if (s.charCodeAt(i) !== 0 && s.charCodeAt(i + 1) === 0) le++;
    else if (s.charCodeAt(i) === 0 && s.charCodeAt(i + 1) !== 0) be++;
  }
  if (pairs === 0) return undefined;
  if (le >= pairs * 0.9) return "little-endian";
  if (be >= pairs * 0.9) return "big-endian";
  return undefined;
}

// Characters a token may start with (tokens.ts), whitespace included; µ and μ follow a number.
const STARTS = new Uint8Array(128);
for (const c of "\t\n\v\f\r \"#/<.{}(),:=!>+-*%_0123456789") STARTS[c.charCodeAt(0)] = 1;
for (let c = 65; c <= 90; c++) STARTS[c] = STARTS[c + 32] = 1;

function canStart(c: number): boolean {
  return c < 128 ? STARTS[c] === 1 : c === 0xfeff || c === 0xa0 || c === 0xb5 || c === 0x3bc;
}

/** Characters outside strings and comments that no token starts with (an estimate: it only decides MAX_UNEXPECTED). */
function unexpectedCharacters(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // to the closing quote or the end of the line
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34 || d === 10 || d === 13) break;
      }
    } else if (c === 35 /* # */ || (c === 47 /* / */ && text.charCodeAt(i + 1) === 47)) {
      while (i < text.length && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
    } else if (!canStart(c)) n++;
  }
  return n;
}

/** The [start, end) offsets of every line longer than `max` characters. */
export function longLines(text: string, max: number): [number, number][] {
  const out: [number, number][] = [];
  if (text.length <= max) return out;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 10;
    if (c !== 10 && c !== 13) continue;
    if (i - start > max) out.push([start, i]);
    if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
    start = i + 1;
  }
  return out;
}

/** `text` with the characters of each [start, end) range made spaces: offsets and lines stay. */
export function blank(text: string, ranges: readonly [number, number][]): string {
  if (ranges.length === 0) return text;
  let out = "";
  let at = 0;
  for (const [s, e] of ranges) {
    out += text.slice(at, s) + " ".repeat(e - s);
    at = e;
  }
  return out + text.slice(at);
}
