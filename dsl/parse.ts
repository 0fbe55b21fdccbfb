// The front end of the scenario language: text → FileNode and every lexing and parsing
// problem of the file at once. It never throws.
import { EOF, type IToken } from "chevrotain";
import type { FileNode, Loc } from "./ast.js";
import { cstToAst } from "./cst-to-ast.js";
import { diag, sortDiagnostics, type Diagnostic } from "./diagnostics.js";
import { readFrontMatter } from "./front-matter.js";
import { lex } from "./lexer.js";
import { MAX_SYNTAX_ERRORS, parser } from "./parser.js";
import { offsetLoc, tokenLoc } from "./syntax/loc.js";
import { resumeOffsets, syntaxDiagnostics } from "./syntax/messages.js";
import { blank, longLines } from "./syntax/text.js";
import { K, LCurly, LParen, Minus, RCurly, RParen } from "./tokens.js";

/**
 * Parentheses, prefix operators and the braces of an unknown statement nest recursive rules;
 * past this depth the parser would exhaust the JS stack, so the file is cut there with an
 * error instead. A real scenario nests braces 4 deep at most.
 */
export const MAX_NESTING = 100;

export function parseSource(text: string, file: string): { file: FileNode; diagnostics: Diagnostic[] } {
  try {
    return parseUnchecked(text, file);
  } catch (e) {
    // Unreachable by design (the fuzz test holds it so); a bug must still not crash a CLI run.
    const message = e instanceof Error ? e.message : String(e);
    const safe = typeof text === "string" ? text : "";
    const loc = offsetLoc(file, safe, 0, Math.min(1, safe.length));
    return {
      file: emptyFile(safe, file),
      diagnostics: [diag("VMSCN0101", `internal error of the parser (please report it): ${message}`, loc, "parse")],
    };
  }
}

/** Front matter lines are short: a longer line ends the block (its patterns are not linear on long lines). */
const MAX_FRONT_MATTER_LINE = 4096;

function parseUnchecked(text: string, file: string): { file: FileNode; diagnostics: Diagnostic[] } {
  const lexed = lex(text, file);
  // The front matter reader splits at \n: a lone \r (old Mac line ends) becomes one, offsets unchanged.
  const fmText = blank(text, longLines(text, MAX_FRONT_MATTER_LINE)).replace(/\r(?!\n)/g, "\n");
  const fm = lexed.unreadable ? { frontMatter: { extra: {} }, diagnostics: [] } : readFrontMatter(fmText, file);
  const diagnostics: Diagnostic[] = [...fm.diagnostics, ...lexed.diagnostics];

  const tokens = limitNesting(lexed.tokens, file, diagnostics);
  const cst = parser.parseTokens(tokens);
  const errors = parser.errors;
  let parseDiagnostics = syntaxDiagnostics(errors, { file, text, tokens });
  const stop = parser.stoppedAt;
  if (stop !== undefined) {
    const at = stop.tokenType === EOF || Number.isNaN(stop.startOffset) ? offsetLoc(file, text, text.length, text.length) : tokenLoc(file, stop);
    diagnostics.push(diag("VMSCN0101", `more than ${MAX_SYNTAX_ERRORS} syntax errors: the file is not parsed beyond this point`, at, "parse", "is it the right file? fix the first errors and check again"));
  }
  if (tokens.length < lexed.tokens.length) {
    // cut by limitNesting: the file "ends" there, which is no error of its own
    const cut = tokens[tokens.length - 1]?.startOffset ?? 0;
    parseDiagnostics = parseDiagnostics.filter((d) => d.loc.start < cut);
  }
  const astDiagnostics: Diagnostic[] = [];
  const ast = cstToAst(cst, file, text, tokens, resumeOffsets(errors, tokens), astDiagnostics);

  // Errors that only follow from an earlier one are left out: the token after skipped
  // characters (`expect a = b`: "b"), the token after an unknown word (`write 5 pages/s
  // uniform`: "uniform"). A missing "}" (VMSCN0102) is always reported.
  const afterSkipped = new Set(lexed.skippedEnds.map((end) => tokens[firstTokenFrom(tokens, end)]?.startOffset));
  const afterUnknown = new Set([...ast.afterUnknown].map((end) => tokens[firstTokenFrom(tokens, end)]?.startOffset));
  const consequence = (d: Diagnostic): boolean =>
    (d.code === "VMSCN0101" || d.code === "VMSCN0103" || d.code === "VMSCN0104") && (afterSkipped.has(d.loc.start) || (d.code !== "VMSCN0103" && afterUnknown.has(d.loc.start)));
  diagnostics.push(...parseDiagnostics.filter((d) => !consequence(d)), ...astDiagnostics.filter((d) => !consequence(d)));

  const node: FileNode = { ...emptyFile(text, file), frontMatter: fm.frontMatter, topLevel: ast.topLevel, scenarios: ast.scenarios };
  return { file: node, diagnostics: sortDiagnostics(diagnostics) };
}

/** Index of the first token that starts at or after `offset` (tokens.length if none). */
function firstTokenFrom(tokens: IToken[], offset: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.startOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The tokens up to the first one nested deeper than MAX_NESTING. */
function limitNesting(tokens: IToken[], file: string, diagnostics: Diagnostic[]): IToken[] {
  let parens = 0;
  let braces = 0;
  let prefixRun = 0;
  for (let i = 0; i < tokens.length; i++) {
    const tt = tokens[i]!.tokenType;
    if (tt === LParen) parens++;
    else if (tt === RParen) parens = Math.max(0, parens - 1);
    else if (tt === LCurly) braces++;
    else if (tt === RCurly) braces = Math.max(0, braces - 1);
    prefixRun = tt === Minus || tt === K.not ? prefixRun + 1 : 0;
    if (parens + braces + prefixRun > MAX_NESTING) {
      const what = braces > parens + prefixRun ? "braces are" : "the expression is";
      diagnostics.push(diag("VMSCN0101", `${what} nested more than ${MAX_NESTING} levels deep`, tokenLoc(file, tokens[i]!), "parse", "split it into simpler expect lines"));
      return tokens.slice(0, i);
    }
  }
  return tokens;
}

function emptyFile(text: string, file: string): FileNode {
  const loc: Loc = offsetLoc(file, text, 0, text.length);
  return { path: file, frontMatter: { extra: {} }, topLevel: [], scenarios: [], loc };
}
