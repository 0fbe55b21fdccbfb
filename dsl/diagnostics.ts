// Diagnostics of the scenario language: every stage returns them instead of throwing, and
// a file's diagnostics are all reported at once, each with a code frame.
import type { Loc } from "./ast.js";
import { lineStarts } from "./syntax/loc.js";

export type Severity = "error" | "warning";
export type Phase = "parse" | "validate" | "run";

export interface Diagnostic {
  code: DslCode | string;
  severity: Severity;
  message: string;
  loc: Loc;
  /** "did you mean host `b`?" */
  hint?: string;
  phase: Phase;
}

/**
 * Every code of the language, with its meaning. docs/diagnostics.md lists the same table and
 * a test keeps the two in step. 00xx lexing, 01xx parsing, 02xx validation and linking.
 */
export const DSL_CODES = {
  VMSCN0001: "unexpected character",
  VMSCN0002: "unterminated string",
  VMSCN0003: "unknown unit after a number",
  VMSCN0004: "text the lexer does not read: not UTF-8 (UTF-16, binary, not a scenario at all), or a line longer than 1 MiB",
  VMSCN0101: "unexpected token: the grammar expected something else here",
  VMSCN0102: "missing closing brace or bracket",
  VMSCN0103: "incomplete statement",
  VMSCN0104: "text after the end of the file's statements",
  VMSCN0105: "malformed front matter",
  VMSCN0201: "undefined host",
  VMSCN0202: "undefined VM",
  VMSCN0203: "undefined datastore",
  VMSCN0204: "undefined link",
  VMSCN0205: "duplicate name",
  VMSCN0206: "a VM larger than its host",
  VMSCN0207: "a verb that no loaded plugin provides",
  VMSCN0208: "unknown option or property",
  VMSCN0209: "missing required option, argument or property",
  VMSCN0210: "a value in the wrong dimension (or a bare number where a unit is needed)",
  VMSCN0211: "a time in the past",
  VMSCN0212: "a value out of range",
  VMSCN0213: "a wrong kind of argument or option value",
  VMSCN0214: "a property given twice",
  VMSCN0215: "content mix percentages do not add up to 100%",
  VMSCN0216: "no scenario block, or more than one",
  VMSCN0217: "an import that cannot be read, imports a scenario, or forms a cycle",
  VMSCN0218: "a plugin that cannot be loaded",
  VMSCN0219: "a disk on a datastore the VM's host cannot reach",
  VMSCN0220: "an action after the end of the run: it would never happen",
  VMSCN0221: "an expectation that refers to something undefined",
  VMSCN0222: "a plugin verb's own check refuses the request (a destination too small, a disk it cannot reach)",
  VMSCN0223: "the scenario would need more memory than this machine allows (--max-memory)",
  VMSCN0240: "a plugin the scenario names, not loaded without the user's consent (--allow-plugins or --plugin)",
  VMSCN0241: "a file a scenario names outside the folders it may read (its own folder tree, and --allow-read)",
  VMSCN0242: "a file a scenario names that is not a regular file (a device, FIFO, socket or folder)",
  VMSCN0243: "a file a scenario names that is larger than its limit (16 MiB a scenario file, 64 MiB all of a scenario's files, 256 MiB a trace)",
  VMSCN0244: "a file that does not look like a scenario (not UTF-8 text, or not a .vmscn file and does not parse); its text is never shown",
  VMSCN0245: "imports nested more than 32 deep",
  VMSCN0301: "an expectation refers to a value the report does not have",
} as const;

export type DslCode = keyof typeof DSL_CODES;

export function diag(code: DslCode, message: string, loc: Loc, phase: Phase, hint?: string, severity: Severity = "error"): Diagnostic {
  return hint === undefined ? { code, severity, message, loc, phase } : { code, severity, message, loc, phase, hint };
}

/**
 * `file.vmscn:12:7 error VMSCN0201: there is no host "c"` followed by the source line with a
 * caret under the span, and the hint. `source` is the file's text. Text the lexer would not
 * read (VMSCN0004) is never shown.
 */
export function formatDiagnostic(d: Diagnostic, source: string | undefined, color = false): string {
  const red = (s: string) => (color ? `\x1b[31m${s}\x1b[0m` : s);
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
  const head = `${d.loc.file}:${d.loc.line}:${d.loc.column} ${d.severity === "error" ? red("error") : "warning"} ${d.code}: ${d.message}`;
  const lines = [head];
  if (source !== undefined && d.code !== "VMSCN0004") lines.push(codeFrame(source, d.loc, dim));
  if (d.hint) lines.push(`  hint: ${d.hint}`);
  return lines.join("\n");
}

/** A longer source line is shown as a window of this many characters around the span. */
const FRAME_WIDTH = 160;

/** The line before, the line itself and a caret line under the span (one line of it). */
export function codeFrame(source: string, loc: Loc, dim: (s: string) => string = (s) => s): string {
  const lineText = sourceLine(source, loc.line) ?? "";
  const width = String(loc.line + 1).length;
  const endCol = loc.endLine === loc.line ? loc.endColumn : lineText.length;
  // A long line (a minified file, a huge string) is cut to a window that holds the span's start.
  const from = lineText.length > FRAME_WIDTH ? Math.max(0, Math.min(loc.column - 1 - FRAME_WIDTH / 4, lineText.length - FRAME_WIDTH)) : 0;
  const out: string[] = [];
  for (let n = Math.max(1, loc.line - 1); n <= loc.line; n++) {
    const text = n === loc.line ? lineText : sourceLine(source, n);
    if (text === undefined) continue;
    out.push(`${n === loc.line ? ">" : " "} ${dim(String(n).padStart(width))} | ${window(text, from)}`);
  }
  const column = loc.column - from;
  const len = Math.max(1, Math.min(endCol - loc.column + 1, FRAME_WIDTH - column + 1));
  out.push(`  ${" ".repeat(width)} | ${" ".repeat(Math.max(0, column - 1) + (from > 0 ? 1 : 0))}${"^".repeat(len)}`);
  return out.join("\n");
}

/** Characters [from, from + FRAME_WIDTH) of a line, marked where cut, with tabs and control characters made single blanks. */
function window(text: string, from: number): string {
  const cut = text.length > FRAME_WIDTH;
  const shown = cut ? text.slice(from, from + FRAME_WIDTH) : text;
  // One character for one, so the caret stays under the span; a control character could drive the terminal.
  const clean = shown.replace(/\t/g, " ").replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, "\uFFFD");
  return `${from > 0 ? "…" : ""}${clean}${cut && from + FRAME_WIDTH < text.length ? "…" : ""}`;
}

/** Line `n` (1-based) of `source`: lines end at \n, \r\n or a lone \r. */
function sourceLine(source: string, n: number): string | undefined {
  const starts = lineStarts(source);
  if (n < 1 || n > starts.length) return undefined;
  const start = starts[n - 1]!;
  let end = n < starts.length ? starts[n]! - 1 : source.length;
  if (n < starts.length && source.charCodeAt(end) === 10 && source.charCodeAt(end - 1) === 13) end--;
  return source.slice(start, end);
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === "error");
}

/** Sorted by file, then position, so output is stable. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds.sort((a, b) => (a.loc.file < b.loc.file ? -1 : a.loc.file > b.loc.file ? 1 : a.loc.start - b.loc.start || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)));
}
