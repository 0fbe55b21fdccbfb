// Locations of tokens and CST nodes in the AST's terms: 1-based line and column of the first
// and last characters, 0-based [start, end) offsets.
import type { CstNode, IToken } from "chevrotain";
import type { Loc } from "../ast.js";

/** A token the parser inserted while recovering has no place in the source. */
export function isReal(t: IToken | undefined): t is IToken {
  return t !== undefined && t.isInsertedInRecovery !== true && !Number.isNaN(t.startOffset);
}

export function tokenLoc(file: string, t: IToken): Loc {
  return {
    file,
    line: t.startLine!,
    column: t.startColumn!,
    endLine: t.endLine!,
    endColumn: t.endColumn!,
    start: t.startOffset,
    end: t.endOffset! + 1,
  };
}

/** The span of a CST node, or undefined when recovery left it without any real token. */
export function nodeLoc(file: string, n: CstNode | undefined): Loc | undefined {
  const l = n?.location;
  if (l === undefined || Number.isNaN(l.startOffset) || l.endOffset === undefined || Number.isNaN(l.endOffset)) return undefined;
  return {
    file,
    line: l.startLine!,
    column: l.startColumn!,
    endLine: l.endLine!,
    endColumn: l.endColumn!,
    start: l.startOffset,
    end: l.endOffset + 1,
  };
}

/** From the start of `a` to the end of `b`. */
export function spanLoc(a: Loc, b: Loc): Loc {
  return { file: a.file, line: a.line, column: a.column, endLine: b.endLine, endColumn: b.endColumn, start: a.start, end: b.end };
}

/** The location of characters [start, end) of `text`, computed by counting line breaks. */
export function offsetLoc(file: string, text: string, start: number, end: number): Loc {
  const a = position(text, start);
  const b = position(text, Math.max(start, end - 1));
  return { file, line: a.line, column: a.column, endLine: b.line, endColumn: b.column, start, end };
}

// The line starts of the last text asked about: a file with many diagnostics locates each in
// O(log lines), not by counting from its start (which made 100,000 of them quadratic).
let indexed: string | undefined;
let starts: number[] = [0];

/** Offsets where lines begin. \r\n counts once, at its \n; a lone \r is a line break too (chevrotain's rule). */
export function lineStarts(text: string): readonly number[] {
  if (text === indexed) return starts;
  const out = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) out.push(i + 1);
  }
  indexed = text;
  starts = out;
  return out;
}

function position(text: string, offset: number): { line: number; column: number } {
  const ls = lineStarts(text);
  const at = Math.min(Math.max(0, offset), text.length);
  let lo = 0;
  let hi = ls.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ls[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - ls[lo]! + 1 };
}
