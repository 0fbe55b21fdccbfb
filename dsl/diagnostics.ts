// Diagnostics of the scenario language: every stage returns them instead of throwing, and
// a file's diagnostics are all reported at once, each with a code frame.
import type { Loc } from "./ast.js";

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
 * caret under the span, and the hint. `source` is the file's text.
 */
export function formatDiagnostic(d: Diagnostic, source: string | undefined, color = false): string {
  const red = (s: string) => (color ? `\x1b[31m${s}\x1b[0m` : s);
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
  const head = `${d.loc.file}:${d.loc.line}:${d.loc.column} ${d.severity === "error" ? red("error") : "warning"} ${d.code}: ${d.message}`;
  const lines = [head];
  if (source !== undefined) lines.push(codeFrame(source, d.loc, dim));
  if (d.hint) lines.push(`  hint: ${d.hint}`);
  return lines.join("\n");
}

/** The line before, the line itself and a caret line under the span (one line of it). */
export function codeFrame(source: string, loc: Loc, dim: (s: string) => string = (s) => s): string {
  const all = source.split(/\r?\n/);
  const width = String(loc.line + 1).length;
  const out: string[] = [];
  for (let n = Math.max(1, loc.line - 1); n <= Math.min(all.length, loc.line); n++) {
    const text = all[n - 1]!.replace(/\t/g, " ");
    out.push(`${n === loc.line ? ">" : " "} ${dim(String(n).padStart(width))} | ${text}`);
  }
  const lineText = all[loc.line - 1] ?? "";
  const endCol = loc.endLine === loc.line ? loc.endColumn : lineText.length;
  const len = Math.max(1, endCol - loc.column + 1);
  out.push(`  ${" ".repeat(width)} | ${" ".repeat(Math.max(0, loc.column - 1))}${"^".repeat(len)}`);
  return out.join("\n");
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === "error");
}

/** Sorted by file, then position, so output is stable. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds.sort((a, b) => (a.loc.file < b.loc.file ? -1 : a.loc.file > b.loc.file ? 1 : a.loc.start - b.loc.start || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)));
}
