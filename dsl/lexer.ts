// The lexer: text → tokens, and lexing problems as diagnostics (VMSCN0001-0004). It never
// throws; a bad character is skipped and lexing goes on. Text that is no scenario's at all
// (UTF-16, binary) is one diagnostic and no tokens; a line longer than MAX_LINE is skipped.
import { Lexer, type IToken } from "chevrotain";
import { diag, type Diagnostic } from "./diagnostics.js";
import { allTokens, BadQuantity, Str, UNIT_ALIASES, UnterminatedStr } from "./tokens.js";
import { offsetLoc, tokenLoc } from "./syntax/loc.js";
import { suggestUnit } from "./syntax/suggest.js";
import { blank, longLines, MAX_LINE, unreadable } from "./syntax/text.js";

/** Unexpected characters reported one by one at most; the rest are counted in one more. */
export const MAX_UNEXPECTED_REPORTED = 100;

// ensureOptimizations: a token pattern that defeats chevrotain's first-character dispatch
// fails at load time instead of silently making every file slower to lex.
const lexer = new Lexer(allTokens, { positionTracking: "full", ensureOptimizations: true });

export interface LexResult {
  tokens: IToken[];
  diagnostics: Diagnostic[];
  /** End offsets of the runs of unexpected characters that were skipped. */
  skippedEnds: number[];
  /** The text is no scenario's at all (VMSCN0004): nothing of it was lexed. */
  unreadable?: true;
}

// Characters people type from other languages, and what this one writes instead.
const CHARACTER_HINTS: Record<string, string> = {
  "=": 'compare with "=="; a property takes its value without "=" (`cpus 16`)',
  "!": 'write "!=" or "not"',
  "&": 'write "and"',
  "|": 'write "or"',
  ";": "statements need no separator: a line break or a space is enough",
  "[": "a list is written with commas only: `shared-by a, b`",
  "]": "a list is written with commas only: `shared-by a, b`",
  "'": 'strings are written between double quotes: "debian-12"',
  "%": 'a percentage is a number followed by "%": `25%`',
};

export function lex(text: string, file: string): LexResult {
  const diagnostics: Diagnostic[] = [];
  const skippedEnds: number[] = [];
  const bad = unreadable(text);
  if (bad !== undefined) {
    diagnostics.push(diag("VMSCN0004", bad.message, offsetLoc(file, text, 0, 0), "parse", bad.hint));
    return { tokens: [], diagnostics, skippedEnds, unreadable: true };
  }
  const long = longLines(text, MAX_LINE);
  for (const [start, end] of long) {
    const at = offsetLoc(file, text, start, start);
    diagnostics.push(diag("VMSCN0004", `line ${at.line} is ${end - start} characters long, more than the ${MAX_LINE} the lexer reads: it is skipped`, at, "parse", "split it over several lines"));
  }
  const r = lexer.tokenize(blank(text, long));
  for (const e of r.errors) {
    skippedEnds.push(e.offset + e.length);
    if (skippedEnds.length > MAX_UNEXPECTED_REPORTED) continue;
    // a long run is shown by its start: the caret span shows its extent
    const chars = printable(e.length <= 20 ? text.slice(e.offset, e.offset + e.length) : `${text.slice(e.offset, e.offset + 20)}...`);
    const what = e.length === 1 ? `unexpected character "${chars}"` : `unexpected characters "${chars}"`;
    const first = text.charAt(e.offset);
    const hint = Object.hasOwn(CHARACTER_HINTS, first) ? CHARACTER_HINTS[first] : undefined;
    diagnostics.push(diag("VMSCN0001", what, offsetLoc(file, text, e.offset, e.offset + e.length), "parse", hint));
  }
  if (r.errors.length > MAX_UNEXPECTED_REPORTED) {
    const e = r.errors[MAX_UNEXPECTED_REPORTED]!;
    const more = r.errors.length - MAX_UNEXPECTED_REPORTED;
    diagnostics.push(diag("VMSCN0001", `${more} more run${more === 1 ? "" : "s"} of unexpected characters from here on (not shown)`, offsetLoc(file, text, e.offset, e.offset + e.length), "parse", "is it the right file? a scenario is UTF-8 text"));
  }
  for (const t of r.tokens) {
    if (t.tokenType === BadQuantity) {
      const { unit } = quantityParts(t.image);
      const unitStart = t.startOffset + t.image.length - unit!.length;
      const suggestion = suggestUnit(unit!);
      const number = t.image.slice(0, t.image.length - unit!.length).trim();
      diagnostics.push(
        diag(
          "VMSCN0003",
          `unknown unit "${printable(shorten(unit!))}" after the number ${shorten(number)}`,
          offsetLoc(file, text, unitStart, t.endOffset! + 1),
          "parse",
          suggestion !== undefined ? `did you mean "${suggestion}"?` : 'write a unit such as "GiB", "ms", "Gbit/s" or "%", or put a space before a name',
        ),
      );
    } else if (t.tokenType === UnterminatedStr) {
      diagnostics.push(diag("VMSCN0002", "unterminated string: it needs a closing \" on the same line", tokenLoc(file, t), "parse"));
      checkEscapes(t, text, file, diagnostics);
    } else if (t.tokenType === Str && t.image.includes("\\")) {
      checkEscapes(t, text, file, diagnostics);
    }
  }
  return { tokens: r.tokens, diagnostics, skippedEnds };
}

/** The first unknown escape of a string (one is enough to say what the escapes are). */
function checkEscapes(t: IToken, text: string, file: string, out: Diagnostic[]): void {
  const img = t.image;
  for (let i = 1; i < img.length; i++) {
    if (img[i] !== "\\") continue;
    const next = img[i + 1];
    if (next !== '"' && next !== "\\" && next !== undefined) {
      const at = t.startOffset + i;
      out.push(diag("VMSCN0001", `unexpected character "${printable(next)}" after "\\" in a string`, offsetLoc(file, text, at, at + 2), "parse", 'the only escapes are \\" and \\\\'));
      return;
    }
    i++;
  }
}

/** At most 40 characters of `s`, for a message. */
function shorten(s: string): string {
  return s.length <= 40 ? s : `${s.slice(0, 40)}...`;
}

/** Control and bidirectional-override characters as escapes, so a message cannot drive a terminal. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** `"64 GiB"` → 64 and `GiB`; `"42"` → 42 and undefined; `µs` becomes `us`. */
export function quantityParts(image: string): { value: number; unit: string | undefined } {
  const m = /^(\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)[ \t]*(.*)$/.exec(image)!;
  const unit = m[2] === "" ? undefined : Object.hasOwn(UNIT_ALIASES, m[2]!) ? UNIT_ALIASES[m[2]!] : m[2];
  return { value: numberValue(m[1]!), unit };
}

/** `20_000` → 20000, `1.5e3` → 1500. */
export function numberValue(image: string): number {
  return Number(image.includes("_") ? image.replace(/_/g, "") : image);
}

/** The string's value: quotes removed, `\"` and `\\` unescaped (an unterminated one has no closing quote). */
export function stringValue(image: string, terminated: boolean): string {
  const body = terminated ? image.slice(1, -1) : image.slice(1);
  // `\\(.?)`: an unterminated string may end in a lone backslash, which is dropped.
  return body.includes("\\") ? body.replace(/\\(.?)/g, "$1") : body;
}
