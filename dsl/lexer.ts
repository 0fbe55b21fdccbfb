// The lexer: text → tokens, and lexing problems as diagnostics (VMSCN0001-0003). It never
// throws; a bad character is skipped and lexing goes on.
import { Lexer, type IToken } from "chevrotain";
import { diag, type Diagnostic } from "./diagnostics.js";
import { allTokens, BadQuantity, Str, UNIT_ALIASES, UnterminatedStr } from "./tokens.js";
import { offsetLoc, tokenLoc } from "./syntax/loc.js";
import { suggestUnit } from "./syntax/suggest.js";

// ensureOptimizations: a token pattern that defeats chevrotain's first-character dispatch
// fails at load time instead of silently making every file slower to lex.
const lexer = new Lexer(allTokens, { positionTracking: "full", ensureOptimizations: true });

export interface LexResult {
  tokens: IToken[];
  diagnostics: Diagnostic[];
  /** End offsets of the runs of unexpected characters that were skipped. */
  skippedEnds: number[];
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
  const r = lexer.tokenize(text);
  const diagnostics: Diagnostic[] = [];
  const skippedEnds: number[] = [];
  for (const e of r.errors) {
    skippedEnds.push(e.offset + e.length);
    // a long run is shown by its start: the caret span shows its extent
    const chars = e.length <= 20 ? text.slice(e.offset, e.offset + e.length) : `${text.slice(e.offset, e.offset + 20)}...`;
    const what = e.length === 1 ? `unexpected character "${chars}"` : `unexpected characters "${chars}"`;
    const hint = CHARACTER_HINTS[chars[0]!];
    diagnostics.push(diag("VMSCN0001", what, offsetLoc(file, text, e.offset, e.offset + e.length), "parse", hint));
  }
  for (const t of r.tokens) {
    if (t.tokenType === BadQuantity) {
      const { value, unit } = quantityParts(t.image);
      const unitStart = t.startOffset + t.image.length - unit!.length;
      const suggestion = suggestUnit(unit!);
      diagnostics.push(
        diag(
          "VMSCN0003",
          `unknown unit "${unit}" after the number ${value}`,
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

function checkEscapes(t: IToken, text: string, file: string, out: Diagnostic[]): void {
  const img = t.image;
  for (let i = 1; i < img.length; i++) {
    if (img[i] !== "\\") continue;
    const next = img[i + 1];
    if (next !== '"' && next !== "\\" && next !== undefined) {
      const at = t.startOffset + i;
      out.push(diag("VMSCN0001", `unexpected character "${next}" after "\\" in a string`, offsetLoc(file, text, at, at + 2), "parse", 'the only escapes are \\" and \\\\'));
    }
    i++;
  }
}

/** `"64 GiB"` → 64 and `GiB`; `"42"` → 42 and undefined; `µs` becomes `us`. */
export function quantityParts(image: string): { value: number; unit: string | undefined } {
  const m = /^(\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)[ \t]*(.*)$/.exec(image)!;
  const unit = m[2] === "" ? undefined : (UNIT_ALIASES[m[2]!] ?? m[2]);
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
